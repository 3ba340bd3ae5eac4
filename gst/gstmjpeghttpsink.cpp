// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-mjpeghttpsink
 * @title: mjpeghttpsink
 *
 * Serves the JPEG frames it receives as a live MJPEG stream
 * (`multipart/x-mixed-replace`) over HTTP to any number of viewers at once:
 * browsers, ffmpeg/ffplay, VLC, GStreamer (`souphttpsrc ! multipartdemux`),
 * curl. Each viewer has its own thread and a small queue of frames shared
 * with every other viewer (never copied); a slow viewer skips frames instead
 * of slowing the pipeline or other viewers.
 *
 * Endpoints: `/` a page showing the stream, #GstMjpegHttpSink:stream-path
 * (default `/stream`) the MJPEG stream, #GstMjpegHttpSink:snapshot-path
 * (default `/snapshot`) the latest frame as one JPEG (503 with Retry-After
 * before the first frame). GET and HEAD are answered; other methods get 405,
 * other paths 404. A new viewer gets the latest frame at once. EOS ends every
 * stream with a closing boundary. #GstMjpegHttpSink:stats-path (default
 * `/stats`) serves the statistics as JSON and #GstMjpegHttpSink:metrics-path
 * (default `/metrics`) in the Prometheus text format.
 *
 * Several elements, in one pipeline or in several of one process, share one
 * server when they listen on the same #GstMjpegHttpSink:address and
 * #GstMjpegHttpSink:port (or unix socket, or #GstMjpegHttpSink:listen-fd):
 * each serves its own #GstMjpegHttpSink:mount (`/cam1` serves `/cam1/`,
 * `/cam1/stream`, `/cam1/snapshot`, `/cam1/stats`, `/cam1/metrics`). `/`
 * then lists the streams (unless an element serves the root mount `/`),
 * `/streams` lists them as JSON, and the server-wide `/stats` and `/metrics`
 * cover every mount. Elements sharing a server must agree on its settings
 * (TLS, authentication, CORS, request-timeout); a clash is an element error.
 *
 * Viewers coming and going are also posted on the bus as element messages
 * "mjpeghttpsink-client-added" and "mjpeghttpsink-client-removed" (fields
 * id, address, user-agent; the latter also reason, the nick of a
 * #GstMjpegHttpSinkLeaveReason), so an application can react from its main
 * loop.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! jpegenc ! mjpeghttpsink port=8080
 * gst-launch-1.0 v4l2src ! image/jpeg,width=1280,height=720 ! mjpeghttpsink address=0.0.0.0
 * gst-launch-1.0 v4l2src ! image/jpeg ! mjpeghttpsink address=:: \
 *     tls-certificate-file=cert.pem tls-key-file=key.pem auth-user=alice auth-password=s3cret
 * gst-launch-1.0 v4l2src device=/dev/video0 ! image/jpeg ! mjpeghttpsink mount=/cam1 \
 *     v4l2src device=/dev/video2 ! image/jpeg ! mjpeghttpsink mount=/cam2
 * gst-launch-1.0 videotestsrc is-live=true ! jpegenc ! mjpeghttpsink address=unix:/run/cam.sock
 * ]| then open http://127.0.0.1:8080/ in a browser (https:// and the user's password
 * for the last one; see docs/access.md).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"
#include "gstmjpeghttpsink.h"
#include "placeholder_jpeg.h"
#include "stats/stats.h"

GST_DEBUG_CATEGORY_STATIC(mjpeghttpsink_debug);
#define GST_CAT_DEFAULT mjpeghttpsink_debug

namespace {

// The properties' defaults are the engine's own (EngineConfig); only their
// ranges are the element's.
const mjpeghttp::EngineConfig kDefaults;
constexpr guint kMaxQueuedFramesLimit = 1000;
constexpr guint kMaxSourceTimeout = 3600000;
// How long EOS waits for viewers to receive their closing boundary before it
// goes on downstream (gst-launch stops the pipeline as soon as EOS arrives).
constexpr int kEosFlushMs = 2000;

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_CURRENT_PORT,
  PROP_STREAM_PATH,
  PROP_SNAPSHOT_PATH,
  PROP_MAX_CLIENTS,
  PROP_MAX_QUEUED_FRAMES,
  PROP_QUEUE_POLICY,
  PROP_CLIENT_TIMEOUT,
  PROP_REQUEST_TIMEOUT,
  PROP_IDLE_RESEND,
  PROP_ADVANCE_HEADERS,
  PROP_INSERT_DHT,
  PROP_NUM_CLIENTS,
  PROP_BYTES_SERVED,
  PROP_AUTH_USER,
  PROP_AUTH_PASSWORD,
  PROP_AUTH_EXEMPT_PATHS,
  PROP_TLS_CERTIFICATE_FILE,
  PROP_TLS_KEY_FILE,
  PROP_ALLOW_ORIGIN,
  PROP_STATS_PATH,
  PROP_METRICS_PATH,
  PROP_MOUNT,
  PROP_LISTEN_FD,
  PROP_UNIX_SOCKET_MODE,
  PROP_SOURCE_TIMEOUT,
  PROP_PLACEHOLDER_LOCATION,
  PROP_AUTH_METHOD,
  N_PROPS
};

enum {
  SIGNAL_CLIENT_ADDED,
  SIGNAL_CLIENT_REMOVED,
  SIGNAL_CLIENT_REMOVED_WITH_REASON,
  SIGNAL_GET_STATS,
  N_SIGNALS
};

GParamSpec *properties[N_PROPS];
guint signals[N_SIGNALS];
// client-removed-with-reason's detail for each reason (its nick), so a
// handler can connect to "client-removed-with-reason::timeout" alone.
GQuark leave_reason_details[mjpeghttp::kLeaveReasonCount];

// A GstBuffer lent to the engine: a reference and one read-only mapping per
// memory. gst_buffer_map() on a multi-memory buffer would merge (copy) them.
struct LentBuffer {
  GstBuffer *buffer;
  std::vector<GstMapInfo> maps;

  ~LentBuffer() {
    for (size_t i = 0; i < maps.size(); i++)
      gst_memory_unmap(gst_buffer_peek_memory(buffer, static_cast<guint>(i)), &maps[i]);
    gst_buffer_unref(buffer);
  }
};

}  // namespace

struct GstMjpegHttpSinkPrivate {
  // What the properties write; copied into the engine once, in start(), so
  // a running engine never sees a half-changed setting.
  std::mutex settings_lock;
  mjpeghttp::EngineConfig settings;

  // Guards engine and current_port against property reads and get-stats
  // from application threads. render() reads `engine` without it: base
  // sink never renders outside start()..stop().
  std::mutex state_lock;
  mjpeghttp::Engine *engine = nullptr;
  gint current_port = 0;

