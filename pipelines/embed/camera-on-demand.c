// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runs the camera only while someone watches. The sink serves all the time;
 * the capture branch starts when the first viewer arrives and stops a few
 * seconds after the last one leaves, so the camera's light is off and no CPU
 * goes into encoding while nobody looks.
 *
 *   camera-on-demand [--port N] [--linger SECONDS] [--source test|camera|"LAUNCH"]
 *
 * --source: `camera` is v4l2src (the first /dev/video*), `test` a moving test
 * picture; the default is the camera when there is one. Any other text is a
 * gst-launch description of a bin whose output is JPEG, e.g.
 * "v4l2src device=/dev/video2 ! image/jpeg,width=1280,height=720" for a
 * camera that encodes MJPEG itself.
 *
 * How: the capture branch is a bin of its own, locked out of the pipeline's
 * state changes (gst_element_set_locked_state) and switched between NULL and
 * PLAYING by this program, while the sink stays PLAYING. NULL, not PAUSED or
 * a valve: only NULL closes the device (a valve or an input-selector would
 * keep the camera capturing, and a live source in PAUSED keeps its device
 * open). The sink has async=false, so the pipeline reaches PLAYING with no
 * frame at all, and sync=false, so frames from a restarted branch, whose
 * timestamps start again, are served as they come instead of being judged
 * against the pipeline clock.
 *
 * Viewers are followed through the sink's bus messages
 * (mjpeghttpsink-client-added / -removed) on this program's main loop, so
 * nothing runs on the sink's viewer threads.
 *
 * The plugin is found through GST_PLUGIN_PATH (e.g. $PWD/build/gst).
 * Exit status: 0 after SIGINT/SIGTERM, 1 on any error. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdlib.h>

#define DEFAULT_PORT 8080
#define DEFAULT_LINGER_SECONDS 5
#define TEST_SOURCE                                                                           \
  "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=25/1 " \
  "! videoconvert ! jpegenc"
#define CAMERA_SOURCE "v4l2src ! videoconvert ! jpegenc"
/* How long the sink may take to hand viewers their closing boundary on exit
 * (it waits up to 2 s itself). */
#define EOS_GRACE_SECONDS 5

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *capture; /* the locked bin: NULL or PLAYING */
  GstElement *sink;
  guint linger_seconds;
  guint stop_timer; /* pending "stop the camera" timeout, 0 if none */
  gboolean capturing;
  gboolean stopping;
  int exit_status;
} App;

