// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/request_gate.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "http/tls_request_stream.h"

namespace mjpeghttp {

namespace {

// A refused client may still be sending its oversized head; reading (and
// discarding) it for a while before closing lets it receive the answer, where
// closing with unread data would reset the connection under it.
constexpr size_t kMaxDrainBytes = 1024 * 1024;
constexpr unsigned kDrainTimeoutMs = 2000;
// How long a TLS handshake may take when request-timeout is 0 (off).
constexpr unsigned kUntimedHandshakeLimitMs = 10000;
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

// True when the head is not plain CRLF-delimited lines: a bare LF or CR, a
// NUL byte, or a line that begins with a blank (obs-fold, RFC 9112 5.2).
// libsoup accepts all of these and reads them differently from a line-by-line
// look: it joins a folded line to the header before it, takes a bare LF as a
// line end and deletes NUL bytes, so "Content-Length:\r\n 104857600" or
// "Content\0-Length" would announce a body only libsoup sees. RFC 9112 lets
// a server reject such a head (400), which no real client sends.
bool is_malformed_head(const char *head, size_t size) {
  if (memchr(head, '\0', size)) return true;
  for (size_t i = 0; i < size; i++) {
    if (head[i] == '\r' && (i + 1 == size || head[i + 1] != '\n')) return true;
    if (head[i] != '\n') continue;
    if (i == 0 || head[i - 1] != '\r') return true;
    if (i + 1 < size && (head[i + 1] == ' ' || head[i + 1] == '\t')) return true;
  }
  return size > 0 && (head[0] == ' ' || head[0] == '\t');
}

constexpr const char *kSocketKey = "mjpeghttp-socket";
constexpr const char *kConnectedKey = "mjpeghttp-connected-us";

// True when the head announces a body larger than kMaxRequestBody, or one of
// unknown length (any Transfer-Encoding). Nothing served here takes a body,
// and libsoup reads a body of any size into memory before a handler can
// refuse it. Small bodies go on to libsoup, which answers 404 or 405.
// Reads the head line by line, as libsoup does once is_malformed_head() has
// ruled out what libsoup would read otherwise.
bool announces_large_body(const char *head, size_t size) {
  const char *end = head + size;
  for (const char *line = head; line < end;) {
    const char *eol = static_cast<const char *>(memchr(line, '\n', end - line));
    if (!eol) eol = end;
    const size_t length = static_cast<size_t>(eol - line);
    auto named = [&](const char *name) {
      const size_t n = strlen(name);
      return length >= n && g_ascii_strncasecmp(line, name, n) == 0;
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

// A TLS record's header: content type (22 = handshake), version, length.
constexpr size_t kTlsRecordHeader = 5;
constexpr unsigned char kTlsHandshakeRecord = 0x16;
// RFC 8446's largest record a peer may send, with its header.
constexpr size_t kMaxTlsRecord = kTlsRecordHeader + 16384 + 256;
// Connections taken from the backlog per wake-up, so that a burst of
// connects cannot keep the HTTP thread from everything else.
constexpr int kAcceptBatch = 64;
// How long a stopping gate waits for cancelled handshakes to come back
// from GIO's threads (they wake at once: their sockets are shut down).
constexpr gint64 kHandshakeWindDownUs = 5 * G_USEC_PER_SEC;

}  // namespace

struct RequestGate::Pending {
  enum class Stage { kHead, kClientHello, kHandshake, kTlsHead, kDrain };
  RequestGate *gate = nullptr;
  GSocketConnection *connection = nullptr;
  GSocket *socket = nullptr;
  Stage stage = Stage::kHead;
  // Over HTTPS: the TLS connection once its handshake started, what the
  // handshake can be cancelled with, and the head read through it so far.
  GIOStream *tls = nullptr;
  GCancellable *cancellable = nullptr;
  std::string tls_head;
  // Dropped while its handshake ran on a GIO thread: the socket is shut
  // down, and the handshake's callback closes and frees it.
  bool abandoned = false;
  GSource *readable = nullptr;
  GSource *timer = nullptr;
  // Unix sockets report readable while any byte is queued, whatever
  // SO_RCVLOWAT says, so an unfinished head is looked at again on a timer
  // (recheck) instead of on readability, which would spin.
  bool level_triggered = false;
  GSource *recheck = nullptr;
  unsigned recheck_ms = kRecheckMs;
  size_t drained = 0;
  size_t seen = 0;          // bytes of the head peeked so far
  gint64 connected_us = 0;  // monotonic time of the accept
};

RequestGate::RequestGate(SoupServer *server, unsigned request_timeout_ms,
                         GTlsCertificate *certificate, LogSink log)
    : server_(server),
      request_timeout_ms_(request_timeout_ms),
      certificate_(certificate ? G_TLS_CERTIFICATE(g_object_ref(certificate)) : nullptr),
      log_(std::move(log)),
      scratch_(std::max(kMaxRequestHead + 1, kMaxTlsRecord)) {}

RequestGate::~RequestGate() {
  for (GSource **source : {&listen_source_, &accept_pause_}) {
    if (!*source) continue;
    g_source_destroy(*source);
    g_source_unref(*source);
    *source = nullptr;
  }
  if (listening_) g_object_unref(listening_);
  while (!pending_.empty()) drop(pending_.back());
  // A handshake's callback needs this gate and this thread's context: wait
  // for the cancelled ones here, so none is left holding its connection.
  GMainContext *context = g_main_context_get_thread_default();
  const gint64 deadline = g_get_monotonic_time() + kHandshakeWindDownUs;
  while (!abandoned_.empty() && g_get_monotonic_time() < deadline) {
    // The timer only bounds each wait: the callbacks come from GIO's threads.
    GSource *tick = g_timeout_source_new(50);
    g_source_set_callback(
        tick, [](gpointer) -> gboolean { return G_SOURCE_REMOVE; }, nullptr, nullptr);
    g_source_attach(tick, context);
    g_main_context_iteration(context, TRUE);
    g_source_destroy(tick);
    g_source_unref(tick);
  }
  if (!abandoned_.empty())
    log(LogLevel::kWarning, std::to_string(abandoned_.size()) +
                                " TLS handshakes did not stop in time; their memory is lost");
  // Should one still come back, it must not reach this gate.
  for (Pending *pending : abandoned_) pending->gate = nullptr;
  if (certificate_) g_object_unref(certificate_);
}

unsigned RequestGate::time_left_ms(GSocketAddress *remote_address, unsigned timeout_ms) {
  auto *connected =
      remote_address
          ? static_cast<gint64 *>(g_object_get_data(G_OBJECT(remote_address), kConnectedKey))
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

void RequestGate::add_listener(GSocket *listening) {
  listening_ = G_SOCKET(g_object_ref(listening));
  // Accepting must return at once when the backlog is empty.
  g_socket_set_blocking(listening_, FALSE);
  watch_listener();
}

void RequestGate::watch_listener() {
  listen_source_ = g_socket_create_source(listening_, G_IO_IN, nullptr);
  g_source_set_callback(listen_source_, G_SOURCE_FUNC(&RequestGate::on_acceptable), this, nullptr);
  g_source_attach(listen_source_, g_main_context_get_thread_default());
}

gboolean RequestGate::on_acceptable(GSocket *, GIOCondition, gpointer self) {
  auto *gate = static_cast<RequestGate *>(self);
  if (gate->accept_waiting()) return G_SOURCE_CONTINUE;
  // pause_accepting() dropped the source; returning REMOVE is what it expects.
  return G_SOURCE_REMOVE;
}

// An accept error that belongs to the connection being accepted (it was
// reset or its network went away before accept), not to the process: those
// are the errors accept(2) lists as "retry like EAGAIN".
static bool connection_failed_in_backlog(const GError *err) {
  static const GIOErrorEnum kPerConnection[] = {
      G_IO_ERROR_CONNECTION_CLOSED, G_IO_ERROR_BROKEN_PIPE,        G_IO_ERROR_NETWORK_UNREACHABLE,
      G_IO_ERROR_HOST_UNREACHABLE,  G_IO_ERROR_CONNECTION_REFUSED, G_IO_ERROR_TIMED_OUT,
      G_IO_ERROR_NOT_CONNECTED,
  };
  for (GIOErrorEnum code : kPerConnection)
    if (g_error_matches(err, G_IO_ERROR, code)) return true;
  return false;
}

bool RequestGate::accept_waiting() {
  for (int i = 0; i < kAcceptBatch; i++) {
    GError *err = nullptr;
    GSocket *socket = g_socket_accept(listening_, nullptr, &err);
    if (socket) {
      adopt(socket);
      continue;
    }
    const bool drained = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
    if (!drained && connection_failed_in_backlog(err)) {
      // One connection's trouble, not the server's (accept(2) says to retry
      // at once, as for EAGAIN): pausing for it would let a peer that keeps
      // causing it hold accepting back for everyone.
      g_error_free(err);
      continue;
    }
    if (!drained) {
      pause_accepting(err->message);
    } else if (failed_accepts_ > 0) {
      // The burst is over once the backlog is empty: a descriptor freed now
      // and then while the shortage lasts does not end it.
      log(LogLevel::kInfo, "accepting connections again, after " + std::to_string(failed_accepts_) +
                               " failed attempts");
      failed_accepts_ = 0;
      accept_pause_ms_ = kFirstAcceptPauseMs;
    }
    g_error_free(err);
    return drained;
  }
  return true;
}

void RequestGate::pause_accepting(const char *reason) {
  // Without a descriptor to take it, the waiting connection stays in the
  // backlog and the listening socket stays readable: retrying at once would
  // spin. Connections closing give descriptors back, so look again soon,
  // then less and less often while the shortage lasts.
  if (failed_accepts_ == 0)
    log(LogLevel::kWarning, std::string("cannot accept connections: ") + reason +
                                "; pausing accepting until this passes");
  failed_accepts_++;
  if (listen_source_) {
    g_source_destroy(listen_source_);
    g_source_unref(listen_source_);
    listen_source_ = nullptr;
  }
  accept_pause_ = g_timeout_source_new(accept_pause_ms_);
  g_source_set_callback(accept_pause_, &RequestGate::on_accept_pause_over, this, nullptr);
  g_source_attach(accept_pause_, g_main_context_get_thread_default());
  accept_pause_ms_ = std::min(accept_pause_ms_ * 2, kMaxAcceptPauseMs);
}

gboolean RequestGate::on_accept_pause_over(gpointer self) {
  auto *gate = static_cast<RequestGate *>(self);
  g_source_unref(gate->accept_pause_);
  gate->accept_pause_ = nullptr;
  // Try at once rather than on readability: with the backlog already empty
  // this ends the burst now, not at the next connect.
  if (gate->accept_waiting()) gate->watch_listener();
  return G_SOURCE_REMOVE;
}

void RequestGate::adopt(GSocket *socket) {
  auto *pending = new Pending();
  pending->gate = this;
  pending->connection = g_socket_connection_factory_create_connection(socket);
  pending->socket = socket;
  // The connection holds the socket from now on.
  g_object_unref(socket);
  pending->connected_us = g_get_monotonic_time();
  const GSocketFamily family = g_socket_get_family(pending->socket);
  pending->level_triggered = family != G_SOCKET_FAMILY_IPV4 && family != G_SOCKET_FAMILY_IPV6;
  if (certificate_) pending->stage = Pending::Stage::kClientHello;
  pending_.push_back(pending);
  watch_readable(pending);
  if (request_timeout_ms_ > 0) {
    arm_timer(pending, request_timeout_ms_);
  } else if (certificate_) {
    // request-timeout=0 leaves a plain head untimed, but never a handshake:
    // GIO runs each on a pool thread, and one that stalls would hold that
    // thread and its descriptor for ever. The timer goes once it is done.
    arm_timer(pending, kUntimedHandshakeLimitMs);
  }
  // What the client sent may already be there (it usually is, with the
  // connect).
  if (certificate_)
    inspect_client_hello(pending);
  else
    inspect(pending);
}

gboolean RequestGate::on_readable(GSocket *, GIOCondition, gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  RequestGate *gate = pending->gate;
  bool keep = false;
  switch (pending->stage) {
    case Pending::Stage::kHead:
      keep = gate->inspect(pending);
      break;
    case Pending::Stage::kClientHello:
      keep = gate->inspect_client_hello(pending);
      break;
    case Pending::Stage::kDrain:
      keep = gate->drain(pending);
      break;
    case Pending::Stage::kHandshake:
    case Pending::Stage::kTlsHead:
      break;  // watched through TLS, not on the socket
  }
  // The Pending (and its source) may be gone once the call returned false;
  // returning G_SOURCE_REMOVE then is what finish() expects.
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

gboolean RequestGate::on_tls_readable(GObject *, gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  RequestGate *gate = pending->gate;
  const bool keep = pending->stage == Pending::Stage::kDrain ? gate->drain(pending)
                                                             : gate->read_tls_head(pending);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

gboolean RequestGate::on_timeout(gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  const char *what = "request head not finished in time";
  if (pending->stage == Pending::Stage::kDrain) what = "stopped draining a refused request";
  if (pending->stage == Pending::Stage::kClientHello ||
      pending->stage == Pending::Stage::kHandshake)
    what = "TLS handshake not finished in time";
  pending->gate->log(LogLevel::kDebug, what);
  pending->gate->drop(pending);
  return G_SOURCE_REMOVE;
}

bool RequestGate::inspect(Pending *pending) {
  const int fd = g_socket_get_fd(pending->socket);
  ssize_t peeked = recv(fd, scratch_.data(), kMaxRequestHead + 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  if (peeked <= 0) {  // closed before sending a whole request, or reset
    drop(pending);
    return false;
  }
  const size_t size = static_cast<size_t>(peeked);
  if (size <= pending->seen) {
    // Nothing new. On TCP that wake-up means the client shut its side with
    // the head still unfinished: peeking again would find the same bytes for
    // ever. A unix socket tells only when asked.
    if (!pending->level_triggered || peer_shut_down(fd)) {
      drop(pending);
      return false;
    }
    pending->recheck_ms = std::min(pending->recheck_ms * 2, kMaxRecheckMs);
    recheck_later(pending);
    return true;
  }
  pending->recheck_ms = kRecheckMs;
  const size_t end = head_end(scratch_.data(), size, pending->seen > 3 ? pending->seen - 3 : 0);
  pending->seen = size;
  if (!judge(pending, scratch_.data(), size, end)) return false;
  if (pending->level_triggered) {
    recheck_later(pending);
    return true;
  }
  // Wake only once more bytes than these have arrived: the peeked bytes stay
  // readable, so a plain readable watch would spin.
  set_receive_low_water(fd, static_cast<int>(size) + 1);
  return true;
}

bool RequestGate::judge(Pending *pending, const char *head, size_t size, size_t end) {
  if (end != std::string::npos) {
    if (is_malformed_head(head, end))
      return refuse(pending, SOUP_STATUS_BAD_REQUEST, "Bad Request");
    if (announces_large_body(head, end))
      return refuse(pending, kStatusContentTooLarge, "Content Too Large");
    hand_to_libsoup(pending);
    return false;
  }
  if (size > kMaxRequestHead) {
    // No line break at all means the request line alone is too long.
    const bool request_line_too_long = memchr(head, '\n', size) == nullptr;
    if (request_line_too_long)
      return refuse(pending, SOUP_STATUS_REQUEST_URI_TOO_LONG, "URI Too Long");
    return refuse(pending, kStatusHeaderFieldsTooLarge, "Request Header Fields Too Large");
  }
  return true;
}

bool RequestGate::inspect_client_hello(Pending *pending) {
  const int fd = g_socket_get_fd(pending->socket);
  auto *bytes = reinterpret_cast<unsigned char *>(scratch_.data());
  ssize_t peeked = recv(fd, bytes, kMaxTlsRecord, MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  const size_t size = peeked > 0 ? static_cast<size_t>(peeked) : 0;
  // Closed or reset; or not TLS at all (plain HTTP on the HTTPS port).
  if (size == 0 || bytes[0] != kTlsHandshakeRecord) {
    drop(pending);
    return false;
  }
  size_t record = kMaxTlsRecord;
  if (size >= kTlsRecordHeader) record = kTlsRecordHeader + (bytes[3] << 8 | bytes[4]);
  if (record > kMaxTlsRecord) {
    drop(pending);
    return false;
  }
  if (size >= record) {
    start_handshake(pending);
    return false;
  }
  if (size <= pending->seen && (!pending->level_triggered || peer_shut_down(fd))) {
    // Woken with nothing new: the client shut its side mid-record.
    drop(pending);
    return false;
  }
  pending->seen = size;
  if (pending->level_triggered) {
    recheck_later(pending);
    return true;
  }
  // Wake once the whole record is there (or the client goes away): a client
  // that sends a record header and stalls costs nothing more than its socket.
  set_receive_low_water(fd, static_cast<int>(size >= kTlsRecordHeader ? record : size + 1));
  return true;
}

void RequestGate::start_handshake(Pending *pending) {
  if (pending->readable) {
    g_source_destroy(pending->readable);
    g_source_unref(pending->readable);
    pending->readable = nullptr;
  }
  set_receive_low_water(g_socket_get_fd(pending->socket), 1);
  GError *err = nullptr;
  // No certificate database, as libsoup does: a server that asks for no
  // client certificate needs none, and GIO would otherwise give every
  // connection the system's trust store (over a megabyte each).
  pending->tls = G_IO_STREAM(
      g_initable_new(g_tls_backend_get_server_connection_type(g_tls_backend_get_default()), nullptr,
                     &err, "base-io-stream", pending->connection, "certificate", certificate_,
                     "database", nullptr, "require-close-notify", FALSE, nullptr));
  if (!pending->tls) {
    log(LogLevel::kWarning, std::string("cannot start TLS: ") + err->message);
    g_error_free(err);
    drop(pending);
    return;
  }
  pending->cancellable = g_cancellable_new();
  pending->stage = Pending::Stage::kHandshake;
  g_tls_connection_handshake_async(G_TLS_CONNECTION(pending->tls), G_PRIORITY_DEFAULT,
                                   pending->cancellable, &RequestGate::on_handshaken, pending);
}

void RequestGate::on_handshaken(GObject *tls, GAsyncResult *result, gpointer data) {
  auto *pending = static_cast<Pending *>(data);
  GError *err = nullptr;
  const bool done = g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), result, &err);
  RequestGate *gate = pending->gate;
  if (pending->abandoned) {
    if (gate)
      gate->abandoned_.erase(std::find(gate->abandoned_.begin(), gate->abandoned_.end(), pending));
    g_clear_error(&err);
    g_socket_close(pending->socket, nullptr);
    free_pending(pending);
    return;
  }
  // Over: from here on the socket is this thread's alone again.
  pending->stage = Pending::Stage::kTlsHead;
  if (done && gate->request_timeout_ms_ == 0 && pending->timer) {
    // Only the handshake was timed (see adopt()).
    g_source_destroy(pending->timer);
    g_source_unref(pending->timer);
    pending->timer = nullptr;
  }
  if (!done) {
    gate->log(LogLevel::kDebug, std::string("TLS handshake failed: ") + err->message);
    g_error_free(err);
    gate->drop(pending);
    return;
  }
  pending->readable = g_pollable_input_stream_create_source(
      G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(pending->tls)), nullptr);
  g_source_set_callback(pending->readable, G_SOURCE_FUNC(&RequestGate::on_tls_readable), pending,
                        nullptr);
  g_source_attach(pending->readable, g_main_context_get_thread_default());
  // The request usually comes with the client's last handshake flight.
  gate->read_tls_head(pending);
}

bool RequestGate::read_tls_head(Pending *pending) {
  auto *input = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(pending->tls));
  std::string &head = pending->tls_head;
  // Bounded: each pass adds at least one byte, and it stops past the limit.
  while (head.size() <= kMaxRequestHead) {
    GError *err = nullptr;
    const gssize got = g_pollable_input_stream_read_nonblocking(
        input, scratch_.data(), kMaxRequestHead + 1 - head.size(), nullptr, &err);
    if (got < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free(err);
      return true;
    }
    g_clear_error(&err);
    if (got <= 0) {  // closed before sending a whole request, or broken
      drop(pending);
      return false;
    }
    const size_t before = head.size();
    head.append(scratch_.data(), static_cast<size_t>(got));
    const size_t end = head_end(head.data(), head.size(), before > 3 ? before - 3 : 0);
    if (end != std::string::npos || head.size() > kMaxRequestHead)
      return judge(pending, head.data(), head.size(), end);
  }
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
        if (p->stage == Pending::Stage::kClientHello)
          p->gate->inspect_client_hello(p);
        else
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
  // Over TLS, libsoup reads the head the gate already read once more.
  GIOStream *stream = pending->tls
                          ? tls_request_stream_new(pending->tls, std::move(pending->tls_head))
                          : G_IO_STREAM(g_object_ref(pending->connection));
  if (!local || !remote || !soup_server_accept_iostream(server_, stream, local, remote, &err)) {
    log(LogLevel::kDebug,
        std::string("cannot hand a connection to libsoup: ") + (err ? err->message : "no address"));
    g_clear_error(&err);
    g_socket_close(pending->socket, nullptr);
  }
  g_object_unref(stream);
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
  bool sent = false;
  if (pending->tls) {
    sent =
        g_pollable_output_stream_write_nonblocking(
            G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(pending->tls)), response.data(),
            response.size(), nullptr, nullptr) == static_cast<gssize>(response.size());
  } else {
    sent = send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
           static_cast<ssize_t>(response.size());
    // Over TLS a bare FIN would read as a cut connection: the client ends
    // it after the answer's Content-Length instead.
    if (sent) shutdown(fd, SHUT_WR);
  }
  if (!sent) {
    drop(pending);
    return false;
  }
  pending->stage = Pending::Stage::kDrain;
  arm_timer(pending, kDrainTimeoutMs);
  if (!pending->tls) {
    set_receive_low_water(fd, 1);
    // Draining consumes what it reads, so readability no longer spins.
    watch_readable(pending);
  }
  return drain(pending);
}

bool RequestGate::drain(Pending *pending) {
  const int fd = g_socket_get_fd(pending->socket);
  auto *tls_input =
      pending->tls ? G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(pending->tls)) : nullptr;
  for (;;) {
    ssize_t got;
    if (tls_input) {
      GError *err = nullptr;
      got = g_pollable_input_stream_read_nonblocking(tls_input, scratch_.data(), scratch_.size(),
                                                     nullptr, &err);
      const bool would_block = got < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      g_clear_error(&err);
      if (would_block) return true;
    } else {
      got = recv(fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (got < 0 && errno == EINTR) continue;
    }
    if (got > 0) pending->drained += static_cast<size_t>(got);
    if (got <= 0 || pending->drained >= kMaxDrainBytes) break;
  }
  drop(pending);
  return false;
}

void RequestGate::drop(Pending *pending) {
  if (pending->stage == Pending::Stage::kHandshake) {
    // The handshake runs on a GIO thread that uses the socket: shutting it
    // down (not closing it, whose descriptor number could be reused under
    // that thread) ends the handshake at once; its callback closes it.
    g_cancellable_cancel(pending->cancellable);
    shutdown(g_socket_get_fd(pending->socket), SHUT_RDWR);
    pending->abandoned = true;
    abandoned_.push_back(pending);
  } else {
    g_socket_close(pending->socket, nullptr);
  }
  finish(pending);
}

void RequestGate::finish(Pending *pending) {
  auto it = std::find(pending_.begin(), pending_.end(), pending);
  if (it == pending_.end()) return;
  pending_.erase(it);
  // Destroying a source from inside its own callback is allowed; the
  // callback's G_SOURCE_REMOVE then finds it already destroyed.
  for (GSource *source : {pending->readable, pending->timer, pending->recheck}) {
    if (!source) continue;
    g_source_destroy(source);
    g_source_unref(source);
  }
  pending->readable = pending->timer = pending->recheck = nullptr;
  if (!pending->abandoned) free_pending(pending);
}

void RequestGate::free_pending(Pending *pending) {
  if (pending->tls) g_object_unref(pending->tls);
  if (pending->cancellable) g_object_unref(pending->cancellable);
  g_object_unref(pending->connection);
  delete pending;
}

}  // namespace mjpeghttp
