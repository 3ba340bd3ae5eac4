// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/http_server.h"

#include <algorithm>
#include <cstring>

#include "http/listing_page.h"
#include "http/viewer_page.h"
#include "http/webcam_compat.h"
#include "stream/multipart.h"
#include "stream/rate_limiter.h"
#include "stream/source_watch.h"

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
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body.data(),
                                   body.size());
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

}  // namespace

std::string describe_conflict(const ServerConfig &running, const ServerConfig &wanted) {
  const bool running_tls = running.tls_certificate != nullptr;
  const bool wanted_tls = wanted.tls_certificate != nullptr;
  if (running_tls != wanted_tls)
    return running_tls ? "it serves HTTPS, and this element's settings ask for plain HTTP"
                       : "it serves plain HTTP, and this element's settings ask for HTTPS";
  if (running_tls &&
      !g_tls_certificate_is_same(running.tls_certificate.get(), wanted.tls_certificate.get()))
    return "it serves HTTPS with another certificate";
  if (running.request_timeout_ms != wanted.request_timeout_ms)
    return "its request-timeout is " + std::to_string(running.request_timeout_ms / 1000) +
           " s, not " + std::to_string(wanted.request_timeout_ms / 1000) + " s";
  // Compared as they are, not in constant time: both are this process's own.
  if (running.access.user != wanted.access.user ||
      running.access.password != wanted.access.password)
    return "its auth-user or auth-password differs";
  if (running.access.method != wanted.access.method) return "its auth-method differs";
  if (running.access.exempt_paths != wanted.access.exempt_paths)
    return "its auth-exempt-paths differ";
  if (running.access.allow_origin != wanted.access.allow_origin) return "its allow-origin differs";
  if (running.listen.is_unix() && running.listen.unix_socket_mode != wanted.listen.unix_socket_mode)
    return "its unix-socket-mode differs";
  return "";
}

enum class RouteKind {
  kStream,
  kSnapshot,
  kPage,
  kRedirectToPage,  // "/cam1" -> "/cam1/", so the page's relative links resolve
  kMountStats,
  kMountMetrics,
  kServerStats,  // every mount's
  kServerMetrics,
  kListing,
  kStreamsJson,
  kMountHealth,   // 200 while the source is online, 503 while offline
  kServerHealth,  // every mount's
  kMountState,    // ustreamer's /state
  kServerState,
};

struct HttpServer::Mount {
  MountConfig config;
  // Null once the mount was removed; a request still in flight for it then
  // finds nothing to call.
  StreamService *service;
};

struct HttpServer::Route {
  RouteKind kind;
  std::shared_ptr<Mount> mount;  // null for the server's own documents

  std::string owner() const {
    if (mount)
      return "element '" + mount->config.element_name + "' (mount " + mount->config.mount + ")";
    switch (kind) {
      case RouteKind::kListing:
        return "the server's listing page";
      case RouteKind::kServerStats:
        return "the server's statistics";
      case RouteKind::kServerMetrics:
        return "the server's metrics";
      case RouteKind::kServerHealth:
        return "the server's health check";
      case RouteKind::kServerState:
        return "the server's state";
      default:
        return "the server's list of streams";
    }
  }
};

// Tracks one /stream request between the handler and the moment libsoup has
// written its headers (or dropped it), so its viewer slot is never leaked.
struct HttpServer::PendingViewer {
  std::shared_ptr<Mount> mount;
  bool adopted = false;
  double max_fps = 0;
  std::optional<bool> advance_headers;
  bool dual_final_frames = false;

  static void release_unadopted(gpointer data, GClosure *) {
    auto *pending = static_cast<PendingViewer *>(data);
    if (!pending->adopted && pending->mount->service) pending->mount->service->release_viewer();
    delete pending;
  }
};

