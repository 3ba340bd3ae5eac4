// The HTTP front of the engine: a SoupServer that lives on its own thread with
// its own GMainContext (the application may run no main loop at all, and
// g_main_context_invoke on the default context would run inline on the
// streaming thread). It parses requests and routes them; a /stream request is
// answered with the multipart headers, then its connection is taken over
// from libsoup and handed to the StreamService, which serves it on a thread
// of its own.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "client_thread.h"
#include "frame.h"
#include "http_access.h"
#include "log.h"
#include "stats.h"
#include "request_gate.h"
#include "tls_identity.h"

namespace mjpeghttp {

// What the HTTP thread needs from the engine. Called on the HTTP thread.
class StreamService {
 public:
  virtual ~StreamService() = default;
  // Claims a viewer slot; false when max-clients viewers are already served.
  virtual bool reserve_viewer() = 0;
  // Gives back a slot whose request never became a viewer.
  virtual void release_viewer() = 0;
  // Serves a stolen connection whose 200 headers are already written; the
  // slot reserved for it passes to the viewer.
  virtual void adopt_viewer(GIOStream *connection, GSocket *socket, ClientInfo info) = 0;
  virtual FramePtr latest_frame() = 0;
  virtual std::string stream_content_type() = 0;
  // Runs about once a second on the HTTP thread (joins finished viewers).
  virtual void housekeeping() = 0;
  // For /stats and /metrics; must not wait on any viewer.
  virtual StatsSnapshot stats_snapshot() = 0;
};

struct HttpConfig {
  std::string address = "127.0.0.1";
  unsigned port = 8080;  // 0 = ephemeral
  std::string stream_path = "/stream";
  std::string snapshot_path = "/snapshot";
  std::string index_path = "/";
  std::string stats_path = "/stats";
  std::string metrics_path = "/metrics";
  // A request not fully read this long after its connection opened (or its
  // first byte arrived) is cut off; 0 = never. libsoup has no such limit,
  // so without it 1-byte-a-second clients hold connections for ever.
  unsigned request_timeout_ms = 10000;
  // Authentication and CORS.
  AccessConfig access;
  // HTTPS with this identity; null = plain HTTP.
  TlsCertificatePtr tls_certificate;
};

class HttpServer {
 public:
  HttpServer(HttpConfig config, StreamService &service, LogSink log);
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // Binds, listens and starts the HTTP thread. On failure returns false with
  // a message naming the address and the system's reason.
  bool start(std::string *error);
  // Stops accepting, closes every connection libsoup still owns and joins
  // the HTTP thread. Stolen (viewer) connections are not libsoup's anymore.
  void stop();
  // The port actually bound (the ephemeral one when configured with 0).
  unsigned bound_port() const { return bound_port_; }

  // Listen backlog: libsoup's own listen() uses 10, which refuses bursts of
  // viewers (a page reload by a room full of people).
  static constexpr int kListenBacklog = 512;

 private:
  static gpointer thread_main(gpointer self);
  void run();
  void join_thread();
  bool listen(std::string *error);
  void report_ready(const std::string &error);

  static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer self);
  static void on_request_read(SoupServer *server, SoupServerMessage *msg, gpointer self);
  static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer self);
  void handle(SoupServerMessage *msg, const std::string &path, GHashTable *query);
  void serve_stream(SoupServerMessage *msg, bool head_only, GHashTable *query);
  void serve_snapshot(SoupServerMessage *msg, bool head_only);
  void serve_index(SoupServerMessage *msg);
  void serve_document(SoupServerMessage *msg, const char *content_type, const std::string &body,
                      bool head_only);
  void log(LogLevel level, const std::string &text) const;

  HttpConfig config_;
  StreamService &service_;
  LogSink log_;

  GThread *thread_ = nullptr;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  SoupServer *server_ = nullptr;
  std::unique_ptr<RequestGate> gate_;
  unsigned bound_port_ = 0;

  std::mutex start_mutex_;
  std::condition_variable start_cond_;
  bool start_reported_ = false;
  std::string start_error_;
};

// "host:port", with IPv6 hosts bracketed.
std::string format_socket_address(GSocketAddress *address);

}  // namespace mjpeghttp