  // Touched only on the streaming thread.
  bool in_reject_burst = false;
};

struct _GstMjpegHttpSink {
  GstBaseSink parent;
  GstMjpegHttpSinkPrivate *priv;
};

#define gst_mjpeg_http_sink_parent_class parent_class
G_DEFINE_TYPE(GstMjpegHttpSink, gst_mjpeg_http_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE(mjpeghttpsink, "mjpeghttpsink", GST_RANK_NONE,
                            GST_TYPE_MJPEG_HTTP_SINK);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("image/jpeg"));

GType gst_mjpeg_http_sink_queue_policy_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(mjpeghttp::QueuePolicy::kDropOldest),
       "Drop the oldest queued frame, so the viewer gets the freshest one", "drop-oldest"},
      {static_cast<gint>(mjpeghttp::QueuePolicy::kDropNewest),
       "Drop the new frame, keeping what is queued", "drop-newest"},
      {static_cast<gint>(mjpeghttp::QueuePolicy::kDisconnect), "Disconnect the viewer",
       "disconnect"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstMjpegHttpSinkQueuePolicy", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_mjpeg_http_sink_leave_reason_get_type(void) {
  using mjpeghttp::leave_reason_name;
  using mjpeghttp::LeaveReason;
  static GType type = 0;
  // The nicks are the engine's names, the words /stats and /metrics use.
  static const GEnumValue values[] = {
      {static_cast<gint>(LeaveReason::kClosed), "The viewer closed its connection",
       leave_reason_name(LeaveReason::kClosed)},
      {static_cast<gint>(LeaveReason::kWriteError),
       "Writing to the viewer failed (network or TLS error)",
       leave_reason_name(LeaveReason::kWriteError)},
      {static_cast<gint>(LeaveReason::kTimeout),
       "The viewer accepted no data for client-timeout seconds",
       leave_reason_name(LeaveReason::kTimeout)},
      {static_cast<gint>(LeaveReason::kQueueDisconnect),
       "The viewer's queue filled up with queue-policy=disconnect",
       leave_reason_name(LeaveReason::kQueueDisconnect)},
      {static_cast<gint>(LeaveReason::kEndOfStream), "The stream ended (EOS) and was closed",
       leave_reason_name(LeaveReason::kEndOfStream)},
      {static_cast<gint>(LeaveReason::kStopping), "The element stopped, and its server with it",
       leave_reason_name(LeaveReason::kStopping)},
      {static_cast<gint>(LeaveReason::kMountRemoved),
       "The element stopped; its server goes on for the other mounts",
       leave_reason_name(LeaveReason::kMountRemoved)},
      {0, nullptr, nullptr},
  };
  static_assert(G_N_ELEMENTS(values) == mjpeghttp::kLeaveReasonCount + 1,
                "one value per LeaveReason");
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstMjpegHttpSinkLeaveReason", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_mjpeg_http_sink_auth_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(mjpeghttp::AuthMethod::kBasic),
       "HTTP Basic: the password itself crosses the network (use HTTPS)", "basic"},
      {static_cast<gint>(mjpeghttp::AuthMethod::kDigest),
       "HTTP Digest (RFC 2617): only a hash of the password crosses the network", "digest"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstMjpegHttpSinkAuthMethod", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static void log_from_engine(GstMjpegHttpSink *self, mjpeghttp::LogLevel level,
                            const std::string &text) {
  GstDebugLevel gst_level = GST_LEVEL_DEBUG;
  switch (level) {
    case mjpeghttp::LogLevel::kError:
      gst_level = GST_LEVEL_ERROR;
      break;
    case mjpeghttp::LogLevel::kWarning:
      gst_level = GST_LEVEL_WARNING;
      break;
    case mjpeghttp::LogLevel::kInfo:
      gst_level = GST_LEVEL_INFO;
      break;
    case mjpeghttp::LogLevel::kDebug:
      gst_level = GST_LEVEL_DEBUG;
      break;
    case mjpeghttp::LogLevel::kLog:
      gst_level = GST_LEVEL_LOG;
      break;
  }
  GST_CAT_LEVEL_LOG(mjpeghttpsink_debug, gst_level, self, "%s", text.c_str());
}

// An element message an application can react to from its bus watch, on its
// own main loop, instead of a signal handler on a viewer's thread.
static void post_viewer_message(GstMjpegHttpSink *self, const char *name,
                                const mjpeghttp::ViewerInfo &info, bool with_reason) {
  GstStructure *details = gst_structure_new(
      name, "id", G_TYPE_UINT64, static_cast<guint64>(info.id), "address", G_TYPE_STRING,
      info.address.c_str(), "user-agent", G_TYPE_STRING, info.user_agent.c_str(), nullptr);
  if (with_reason)
    gst_structure_set(details, "reason", G_TYPE_STRING, mjpeghttp::leave_reason_name(info.reason),
                      nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), details));
}

// Camera loss: how long a silence takes, what viewers see meanwhile, and how
// the application hears of it. FALSE (with an element error) when the
// placeholder file cannot be used.
static gboolean gst_mjpeg_http_sink_configure_source_loss(GstMjpegHttpSink *self,
                                                          const mjpeghttp::EngineConfig &config,
                                                          mjpeghttp::EngineHooks *hooks) {
  std::string file_jpeg;
  if (!config.placeholder_location.empty()) {
    std::string error;
    file_jpeg = read_placeholder_file(config.placeholder_location, &error);
    if (file_jpeg.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                        ("Cannot use placeholder-location: %s", error.c_str()),
                        ("placeholder-location='%s'", config.placeholder_location.c_str()));
      return FALSE;
    }
  }
  hooks->make_placeholder = [self, file_jpeg](unsigned width, unsigned height,
                                              int64_t lost_at_us) -> std::string {
    if (!file_jpeg.empty()) return file_jpeg;
    std::string error;
    std::string jpeg = make_no_signal_jpeg(width, height, lost_at_us, &error);
    // Viewers then get the last frame again instead: worth one warning.
    if (jpeg.empty()) GST_WARNING_OBJECT(self, "no placeholder picture: %s", error.c_str());
    return jpeg;
  };
  // The application hears of it from its bus watch, on its own main loop.
  const guint timeout = config.source_timeout_ms;
  hooks->source_changed = [self, timeout](bool online, int64_t lost_at_us) {
    GST_INFO_OBJECT(self, "source %s", online ? "back online" : "offline");
    GstStructure *details =
        online
            ? gst_structure_new_empty("mjpeghttpsink-source-online")
            : gst_structure_new("mjpeghttpsink-source-offline", "lost-at", G_TYPE_STRING,
                                lost_at_us > 0 ? mjpeghttp::format_iso8601(lost_at_us).c_str() : "",
                                "timeout-ms", G_TYPE_UINT, timeout, nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), details));
  };
  return TRUE;
}

