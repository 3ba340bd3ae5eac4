// SPDX-License-Identifier: LGPL-2.1-or-later
#include "request_gate.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mjpeghttp {

namespace {

// A refused client may still be sending its oversized head; reading (and
// discarding) it for a while before closing lets it receive the answer, where
// closing with unread data would reset the connection under it.
constexpr size_t kMaxDrainBytes = 1024 * 1024;
constexpr unsigned kDrainTimeoutMs = 2000;
// RFC 6585's status; libsoup 3.2 has no name for it.
constexpr unsigned kStatusHeaderFieldsTooLarge = 431;
// Larger announced bodies are refused before anyone reads them.
constexpr uint64_t kMaxRequestBody = 64 * 1024;
// RFC 9110's name for 413.
constexpr unsigned kStatusContentTooLarge = 413;

// Offset just past the blank line that ends a request head, or npos.
// Scanning starts at `from`: what was scanned on an earlier wake-up holds no
// end (a slow sender must not cost a rescan of the whole head per byte).
size_t head_end(const char *data, size_t size, size_t from) {
  for (size_t i = from; i + 1 < size; i++) {
    if (data[i] != '\n') continue;
    if (data[i + 1] == '\n') return i + 2;
    if (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return std::string::npos;
}

constexpr const char *kSocketKey = "mjpeghttp-socket";
constexpr const char *kConnectedKey = "mjpeghttp-connected-us";

// True when the head announces a body larger than kMaxRequestBody, or one of
// unknown length (any Transfer-Encoding). Nothing served here takes a body,
// and libsoup reads a body of any size into memory before a handler can
// refuse it. Small bodies go on to libsoup, which answers 404 or 405.
bool announces_large_body(const char *head, size_t size) {
  const char *end = head + size;
  for (const char *line = head; line < end;) {
    const char *eol = static_cast<const char *>(memchr(line, '\n', end - line));
    if (!eol) eol = end;
    const size_t length = static_cast<size_t>(eol - line);
    auto named = [&](const char *name) {
      const size_t n = strlen(name);
      return length > n && g_ascii_strncasecmp(line, name, n) == 0;
    };
    if (named("transfer-encoding:")) return true;
    if (named("content-length:")) {
      std::string value(line + 15, length - 15);
      if (g_ascii_strtoull(value.c_str(), nullptr, 10) > kMaxRequestBody) return true;
    }
    line = eol + 1;
  }
  return false;
}

void set_receive_low_water(int fd, int bytes) {
  setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

bool peer_shut_down(int fd) {
  pollfd entry = {fd, POLLRDHUP, 0};
  return poll(&entry, 1, 0) > 0 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

// How often an unfinished head on a unix socket is looked at again.
// A client still sending gets looked at again soon; one that sends nothing
// more, less and less often (with request-timeout 0 it may idle for ever).
constexpr unsigned kRecheckMs = 20;
constexpr unsigned kMaxRecheckMs = 500;

}  // namespace

struct RequestGate::Pending {
  RequestGate *gate;
  GSocketConnection *connection;
  GSocket *socket;
  GSource *readable = nullptr;
  GSource *timer = nullptr;
  // Unix sockets report readable while any byte is queued, whatever
  // SO_RCVLOWAT says, so an unfinished head is looked at again on a timer
  // (recheck) instead of on readability, which would spin.
  bool level_triggered = false;
  GSource *recheck = nullptr;
  unsigned recheck_ms = kRecheckMs;
  bool draining = false;
  size_t drained = 0;
  size_t seen = 0;          // bytes of the head peeked so far
  gint64 connected_us = 0;  // monotonic time of the accept
};

RequestGate::RequestGate(SoupServer *server, unsigned request_timeout_ms, LogSink log)
    : server_(server),
      request_timeout_ms_(request_timeout_ms),
      log_(std::move(log)),
      service_(g_socket_service_new()),
      scratch_(kMaxRequestHead + 1) {
  g_signal_connect(service_, "incoming", G_CALLBACK(&RequestGate::on_incoming), this);
}

RequestGate::~RequestGate() {
  g_socket_service_stop(service_);
  g_socket_listener_close(G_SOCKET_LISTENER(service_));
  g_object_unref(service_);
  while (!pending_.empty()) {
    Pending *pending = pending_.back();
    g_socket_close(pending->socket, nullptr);
    finish(pending);
  }
}

unsigned RequestGate::time_left_ms(GSocketAddress *remote_address, unsigned timeout_ms) {
  auto *connected = remote_address ? static_cast<gint64 *>(g_object_get_data(
                                         G_OBJECT(remote_address), kConnectedKey))
                                   : nullptr;
  if (!connected) return timeout_ms;
  const gint64 spent_ms = (g_get_monotonic_time() - *connected) / 1000;
  return spent_ms >= timeout_ms ? 1 : timeout_ms - static_cast<unsigned>(spent_ms);
}

GSocket *RequestGate::socket_of(GSocketAddress *remote_address) {
  if (!remote_address) return nullptr;
  gpointer socket = g_object_get_data(G_OBJECT(remote_address), kSocketKey);
  return socket ? G_SOCKET(g_object_ref(socket)) : nullptr;
}

void RequestGate::log(LogLevel level, const std::string &text) const {
  if (log_) log_(level, text);
}

bool RequestGate::add_listener(GSocket *listening, std::string *error) {
  GError *err = nullptr;
  if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(service_), listening, nullptr, &err)) {
    *error = err->message;
    g_error_free(err);
    return false;
  }
  g_socket_service_start(service_);
  return true;
}

gboolean RequestGate::on_incoming(GSocketService *, GSocketConnection *connection, GObject *,
                                  gpointer self) {
  auto *gate = static_cast<RequestGate *>(self);
  auto *pending = new Pending{gate, G_SOCKET_CONNECTION(g_object_ref(connection)),
                              g_socket_connection_get_socket(connection)};
  pending->connected_us = g_get_monotonic_time();
  const GSocketFamily family = g_socket_get_family(pending->socket);
  pending->level_triggered = family != G_SOCKET_FAMILY_IPV4 && family != G_SOCKET_FAMILY_IPV6;
  gate->pending_.push_back(pending);
  gate->watch_readable(pending);
  if (gate->request_timeout_ms_ > 0) gate->arm_timer(pending, gate->request_timeout_ms_);
  // The head may already be there (it usually is, with the connect).
  gate->inspect(pending);
  return TRUE;
}

gboolean RequestGate::on_readable(GSocket *, GIOCondition, gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  RequestGate *gate = pending->gate;
  const bool keep = pending->draining ? gate->drain(pending) : gate->inspect(pending);
  // The Pending (and its source) may be gone once inspect/drain returned
  // false; returning G_SOURCE_REMOVE then is what finish() expects.
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

gboolean RequestGate::on_timeout(gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  pending->gate->log(LogLevel::kDebug, pending->draining ? "stopped draining a refused request"
                                                         : "request head not finished in time");
  g_socket_close(pending->socket, nullptr);
  pending->gate->finish(pending);
  return G_SOURCE_REMOVE;
}

bool RequestGate::inspect(Pending *pending) {
  const int fd = g_socket_get_fd(pending->socket);
  ssize_t peeked = recv(fd, scratch_.data(), scratch_.size(), MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  if (peeked <= 0) {  // closed before sending a whole request, or reset
    g_socket_close(pending->socket, nullptr);
    finish(pending);
    return false;
  }
  const size_t size = static_cast<size_t>(peeked);
  if (size <= pending->seen) {
    // Nothing new. On TCP that wake-up means the client shut its side with
    // the head still unfinished: peeking again would find the same bytes for
    // ever. A unix socket tells only when asked.
    if (!pending->level_triggered || peer_shut_down(fd)) {
      g_socket_close(pending->socket, nullptr);
      finish(pending);
      return false;
    }
    pending->recheck_ms = std::min(pending->recheck_ms * 2, kMaxRecheckMs);
    recheck_later(pending);
    return true;
  }
  pending->recheck_ms = kRecheckMs;
  const size_t end = head_end(scratch_.data(), size, pending->seen > 3 ? pending->seen - 3 : 0);
  pending->seen = size;
  if (end != std::string::npos) {
    if (announces_large_body(scratch_.data(), end))
      return refuse(pending, kStatusContentTooLarge, "Content Too Large");
    hand_to_libsoup(pending);
    return false;
  }
  if (size > kMaxRequestHead) {
    // No line break at all means the request line alone is too long.
    const bool request_line_too_long = memchr(scratch_.data(), '\n', size) == nullptr;
    if (request_line_too_long)
      return refuse(pending, SOUP_STATUS_REQUEST_URI_TOO_LONG, "URI Too Long");
    return refuse(pending, kStatusHeaderFieldsTooLarge,
                  "Request Header Fields Too Large");
  }
  if (pending->level_triggered) {
    recheck_later(pending);
    return true;
  }
  // Wake only once more bytes than these have arrived: the peeked bytes stay
  // readable, so a plain readable watch would spin.
  set_receive_low_water(fd, static_cast<int>(size) + 1);
  return true;
}

void RequestGate::watch_readable(Pending *pending) {
  if (pending->readable) return;
  pending->readable = g_socket_create_source(
      pending->socket, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
  g_source_set_callback(pending->readable, G_SOURCE_FUNC(&RequestGate::on_readable), pending,
                        nullptr);
  g_source_attach(pending->readable, g_main_context_get_thread_default());
}

void RequestGate::recheck_later(Pending *pending) {
  if (pending->readable) {
    g_source_destroy(pending->readable);
    g_source_unref(pending->readable);
    pending->readable = nullptr;
  }
  if (pending->recheck) return;
  pending->recheck = g_timeout_source_new(pending->recheck_ms);
  g_source_set_callback(
      pending->recheck,
      [](gpointer data) -> gboolean {
        auto *p = static_cast<Pending *>(data);
        g_source_unref(p->recheck);
        p->recheck = nullptr;
        p->gate->inspect(p);
        return G_SOURCE_REMOVE;
      },
      pending, nullptr);
  g_source_attach(pending->recheck, g_main_context_get_thread_default());
}

void RequestGate::hand_to_libsoup(Pending *pending) {
  set_receive_low_water(g_socket_get_fd(pending->socket), 1);
  GSocketAddress *local = g_socket_get_local_address(pending->socket, nullptr);
  GSocketAddress *remote = g_socket_get_remote_address(pending->socket, nullptr);
  GError *err = nullptr;
  // libsoup keeps this very address object with the connection: hang the
  // socket on it, so the handler that takes the connection over finds it.
  if (remote) {
    g_object_set_data_full(G_OBJECT(remote), kSocketKey, g_object_ref(pending->socket),
                           g_object_unref);
    g_object_set_data_full(G_OBJECT(remote), kConnectedKey, new gint64(pending->connected_us),
                           [](gpointer stamp) { delete static_cast<gint64 *>(stamp); });
  }
  if (!local || !remote ||
      !soup_server_accept_iostream(server_, G_IO_STREAM(pending->connection), local, remote,
                                   &err)) {
    log(LogLevel::kDebug, std::string("cannot hand a connection to libsoup: ") +
                              (err ? err->message : "no address"));
    g_clear_error(&err);
    g_socket_close(pending->socket, nullptr);
  }
  if (local) g_object_unref(local);
  if (remote) g_object_unref(remote);
  finish(pending);
}

void RequestGate::arm_timer(Pending *pending, unsigned timeout_ms) {
  if (pending->timer) {
    g_source_destroy(pending->timer);
    g_source_unref(pending->timer);
  }
  pending->timer = g_timeout_source_new(timeout_ms);
  g_source_set_callback(pending->timer, &RequestGate::on_timeout, pending, nullptr);
  g_source_attach(pending->timer, g_main_context_get_thread_default());
}

bool RequestGate::refuse(Pending *pending, unsigned status, const char *reason) {
  log(LogLevel::kDebug, std::string("refusing a request: ") + reason);
  const int fd = g_socket_get_fd(pending->socket);
  const std::string body = std::string(reason) + "\n";
  const std::string response = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                               "\r\nConnection: close\r\nContent-Type: text/plain; "
                               "charset=utf-8\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  // A fresh connection's send buffer takes this small answer whole.
  if (send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
      static_cast<ssize_t>(response.size())) {
    g_socket_close(pending->socket, nullptr);
    finish(pending);
    return false;
  }
  shutdown(fd, SHUT_WR);
  set_receive_low_water(fd, 1);
  pending->draining = true;
  arm_timer(pending, kDrainTimeoutMs);
  // Draining consumes what it reads, so readability no longer spins.
  watch_readable(pending);
  return drain(pending);
}

bool RequestGate::drain(Pending *pending) {
  const int fd = g_socket_get_fd(pending->socket);
  for (;;) {
    ssize_t got = recv(fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) pending->drained += static_cast<size_t>(got);
    if (got <= 0 || pending->drained >= kMaxDrainBytes) break;
  }
  g_socket_close(pending->socket, nullptr);
  finish(pending);
  return false;
}

void RequestGate::finish(Pending *pending) {
  auto it = std::find(pending_.begin(), pending_.end(), pending);
  if (it == pending_.end()) return;
  pending_.erase(it);
  // Destroying a source from inside its own callback is allowed; the
  // callback's G_SOURCE_REMOVE then finds it already destroyed.
  if (pending->readable) {
    g_source_destroy(pending->readable);
    g_source_unref(pending->readable);
  }
  if (pending->timer) {
    g_source_destroy(pending->timer);
    g_source_unref(pending->timer);
  }
  if (pending->recheck) {
    g_source_destroy(pending->recheck);
    g_source_unref(pending->recheck);
  }
  g_object_unref(pending->connection);
  delete pending;
}

}  // namespace mjpeghttp
