// SPDX-License-Identifier: LGPL-2.1-or-later
/* Re-serves an MJPEG stream from another server (an origin mjpeghttpsink, or
 * any multipart/x-mixed-replace JPEG stream) without re-encoding it:
 *
 *   souphttpsrc location=UPSTREAM ! multipartdemux ! mjpeghttpsink port=PORT
 *
 * so that one camera can reach more viewers than one machine serves, through
 * a tree of relays (docs/scaling.md).
 *
 *   mjpeg-relay UPSTREAM PORT [--address A] [--stall-timeout MS]
 *               [--backoff-min MS] [--backoff-max MS] [--name NAME]
 *
 * PORT 0 picks a free port; the program prints "serving http://HOST:PORT/"
 * once it listens.
 *
 * The sink serves all the time, from start to exit: its viewers never see the
 * upstream come and go. While the upstream is away they keep the last frame
 * (the sink's idle-resend sends it again every second), and the relay
 * reconnects on its own:
 *   - the upstream refused, failed or answered an error: retry after a delay
 *     that doubles from --backoff-min up to --backoff-max (less up to a
 *     quarter at random, so relays that lost the same origin do not all come
 *     back in the same instant), reset once a frame arrives again;
 *   - the upstream ended its stream (EOS): the EOS is dropped before it
 *     reaches the sink (it would end every viewer's stream), then reconnect;
 *   - the upstream stalled (connected, no frame for --stall-timeout, which
 *     also bounds connecting): a watchdog drops the connection and reconnects.
 *
 * How: souphttpsrc and multipartdemux live in a bin of their own, locked out
 * of the pipeline's state changes; each connection is a new bin, set to NULL
 * and removed when it ends, while the sink stays PLAYING (async=false so the
 * pipeline plays with no frame yet, sync=false so the restarted source's new
 * timestamps are not judged against the clock). A second pipeline feeding the
 * sink through appsrc would isolate the source as well, but adds a queue and
 * a thread hand-off per frame; here souphttpsrc's own streaming thread parses
 * the part and hands it to the sink, which never blocks.
 *
 * Exit status: 0 after SIGINT/SIGTERM (viewers get the closing boundary), 1
 * on a bad argument or a sink error (such as the port in use). */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdatomic.h>
#include <stdlib.h>

#define DEFAULT_STALL_TIMEOUT_MS 5000
#define DEFAULT_BACKOFF_MIN_MS 200
#define DEFAULT_BACKOFF_MAX_MS 5000
/* Often enough that a stall is noticed within a tenth of the usual timeout. */
#define WATCHDOG_PERIOD_MS 100
/* How long the sink may take to hand viewers their closing boundary on exit
 * (it waits up to 2 s itself). */
#define EOS_GRACE_SECONDS 5

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *sink;
  GstElement *source; /* the current connection's bin, NULL between connections */
  gchar *upstream;
  gchar *user_agent;
  guint stall_timeout_ms;
  guint backoff_min_ms;
  guint backoff_max_ms;
  guint next_backoff_ms;
  guint reconnect_timer;
  guint connections;
  /* Written by the source's streaming thread, read by the watchdog. */
  _Atomic gint64 last_activity_us;
  _Atomic gboolean frame_seen;
  gboolean stopping;
  int exit_status;
} Relay;

static void connect_upstream(Relay *relay);

/* Messages from the streaming thread to the main loop, posted by the source
 * bin itself so a late one from a bin already replaced is recognised. */
#define MESSAGE_FIRST_FRAME "relay-first-frame"
#define MESSAGE_UPSTREAM_EOS "relay-upstream-eos"
#define MESSAGE_UPSTREAM_CAPS "relay-upstream-caps"

static void post_from_source(GstElement *source, GstStructure *details) {
  gst_element_post_message(source, gst_message_new_application(GST_OBJECT(source), details));
}

static GstPadProbeReturn on_source_output(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  Relay *relay = data;
  GstElement *source = GST_ELEMENT(gst_object_get_parent(GST_OBJECT(pad)));
  GstPadProbeReturn verdict = GST_PAD_PROBE_OK;
  if (!source) return verdict;
  if (info->type & (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)) {
    atomic_store(&relay->last_activity_us, g_get_monotonic_time());
    if (!atomic_exchange(&relay->frame_seen, TRUE))
      post_from_source(source, gst_structure_new_empty(MESSAGE_FIRST_FRAME));
  } else {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
      /* The origin closed its stream; the relay's viewers stay. */
      post_from_source(source, gst_structure_new_empty(MESSAGE_UPSTREAM_EOS));
      verdict = GST_PAD_PROBE_DROP;
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps = NULL;
      gst_event_parse_caps(event, &caps);
      gchar *text = gst_caps_to_string(caps);
      post_from_source(source,
                       gst_structure_new(MESSAGE_UPSTREAM_CAPS, "caps", G_TYPE_STRING, text, NULL));
      g_free(text);
    }
  }
  gst_object_unref(source);
  return verdict;
}

