// SPDX-License-Identifier: LGPL-2.1-or-later
#include "raw_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace test_support {

namespace {

// The server under test answers in milliseconds: a line or a head this long
// is a bug, not a slow server.
constexpr size_t kMaxLine = 16384;

// A sockaddr for `endpoint`; its length, or 0 when the address is unusable.
socklen_t address_of(const Endpoint &endpoint, sockaddr_storage *storage) {
  *storage = sockaddr_storage{};
  if (!endpoint.unix_path.empty()) {
    auto *address = reinterpret_cast<sockaddr_un *>(storage);
    if (endpoint.unix_path.size() >= sizeof address->sun_path) return 0;
    address->sun_family = AF_UNIX;
    endpoint.unix_path.copy(address->sun_path, endpoint.unix_path.size());
    return sizeof *address;
  }
  if (endpoint.host.find(':') != std::string::npos) {
    auto *address = reinterpret_cast<sockaddr_in6 *>(storage);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(static_cast<uint16_t>(endpoint.port));
    if (inet_pton(AF_INET6, endpoint.host.c_str(), &address->sin6_addr) != 1) return 0;
    return sizeof *address;
  }
  auto *address = reinterpret_cast<sockaddr_in *>(storage);
  address->sin_family = AF_INET;
  address->sin_port = htons(static_cast<uint16_t>(endpoint.port));
  if (inet_pton(AF_INET, endpoint.host.c_str(), &address->sin_addr) != 1) return 0;
  return sizeof *address;
}

}  // namespace

Endpoint Endpoint::unix_socket(const std::string &path) {
  Endpoint endpoint(0);
  endpoint.unix_path = path;
  return endpoint;
}

Endpoint Endpoint::at(const std::string &numeric_host, int port) {
  Endpoint endpoint(port);
  endpoint.host = numeric_host;
  return endpoint;
}

std::string Endpoint::host_header() const {
  if (!unix_path.empty()) return "localhost";
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

RawSocket::RawSocket(const Endpoint &endpoint, int receive_buffer) {
  sockaddr_storage address;
  const socklen_t length = address_of(endpoint, &address);
  if (length == 0) return;
  fd_ = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return;
  if (receive_buffer > 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  if (connect(fd_, reinterpret_cast<sockaddr *>(&address), length) == 0 || errno == EINPROGRESS)
    end_ = End::kOpen;
}

RawSocket::~RawSocket() { close_now(); }

const char *RawSocket::end_name() const {
  switch (end_) {
    case End::kOpen:
      return "open";
    case End::kClosed:
      return "closed by the server";
    case End::kReset:
      return "reset by the server";
    case End::kFailed:
      return "failed";
  }
  return "?";
}

int RawSocket::local_port() const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6 *>(&address)->sin6_port);
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in *>(&address)->sin_port);
  return -1;
}

void RawSocket::end_as(End end) {
  end_ = end;
  if ((end == End::kClosed || end == End::kReset) && ended_us_ == 0)
    ended_us_ = g_get_monotonic_time();
}

void RawSocket::note_error(int error) {
  end_as((error == ECONNRESET || error == EPIPE) ? End::kReset : End::kFailed);
}

bool RawSocket::connected(int timeout_ms) {
  if (!open() || !wait_for(POLLOUT, deadline_in(timeout_ms))) return false;
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    note_error(error);
    return false;
  }
  return true;
}

bool RawSocket::ok() {
  if (connected_ < 0) connected_ = connected() ? 1 : 0;
  return connected_ == 1;
}