// The server runs from READY->PAUSED to PAUSED->READY, as tcpserversink's
// does: base sink's start()/stop() would run it in READY too, where settings
// are still documented as changeable.
static gboolean gst_mjpeg_http_sink_start_server(GstMjpegHttpSink *self) {
  GstMjpegHttpSinkPrivate *priv = self->priv;
  mjpeghttp::EngineConfig config;
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    config = priv->settings;
  }
  {
    gchar *name = gst_object_get_name(GST_OBJECT(self));
    config.mount.element_name = name ? name : "";
    g_free(name);
  }
  const mjpeghttp::ListenConfig listen = config.server.listen;
  const std::string tls_files = "tls-certificate-file='" + config.tls_certificate_file +
                                "' tls-key-file='" + config.tls_key_file + "'";
  const bool https = !config.tls_certificate_file.empty();
  const std::string where = listen.describe();

  // The hooks run on viewer threads; the element outlives them because
  // stop() joins every viewer before the engine goes away.
  mjpeghttp::EngineHooks hooks;
  hooks.viewer_added = [self](const mjpeghttp::ViewerInfo &info) {
    GST_DEBUG_OBJECT(self, "viewer %s connected (%s)", info.address.c_str(),
                     info.user_agent.c_str());
    g_signal_emit(self, signals[SIGNAL_CLIENT_ADDED], 0, info.address.c_str());
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_NUM_CLIENTS]);
    post_viewer_message(self, "mjpeghttpsink-client-added", info, false);
  };
  hooks.viewer_removed = [self](const mjpeghttp::ViewerInfo &info) {
    GST_DEBUG_OBJECT(self, "viewer %s left (%s)", info.address.c_str(),
                     mjpeghttp::leave_reason_name(info.reason));
    g_signal_emit(self, signals[SIGNAL_CLIENT_REMOVED], 0, info.address.c_str());
    g_signal_emit(self, signals[SIGNAL_CLIENT_REMOVED_WITH_REASON],
                  leave_reason_details[static_cast<size_t>(info.reason)], info.address.c_str(),
                  static_cast<gint>(info.reason));
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_NUM_CLIENTS]);
    post_viewer_message(self, "mjpeghttpsink-client-removed", info, true);
  };
  hooks.log = [self](mjpeghttp::LogLevel level, const std::string &text) {
    log_from_engine(self, level, text);
  };
  hooks.server_log = [](mjpeghttp::LogLevel level, const std::string &text) {
    log_from_engine(nullptr, level, text);
  };
  if (!gst_mjpeg_http_sink_configure_source_loss(self, config, &hooks)) return FALSE;

  auto *engine = new mjpeghttp::Engine(config, std::move(hooks));
  mjpeghttp::EngineError error;
  if (!engine->start(&error)) {
    delete engine;
    switch (error.kind) {
      case mjpeghttp::EngineError::Kind::kUnreadable:
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", error.message.c_str()),
                          ("%s", tls_files.c_str()));
        break;
      case mjpeghttp::EngineError::Kind::kCannotListen:
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("%s", error.message.c_str()),
                          ("address=%s port=%u listen-fd=%d", listen.address.c_str(), listen.port,
                           listen.listen_fd));
        break;
      default:
        GST_ELEMENT_ERROR(
            self, RESOURCE, SETTINGS, ("%s", error.message.c_str()),
            ("%s mount=%s %s", where.c_str(), config.mount.mount.c_str(), tls_files.c_str()));
        break;
    }
    return FALSE;
  }
  priv->in_reject_burst = false;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->engine = engine;
    priv->current_port = static_cast<gint>(engine->bound_port());
  }
  GST_INFO_OBJECT(self, "serving %s mount %s on %s (port %d)", https ? "https" : "http",
                  config.mount.mount.c_str(), where.c_str(),
                  static_cast<gint>(engine->bound_port()));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CURRENT_PORT]);
  return TRUE;
}

static void gst_mjpeg_http_sink_stop_server(GstMjpegHttpSink *self) {
  GstMjpegHttpSinkPrivate *priv = self->priv;
  mjpeghttp::Engine *engine;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    engine = priv->engine;
    priv->engine = nullptr;
    priv->current_port = 0;
  }
  if (engine) {
    // Outside state_lock: stopping runs client-removed handlers, which may
    // read properties.
    engine->stop();
    delete engine;
  }
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CURRENT_PORT]);
}

static GstStateChangeReturn gst_mjpeg_http_sink_change_state(GstElement *element,
                                                             GstStateChange transition) {
  GstMjpegHttpSink *self = GST_MJPEG_HTTP_SINK(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !gst_mjpeg_http_sink_start_server(self))
    return GST_STATE_CHANGE_FAILURE;

  GstStateChangeReturn result = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (result == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) gst_mjpeg_http_sink_stop_server(self);
    return result;
  }
  // After chaining up the streaming thread has stopped, so render() can no
  // longer be using the engine.
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) gst_mjpeg_http_sink_stop_server(self);
  return result;
}

static bool buffer_starts_with_soi(GstBuffer *buffer) {
  guint8 head[2];
  return gst_buffer_extract(buffer, 0, head, sizeof head) == sizeof head &&
         mjpeghttp::looks_like_jpeg(head, sizeof head);
}

// X-Timestamp: the moment the buffer's running time is reached on the
// pipeline clock, expressed in wall-clock time (microseconds since the Unix
// epoch), so viewers can measure end-to-end latency against their own clock.
// Buffers without a timestamp, or a pipeline without a clock, use the time
// the frame was handed to the viewers.
static gint64 frame_wall_clock_us(GstMjpegHttpSink *self, GstBuffer *buffer) {
  const gint64 now_us = g_get_real_time();
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return now_us;
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return now_us;
  GstSegment *segment = &GST_BASE_SINK(self)->segment;
  GstClockTime running = gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts);
  GstClockTime clock_now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  if (!GST_CLOCK_TIME_IS_VALID(running)) return now_us;
  const GstClockTimeDiff ahead_ns =
      GST_CLOCK_DIFF(clock_now, gst_element_get_base_time(GST_ELEMENT(self)) + running +
                                    gst_base_sink_get_latency(GST_BASE_SINK(self)));
  return now_us + ahead_ns / 1000;
}