/* multipartdemux adds its output pad once it has parsed the first part's
 * headers: only then does the bin's output have somewhere to come from. */
static void on_demux_pad(GstElement *demux, GstPad *pad, gpointer data) {
  (void)demux;
  gst_ghost_pad_set_target(GST_GHOST_PAD(data), pad);
}

static GstElement *make_source(Relay *relay, GError **error) {
  gchar *name = g_strdup_printf("upstream%u", relay->connections);
  GstElement *bin = gst_bin_new(name);
  g_free(name);
  GstElement *http = gst_element_factory_make("souphttpsrc", NULL);
  GstElement *demux = gst_element_factory_make("multipartdemux", NULL);
  if (!http || !demux) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "souphttpsrc or multipartdemux missing (gstreamer1.0-plugins-good)");
    if (http) gst_object_unref(gst_object_ref_sink(http));
    if (demux) gst_object_unref(gst_object_ref_sink(demux));
    gst_object_unref(gst_object_ref_sink(bin));
    return NULL;
  }
  /* retries=0: the relay's own backoff decides when to try again.
   * timeout=0: the watchdog bounds a silent upstream, with its own limit. */
  g_object_set(http, "location", relay->upstream, "is-live", TRUE, "retries", 0, "timeout", 0,
               "user-agent", relay->user_agent, NULL);
  /* One JPEG stream whose content type never changes. */
  g_object_set(demux, "single-stream", TRUE, NULL);
  gst_bin_add_many(GST_BIN(bin), http, demux, NULL);
  gst_element_link(http, demux);
  GstPad *output = gst_ghost_pad_new_no_target("src", GST_PAD_SRC);
  gst_pad_add_probe(output,
                    GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    on_source_output, relay, NULL);
  gst_element_add_pad(bin, output);
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), output);
  return bin;
}

static void drop_source(Relay *relay) {
  if (!relay->source) return;
  /* Synchronous: the streaming thread has stopped when this returns. */
  gst_element_set_state(relay->source, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(relay->pipeline), relay->source);
  relay->source = NULL;
}

static gboolean on_reconnect_due(gpointer data) {
  Relay *relay = data;
  relay->reconnect_timer = 0;
  connect_upstream(relay);
  return G_SOURCE_REMOVE;
}

/* Ends the current connection and tries again after the backoff delay. */
static void reconnect_later(Relay *relay, const gchar *why) {
  drop_source(relay);
  if (relay->stopping || relay->reconnect_timer) return;
  guint delay = relay->next_backoff_ms;
  delay -= (guint)g_random_int_range(0, (gint)(delay / 4) + 1);
  g_print("upstream %s: reconnecting in %u ms\n", why, delay);
  relay->next_backoff_ms = MIN(relay->next_backoff_ms * 2, relay->backoff_max_ms);
  relay->reconnect_timer = g_timeout_add(delay, on_reconnect_due, relay);
}