static void start_capture(App *app) {
  if (app->stop_timer) {
    g_source_remove(app->stop_timer);
    app->stop_timer = 0;
    g_print("viewer back: camera stays on\n");
  }
  if (app->capturing) return;
  if (gst_element_set_state(app->capture, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason follows as an error message on the bus. */
    g_printerr("the capture branch did not start\n");
    return;
  }
  app->capturing = TRUE;
  g_print("camera on\n");
}

static void stop_capture(App *app) {
  if (!app->capturing) return;
  /* Synchronous: when this returns the device is closed. */
  gst_element_set_state(app->capture, GST_STATE_NULL);
  app->capturing = FALSE;
  g_print("camera off\n");
}

static gboolean on_linger_over(gpointer data) {
  App *app = data;
  app->stop_timer = 0;
  guint viewers = 0;
  g_object_get(app->sink, "num-clients", &viewers, NULL);
  if (viewers == 0) stop_capture(app);
  return G_SOURCE_REMOVE;
}

static void on_viewers_changed(App *app) {
  guint viewers = 0;
  g_object_get(app->sink, "num-clients", &viewers, NULL);
  g_print("viewers: %u\n", viewers);
  if (app->stopping) return;
  if (viewers > 0) {
    start_capture(app);
  } else if (app->capturing && !app->stop_timer) {
    /* A page reload is a leave and a join a moment apart: keep the camera
     * on across it rather than restart it. */
    g_print("no viewers: camera off in %u s\n", app->linger_seconds);
    app->stop_timer = g_timeout_add_seconds(app->linger_seconds, on_linger_over, app);
  }
}

static gboolean give_up_on_eos(gpointer data) {
  App *app = data;
  g_printerr("EOS did not arrive within %d s; stopping anyway\n", EOS_GRACE_SECONDS);
  g_main_loop_quit(app->loop);
  return G_SOURCE_REMOVE;
}

/* Ends the stream properly, so every viewer gets the closing boundary: the
 * capture branch stops first, then EOS goes straight into the sink (no
 * streaming thread is left to race with it). A second signal quits at once. */
static gboolean on_stop_signal(gpointer data) {
  App *app = data;
  if (app->stopping) {
    g_main_loop_quit(app->loop);
    return G_SOURCE_REMOVE;
  }
  app->stopping = TRUE;
  if (app->stop_timer) {
    g_source_remove(app->stop_timer);
    app->stop_timer = 0;
  }
  stop_capture(app);
  g_print("stopping: sending EOS\n");
  GstPad *pad = gst_element_get_static_pad(app->sink, "sink");
  gst_pad_send_event(pad, gst_event_new_eos());
  gst_object_unref(pad);
  g_timeout_add_seconds(EOS_GRACE_SECONDS, give_up_on_eos, app);
  return G_SOURCE_CONTINUE;
}

static gboolean on_bus_message(GstBus *bus, GstMessage *message, gpointer data) {
  (void)bus;
  App *app = data;
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *details = gst_message_get_structure(message);
      if (GST_MESSAGE_SRC(message) != GST_OBJECT(app->sink) || !details) break;
      if (gst_structure_has_name(details, "mjpeghttpsink-client-added")) {
        g_print("viewer joined: %s (%s)\n", gst_structure_get_string(details, "address"),
                gst_structure_get_string(details, "user-agent"));
        on_viewers_changed(app);
      } else if (gst_structure_has_name(details, "mjpeghttpsink-client-removed")) {
        g_print("viewer left:   %s\n", gst_structure_get_string(details, "address"));
        on_viewers_changed(app);
      }
      break;
    }
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
    case GST_MESSAGE_EOS:
      g_print("end of stream\n");
      g_main_loop_quit(app->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean have_camera(void) {
  GstElementFactory *factory = gst_element_factory_find("v4l2src");
  if (!factory) return FALSE;
  gst_object_unref(factory);
  return g_file_test("/dev/video0", G_FILE_TEST_EXISTS);
}

/* The capture branch as a bin with one "src" ghost pad. */
static GstElement *make_capture(const gchar *choice, GError **error) {
  const gchar *description = choice;
  if (!choice || g_str_equal(choice, "auto"))
    description = have_camera() ? CAMERA_SOURCE : TEST_SOURCE;
  else if (g_str_equal(choice, "camera"))
    description = CAMERA_SOURCE;
  else if (g_str_equal(choice, "test"))
    description = TEST_SOURCE;
  g_print("capture: %s\n", description);
  GstElement *bin = gst_parse_bin_from_description(description, TRUE, error);
  if (bin) gst_object_set_name(GST_OBJECT(bin), "capture");
  return bin;
}

int main(int argc, char **argv) {
  gint port = DEFAULT_PORT;
  gint linger = DEFAULT_LINGER_SECONDS;
  gchar *source = NULL;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "TCP port (0 = any free port)", "N"},
      {"linger", 'l', 0, G_OPTION_ARG_INT, &linger,
       "Seconds the camera stays on after the last viewer left", "S"},
      {"source", 's', 0, G_OPTION_ARG_STRING, &source,
       "camera, test, or a gst-launch description (default: camera if present, else test)", "SRC"},
      {NULL, 0, 0, G_OPTION_ARG_NONE, NULL, NULL, NULL},
  };
  GOptionContext *context = g_option_context_new("- serve a camera only while it is watched");
  g_option_context_add_main_entries(context, entries, NULL);
  g_option_context_add_group(context, gst_init_get_option_group());
  GError *error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error) || port < 0 || port > 65535 ||
      linger < 0) {
    g_printerr("%s\n", error ? error->message : "--port is 0..65535, --linger at least 0");
    g_clear_error(&error);
    g_option_context_free(context);
    return EXIT_FAILURE;
  }
  g_option_context_free(context);

  App app = {0};
  app.linger_seconds = (guint)linger;
  app.exit_status = EXIT_SUCCESS;
  app.sink = gst_element_factory_make("mjpeghttpsink", "sink");
  if (!app.sink) {
    g_printerr("mjpeghttpsink not found: set GST_PLUGIN_PATH to the build's gst directory\n");
    return EXIT_FAILURE;
  }
  app.capture = make_capture(source, &error);
  g_free(source);
  if (!app.capture) {
    g_printerr("cannot build the capture branch: %s\n", error ? error->message : "?");
    g_clear_error(&error);
    gst_object_unref(gst_object_ref_sink(app.sink));
    return EXIT_FAILURE;
  }
  g_object_set(app.sink, "port", port, "async", FALSE, "sync", FALSE, NULL);
  app.pipeline = gst_pipeline_new("camera-on-demand");
  gst_bin_add_many(GST_BIN(app.pipeline), app.capture, app.sink, NULL);
  if (!gst_element_link(app.capture, app.sink)) {
    g_printerr("the capture branch does not produce JPEG (image/jpeg)\n");
    gst_object_unref(app.pipeline);
    return EXIT_FAILURE;
  }
  /* From now on only this program changes the branch's state. */
  gst_element_set_locked_state(app.capture, TRUE);

  app.loop = g_main_loop_new(NULL, FALSE);
  GstBus *bus = gst_element_get_bus(app.pipeline);
  guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &app);
  gst_object_unref(bus);
  guint sigint_watch = g_unix_signal_add(SIGINT, on_stop_signal, &app);
  guint sigterm_watch = g_unix_signal_add(SIGTERM, on_stop_signal, &app);

  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
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
    g_print("serving http://127.0.0.1:%d/  (camera off until someone watches)\n", bound);
    g_main_loop_run(app.loop);
  }

  if (app.stop_timer) g_source_remove(app.stop_timer);
  /* A locked bin is not taken down with its pipeline. */
  gst_element_set_state(app.capture, GST_STATE_NULL);
  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  g_source_remove(bus_watch);
  g_source_remove(sigint_watch);
  g_source_remove(sigterm_watch);
  g_main_loop_unref(app.loop);
  gst_object_unref(app.pipeline);
  return app.exit_status;
}
