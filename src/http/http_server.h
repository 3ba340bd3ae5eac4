// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP front: a SoupServer that lives on its own thread with its own
// GMainContext (the application may run no main loop at all, and
// g_main_context_invoke on the default context would run inline on the
// streaming thread). One server may carry several streams, each on its own
// mount ("/cam1" serves /cam1/stream, /cam1/snapshot, ...), like the mounts
// of an RTSP server; each mount is served by a StreamService (one per
// element). A /stream request is answered with the multipart headers, then
// its connection is taken over from libsoup and handed to its mount's
// service, which serves it on a thread of its own.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "http/http_access.h"
#include "http/listen_socket.h"
#include "http/mount_config.h"
#include "http/request_gate.h"
#include "http/tls_identity.h"
#include "stats/stats.h"
#include "stream/frame.h"
#include "stream/viewer_info.h"

namespace mjpeghttp {

// What the HTTP thread needs from one mount's engine. Called on the HTTP
// thread, and never after HttpServer::remove_mount() returned for it.
class StreamService {
 public:
  virtual ~StreamService() = default;
  // Claims a viewer slot; false when max-clients viewers are already served.
  virtual bool reserve_viewer() = 0;
  // Gives back a slot whose request never became a viewer.
  virtual void release_viewer() = 0;
  // Serves a stolen connection whose 200 headers are already written; the
  // slot reserved for it passes to the viewer.
  virtual void adopt_viewer(GIOStream *connection, GSocket *socket, ViewerInfo info) = 0;
  virtual FramePtr latest_frame() = 0;
  virtual std::string stream_content_type() = 0;
  // Runs about once a second on the HTTP thread (joins finished viewers).
  virtual void housekeeping() = 0;
  // For /stats and /metrics; must not wait on any viewer.
  virtual StatsSnapshot stats_snapshot() = 0;
  virtual bool source_online() const = 0;
  // How long without a frame the source counts as offline (0 = never): also
  // how long a /snapshot request waits for a frame.
  virtual unsigned source_timeout_ms() const = 0;
};

// Settings of the server itself: every element sharing it must agree on them.
struct ServerConfig {
  ListenConfig listen;
  // A request not fully read this long after its connection opened (or its
  // first byte arrived) is cut off; 0 = never. libsoup has no such limit,
  // so without it 1-byte-a-second clients hold connections for ever.
  unsigned request_timeout_ms = 10000;
  // Authentication and CORS.
  AccessConfig access;
  // HTTPS with this identity; null = plain HTTP.
  TlsCertificatePtr tls_certificate;
};

// Why a server's settings cannot be shared with another element's, or an
// empty string when they can.
std::string describe_conflict(const ServerConfig &running, const ServerConfig &wanted);

class HttpServer {
 public:
  HttpServer(ServerConfig config, LogSink log);
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // Binds, listens and starts the HTTP thread. On failure returns false with
  // a message naming the address and the system's reason.
  bool start(std::string *error);
  // Stops accepting, closes every connection libsoup still owns and joins
  // the HTTP thread. Stolen (viewer) connections are not libsoup's anymore.
  void stop();
  // The port actually bound (the ephemeral one when configured with 0); 0
  // for a unix socket.
  unsigned bound_port() const { return listener_.bound_port(); }
  const ServerConfig &config() const { return config_; }

  // Serves `service` on `mount` from now on, or returns false with a message
  // naming the clash (a mount or a path already served). Safe from any
  // thread but the HTTP thread; returns once the HTTP thread routes to it.
  bool add_mount(const MountConfig &mount, StreamService *service, std::string *error);
  // A mount published a frame: snapshot requests waiting for one are
  // answered. Safe from any thread; costs one atomic load when none waits.
  void frame_published();

  // After this returns, the HTTP thread never calls `service` again: requests
  // for the mount get 404, and its half-answered /stream requests are closed.
  void remove_mount(StreamService *service);

