#include "http_server.h"

#include "multipart.h"
#include "viewer_page.h"
#include "rate_limiter.h"

#include <sys/socket.h>

#include <cstring>

namespace mjpeghttp {

namespace {

// Set on every response. libsoup 3.2 leaves a keep-alive connection in
// CLOSE-WAIT forever when the client closes it while idle (fixed in 3.3), so
// no connection is kept alive; and a stream never ends, so its connection
// cannot be reused anyway.
void set_common_headers(SoupServerMessage *msg) {
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(headers, "Connection", "close");
}

void set_no_cache(SoupMessageHeaders *headers) {
  soup_message_headers_replace(headers, "Cache-Control", "no-cache, no-store, must-revalidate");
  soup_message_headers_replace(headers, "Pragma", "no-cache");
  soup_message_headers_replace(headers, "Expires", "0");
}

void reply_text(SoupServerMessage *msg, guint status, const char *text) {
  soup_server_message_set_status(msg, status, nullptr);
  std::string body = std::string(text) + "\n";
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
                                   body.data(), body.size());
}

void reply_unavailable(SoupServerMessage *msg, const char *why, const char *retry_after) {
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
                               retry_after);
  reply_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, why);
}

bool is_get_or_head(const char *method, bool *head_only) {
  *head_only = strcmp(method, SOUP_METHOD_HEAD) == 0;
  return *head_only || strcmp(method, SOUP_METHOD_GET) == 0;
}

// Tracks one /stream request between the handler and the moment libsoup has
// written its headers (or dropped it), so its viewer slot is never leaked.
struct PendingViewer {
  HttpServer *server;
  StreamService *service;
  bool adopted = false;
  double max_fps = 0;
};

void release_unadopted(gpointer data, GClosure *) {
  auto *pending = static_cast<PendingViewer *>(data);
  if (!pending->adopted) pending->service->release_viewer();
  delete pending;
}

}  // namespace

std::string format_socket_address(GSocketAddress *address) {
  if (!G_IS_INET_SOCKET_ADDRESS(address)) return "unknown";
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
  GInetAddress *ip = g_inet_socket_address_get_address(inet);
  // A dual-stack (::) listener sees IPv4 viewers as ::ffff:a.b.c.d; they are
  // reported as the IPv4 addresses they are.
  static const guint8 kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  GInetAddress *v4 = nullptr;
  if (g_inet_address_get_family(ip) == G_SOCKET_FAMILY_IPV6 &&
      memcmp(g_inet_address_to_bytes(ip), kV4MappedPrefix, sizeof kV4MappedPrefix) == 0) {
    v4 = g_inet_address_new_from_bytes(g_inet_address_to_bytes(ip) + 12, G_SOCKET_FAMILY_IPV4);
    ip = v4;
  }
  gchar *host = g_inet_address_to_string(ip);
  if (v4) g_object_unref(v4);
  std::string text = host;
  g_free(host);
  if (text.find(':') != std::string::npos) text = "[" + text + "]";
  return text + ":" + std::to_string(g_inet_socket_address_get_port(inet));
}