static void connect_upstream(Relay *relay) {
  GError *error = NULL;
  relay->connections++;
  GstElement *source = make_source(relay, &error);
  if (!source) {
    g_printerr("%s\n", error->message);
    g_clear_error(&error);
    relay->exit_status = EXIT_FAILURE;
    g_main_loop_quit(relay->loop);
    return;
  }
  atomic_store(&relay->frame_seen, FALSE);
  atomic_store(&relay->last_activity_us, g_get_monotonic_time());
  gst_element_set_locked_state(source, TRUE);
  gst_bin_add(GST_BIN(relay->pipeline), source);
  relay->source = source;
  gst_element_link(source, relay->sink);
  g_print("upstream: connecting to %s (connection %u)\n", relay->upstream, relay->connections);
  if (gst_element_set_state(source, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    reconnect_later(relay, "did not start");
}

static gboolean on_watchdog(gpointer data) {
  Relay *relay = data;
  if (!relay->source) return G_SOURCE_CONTINUE;
  gint64 silent_us = g_get_monotonic_time() - atomic_load(&relay->last_activity_us);
  if (silent_us > (gint64)relay->stall_timeout_ms * 1000) {
    gchar *why = g_strdup_printf("%s (no frame for %u ms)",
                                 atomic_load(&relay->frame_seen) ? "stalled" : "not answering",
                                 relay->stall_timeout_ms);
    reconnect_later(relay, why);
    g_free(why);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean from_current_source(Relay *relay, GstMessage *message) {
  return relay->source &&
         (GST_MESSAGE_SRC(message) == GST_OBJECT(relay->source) ||
          gst_object_has_as_ancestor(GST_MESSAGE_SRC(message), GST_OBJECT(relay->source)));
}

static void on_source_message(Relay *relay, GstMessage *message) {
  const GstStructure *details = gst_message_get_structure(message);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_APPLICATION:
      if (gst_structure_has_name(details, MESSAGE_FIRST_FRAME)) {
        g_print("upstream: streaming\n");
        relay->next_backoff_ms = relay->backoff_min_ms;
      } else if (gst_structure_has_name(details, MESSAGE_UPSTREAM_EOS)) {
        reconnect_later(relay, "ended its stream");
      } else if (gst_structure_has_name(details, MESSAGE_UPSTREAM_CAPS)) {
        g_print("upstream caps: %s\n", gst_structure_get_string(details, "caps"));
      }
      break;
    case GST_MESSAGE_ERROR: {
      GError *error = NULL;
      gst_message_parse_error(message, &error, NULL);
      gchar *why = g_strdup_printf("failed (%s)", error->message);
      reconnect_later(relay, why);
      g_free(why);
      g_clear_error(&error);
      break;
    }
    default:
      break;
  }
}

static gboolean give_up_on_eos(gpointer data) {
  Relay *relay = data;
  g_printerr("EOS did not arrive within %d s; stopping anyway\n", EOS_GRACE_SECONDS);
  g_main_loop_quit(relay->loop);
  return G_SOURCE_REMOVE;
}

/* Stops the upstream first, then sends EOS straight into the sink so every
 * viewer gets the closing boundary. A second signal quits at once. */
static gboolean on_stop_signal(gpointer data) {
  Relay *relay = data;
  if (relay->stopping) {
    g_main_loop_quit(relay->loop);
    return G_SOURCE_REMOVE;
  }
  relay->stopping = TRUE;
  if (relay->reconnect_timer) {
    g_source_remove(relay->reconnect_timer);
    relay->reconnect_timer = 0;
  }
  drop_source(relay);
  g_print("stopping: sending EOS\n");
  GstPad *pad = gst_element_get_static_pad(relay->sink, "sink");
  gst_pad_send_event(pad, gst_event_new_eos());
  gst_object_unref(pad);
  g_timeout_add_seconds(EOS_GRACE_SECONDS, give_up_on_eos, relay);
  return G_SOURCE_CONTINUE;
}

static gboolean on_bus_message(GstBus *bus, GstMessage *message, gpointer data) {
  (void)bus;
  Relay *relay = data;
  if (from_current_source(relay, message)) {
    on_source_message(relay, message);
    return G_SOURCE_CONTINUE;
  }
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      /* An error from a connection already dropped is old news; one from the
       * sink ends the relay. */
      if (GST_MESSAGE_SRC(message) != GST_OBJECT(relay->sink)) break;
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error(message, &error, &debug);
      g_printerr("error from %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message);
      if (debug) g_printerr("  (%s)\n", debug);
      g_clear_error(&error);
      g_free(debug);
      relay->exit_status = EXIT_FAILURE;
      g_main_loop_quit(relay->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      /* Only the EOS sent on a stop signal gets this far. */
      g_print("end of stream\n");
      g_main_loop_quit(relay->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean parse_port(const gchar *text, gint *port) {
  gchar *end = NULL;
  gint64 value = g_ascii_strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 65535) return FALSE;
  *port = (gint)value;
  return TRUE;
}

static gboolean is_http_url(const gchar *text) {
  return g_str_has_prefix(text, "http://") || g_str_has_prefix(text, "https://");
}

int main(int argc, char **argv) {
  gchar *address = g_strdup("127.0.0.1");
  gchar *name = NULL;
  gint stall_timeout_ms = DEFAULT_STALL_TIMEOUT_MS;
  gint backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
  gint backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
  GOptionEntry entries[] = {
      {"address", 'a', 0, G_OPTION_ARG_STRING, &address,
       "Address to serve on (default 127.0.0.1; 0.0.0.0 or :: for the network)", "A"},
      {"stall-timeout", 's', 0, G_OPTION_ARG_INT, &stall_timeout_ms,
       "Reconnect when no frame came from the upstream for this long (default 5000)", "MS"},
      {"backoff-min", 0, 0, G_OPTION_ARG_INT, &backoff_min_ms,
       "First delay before reconnecting (default 200)", "MS"},
      {"backoff-max", 0, 0, G_OPTION_ARG_INT, &backoff_max_ms,
       "Longest delay before reconnecting (default 5000)", "MS"},
      {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
       "Name in the User-Agent sent upstream (default: relay:PORT)", "NAME"},
      {NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL},
  };
  GOptionContext *context = g_option_context_new("UPSTREAM PORT - re-serve an MJPEG stream");
  g_option_context_set_description(context,
                                   "UPSTREAM: the stream's URL, e.g. http://origin:8080/stream\n"
                                   "PORT: where this relay serves it (0 = any free port)\n");
  g_option_context_add_main_entries(context, entries, NULL);
  g_option_context_add_group(context, gst_init_get_option_group());
  GError *error = NULL;
  gint port = 0;
  gboolean parsed = g_option_context_parse(context, &argc, &argv, &error);
  if (!parsed || argc != 3 || !is_http_url(argv[1]) || !parse_port(argv[2], &port) ||
      stall_timeout_ms < 100 || backoff_min_ms < 1 || backoff_max_ms < backoff_min_ms) {
    if (error) g_printerr("%s\n", error->message);
    gchar *help = g_option_context_get_help(context, TRUE, NULL);
    g_printerr("%s", help);
    g_printerr(
        "UPSTREAM is an http(s):// URL, PORT 0..65535, --stall-timeout at least 100, "
        "--backoff-max at least --backoff-min\n");
    g_free(help);
    g_clear_error(&error);
    g_option_context_free(context);
    g_free(address);
    g_free(name);
    return EXIT_FAILURE;
  }
  g_option_context_free(context);

  Relay relay = {0};
  relay.exit_status = EXIT_SUCCESS;
  relay.upstream = g_strdup(argv[1]);
  relay.stall_timeout_ms = (guint)stall_timeout_ms;
  relay.backoff_min_ms = (guint)backoff_min_ms;
  relay.backoff_max_ms = (guint)backoff_max_ms;
  relay.next_backoff_ms = relay.backoff_min_ms;

  relay.sink = gst_element_factory_make("mjpeghttpsink", "sink");
  if (!relay.sink) {
    g_printerr("mjpeghttpsink not found: set GST_PLUGIN_PATH to the build's gst directory\n");
    g_free(address);
    g_free(name);
    g_free(relay.upstream);
    return EXIT_FAILURE;
  }
  /* source-timeout=0: while the relay reconnects its viewers keep the last
   * frame (see above) rather than a "no signal" picture of the relay's own;
   * the origin's placeholder, when its camera is lost, passes through as
   * frames. */
  g_object_set(relay.sink, "address", address, "port", port, "async", FALSE, "sync", FALSE,
               "source-timeout", 0u, NULL);
  relay.pipeline = gst_pipeline_new("relay");
  gst_bin_add(GST_BIN(relay.pipeline), relay.sink);

  relay.loop = g_main_loop_new(NULL, FALSE);
  GstBus *bus = gst_element_get_bus(relay.pipeline);
  guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &relay);
  gst_object_unref(bus);
  guint sigint_watch = g_unix_signal_add(SIGINT, on_stop_signal, &relay);
  guint sigterm_watch = g_unix_signal_add(SIGTERM, on_stop_signal, &relay);
  guint watchdog = 0;

  if (gst_element_set_state(relay.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    relay.exit_status = EXIT_FAILURE;
    GstMessage *message = gst_bus_pop_filtered(GST_ELEMENT_BUS(relay.pipeline), GST_MESSAGE_ERROR);
    if (message) {
      on_bus_message(NULL, message, &relay);
      gst_message_unref(message);
    } else {
      g_printerr("the pipeline did not start\n");
    }
  } else {
    gint bound = 0;
    g_object_get(relay.sink, "current-port", &bound, NULL);
    /* The origin lists this relay among its viewers under this name. */
    relay.user_agent = name ? g_strdup_printf("mjpeg-relay (%s)", name)
                            : g_strdup_printf("mjpeg-relay (relay:%d)", bound);
    g_print("serving http://%s:%d/ from %s\n", address, bound, relay.upstream);
    connect_upstream(&relay);
    watchdog = g_timeout_add(WATCHDOG_PERIOD_MS, on_watchdog, &relay);
    g_main_loop_run(relay.loop);
  }

  if (watchdog) g_source_remove(watchdog);
  if (relay.reconnect_timer) g_source_remove(relay.reconnect_timer);
  drop_source(&relay);
  gst_element_set_state(relay.pipeline, GST_STATE_NULL);
  g_source_remove(bus_watch);
  g_source_remove(sigint_watch);
  g_source_remove(sigterm_watch);
  g_main_loop_unref(relay.loop);
  gst_object_unref(relay.pipeline);
  g_free(relay.upstream);
  g_free(relay.user_agent);
  g_free(address);
  g_free(name);
  return relay.exit_status;
}