  // Listen backlog: libsoup's own listen() uses 10, which refuses bursts of
  // viewers (a page reload by a room full of people).
  static constexpr int kListenBacklog = 512;
  // Served by the server itself whatever the mounts: the list of streams.
  static constexpr const char *kStreamsPath = "/streams";
  // On every mount and server-wide: the source's health (200 online, 503
  // offline) and ustreamer's state document.
  static constexpr const char *kHealthPath = "/healthz";
  static constexpr const char *kStatePath = "/state";
  // How long /snapshot?wait=next waits when source-timeout is off.
  static constexpr unsigned kNextFrameWaitMs = 10000;

 private:
  struct Mount;
  struct Route;
  struct PendingViewer;
  using Routes = std::map<std::string, Route>;

  static gpointer thread_main(gpointer self);
  void run();
  void join_thread();
  void report_ready(const std::string &error);
  // Runs `work` on the HTTP thread and waits for it.
  void run_on_http_thread(const std::function<void()> &work);
  void run_pending_call();
  // The routing table for `mounts`, or false with the first clash that
  // involves `newcomer` (the mount joining; null: none is reported).
  bool build_routes(const std::vector<std::shared_ptr<Mount>> &mounts, const Mount *newcomer,
                    Routes *routes, std::string *error) const;

  static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer self);
  static void on_request_read(SoupServer *server, SoupServerMessage *msg, gpointer self);
  static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer self);
  void handle(SoupServerMessage *msg, const std::string &path, GHashTable *query);
  // Turns a mount page's "?action=stream|snapshot" into that endpoint's
  // route; false when it answered the request itself (an unknown action).
  bool apply_mjpg_streamer_action(SoupServerMessage *msg, GHashTable *query, Route *route);
  void serve_stream(SoupServerMessage *msg, const std::shared_ptr<Mount> &mount, bool head_only,
                    GHashTable *query);
  void serve_snapshot(SoupServerMessage *msg, const std::shared_ptr<Mount> &mount, bool head_only,
                      GHashTable *query);
  // Answers a /snapshot request with `frame` (503 when null).
  static void answer_snapshot(SoupServerMessage *msg, const FramePtr &frame, bool online,
                              bool head_only);
  struct SnapshotWait;
  // Answers the waits whose frame has come (all of them with `mount` gone,
  // when `removed` is set).
  void answer_snapshot_waits(const Mount *removed);
  void finish_snapshot_wait(SnapshotWait *wait);
  void serve_document(SoupServerMessage *msg, const char *content_type, const std::string &body,
                      bool head_only);
  void serve_health(SoupServerMessage *msg, const std::vector<MountSnapshot> &mounts,
                    bool head_only);
  // Every mount's counters, in mount order.
  std::vector<MountSnapshot> snapshot_mounts() const;
  static MountSnapshot snapshot_mount(const Mount &mount);
  void log(LogLevel level, const std::string &text) const;

  const ServerConfig config_;
  LogSink log_;

  GThread *thread_ = nullptr;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  SoupServer *server_ = nullptr;
  ListenSocket listener_;
  std::unique_ptr<RequestGate> gate_;
  int64_t started_monotonic_us_ = 0;

  // HTTP thread only.
  std::list<SnapshotWait *> snapshot_waits_;
  // How many are in snapshot_waits_, and whether a wake-up is on its way:
  // read by the publishing threads.
  std::atomic<size_t> snapshot_wait_count_{0};
  std::atomic<bool> snapshot_wake_queued_{false};
  std::vector<std::shared_ptr<Mount>> mounts_;
  std::unique_ptr<Routes> routes_;

  // run_on_http_thread()'s hand-over and its completion.
  struct PendingCall {
    const std::function<void()> *work;
    bool done;
  };
  std::mutex calls_mutex_;
  std::condition_variable calls_done_;
  std::deque<PendingCall *> pending_calls_;

  std::mutex start_mutex_;
  std::condition_variable start_cond_;
  bool start_reported_ = false;
  std::string start_error_;
};

}  // namespace mjpeghttp