static GstFlowReturn gst_mjpeg_http_sink_render(GstBaseSink *sink, GstBuffer *buffer) {
  GstMjpegHttpSink *self = GST_MJPEG_HTTP_SINK(sink);
  GstMjpegHttpSinkPrivate *priv = self->priv;
  const bool is_jpeg = buffer_starts_with_soi(buffer);
  // The engine keeps the input counters so /stats, /metrics and get-stats
  // read one source.
  priv->engine->count_input(is_jpeg);

  if (!is_jpeg) {
    // One warning per run of bad buffers: a broken source must be visible
    // on the bus, but not flood it at the frame rate.
    if (!priv->in_reject_burst) {
      priv->in_reject_burst = true;
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Dropping buffers that are not JPEG images"),
                          ("buffer of %" G_GSIZE_FORMAT " bytes has no JPEG start-of-image "
                           "marker; %" G_GUINT64_FORMAT " rejected so far",
                           gst_buffer_get_size(buffer), priv->engine->snapshot().frames_rejected));
    }
    return GST_FLOW_OK;
  }
  priv->in_reject_burst = false;

  auto *lent = new LentBuffer{gst_buffer_ref(buffer), {}};
  const guint n_memories = gst_buffer_n_memory(buffer);
  lent->maps.reserve(n_memories);
  std::vector<iovec> chunks;
  chunks.reserve(n_memories);
  for (guint i = 0; i < n_memories; i++) {
    GstMapInfo map;
    if (!gst_memory_map(gst_buffer_peek_memory(buffer, i), &map, GST_MAP_READ)) {
      delete lent;
      GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot read a frame's memory"),
                        ("mapping memory %u of %u failed", i, n_memories));
      return GST_FLOW_ERROR;
    }
    lent->maps.push_back(map);
    if (map.size > 0) chunks.push_back({map.data, map.size});
  }
  GST_LOG_OBJECT(self, "frame of %" G_GSIZE_FORMAT " bytes in %u memories",
                 gst_buffer_get_size(buffer), n_memories);
  priv->engine->publish(std::move(chunks), frame_wall_clock_us(self, buffer),
                        [lent] { delete lent; });
  return GST_FLOW_OK;
}

// The picture size for /state and for the placeholder, when the caps say it.
static gboolean gst_mjpeg_http_sink_set_caps(GstBaseSink *sink, GstCaps *caps) {
  GstMjpegHttpSink *self = GST_MJPEG_HTTP_SINK(sink);
  const GstStructure *structure = gst_caps_get_structure(caps, 0);
  gint width = 0, height = 0;
  if (!gst_structure_get_int(structure, "width", &width) ||
      !gst_structure_get_int(structure, "height", &height))
    width = height = 0;
  if (self->priv->engine)
    self->priv->engine->set_resolution(static_cast<unsigned>(width), static_cast<unsigned>(height));
  return TRUE;
}

static gboolean gst_mjpeg_http_sink_event(GstBaseSink *sink, GstEvent *event) {
  GstMjpegHttpSink *self = GST_MJPEG_HTTP_SINK(sink);
  mjpeghttp::Engine *engine = self->priv->engine;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      // Before EOS goes on: once the application sees EOS on the bus it
      // may stop the pipeline, and the viewers would lose their closing
      // boundary.
      if (engine && !engine->end_of_stream(std::chrono::milliseconds(kEosFlushMs)))
        GST_DEBUG_OBJECT(self, "some viewers did not take the closing boundary in time");
      break;
    case GST_EVENT_FLUSH_START:
      // Not serialized: arrives while the streaming thread may still wait
      // in EOS handling above; a seek must not stall behind that wait.
      if (engine) engine->interrupt_end_of_stream();
      break;
    case GST_EVENT_FLUSH_STOP:
      if (engine) engine->resume();
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS(parent_class)->event(sink, event);
}

static GstStructure *viewer_structure(const mjpeghttp::ViewerSnapshot &viewer) {
  return gst_structure_new(
      "mjpeghttpsink-viewer", "id", G_TYPE_UINT64, static_cast<guint64>(viewer.id), "address",
      G_TYPE_STRING, viewer.address.c_str(), "user-agent", G_TYPE_STRING, viewer.user_agent.c_str(),
      "connected-since", G_TYPE_STRING, mjpeghttp::format_iso8601(viewer.connected_us).c_str(),
      "connected-seconds", G_TYPE_DOUBLE, viewer.connected_seconds, "fps", G_TYPE_DOUBLE,
      viewer.fps, "frames-sent", G_TYPE_UINT64, static_cast<guint64>(viewer.frames_sent),
      "frames-dropped", G_TYPE_UINT64, static_cast<guint64>(viewer.frames_dropped), "bytes-sent",
      G_TYPE_UINT64, static_cast<guint64>(viewer.bytes_sent), "queue-depth", G_TYPE_UINT,
      static_cast<guint>(viewer.queue_depth), nullptr);
}

static GstStructure *gst_mjpeg_http_sink_get_stats(GstMjpegHttpSink *self) {
  GstMjpegHttpSinkPrivate *priv = self->priv;
  mjpeghttp::StatsSnapshot stats;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    if (priv->engine) stats = priv->engine->snapshot();
  }
  GstStructure *result = gst_structure_new(
      "mjpeghttpsink-stats", "uptime", G_TYPE_DOUBLE, stats.uptime_seconds, "frames-in",
      G_TYPE_UINT64, static_cast<guint64>(stats.frames_in), "frames-rejected", G_TYPE_UINT64,
      static_cast<guint64>(stats.frames_rejected), "frames-published", G_TYPE_UINT64,
      static_cast<guint64>(stats.frames_published), "frames-overflowed", G_TYPE_UINT64,
      static_cast<guint64>(stats.frames_overflowed), "frames-sent", G_TYPE_UINT64,
      static_cast<guint64>(stats.frames_sent), "frames-dropped", G_TYPE_UINT64,
      static_cast<guint64>(stats.frames_dropped), "bytes-served", G_TYPE_UINT64,
      static_cast<guint64>(stats.bytes_served), "viewers-total", G_TYPE_UINT64,
      static_cast<guint64>(stats.viewers_total), "num-clients", G_TYPE_UINT,
      static_cast<guint>(stats.viewers_now), nullptr);
  GValue viewers = G_VALUE_INIT;
  gst_value_array_init(&viewers, stats.viewers.size());
  for (const mjpeghttp::ViewerSnapshot &viewer : stats.viewers) {
    GValue entry = G_VALUE_INIT;
    g_value_init(&entry, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&entry, viewer_structure(viewer));
    gst_value_array_append_and_take_value(&viewers, &entry);
  }
  gst_structure_take_value(result, "viewers", &viewers);
  GstStructure *left = gst_structure_new_empty("mjpeghttpsink-viewers-left");
  for (size_t i = 0; i < stats.viewers_left.size(); i++)
    gst_structure_set(left, mjpeghttp::leave_reason_name(static_cast<mjpeghttp::LeaveReason>(i)),
                      G_TYPE_UINT64, static_cast<guint64>(stats.viewers_left[i]), nullptr);
  gst_structure_set(result, "viewers-left", GST_TYPE_STRUCTURE, left, nullptr);
  gst_structure_free(left);
  return result;
}

