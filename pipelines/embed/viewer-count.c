// SPDX-License-Identifier: LGPL-2.1-or-later
/* An application that embeds mjpeghttpsink: serves a test picture, reports
 * viewers as they come and go, prints the sink's statistics every few
 * seconds, and on Ctrl-C ends the stream properly (EOS, so every viewer gets
 * the closing boundary) before shutting the pipeline down.
 *
 *   viewer-count [PORT]      PORT defaults to 8080; 0 picks a free port
 *
 * The plugin is found through GST_PLUGIN_PATH, e.g. from the source tree:
 *   GST_PLUGIN_PATH=$PWD/build/gst ./build/pipelines/viewer-count 8080
 * or `meson devenv -C build` and then `./pipelines/viewer-count`.
 *
 * Exit status: 0 after a clean stop, 1 on any error (port in use, plugin
 * missing, bad argument). */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdlib.h>

#define STATS_INTERVAL_SECONDS 5
/* EOS normally takes a frame interval plus the sink's bounded wait for its
 * viewers (2 s); past this the application stops without it. */
#define EOS_GRACE_SECONDS 5

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *sink;
  gboolean stopping;
  int exit_status;
} App;

/* Runs on the viewer's own thread, not the main loop's: only print here. */
static void on_client_added(GstElement *sink, const gchar *address, gpointer data) {
  (void)sink;
  (void)data;
  g_print("viewer joined: %s\n", address);
}

static void on_client_removed(GstElement *sink, const gchar *address, gpointer data) {
  (void)sink;
  (void)data;
  g_print("viewer left:   %s\n", address);
}

static void on_num_clients(GObject *sink, GParamSpec *pspec, gpointer data) {
  (void)pspec;
  (void)data;
  guint count = 0;
  g_object_get(sink, "num-clients", &count, NULL);
  g_print("viewers now:   %u\n", count);
}

static gboolean print_stats(gpointer data) {
  App *app = data;
  GstStructure *stats = NULL;
  g_signal_emit_by_name(app->sink, "get-stats", &stats);
  if (stats) {
    gchar *text = gst_structure_to_string(stats);
    g_print("stats: %s\n", text);
    g_free(text);
    gst_structure_free(stats);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean give_up_on_eos(gpointer data) {
  App *app = data;
  g_printerr("EOS did not arrive within %d s; stopping anyway\n", EOS_GRACE_SECONDS);
  g_main_loop_quit(app->loop);
  return G_SOURCE_REMOVE;
}

/* First signal: EOS, so viewers get a well-formed end of stream. A second
 * one stops at once. */
static gboolean on_stop_signal(gpointer data) {
  App *app = data;
  if (app->stopping) {
    g_main_loop_quit(app->loop);
    return G_SOURCE_REMOVE;
  }
  app->stopping = TRUE;
  g_print("stopping: sending EOS\n");
  gst_element_send_event(app->pipeline, gst_event_new_eos());
  g_timeout_add_seconds(EOS_GRACE_SECONDS, give_up_on_eos, app);
  return G_SOURCE_CONTINUE;
}

static gboolean on_bus_message(GstBus *bus, GstMessage *message, gpointer data) {
  (void)bus;
  App *app = data;
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError *error = NULL;
      gchar *details = NULL;
      gst_message_parse_error(message, &error, &details);
      g_printerr("error from %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message);
      if (details) g_printerr("  (%s)\n", details);
      g_clear_error(&error);
      g_free(details);
      app->exit_status = EXIT_FAILURE;
      g_main_loop_quit(app->loop);
      break;
    }
    case GST_MESSAGE_WARNING: {
      GError *warning = NULL;
      gst_message_parse_warning(message, &warning, NULL);
      g_printerr("warning from %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                 warning->message);
      g_clear_error(&warning);
      break;
    }
    case GST_MESSAGE_EOS:
      g_print("end of stream\n");
      g_main_loop_quit(app->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean parse_port(const char *text, int *port) {
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 65535) return FALSE;
  *port = (int)value;
  return TRUE;
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);

  int port = 8080;
  if (argc > 2 || (argc == 2 && !parse_port(argv[1], &port))) {
    g_printerr("usage: %s [PORT]   (0..65535, 0 = any free port)\n", argv[0]);
    return EXIT_FAILURE;
  }

  GstElementFactory *factory = gst_element_factory_find("mjpeghttpsink");
  if (!factory) {
    g_printerr(
        "mjpeghttpsink not found: install the plugin, or set GST_PLUGIN_PATH to the "
        "build's gst directory (e.g. GST_PLUGIN_PATH=$PWD/build/gst)\n");
    return EXIT_FAILURE;
  }
  gst_object_unref(factory);

  gchar *description = g_strdup_printf(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=25/1 "
      "! jpegenc ! mjpeghttpsink name=sink port=%d",
      port);
  GError *error = NULL;
  App app = {0};
  app.pipeline = gst_parse_launch(description, &error);
  g_free(description);
  if (!app.pipeline) {
    g_printerr("cannot build the pipeline: %s\n", error ? error->message : "unknown error");
    g_clear_error(&error);
    return EXIT_FAILURE;
  }
  app.sink = gst_bin_get_by_name(GST_BIN(app.pipeline), "sink");
  app.loop = g_main_loop_new(NULL, FALSE);
  app.exit_status = EXIT_SUCCESS;

  g_signal_connect(app.sink, "client-added", G_CALLBACK(on_client_added), NULL);
  g_signal_connect(app.sink, "client-removed", G_CALLBACK(on_client_removed), NULL);
  g_signal_connect(app.sink, "notify::num-clients", G_CALLBACK(on_num_clients), NULL);

  GstBus *bus = gst_element_get_bus(app.pipeline);
  guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &app);
  gst_object_unref(bus);
  guint sigint_watch = g_unix_signal_add(SIGINT, on_stop_signal, &app);
  guint sigterm_watch = g_unix_signal_add(SIGTERM, on_stop_signal, &app);

  /* The sink binds its port on the way to PAUSED, inside this call: a port
   * in use fails here, and current-port is valid once it returns. */
  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason is the error message already posted on the bus. */
    app.exit_status = EXIT_FAILURE;
    GstMessage *message = gst_bus_pop_filtered(GST_ELEMENT_BUS(app.pipeline), GST_MESSAGE_ERROR);
    if (message) {
      on_bus_message(NULL, message, &app);
      gst_message_unref(message);
    } else {
      g_printerr("the pipeline did not start\n");
    }
  } else {
    int bound = 0;
    g_object_get(app.sink, "current-port", &bound, NULL);
    g_print("serving http://127.0.0.1:%d/  (stream /stream, snapshot /snapshot)\n", bound);
    g_timeout_add_seconds(STATS_INTERVAL_SECONDS, print_stats, &app);
    g_main_loop_run(app.loop);
    /* Last figures while the sink still has them: stopping resets them. */
    print_stats(&app);
  }

  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  g_source_remove(bus_watch);
  g_source_remove(sigint_watch);
  g_source_remove(sigterm_watch);
  gst_object_unref(app.sink);
  gst_object_unref(app.pipeline);
  g_main_loop_unref(app.loop);
  return app.exit_status;
}