HttpServer::HttpServer(ServerConfig config, LogSink log)
    : config_(std::move(config)), log_(std::move(log)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::log(LogLevel level, const std::string &text) const {
  if (log_) log_(level, text);
}

bool HttpServer::start(std::string *error) {
  if (!listener_.open(config_.listen, kListenBacklog, error)) return false;
  started_monotonic_us_ = g_get_monotonic_time();
  routes_ = std::make_unique<Routes>();
  build_routes(mounts_, nullptr, routes_.get(), nullptr);
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
    listener_.close();
    if (error) *error = start_error_;
    return false;
  }
  return true;
}

void HttpServer::stop() {
  if (!thread_) return;
  g_main_loop_quit(loop_);
  join_thread();
  listener_.close();
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

void HttpServer::run_on_http_thread(const std::function<void()> &work) {
  // The call goes through pending_calls_ under calls_mutex_, a member that
  // exists since before the HTTP thread, and GLib only says when to look.
  // GLib's own queue orders the hand-over too, but its locks are futexes
  // that thread sanitizers do not see.
  PendingCall call{&work, false};
  {
    std::lock_guard<std::mutex> lock(calls_mutex_);
    pending_calls_.push_back(&call);
  }
  g_main_context_invoke_full(
      context_, G_PRIORITY_DEFAULT,
      [](gpointer self) -> gboolean {
        static_cast<HttpServer *>(self)->run_pending_call();
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  std::unique_lock<std::mutex> lock(calls_mutex_);
  calls_done_.wait(lock, [&call] { return call.done; });
}

void HttpServer::run_pending_call() {
  PendingCall *call;
  {
    std::lock_guard<std::mutex> lock(calls_mutex_);
    call = pending_calls_.front();
    pending_calls_.pop_front();
  }
  (*call->work)();
  std::lock_guard<std::mutex> lock(calls_mutex_);
  call->done = true;
  calls_done_.notify_all();
}

bool HttpServer::add_mount(const MountConfig &config, StreamService *service, std::string *error) {
  bool added = false;
  run_on_http_thread([&] {
    for (const auto &mount : mounts_) {
      if (mount->config.mount == config.mount) {
        *error = "mount " + config.mount + " on " + config_.listen.describe() +
                 " is already served by element '" + mount->config.element_name + "'";
        return;
      }
    }
    auto candidate = mounts_;
    candidate.push_back(std::make_shared<Mount>(Mount{config, service}));
    auto routes = std::make_unique<Routes>();
    std::string clash;
    if (!build_routes(candidate, candidate.back().get(), routes.get(), &clash)) {
      *error =
          "cannot serve mount " + config.mount + " on " + config_.listen.describe() + ": " + clash;
      return;
    }
    mounts_ = std::move(candidate);
    routes_ = std::move(routes);
    added = true;
  });
  return added;
}

void HttpServer::remove_mount(StreamService *service) {
  run_on_http_thread([&] {
    for (auto it = mounts_.begin(); it != mounts_.end(); ++it) {
      if ((*it)->service != service) continue;
      (*it)->service = nullptr;
      // Held snapshot requests must not outlive their mount's engine.
      answer_snapshot_waits(it->get());
      mounts_.erase(it);
      break;
    }
    auto routes = std::make_unique<Routes>();
    // What the remaining mounts had is still free of clashes, except where
    // the removed root mount had moved the server's /stats or /metrics away
    // and a mount took that name: the server's document gets the path back,
    // the mount keeps its page and endpoints below it.
    build_routes(mounts_, nullptr, routes.get(), nullptr);
    routes_ = std::move(routes);
  });
}

bool HttpServer::build_routes(const std::vector<std::shared_ptr<Mount>> &mounts,
                              const Mount *newcomer, Routes *routes, std::string *error) const {
  bool clean = true;
  auto add = [&](const std::string &path, RouteKind kind, const std::shared_ptr<Mount> &mount) {
    Route route{kind, mount};
    auto placed = routes->emplace(path, route);
    if (placed.second || !clean || !newcomer) return;
    // A clash among the others is not the newcomer's to answer for (see
    // remove_mount()); the first route placed keeps the path.
    if (placed.first->second.mount.get() != newcomer && mount.get() != newcomer) return;
    clean = false;
    *error = "path " + path + " is served by both " + placed.first->second.owner() + " and " +
             route.owner();
  };
  std::shared_ptr<Mount> root;
  for (const auto &mount : mounts)
    if (mount->config.is_root()) root = mount;

  add(kStreamsPath, RouteKind::kStreamsJson, nullptr);
  if (root) {
    // The root mount's stats and metrics paths serve the server's documents,
    // which cover every mount: its own figures are among them.
    const MountConfig &c = root->config;
    add(c.at(c.stream_path), RouteKind::kStream, root);
    add(c.at(c.snapshot_path), RouteKind::kSnapshot, root);
    add("/", RouteKind::kPage, root);
    add(c.at(c.stats_path), RouteKind::kServerStats, root);
    add(c.at(c.metrics_path), RouteKind::kServerMetrics, root);
  } else {
    add("/", RouteKind::kListing, nullptr);
    add("/stats", RouteKind::kServerStats, nullptr);
    add("/metrics", RouteKind::kServerMetrics, nullptr);
  }
  add(kHealthPath, RouteKind::kServerHealth, root);
  add(kStatePath, RouteKind::kServerState, root);
  for (const auto &mount : mounts) {
    if (mount == root) continue;
    const MountConfig &c = mount->config;
    add(c.mount, RouteKind::kRedirectToPage, mount);
    add(c.page_path(), RouteKind::kPage, mount);
    add(c.at(c.stream_path), RouteKind::kStream, mount);
    add(c.at(c.snapshot_path), RouteKind::kSnapshot, mount);
    add(c.at(c.stats_path), RouteKind::kMountStats, mount);
    add(c.at(c.metrics_path), RouteKind::kMountMetrics, mount);
    add(c.at(kHealthPath), RouteKind::kMountHealth, mount);
    add(c.at(kStatePath), RouteKind::kMountState, mount);
  }
  return clean;
}

void HttpServer::run() {
  // libsoup attaches its sources to the thread-default context at creation,
  // so the server must be created after this push, on this thread.
  g_main_context_push_thread_default(context_);
  server_ = soup_server_new("server-header", "gst-mjpeg-http ", "tls-certificate",
                            config_.tls_certificate.get(), nullptr);
  if (SoupAuthDomain *auth = new_auth_domain(config_.access)) {
    soup_server_add_auth_domain(server_, auth);
    g_object_unref(auth);
  }
  soup_server_add_handler(server_, nullptr, &HttpServer::on_request, this, nullptr);
  g_signal_connect(server_, "request-started", G_CALLBACK(&HttpServer::on_request_started), this);
  g_signal_connect(server_, "request-read", G_CALLBACK(&HttpServer::on_request_read), this);

  // Plain HTTP and HTTPS alike: the gate accepts, runs any TLS handshake
  // and checks the head before libsoup sees the connection.
  gate_ = std::make_unique<RequestGate>(server_, config_.request_timeout_ms,
                                        config_.tls_certificate.get(), log_);
  gate_->add_listener(listener_.socket());

  GSource *tick = g_timeout_source_new_seconds(1);
  g_source_set_callback(
      tick,
      [](gpointer self) -> gboolean {
        for (const auto &mount : static_cast<HttpServer *>(self)->mounts_)
          if (mount->service) mount->service->housekeeping();
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
  while (!snapshot_waits_.empty()) finish_snapshot_wait(snapshot_waits_.front());
  gate_.reset();
  soup_server_disconnect(server_);
  g_object_unref(server_);
  server_ = nullptr;
  // Let libsoup finish the callbacks that closing its connections queued.
  while (g_main_context_iteration(context_, FALSE)) {
  }
  for (const auto &mount : mounts_) mount->service = nullptr;
  mounts_.clear();
  routes_.reset();
  g_main_context_pop_thread_default(context_);
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
  // closes and frees the connection through its usual path. Every
  // connection came through the request gate, which knows its socket.
  GSocket *socket = RequestGate::socket_of(soup_server_message_get_remote_address(msg));
  if (socket) g_socket_shutdown(socket, TRUE, TRUE, nullptr);
  if (socket) g_object_unref(socket);
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

bool HttpServer::apply_mjpg_streamer_action(SoupServerMessage *msg, GHashTable *query,
                                            Route *route) {
  const char *action =
      query ? static_cast<const char *>(g_hash_table_lookup(query, "action")) : nullptr;
  if (!action) return true;
  // mjpg-streamer's URLs (what OctoPrint, Mainsail, crowsnest and Home
  // Assistant are set up with) name the endpoint in the query of the page
  // path. Answering them with the page would look like success to those
  // clients, which would then show nothing.
  const MjpgStreamerAction wanted = parse_mjpg_streamer_action(action);
  // "/cam1?action=stream" too: redirecting it to "/cam1/" would drop the query.
  if (route->kind != RouteKind::kPage && route->kind != RouteKind::kRedirectToPage) {
    if (route->kind == RouteKind::kListing) {
      reply_text(msg, SOUP_STATUS_NOT_FOUND, "No stream is served at /: use a mount's own path");
      return false;
    }
    return true;  // other endpoints have no action parameter; it is ignored
  }
  switch (wanted) {
    case MjpgStreamerAction::kStream:
      route->kind = RouteKind::kStream;
      return true;
    case MjpgStreamerAction::kSnapshot:
      route->kind = RouteKind::kSnapshot;
      return true;
    case MjpgStreamerAction::kUnknown:
      break;
  }
  reply_text(msg, SOUP_STATUS_BAD_REQUEST,
             "Unknown action: this server answers ?action=stream and ?action=snapshot");
  return false;
}

void HttpServer::handle(SoupServerMessage *msg, const std::string &path, GHashTable *query) {
  set_common_headers(msg);
  const char *method = soup_server_message_get_method(msg);
  log(LogLevel::kDebug, std::string(method) + " " + path + " from " +
                            format_socket_address(soup_server_message_get_remote_address(msg)));

  auto found = routes_ ? routes_->find(path) : Routes::iterator();
  if (!routes_ || found == routes_->end()) {
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "Not found");
    return;
  }
  // A copy: the handlers below must not depend on the table staying put.
  Route route = found->second;
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
  if (!apply_mjpg_streamer_action(msg, query, &route)) return;
  const char *json = "application/json";
  const char *prometheus = "text/plain; version=0.0.4; charset=utf-8";
  const char *html = "text/html; charset=utf-8";
  switch (route.kind) {
    case RouteKind::kStream:
      serve_stream(msg, route.mount, head_only, query);
      break;
    case RouteKind::kSnapshot:
      serve_snapshot(msg, route.mount, head_only, query);
      break;
    case RouteKind::kPage:
      serve_document(msg, html, render_viewer_page(route.mount->config), head_only);
      break;
    case RouteKind::kRedirectToPage: {
      // Relative ("/site/door" -> "door/"), not libsoup's absolute URL built
      // from Host and plain http: behind a proxy that serves the cameras
      // under a prefix, or over HTTPS, that URL leads out of the proxy.
      const std::string &mount = route.mount->config.mount;
      const std::string location = mount.substr(mount.rfind('/') + 1) + "/";
      soup_server_message_set_status(msg, SOUP_STATUS_MOVED_PERMANENTLY, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                                   location.c_str());
      break;
    }
    case RouteKind::kMountStats:
    case RouteKind::kMountMetrics: {
      std::vector<MountSnapshot> one{snapshot_mount(*route.mount)};
      if (route.kind == RouteKind::kMountStats)
        serve_document(msg, json, render_mount_stats_json(one.at(0)), head_only);
      else
        serve_document(msg, prometheus, render_metrics_text(one), head_only);
      break;
    }
    case RouteKind::kServerStats:
      serve_document(
          msg, json,
          render_server_stats_json(
              snapshot_mounts(),
              static_cast<double>(g_get_monotonic_time() - started_monotonic_us_) / G_USEC_PER_SEC),
          head_only);
      break;
    case RouteKind::kServerMetrics:
      serve_document(msg, prometheus, render_metrics_text(snapshot_mounts()), head_only);
      break;
    case RouteKind::kListing:
      serve_document(msg, html, render_listing_page(snapshot_mounts()), head_only);
      break;
    case RouteKind::kMountHealth:
      serve_health(msg, {snapshot_mount(*route.mount)}, head_only);
      break;
    case RouteKind::kServerHealth:
      serve_health(msg, snapshot_mounts(), head_only);
      break;
    case RouteKind::kMountState:
      serve_document(msg, json, render_state_json(snapshot_mount(*route.mount)), head_only);
      break;
    case RouteKind::kServerState:
      serve_document(msg, json, render_server_state_json(snapshot_mounts()), head_only);
      break;
    case RouteKind::kStreamsJson: {
      // A browser following a link gets the page; scripts and tools (which
      // send */* or ask for JSON) get the list as data.
      const char *accept =
          soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Accept");
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Vary", "Accept");
      if (accept && strstr(accept, "text/html"))
        serve_document(msg, html, render_listing_page(snapshot_mounts()), head_only);
      else
        serve_document(msg, json, render_streams_json(snapshot_mounts()), head_only);
      break;
    }
  }
}

MountSnapshot HttpServer::snapshot_mount(const Mount &mount) {
  const MountConfig &c = mount.config;
  MountSnapshot entry;
  entry.mount = c.mount;
  entry.page_path = c.page_path();
  entry.stream_path = c.at(c.stream_path);
  entry.snapshot_path = c.at(c.snapshot_path);
  entry.stats_path = c.at(c.stats_path);
  entry.metrics_path = c.at(c.metrics_path);
  entry.stats = mount.service->stats_snapshot();
  return entry;
}

std::vector<MountSnapshot> HttpServer::snapshot_mounts() const {
  std::vector<MountSnapshot> result;
  result.reserve(mounts_.size());
  for (const auto &mount : mounts_)
    if (mount->service) result.push_back(snapshot_mount(*mount));
  // In mount order, so the list reads the same on every poll.
  std::sort(result.begin(), result.end(),
            [](const MountSnapshot &a, const MountSnapshot &b) { return a.mount < b.mount; });
  return result;
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

// For load balancers, systemd and uptime checks: the status says it all, the
// body says which mount is offline.
void HttpServer::serve_health(SoupServerMessage *msg, const std::vector<MountSnapshot> &mounts,
                              bool head_only) {
  bool all_online = !mounts.empty();
  std::string body;
  for (const MountSnapshot &mount : mounts) {
    all_online = all_online && mount.stats.source_online;
    body += mount.mount + (mount.stats.source_online ? " online\n" : " offline\n");
  }
  if (mounts.empty()) body = "no stream\n";
  serve_document(msg, "text/plain; charset=utf-8", body, head_only);
  soup_server_message_set_status(msg, all_online ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE,
                                 nullptr);
}

// Parses ?fps=N: a number from FrameRateLimiter::kMinFps to kMaxFps.
static bool parse_fps(const char *text, double *fps) {
  if (!text || !*text) return false;
  char *end = nullptr;
  double value = g_ascii_strtod(text, &end);
  if (*end != '\0' || !(value >= FrameRateLimiter::kMinFps) || value > FrameRateLimiter::kMaxFps)
    return false;
  *fps = value;
  return true;
}

void HttpServer::serve_stream(SoupServerMessage *msg, const std::shared_ptr<Mount> &mount,
                              bool head_only, GHashTable *query) {
  StreamService &service = *mount->service;
  double max_fps = 0;
  const char *fps_text =
      query ? static_cast<const char *>(g_hash_table_lookup(query, "fps")) : nullptr;
  if (query && g_hash_table_contains(query, "fps") && !parse_fps(fps_text, &max_fps)) {
    reply_text(msg, SOUP_STATUS_BAD_REQUEST, "fps must be a number from 0.01 to 1000");
    return;
  }
  bool advance_valid = true, dual_valid = true;
  const bool advance_asked = query && g_hash_table_contains(query, "advance_headers");
  const bool advance = query_flag(query, "advance_headers", false, &advance_valid);
  const bool dual_final_frames = query_flag(query, "dual_final_frames", false, &dual_valid);
  if (!advance_valid || !dual_valid) {
    reply_text(msg, SOUP_STATUS_BAD_REQUEST, "advance_headers and dual_final_frames take 0 or 1");
    return;
  }
  if (!head_only && !service.reserve_viewer()) {
    reply_unavailable(msg, "Too many viewers", "5");
    return;
  }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_replace(headers, "Content-Type", service.stream_content_type().c_str());
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

  auto *pending = new PendingViewer{mount, false, max_fps, std::nullopt, false};
  if (advance_asked) pending->advance_headers = advance;
  pending->dual_final_frames = dual_final_frames;
  g_signal_connect_data(
      msg, "wrote-headers", G_CALLBACK(+[](SoupServerMessage *m, gpointer data) {
        auto *pend = static_cast<PendingViewer *>(data);
        if (pend->adopted) return;
        pend->adopted = true;
        if (!pend->mount->service) {
          // The mount went away while libsoup was writing the headers.
          GIOStream *orphan = soup_server_message_steal_connection(m);
          g_io_stream_close(orphan, nullptr, nullptr);
          g_object_unref(orphan);
          return;
        }
        ViewerInfo info;
        info.address = format_socket_address(soup_server_message_get_remote_address(m));
        const char *agent =
            soup_message_headers_get_one(soup_server_message_get_request_headers(m), "User-Agent");
        if (agent) info.user_agent = agent;
        info.connected_us = g_get_real_time();
        info.max_fps = pend->max_fps;
        info.advance_headers = pend->advance_headers;
        info.dual_final_frames = pend->dual_final_frames;
        // The viewer writes to the socket's fd directly and keeps its own
        // reference to the socket, whatever becomes of the stream object
        // (libsoup hands back its own wrapper around the connection).
        GSocket *socket = RequestGate::socket_of(soup_server_message_get_remote_address(m));
        GIOStream *connection = soup_server_message_steal_connection(m);
        pend->mount->service->adopt_viewer(connection, socket, std::move(info));
      }),
      pending, &PendingViewer::release_unadopted, (GConnectFlags)0);
}

// A /snapshot request held (paused) until its frame comes or its time is up.
struct HttpServer::SnapshotWait {
  SoupServerMessage *msg;  // a reference
  std::shared_ptr<Mount> mount;
  uint64_t after_sequence;  // answered by a frame newer than this
  // Before the first frame, the placeholder (sent once the source-timeout
  // has passed since the start) answers too; ?wait=next wants the source's.
  bool placeholder_answers;
  bool head_only;
  GSource *timer;
};

void HttpServer::serve_snapshot(SoupServerMessage *msg, const std::shared_ptr<Mount> &mount,
                                bool head_only, GHashTable *query) {
  StreamService &service = *mount->service;
  const char *wait =
      query ? static_cast<const char *>(g_hash_table_lookup(query, "wait")) : nullptr;
  const bool wait_next = wait && strcmp(wait, "next") == 0;
  if (query && g_hash_table_contains(query, "wait") && !wait_next) {
    reply_text(msg, SOUP_STATUS_BAD_REQUEST, "wait must be \"next\"");
    return;
  }
  FramePtr frame = service.latest_frame();
  // Before the first frame a snapshot waits for it rather than failing:
  // clients (Home Assistant, timelapse tools) ask right after the camera
  // starts. With source-timeout off nothing says how long a source may take
  // to start, so that case keeps the immediate 503.
  const bool wait_first = !frame && service.source_timeout_ms() > 0;
  if (!wait_next && !wait_first) {
    answer_snapshot(msg, frame, service.source_online(), head_only);
    return;
  }
  auto *entry = new SnapshotWait{static_cast<SoupServerMessage *>(g_object_ref(msg)),
                                 mount,
                                 frame ? frame->sequence : 0,
                                 !wait_next,
                                 head_only,
                                 nullptr};
  soup_server_message_pause(msg);
  const unsigned timeout_ms = service.source_timeout_ms();
  // A first-frame wait ends with the placeholder, at most source-timeout
  // after the start; the extra tick only bounds a placeholder that never
  // comes (none could be made).
  const unsigned limit_ms = wait_next ? (timeout_ms > 0 ? timeout_ms : kNextFrameWaitMs)
                                      : timeout_ms + SourceWatch::kTickMs;
  entry->timer = g_timeout_source_new(limit_ms);
  struct TimerData {
    HttpServer *server;
    SnapshotWait *wait;
  };
  g_source_set_callback(
      entry->timer,
      [](gpointer data) -> gboolean {
        auto *timer = static_cast<TimerData *>(data);
        timer->server->finish_snapshot_wait(timer->wait);
        return G_SOURCE_REMOVE;
      },
      new TimerData{this, entry}, [](gpointer data) { delete static_cast<TimerData *>(data); });
  g_source_attach(entry->timer, context_);
  snapshot_waits_.push_back(entry);
  snapshot_wait_count_.fetch_add(1);
  // A frame published between reading the latest one and counting this wait
  // found no wait to wake: look again now that it is counted.
  answer_snapshot_waits(nullptr);
}

void HttpServer::frame_published() {
  if (snapshot_wait_count_.load() == 0) return;
  if (snapshot_wake_queued_.exchange(true)) return;
  GSource *wake = g_idle_source_new();
  g_source_set_callback(
      wake,
      [](gpointer self) -> gboolean {
        auto *server = static_cast<HttpServer *>(self);
        server->snapshot_wake_queued_.store(false);
        server->answer_snapshot_waits(nullptr);
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(wake, context_);
  g_source_unref(wake);
}

void HttpServer::answer_snapshot_waits(const Mount *removed) {
  for (auto it = snapshot_waits_.begin(); it != snapshot_waits_.end();) {
    SnapshotWait *wait = *it++;
    if (wait->mount.get() == removed) {
      finish_snapshot_wait(wait);
      continue;
    }
    if (!wait->mount->service) continue;
    FramePtr latest = wait->mount->service->latest_frame();
    if (latest && (wait->placeholder_answers || !latest->placeholder) &&
        latest->sequence > wait->after_sequence)
      finish_snapshot_wait(wait);
  }
}

void HttpServer::finish_snapshot_wait(SnapshotWait *wait) {
  snapshot_waits_.remove(wait);
  snapshot_wait_count_.fetch_sub(1);
  g_source_destroy(wait->timer);
  g_source_unref(wait->timer);
  StreamService *service = wait->mount->service;
  if (!service) {
    reply_unavailable(wait->msg, "The stream stopped", "1");
  } else {
    // The frame waited for; out of time, the placeholder while the source is
    // offline, or the latest frame, whatever it is.
    answer_snapshot(wait->msg, service->latest_frame(), service->source_online(), wait->head_only);
  }
  soup_server_message_unpause(wait->msg);
  g_object_unref(wait->msg);
  delete wait;
}

void HttpServer::answer_snapshot(SoupServerMessage *msg, const FramePtr &frame, bool online,
                                 bool head_only) {
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
  soup_message_headers_replace(headers, "X-Source-Online", online ? "1" : "0");
  // Not printf: an application's setlocale() could print a decimal comma.
  char age[G_ASCII_DTOSTR_BUF_SIZE];
  const double age_seconds =
      static_cast<double>(std::max<int64_t>(0, g_get_monotonic_time() - frame->published_us)) /
      G_USEC_PER_SEC;
  soup_message_headers_replace(headers, "X-Frame-Age",
                               g_ascii_formatd(age, sizeof age, "%.3f", age_seconds));
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

}  // namespace mjpeghttp