// NULL resets a string property to its default.
static std::string string_or(const GValue *value, const std::string &fallback) {
  const gchar *text = g_value_get_string(value);
  return text ? text : fallback;
}

static void gst_mjpeg_http_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                             GParamSpec *pspec) {
  GstMjpegHttpSinkPrivate *priv = GST_MJPEG_HTTP_SINK(object)->priv;
  std::lock_guard<std::mutex> lock(priv->settings_lock);
  mjpeghttp::EngineConfig &s = priv->settings;
  switch (prop_id) {
    case PROP_ADDRESS:
      s.server.listen.address = string_or(value, kDefaults.server.listen.address);
      break;
    case PROP_PORT:
      s.server.listen.port = static_cast<unsigned>(g_value_get_int(value));
      break;
    case PROP_MOUNT: {
      // "" is the root mount too; reading it back says "/".
      const gchar *mount = g_value_get_string(value);
      s.mount.mount = mount && *mount ? mount : kDefaults.mount.mount;
      break;
    }
    case PROP_LISTEN_FD:
      s.server.listen.listen_fd = g_value_get_int(value);
      break;
    case PROP_UNIX_SOCKET_MODE:
      s.server.listen.unix_socket_mode = g_value_get_uint(value);
      break;
    case PROP_STREAM_PATH:
      s.mount.stream_path = string_or(value, kDefaults.mount.stream_path);
      break;
    case PROP_SNAPSHOT_PATH:
      s.mount.snapshot_path = string_or(value, kDefaults.mount.snapshot_path);
      break;
    case PROP_MAX_CLIENTS:
      s.max_viewers = g_value_get_uint(value);
      break;
    case PROP_MAX_QUEUED_FRAMES:
      s.max_queued_frames = g_value_get_uint(value);
      break;
    case PROP_QUEUE_POLICY:
      s.queue_policy = static_cast<mjpeghttp::QueuePolicy>(g_value_get_enum(value));
      break;
    case PROP_CLIENT_TIMEOUT:
      s.viewer_timeout_ms = g_value_get_uint(value) * 1000;
      break;
    case PROP_REQUEST_TIMEOUT:
      s.server.request_timeout_ms = g_value_get_uint(value) * 1000;
      break;
    case PROP_STATS_PATH:
      s.mount.stats_path = string_or(value, kDefaults.mount.stats_path);
      break;
    case PROP_METRICS_PATH:
      s.mount.metrics_path = string_or(value, kDefaults.mount.metrics_path);
      break;
    case PROP_IDLE_RESEND:
      s.idle_resend_ms = g_value_get_uint(value);
      break;
    case PROP_ADVANCE_HEADERS:
      s.headers_in_advance = g_value_get_boolean(value);
      break;
    case PROP_INSERT_DHT:
      s.insert_dht = g_value_get_boolean(value);
      break;
    case PROP_AUTH_USER:
      s.server.access.user = string_or(value, "");
      break;
    case PROP_AUTH_PASSWORD:
      s.server.access.password = string_or(value, "");
      break;
    case PROP_AUTH_EXEMPT_PATHS:
      s.auth_exempt_paths = string_or(value, "");
      break;
    case PROP_TLS_CERTIFICATE_FILE:
      s.tls_certificate_file = string_or(value, "");
      break;
    case PROP_TLS_KEY_FILE:
      s.tls_key_file = string_or(value, "");
      break;
    case PROP_ALLOW_ORIGIN:
      s.server.access.allow_origin = string_or(value, "");
      break;
    case PROP_SOURCE_TIMEOUT:
      s.source_timeout_ms = g_value_get_uint(value);
      break;
    case PROP_PLACEHOLDER_LOCATION:
      s.placeholder_location = string_or(value, "");
      break;
    case PROP_AUTH_METHOD:
      s.server.access.method = static_cast<mjpeghttp::AuthMethod>(g_value_get_enum(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_mjpeg_http_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                             GParamSpec *pspec) {
  GstMjpegHttpSinkPrivate *priv = GST_MJPEG_HTTP_SINK(object)->priv;
  switch (prop_id) {
    case PROP_CURRENT_PORT: {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      g_value_set_int(value, priv->current_port);
      return;
    }
    case PROP_NUM_CLIENTS: {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      g_value_set_uint(value, priv->engine ? static_cast<guint>(priv->engine->num_viewers()) : 0);
      return;
    }
    case PROP_BYTES_SERVED: {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      g_value_set_uint64(value, priv->engine ? priv->engine->snapshot().bytes_served : 0);
      return;
    }
    default:
      break;
  }
  std::lock_guard<std::mutex> lock(priv->settings_lock);
  const mjpeghttp::EngineConfig &s = priv->settings;
  switch (prop_id) {
    case PROP_ADDRESS:
      g_value_set_string(value, s.server.listen.address.c_str());
      break;
    case PROP_PORT:
      g_value_set_int(value, static_cast<gint>(s.server.listen.port));
      break;
    case PROP_MOUNT:
      g_value_set_string(value, s.mount.mount.c_str());
      break;
    case PROP_LISTEN_FD:
      g_value_set_int(value, s.server.listen.listen_fd);
      break;
    case PROP_UNIX_SOCKET_MODE:
      g_value_set_uint(value, s.server.listen.unix_socket_mode);
      break;
    case PROP_STREAM_PATH:
      g_value_set_string(value, s.mount.stream_path.c_str());
      break;
    case PROP_SNAPSHOT_PATH:
      g_value_set_string(value, s.mount.snapshot_path.c_str());
      break;
    case PROP_MAX_CLIENTS:
      g_value_set_uint(value, static_cast<guint>(s.max_viewers));
      break;
    case PROP_MAX_QUEUED_FRAMES:
      g_value_set_uint(value, static_cast<guint>(s.max_queued_frames));
      break;
    case PROP_QUEUE_POLICY:
      g_value_set_enum(value, static_cast<gint>(s.queue_policy));
      break;
    case PROP_CLIENT_TIMEOUT:
      g_value_set_uint(value, s.viewer_timeout_ms / 1000);
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_uint(value, s.server.request_timeout_ms / 1000);
      break;
    case PROP_STATS_PATH:
      g_value_set_string(value, s.mount.stats_path.c_str());
      break;
    case PROP_METRICS_PATH:
      g_value_set_string(value, s.mount.metrics_path.c_str());
      break;
    case PROP_IDLE_RESEND:
      g_value_set_uint(value, s.idle_resend_ms);
      break;
    case PROP_ADVANCE_HEADERS:
      g_value_set_boolean(value, s.headers_in_advance);
      break;
    case PROP_INSERT_DHT:
      g_value_set_boolean(value, s.insert_dht);
      break;
    case PROP_AUTH_USER:
      g_value_set_string(value, s.server.access.user.c_str());
      break;
    case PROP_AUTH_EXEMPT_PATHS:
      g_value_set_string(value, s.auth_exempt_paths.c_str());
      break;
    case PROP_TLS_CERTIFICATE_FILE:
      g_value_set_string(value, s.tls_certificate_file.c_str());
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string(value, s.tls_key_file.c_str());
      break;
    case PROP_ALLOW_ORIGIN:
      g_value_set_string(value, s.server.access.allow_origin.c_str());
      break;
    case PROP_SOURCE_TIMEOUT:
      g_value_set_uint(value, s.source_timeout_ms);
      break;
    case PROP_PLACEHOLDER_LOCATION:
      g_value_set_string(value, s.placeholder_location.c_str());
      break;
    case PROP_AUTH_METHOD:
      g_value_set_enum(value, static_cast<gint>(s.server.access.method));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_mjpeg_http_sink_finalize(GObject *object) {
  GstMjpegHttpSink *self = GST_MJPEG_HTTP_SINK(object);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_mjpeg_http_sink_init(GstMjpegHttpSink *self) {
  self->priv = new GstMjpegHttpSinkPrivate();
}

static void gst_mjpeg_http_sink_class_init(GstMjpegHttpSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS(klass);

  gobject_class->set_property = gst_mjpeg_http_sink_set_property;
  gobject_class->get_property = gst_mjpeg_http_sink_get_property;
  gobject_class->finalize = gst_mjpeg_http_sink_finalize;

  const GParamFlags rw_ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                        GST_PARAM_MUTABLE_READY);
  const GParamFlags ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GstMjpegHttpSink:address:
   *
   * 127.0.0.1 serves this machine only; 0.0.0.0 (IPv4) or :: (IPv6 and IPv4) serve the network.
   * With unix:PATH a stale socket file left by a dead server is replaced.
   *
   * Since: 0.1
   */
  properties[PROP_ADDRESS] = g_param_spec_string(
      "address", "Address",
      "Local address to listen on: an IP address, a host name, or unix:PATH for a unix domain "
      "socket",
      kDefaults.server.listen.address.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:port:
   *
   * A port in use fails the change to PAUSED with a RESOURCE/OPEN_WRITE error naming the address
   * and port.
   *
   * Since: 0.1
   */
  properties[PROP_PORT] = g_param_spec_int(
      "port", "Port", "TCP port to listen on (0 = pick a free port; see current-port)", 0, 65535,
      static_cast<gint>(kDefaults.server.listen.port), rw_ready);
  /**
   * GstMjpegHttpSink:current-port:
   *
   * The port #GstMjpegHttpSink:port named, or the one picked for port 0; 0 for a unix socket.
   * Notified when it changes.
   *
   * Since: 0.1
   */
  properties[PROP_CURRENT_PORT] = g_param_spec_int(
      "current-port", "Current port",
      "TCP port the server listens on while PAUSED or PLAYING, 0 otherwise", 0, 65535, 0, ro);
  /**
   * GstMjpegHttpSink:stream-path:
   *
   * Relative to #GstMjpegHttpSink:mount. `?fps=N` on it caps one viewer's rate.
   *
   * Since: 0.1
   */
  properties[PROP_STREAM_PATH] = g_param_spec_string(
      "stream-path", "Stream path", "URL path of the MJPEG (multipart/x-mixed-replace) stream",
      kDefaults.mount.stream_path.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:snapshot-path:
   *
   * Relative to #GstMjpegHttpSink:mount. Answers 503 with Retry-After before the first frame.
   *
   * Since: 0.1
   */
  properties[PROP_SNAPSHOT_PATH] = g_param_spec_string(
      "snapshot-path", "Snapshot path", "URL path of the latest frame as a single JPEG",
      kDefaults.mount.snapshot_path.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:max-clients:
   *
   * A HEAD request on the stream takes no slot.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CLIENTS] = g_param_spec_uint(
      "max-clients", "Max clients",
      "Most stream viewers served at once; more get 503 with Retry-After (0 = unlimited)", 0,
      G_MAXINT, static_cast<guint>(kDefaults.max_viewers), rw_ready);
  /**
   * GstMjpegHttpSink:max-queued-frames:
   *
   * Frames are shared between viewers, not copied: a deeper queue costs a pointer per frame per
   * viewer. A shallow one keeps a slow viewer on fresh frames.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_QUEUED_FRAMES] = g_param_spec_uint(
      "max-queued-frames", "Max queued frames",
      "Frames waiting for one viewer before queue-policy applies", 1, kMaxQueuedFramesLimit,
      static_cast<guint>(kDefaults.max_queued_frames), rw_ready);
  /**
   * GstMjpegHttpSink:queue-policy:
   *
   * drop-oldest keeps a slow viewer on the freshest frame; drop-newest keeps what is queued;
   * disconnect cuts the viewer off.
   *
   * Since: 0.1
   */
  properties[PROP_QUEUE_POLICY] = g_param_spec_enum(
      "queue-policy", "Queue policy", "What happens when a viewer's queue is full",
      GST_TYPE_MJPEG_HTTP_SINK_QUEUE_POLICY, static_cast<gint>(kDefaults.queue_policy), rw_ready);
  /**
   * GstMjpegHttpSink:client-timeout:
   *
   * A write that makes no progress for this long, or, while the viewer is paced, nothing
   * acknowledged for this long, ends the viewer.
   *
   * Since: 0.1
   */
  properties[PROP_CLIENT_TIMEOUT] =
      g_param_spec_uint("client-timeout", "Client timeout",
                        "Seconds a viewer may accept no data before it is disconnected (0 = never)",
                        0, 3600, kDefaults.viewer_timeout_ms / 1000, rw_ready);
  /**
   * GstMjpegHttpSink:request-timeout:
   *
   * Counted from when the connection opened, so clients that send slowly or nothing at all
   * (slowloris) are cut off. Elements sharing a server must agree on it.
   *
   * Since: 0.1
   */
  properties[PROP_REQUEST_TIMEOUT] = g_param_spec_uint(
      "request-timeout", "Request timeout",
      "Seconds a connection may take to send a complete request before it is closed (0 = never)", 0,
      3600, kDefaults.server.request_timeout_ms / 1000, rw_ready);
  /**
   * GstMjpegHttpSink:idle-resend:
   *
   * Browsers that show a frame one late (Chrome) then show the newest one while the source is
   * idle. Values from 1 to 99 act as 100.
   *
   * Since: 0.1
   */
  properties[PROP_IDLE_RESEND] = g_param_spec_uint(
      "idle-resend", "Idle resend",
      "Milliseconds without a new frame after which each viewer is sent the latest frame again (0 "
      "= never)",
      0, 60000, kDefaults.idle_resend_ms, rw_ready);
  /**
   * GstMjpegHttpSink:advance-headers:
   *
   * Chrome shows a part only once the next part's headers arrive: sent early, they make it show
   * each frame as soon as it arrives instead of one frame late. Parts then carry no Content-Length
   * or X-Timestamp.
   *
   * Since: 0.1
   */
  properties[PROP_ADVANCE_HEADERS] =
      g_param_spec_boolean("advance-headers", "Advance headers",
                           "Send each part's headers right after the previous frame, for Chrome",
                           kDefaults.headers_in_advance, rw_ready);
  /**
   * GstMjpegHttpSink:insert-dht:
   *
   * Many USB cameras send JPEGs without them, and browsers and most decoders need them. The tables
   * are added as one more memory; the frame itself is not copied.
   *
   * Since: 0.1
   */
  properties[PROP_INSERT_DHT] = g_param_spec_boolean(
      "insert-dht", "Insert DHT", "Insert the standard Huffman tables into JPEGs that lack them",
      kDefaults.insert_dht, rw_ready);
  /**
   * GstMjpegHttpSink:num-clients:
   *
   * Notified as viewers come and go.
   *
   * Since: 0.1
   */
  properties[PROP_NUM_CLIENTS] = g_param_spec_uint(
      "num-clients", "Number of clients", "Stream viewers connected now", 0, G_MAXUINT, 0, ro);
  /**
   * GstMjpegHttpSink:bytes-served:
   *
   * Starts again from zero each time the element goes to PAUSED.
   *
   * Since: 0.1
   */
  properties[PROP_BYTES_SERVED] = g_param_spec_uint64(
      "bytes-served", "Bytes served", "Bytes written to stream viewers since the server started", 0,
      G_MAXUINT64, 0, ro);
  /**
   * GstMjpegHttpSink:auth-user:
   *
   * Checked as #GstMjpegHttpSink:auth-method says, realm "mjpeghttpsink". A request without the
   * right credentials gets 401, except on #GstMjpegHttpSink:auth-exempt-paths and CORS preflights.
   * With Basic, use HTTPS too, or the password crosses the network in clear.
   *
   * Since: 0.1
   */
  properties[PROP_AUTH_USER] = g_param_spec_string(
      "auth-user", "Auth user",
      "User name every request must present with HTTP authentication (empty = none)", "", rw_ready);
  /**
   * GstMjpegHttpSink:auth-password:
   *
   * Write-only: a readable password would end up in pipeline dumps (dot files list every property
   * that differs from its default). Default: empty.
   *
   * Since: 0.1
   */
  properties[PROP_AUTH_PASSWORD] = g_param_spec_string(
      "auth-password", "Auth password", "Password for auth-user (write-only)", "",
      static_cast<GParamFlags>(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
                               GST_PARAM_MUTABLE_READY));
  /**
   * GstMjpegHttpSink:auth-exempt-paths:
   *
   * Each path covers itself and everything under it. Default: empty (every path needs
   * authentication).
   *
   * Since: 0.1
   */
  properties[PROP_AUTH_EXEMPT_PATHS] = g_param_spec_string(
      "auth-exempt-paths", "Auth-exempt paths",
      "Comma-separated URL paths served without authentication, e.g. \"/snapshot\"", "", rw_ready);
  /**
   * GstMjpegHttpSink:tls-certificate-file:
   *
   * Needs #GstMjpegHttpSink:tls-key-file. Read when the element goes to PAUSED: a missing or
   * unreadable file fails that change with RESOURCE/OPEN_READ, a bad one with RESOURCE/SETTINGS.
   *
   * Since: 0.1
   */
  properties[PROP_TLS_CERTIFICATE_FILE] = g_param_spec_string(
      "tls-certificate-file", "TLS certificate file",
      "PEM file with the server certificate (and its chain) to serve HTTPS (empty = plain HTTP)",
      "", rw_ready);
  /**
   * GstMjpegHttpSink:tls-key-file:
   *
   * Checked against the certificate with a TLS handshake when the element goes to PAUSED.
   *
   * Since: 0.1
   */
  properties[PROP_TLS_KEY_FILE] = g_param_spec_string(
      "tls-key-file", "TLS key file",
      "PEM file with the private key of tls-certificate-file (empty = plain HTTP)", "", rw_ready);
  /**
   * GstMjpegHttpSink:allow-origin:
   *
   * Sent as Access-Control-Allow-Origin on every response, and OPTIONS preflight requests are
   * answered (without authentication). Printable ASCII only.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOW_ORIGIN] = g_param_spec_string(
      "allow-origin", "Allow origin",
      "Web origin allowed to read the responses from scripts (CORS), e.g. \"*\" (empty = no CORS)",
      "", rw_ready);
  /**
   * GstMjpegHttpSink:stats-path:
   *
   * Relative to #GstMjpegHttpSink:mount; the server-wide one (root mount) covers every mount.
   *
   * Since: 0.1
   */
  properties[PROP_STATS_PATH] =
      g_param_spec_string("stats-path", "Stats path",
                          "URL path of the statistics as JSON: totals and one entry per viewer",
                          kDefaults.mount.stats_path.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:metrics-path:
   *
   * Every sample is labelled with the element's name and mount.
   *
   * Since: 0.1
   */
  properties[PROP_METRICS_PATH] = g_param_spec_string(
      "metrics-path", "Metrics path", "URL path of the statistics in the Prometheus text format",
      kDefaults.mount.metrics_path.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:mount:
   *
   * "/cam1" serves /cam1/, /cam1/stream, /cam1/snapshot, /cam1/stats and /cam1/metrics. Elements
   * listening on the same address and port (or unix socket, or listen-fd) share one server, each
   * on its own mount.
   *
   * Since: 0.1
   */
  properties[PROP_MOUNT] = g_param_spec_string(
      "mount", "Mount",
      "Where on the server this element's stream lives: \"/\" or a path such as \"/cam1\"",
      kDefaults.mount.mount.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:listen-fd:
   *
   * E.g. 3 with systemd socket activation (LISTEN_FDS), or one a parent process opened on port 80
   * before dropping privileges. The element works on a duplicate and leaves this descriptor open.
   *
   * Since: 0.1
   */
  properties[PROP_LISTEN_FD] =
      g_param_spec_int("listen-fd", "Listen fd",
                       "An already listening socket to serve on instead of binding address and "
                       "port (-1 = bind them)",
                       -1, G_MAXINT, kDefaults.server.listen.listen_fd, rw_ready);
  /**
   * GstMjpegHttpSink:unix-socket-mode:
   *
   * Who may connect: a reverse proxy usually runs as another user sharing a group.
   *
   * Since: 0.1
   */
  properties[PROP_UNIX_SOCKET_MODE] = g_param_spec_uint(
      "unix-socket-mode", "Unix socket mode",
      "Permissions of the socket file when address is unix:PATH (0660 = owner and group)", 0, 0777,
      kDefaults.server.listen.unix_socket_mode, rw_ready);
  /**
   * GstMjpegHttpSink:source-timeout:
   *
   * While offline, viewers get a placeholder picture about once a second, /snapshot answers it
   * with X-Source-Online: 0, /healthz answers 503, /state says online: false, and a
   * "mjpeghttpsink-source-offline" element message is posted ("-online" when frames return).
   * Before the first frame the source is offline too, and /snapshot waits this long for it.
   *
   * Since: 0.1
   */
  properties[PROP_SOURCE_TIMEOUT] = g_param_spec_uint(
      "source-timeout", "Source timeout",
      "Milliseconds without a frame after which the source counts as offline (0 = never)", 0,
      kMaxSourceTimeout, kDefaults.source_timeout_ms, rw_ready);
  /**
   * GstMjpegHttpSink:placeholder-location:
   *
   * Read when the element goes to PAUSED. The generated picture has the size of the last frame and
   * the time the signal was lost.
   *
   * Since: 0.1
   */
  properties[PROP_PLACEHOLDER_LOCATION] = g_param_spec_string(
      "placeholder-location", "Placeholder location",
      "JPEG file shown while the source is offline (empty = a generated NO SIGNAL picture)",
      kDefaults.placeholder_location.c_str(), rw_ready);
  /**
   * GstMjpegHttpSink:auth-method:
   *
   * Digest goes through libsoup's digest domain. A client that uses the other method gets 401.
   *
   * Since: 0.1
   */
  properties[PROP_AUTH_METHOD] = g_param_spec_enum(
      "auth-method", "Auth method", "How auth-user and auth-password are checked: basic or digest",
      GST_TYPE_MJPEG_HTTP_SINK_AUTH_METHOD, static_cast<gint>(kDefaults.server.access.method),
      rw_ready);
  g_object_class_install_properties(gobject_class, N_PROPS, properties);

  /**
   * GstMjpegHttpSink::client-added:
   * @sink: the sink
   * @address: the viewer's "host:port"
   *
   * A viewer started receiving the stream. Emitted on that viewer's own
   * thread, with no lock of the element held.
   */
  signals[SIGNAL_CLIENT_ADDED] =
      g_signal_new("client-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
                   nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GstMjpegHttpSink::client-removed:
   * @sink: the sink
   * @address: the viewer's "host:port"
   *
   * A viewer left, was cut off, or the server stopped. Emitted on that
   * viewer's own thread, after its connection was closed, with no lock of
   * the element held.
   */
  signals[SIGNAL_CLIENT_REMOVED] =
      g_signal_new("client-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
                   nullptr, nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GstMjpegHttpSink::client-removed-with-reason:
   * @sink: the sink
   * @address: the viewer's "host:port"
   * @reason: why the viewer left
   *
   * Emitted right after #GstMjpegHttpSink::client-removed, for the same
   * viewer, on the same thread, with why it left. Its detail is the
   * reason's nick: connect to "client-removed-with-reason::timeout" to
   * hear only of viewers cut off by #GstMjpegHttpSink:client-timeout.
   */
  signals[SIGNAL_CLIENT_REMOVED_WITH_REASON] = g_signal_new(
      "client-removed-with-reason", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED), 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, GST_TYPE_MJPEG_HTTP_SINK_LEAVE_REASON);
  for (size_t i = 0; i < mjpeghttp::kLeaveReasonCount; i++)
    leave_reason_details[i] = g_quark_from_static_string(
        mjpeghttp::leave_reason_name(static_cast<mjpeghttp::LeaveReason>(i)));
  /**
   * GstMjpegHttpSink::get-stats:
   * @sink: the sink
   *
   * Returns: (transfer full): a #GstStructure "mjpeghttpsink-stats" with
   * uptime (gdouble, seconds), frames-in, frames-rejected, frames-published,
   * frames-overflowed, frames-sent, frames-dropped, bytes-served, viewers-total (guint64),
   * num-clients (guint), viewers-left: a #GstStructure with one guint64
   * per reason a viewer can leave while the server runs (closed,
   * write-error, timeout, queue-disconnect, eos), and viewers: a
   * #GstValueArray with one
   * #GstStructure "mjpeghttpsink-viewer" per viewer (id, address,
   * user-agent, connected-since as ISO 8601, connected-seconds, fps,
   * frames-sent, frames-dropped, bytes-sent, queue-depth). The same numbers
   * as the stats-path and metrics-path endpoints.
   */
  signals[SIGNAL_GET_STATS] = g_signal_new_class_handler(
      "get-stats", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_mjpeg_http_sink_get_stats), nullptr, nullptr, nullptr, GST_TYPE_STRUCTURE, 0);

  gst_element_class_set_static_metadata(
      element_class, "MJPEG HTTP sink", "Sink/Network",
      "Serves JPEG frames to many viewers as a live MJPEG (multipart/x-mixed-replace) HTTP stream",
      "gst-mjpeg-http developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_mjpeg_http_sink_change_state);
  base_sink_class->render = GST_DEBUG_FUNCPTR(gst_mjpeg_http_sink_render);
  base_sink_class->event = GST_DEBUG_FUNCPTR(gst_mjpeg_http_sink_event);
  base_sink_class->set_caps = GST_DEBUG_FUNCPTR(gst_mjpeg_http_sink_set_caps);

  GST_DEBUG_CATEGORY_INIT(mjpeghttpsink_debug, "mjpeghttpsink", 0, "MJPEG HTTP sink");
  gst_type_mark_as_plugin_api(GST_TYPE_MJPEG_HTTP_SINK_QUEUE_POLICY,
                              static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_MJPEG_HTTP_SINK_LEAVE_REASON,
                              static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_MJPEG_HTTP_SINK_AUTH_METHOD,
                              static_cast<GstPluginAPIFlags>(0));
}