// True once `events` (or an error or hang-up) is reported before `deadline`.
bool RawSocket::wait_for(short events, gint64 deadline) {
  for (;;) {
    pollfd fd{fd_, events, 0};
    const int rc = poll(&fd, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool RawSocket::pump(int timeout_ms) {
  if (!open()) return false;
  if (timeout_ms > 0 && !wait_for(POLLIN, deadline_in(timeout_ms))) return true;
  char chunk[65536];
  for (;;) {
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      pending_.append(chunk, static_cast<size_t>(n));
      total_received_ += static_cast<uint64_t>(n);
      if (static_cast<size_t>(n) < sizeof chunk) return true;
      continue;
    }
    if (n == 0) {
      end_as(End::kClosed);
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    note_error(errno);
    return false;
  }
}

bool RawSocket::send_now(const std::string &data) {
  if (!open()) return false;
  const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
  note_error(errno);
  return false;
}

bool RawSocket::send_all(const std::string &data, int timeout_ms) {
  const gint64 deadline = deadline_in(timeout_ms);
  size_t sent = 0;
  while (sent < data.size()) {
    if (!open()) return false;
    const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      const int error = errno;
      // What the server said before it hung up is still worth reading.
      pump(0);
      if (open()) note_error(error);
      return false;
    }
    pollfd fd{fd_, POLLIN | POLLOUT, 0};
    if (poll(&fd, 1, remaining_ms(deadline)) == 0) return false;
    if (fd.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(0)) return false;
    }
  }
  return true;
}

bool RawSocket::await_end(int timeout_ms) {
  const gint64 deadline = deadline_in(timeout_ms);
  while (open()) {
    if (!wait_for(POLLIN, deadline)) return false;
    pump(0);
  }
  return end_ == End::kClosed || end_ == End::kReset;
}

bool RawSocket::read_line(std::string *line, gint64 deadline) {
  for (;;) {
    const size_t lf = pending_.find('\n');
    if (lf != std::string::npos) {
      if (lf == 0 || pending_[lf - 1] != '\r') return false;
      *line = pending_.substr(0, lf - 1);
      pending_.erase(0, lf + 1);
      return true;
    }
    if (pending_.size() > kMaxLine || !open() || !wait_for(POLLIN, deadline) || !pump(0))
      return false;
  }
}

bool RawSocket::read_exact(size_t count, std::string *out, gint64 deadline) {
  while (pending_.size() < count) {
    if (!open() || !wait_for(POLLIN, deadline) || !pump(0)) {
      if (pending_.size() < count) return false;
    }
  }
  *out = pending_.substr(0, count);
  pending_.erase(0, count);
  return true;
}

bool RawSocket::read_head(HttpHead *head, gint64 deadline) {
  for (;;) {
    size_t body_offset = 0;
    if (parse_head(pending_, head, &body_offset)) {
      pending_.erase(0, body_offset);
      return true;
    }
    if (pending_.size() > kMaxLine * 8 || !open() || !wait_for(POLLIN, deadline) || !pump(0)) {
      if (parse_head(pending_, head, &body_offset)) {
        pending_.erase(0, body_offset);
        return true;
      }
      return false;
    }
  }
}

bool RawSocket::read_until(const std::string &needle, gint64 deadline, size_t limit) {
  while (needle.empty() || pending_.find(needle) == std::string::npos) {
    if (pending_.size() > limit || !open() || !wait_for(POLLIN, deadline) || !pump(0))
      return !needle.empty() && pending_.find(needle) != std::string::npos;
  }
  return true;
}

bool RawSocket::read_to_end(std::string *out, gint64 deadline) {
  while (open()) {
    if (!wait_for(POLLIN, deadline)) return false;
    pump(0);
  }
  *out += pending_;
  pending_.clear();
  return end_ == End::kClosed;
}

void RawSocket::half_close() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

void RawSocket::reset() {
  if (fd_ < 0) return;
  linger abort{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close_now();
}

void RawSocket::shut_down() {
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
}

void RawSocket::close_now() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (end_ == End::kOpen) end_ = End::kFailed;
}

std::string get_request(const Endpoint &endpoint, const std::string &target,
                        const std::string &extra_headers) {
  return "GET " + target + " HTTP/1.1\r\nHost: " + endpoint.host_header() + "\r\n" + extra_headers +
         "\r\n";
}

Exchange exchange(const Endpoint &endpoint, const std::string &request, int timeout_ms) {
  Exchange result;
  const gint64 deadline = deadline_in(timeout_ms);
  RawSocket socket(endpoint);
  if (socket.connected(timeout_ms)) {
    result.request_sent = socket.send_all(request, remaining_ms(deadline));
    socket.await_end(remaining_ms(deadline));
  }
  result.end = socket.end();
  result.received = socket.received();
  size_t body_offset = 0;
  if (parse_head(result.received, &result.head, &body_offset))
    result.body = result.received.substr(body_offset);
  return result;
}

HttpResponse http_exchange(const Endpoint &endpoint, const std::string &method,
                           const std::string &path, const std::string &body) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + endpoint.host_header() +
                        "\r\nConnection: close\r\n";
  if (!body.empty()) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  const Exchange result = exchange(endpoint, request + "\r\n" + body);
  HttpResponse response;
  static_cast<HttpHead &>(response) = result.head;
  response.body = result.body;
  response.closed_by_server = result.head.status != 0 && result.closed_by_server();
  return response;
}

bool port_is_free(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) g_error("socket() failed");
  // As a server binds: connections of an earlier server in TIME_WAIT do
  // not make the port taken.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
  close(fd);
  return bound;
}

int free_port() {
  // Below the kernel's ephemeral range: a port bind(0) handed out is handed
  // out again to the next outgoing connection of a test running beside this
  // one, which then holds it when the element binds. Below the range only
  // another explicit bind can clash.
  int low = 32768, high = 60999;
  if (FILE *range = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (fscanf(range, "%d %d", &low, &high) != 2) low = 32768, high = 60999;
    fclose(range);
  }
  constexpr int kFloor = 10000;
  const bool room_below = low - 1 - kFloor >= 1000;
  const int first = room_below ? kFloor : high + 1;
  const int last = room_below ? low - 1 : 65535;
  for (int attempt = 0; attempt < 200; attempt++) {
    const int port = g_random_int_range(first, last + 1);
    if (port_is_free(port)) return port;
  }
  g_error("no free port between %d and %d", first, last);
}

bool have_ipv6_loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

}  // namespace test_support