HttpServer::HttpServer(HttpConfig config, StreamService &service, LogSink log)
    : config_(std::move(config)), service_(service), log_(std::move(log)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::log(LogLevel level, const std::string &text) const {
  if (log_) log_(level, text);
}

bool HttpServer::start(std::string *error) {
  context_ = g_main_context_new();
  loop_ = g_main_loop_new(context_, FALSE);
  start_reported_ = false;
  start_error_.clear();
  thread_ = g_thread_new("mjpeghttp-http", &HttpServer::thread_main, this);
  std::unique_lock<std::mutex> lock(start_mutex_);
  start_cond_.wait(lock, [this] { return start_reported_; });
  if (!start_error_.empty()) {
    lock.unlock();
    // The thread has already returned without running the loop.
    join_thread();
    if (error) *error = start_error_;
    return false;
  }
  return true;
}

void HttpServer::stop() {
  if (!thread_) return;
  g_main_loop_quit(loop_);
  join_thread();
}

void HttpServer::join_thread() {
  g_thread_join(thread_);
  thread_ = nullptr;
  g_main_loop_unref(loop_);
  loop_ = nullptr;
  g_main_context_unref(context_);
  context_ = nullptr;
}

gpointer HttpServer::thread_main(gpointer self) {
  static_cast<HttpServer *>(self)->run();
  return nullptr;
}

void HttpServer::report_ready(const std::string &error) {
  std::lock_guard<std::mutex> lock(start_mutex_);
  start_error_ = error;
  start_reported_ = true;
  start_cond_.notify_all();
}

void HttpServer::run() {
  // libsoup attaches its sources to the thread-default context at creation,
  // so the server must be created after this push, on this thread.
  g_main_context_push_thread_default(context_);
  server_ = soup_server_new("server-header", "gst-mjpeg-http ", "tls-certificate",
                            config_.tls_certificate.get(), nullptr);
  if (SoupAuthDomain *auth = new_basic_auth_domain(config_.access)) {
    soup_server_add_auth_domain(server_, auth);
    g_object_unref(auth);
  }
  soup_server_add_handler(server_, nullptr, &HttpServer::on_request, this, nullptr);
  g_signal_connect(server_, "request-started", G_CALLBACK(&HttpServer::on_request_started), this);
  g_signal_connect(server_, "request-read", G_CALLBACK(&HttpServer::on_request_read), this);

  std::string error;
  if (!listen(&error)) {
    g_object_unref(server_);
    server_ = nullptr;
    g_main_context_pop_thread_default(context_);
    report_ready(error);
    return;
  }

  GSource *tick = g_timeout_source_new_seconds(1);
  g_source_set_callback(
      tick,
      [](gpointer self) -> gboolean {
        static_cast<HttpServer *>(self)->service_.housekeeping();
        return G_SOURCE_CONTINUE;
      },
      this, nullptr);
  g_source_attach(tick, context_);

  // Report readiness from inside the running loop: a stop() that follows
  // start() at once must find the loop running, or its quit would be lost.
  GSource *ready = g_idle_source_new();
  g_source_set_callback(
      ready,
      [](gpointer self) -> gboolean {
        static_cast<HttpServer *>(self)->report_ready("");
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(ready, context_);
  g_source_unref(ready);

  g_main_loop_run(loop_);

  g_source_destroy(tick);
  g_source_unref(tick);
  gate_.reset();
  soup_server_disconnect(server_);
  g_object_unref(server_);
  server_ = nullptr;
  // Let libsoup finish the callbacks that closing its connections queued.
  while (g_main_context_iteration(context_, FALSE)) {
  }
  g_main_context_pop_thread_default(context_);
}

bool HttpServer::listen(std::string *error) {
  const std::string where = (config_.address.find(':') != std::string::npos
                                 ? "[" + config_.address + "]"
                                 : config_.address) +
                            ":" + std::to_string(config_.port);
  GInetAddress *inet = g_inet_address_new_from_string(config_.address.c_str());
  if (!inet) {
    GResolver *resolver = g_resolver_get_default();
    GError *err = nullptr;
    GList *found = g_resolver_lookup_by_name(resolver, config_.address.c_str(), nullptr, &err);
    g_object_unref(resolver);
    if (!found) {
      *error = "Cannot resolve address " + where + ": " + (err ? err->message : "no address");
      g_clear_error(&err);
      return false;
    }
    inet = G_INET_ADDRESS(g_object_ref(found->data));
    g_resolver_free_addresses(found);
  }
  GSocketAddress *address = g_inet_socket_address_new(inet, config_.port);
  GError *err = nullptr;
  GSocket *socket =
      g_socket_new(g_inet_address_get_family(inet), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
  g_object_unref(inet);
  bool ok = socket != nullptr;
  // allow_reuse sets SO_REUSEADDR: a restart on the same port right after a
  // stop must not fail on the old connections' TIME-WAIT.
  if (ok) ok = g_socket_bind(socket, address, TRUE, &err);
  if (ok) {
    // Accepted sockets inherit this: room for a whole request head in the
    // kernel while the gate peeks at it (the default window may be smaller).
    int receive_buffer = 4 * static_cast<int>(RequestGate::kMaxRequestHead);
    setsockopt(g_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
               sizeof receive_buffer);
    g_socket_set_listen_backlog(socket, kListenBacklog);
    ok = g_socket_listen(socket, &err);
  }
  std::string gate_error;
  if (ok && config_.tls_certificate) {
    // The gate peeks at plain HTTP heads; over HTTPS the bytes on the socket
    // are TLS records, so libsoup accepts the connections (and runs the
    // handshake) itself. The request-started timer still bounds slow heads.
    ok = soup_server_listen_socket(server_, socket, SOUP_SERVER_LISTEN_HTTPS, &err);
  } else if (ok) {
    gate_ = std::make_unique<RequestGate>(server_, config_.request_timeout_ms, log_);
    if (!gate_->add_listener(socket, &gate_error)) {
      ok = false;
      gate_.reset();
    }
  }
  if (ok) {
    GSocketAddress *local = g_socket_get_local_address(socket, nullptr);
    if (local) {
      bound_port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
      g_object_unref(local);
    }
  } else {
    *error = "Could not listen on " + where + ": " +
             (err ? err->message : gate_error.empty() ? "unknown error" : gate_error);
  }
  g_clear_error(&err);
  g_object_unref(address);
  // The server holds its own reference to a listening socket.
  if (socket) g_object_unref(socket);
  return ok;
}

namespace {

constexpr const char *kRequestTimerKey = "mjpeghttp-request-timer";

void destroy_request_timer(gpointer source) {
  g_source_destroy(static_cast<GSource *>(source));
  g_source_unref(static_cast<GSource *>(source));
}

gboolean on_request_timed_out(gpointer msg_pointer) {
  auto *msg = static_cast<SoupServerMessage *>(msg_pointer);
  // Shutting the socket down makes libsoup's own read fail, so libsoup
  // closes and frees the connection through its usual path.
  // libsoup knows the socket of connections it accepted itself (HTTPS);
  // those the request gate handed over are found through the gate.
  GSocket *socket = soup_server_message_get_socket(msg);
  GSocket *gated =
      socket ? nullptr : RequestGate::socket_of(soup_server_message_get_remote_address(msg));
  if (!socket) socket = gated;
  if (socket) g_socket_shutdown(socket, TRUE, TRUE, nullptr);
  if (gated) g_object_unref(gated);
  return G_SOURCE_REMOVE;
}

}  // namespace

void HttpServer::on_request_started(SoupServer *, SoupServerMessage *msg, gpointer self) {
  auto *server = static_cast<HttpServer *>(self);
  // Set before the request is read: libsoup answers a request that fails
  // authentication itself (401), without calling the handler, and that
  // answer needs these headers too.
  set_common_headers(msg);
  set_cors_headers(msg, server->config_.access);
  if (server->config_.request_timeout_ms == 0) return;
  // Attached to the message, so the timer dies with it: its callback can
  // never see a freed message.
  GSource *timer = g_timeout_source_new(RequestGate::time_left_ms(
      soup_server_message_get_remote_address(msg), server->config_.request_timeout_ms));
  g_source_set_callback(timer, &on_request_timed_out, msg, nullptr);
  g_source_attach(timer, server->context_);
  g_object_set_data_full(G_OBJECT(msg), kRequestTimerKey, timer, &destroy_request_timer);
}

void HttpServer::on_request_read(SoupServer *, SoupServerMessage *msg, gpointer) {
  g_object_set_data(G_OBJECT(msg), kRequestTimerKey, nullptr);
}

void HttpServer::on_request(SoupServer *, SoupServerMessage *msg, const char *path,
                            GHashTable *query, gpointer self) {
  static_cast<HttpServer *>(self)->handle(msg, path ? path : "", query);
}

void HttpServer::handle(SoupServerMessage *msg, const std::string &path, GHashTable *query) {
  set_common_headers(msg);
  const char *method = soup_server_message_get_method(msg);
  log(LogLevel::kDebug, std::string(method) + " " + path + " from " +
                            format_socket_address(soup_server_message_get_remote_address(msg)));

  bool known = path == config_.stream_path || path == config_.snapshot_path ||
               path == config_.index_path || path == config_.stats_path ||
               path == config_.metrics_path;
  if (!known) {
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "Not found");
    return;
  }
  if (config_.access.cors_enabled() && strcmp(method, SOUP_METHOD_OPTIONS) == 0) {
    reply_cors_preflight(msg);
    return;
  }
  bool head_only = false;
  if (!is_get_or_head(method, &head_only)) {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                 "GET, HEAD");
    reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method not allowed");
    return;
  }
  if (path == config_.stream_path)
    serve_stream(msg, head_only, query);
  else if (path == config_.snapshot_path)
    serve_snapshot(msg, head_only);
  else if (path == config_.stats_path)
    serve_document(msg, "application/json", render_stats_json(service_.stats_snapshot()),
                   head_only);
  else if (path == config_.metrics_path)
    serve_document(msg, "text/plain; version=0.0.4; charset=utf-8",
                   render_metrics_text(service_.stats_snapshot()), head_only);
  else
    serve_index(msg);
}

// A generated document, never cached: every poll must see current numbers.
void HttpServer::serve_document(SoupServerMessage *msg, const char *content_type,
                                const std::string &body, bool head_only) {
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  set_no_cache(headers);
  if (head_only) {
    soup_message_headers_replace(headers, "Content-Type", content_type);
    soup_message_headers_set_content_length(headers, body.size());
    soup_message_body_complete(soup_server_message_get_response_body(msg));
    return;
  }
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body.data(), body.size());
}

// Parses ?fps=N: a positive number up to FrameRateLimiter::kMaxFps.
static bool parse_fps(const char *text, double *fps) {
  if (!text || !*text) return false;
  char *end = nullptr;
  double value = g_ascii_strtod(text, &end);
  if (*end != '\0' || !(value > 0) || value > FrameRateLimiter::kMaxFps) return false;
  *fps = value;
  return true;
}

void HttpServer::serve_stream(SoupServerMessage *msg, bool head_only, GHashTable *query) {
  double max_fps = 0;
  const char *fps_text = query ? static_cast<const char *>(g_hash_table_lookup(query, "fps")) : nullptr;
  if (query && g_hash_table_contains(query, "fps") && !parse_fps(fps_text, &max_fps)) {
    reply_text(msg, SOUP_STATUS_BAD_REQUEST, "fps must be a number above 0 and at most 1000");
    return;
  }
  if (!head_only && !service_.reserve_viewer()) {
    reply_unavailable(msg, "Too many viewers", "5");
    return;
  }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_replace(headers, "Content-Type", service_.stream_content_type().c_str());
  set_no_cache(headers);
  // nginx and other proxies buffer responses by default, which would hold
  // frames back; this header asks nginx to pass the stream through.
  soup_message_headers_replace(headers, "X-Accel-Buffering", "no");
  // EOF encoding: chunked would cost a second write per part and is sent even
  // to HTTP/1.0 clients that cannot parse it; the stream ends with the close.
  soup_message_headers_set_encoding(headers, SOUP_ENCODING_EOF);
  if (head_only) {
    soup_message_body_complete(soup_server_message_get_response_body(msg));
    return;
  }

  auto *pending = new PendingViewer{this, &service_, false, max_fps};
  g_signal_connect_data(
      msg, "wrote-headers",
      G_CALLBACK(+[](SoupServerMessage *m, gpointer data) {
        auto *pend = static_cast<PendingViewer *>(data);
        if (pend->adopted) return;
        ClientInfo info;
        info.address = format_socket_address(soup_server_message_get_remote_address(m));
        const char *agent = soup_message_headers_get_one(
            soup_server_message_get_request_headers(m), "User-Agent");
        if (agent) info.user_agent = agent;
        info.connected_us = g_get_real_time();
        info.max_fps = pend->max_fps;
        pend->adopted = true;
        // The viewer writes to the socket's fd directly and keeps its own
        // reference to the socket, whatever becomes of the stream object
        // (libsoup hands back its own wrapper around the connection).
        GSocket *socket = RequestGate::socket_of(soup_server_message_get_remote_address(m));
        // Connections libsoup accepted itself (HTTPS) are not the gate's.
        if (!socket && soup_server_message_get_socket(m))
          socket = G_SOCKET(g_object_ref(soup_server_message_get_socket(m)));
        GIOStream *connection = soup_server_message_steal_connection(m);
        pend->service->adopt_viewer(connection, socket, std::move(info));
      }),
      pending, &release_unadopted, (GConnectFlags)0);
}

void HttpServer::serve_snapshot(SoupServerMessage *msg, bool head_only) {
  FramePtr frame = service_.latest_frame();
  if (!frame) {
    reply_unavailable(msg, "No frame yet", "1");
    return;
  }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_replace(headers, "Content-Type", "image/jpeg");
  set_no_cache(headers);
  soup_message_headers_replace(headers, "X-Timestamp",
                               format_timestamp(frame->timestamp_us).c_str());
  SoupMessageBody *body = soup_server_message_get_response_body(msg);
  if (head_only) {
    soup_message_headers_set_content_length(headers, frame->size);
  } else {
    // The body borrows the frame's memories; each piece holds a reference
    // to the frame until libsoup has written it.
    for (const iovec &chunk : frame->chunks) {
      GBytes *bytes = g_bytes_new_with_free_func(
          chunk.iov_base, chunk.iov_len, [](gpointer ref) { delete static_cast<FramePtr *>(ref); },
          new FramePtr(frame));
      soup_message_body_append_bytes(body, bytes);
      g_bytes_unref(bytes);
    }
  }
  soup_message_body_complete(body);
}

void HttpServer::serve_index(SoupServerMessage *msg) {
  serve_document(msg, "text/html; charset=utf-8", render_viewer_page(config_), false);
}

}  // namespace mjpeghttp
