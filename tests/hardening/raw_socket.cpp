// SPDX-License-Identifier: LGPL-2.1-or-later
#include "raw_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace hardening_test {

namespace {

constexpr size_t kMaxLine = 16384;

int remaining_ms(gint64 deadline) {
  const gint64 left = deadline - g_get_monotonic_time();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<gint64>((left + 999) / 1000, 60000));
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string &text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

}  // namespace

gint64 deadline_in(int ms) { return g_get_monotonic_time() + static_cast<gint64>(ms) * 1000; }

RawSocket::RawSocket(int port, int receive_buffer) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return;
  if (receive_buffer > 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 ||
      errno == EINPROGRESS)
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

bool parse_head(const std::string &bytes, HttpHead *head, size_t *body_offset) {
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  // "HTTP/1.1 200 OK"
  if (bytes.compare(0, 5, "HTTP/") != 0 || end < 12) return false;
  *head = HttpHead();
  head->status = std::atoi(bytes.c_str() + 9);
  size_t line_start = bytes.find("\r\n") + 2;
  while (line_start < end + 2) {
    const size_t line_end = bytes.find("\r\n", line_start);
    const std::string line = bytes.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    head->headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    line_start = line_end + 2;
  }
  *body_offset = end + 4;
  return true;
}

Exchange exchange(int port, const std::string &request, int timeout_ms) {
  Exchange result;
  const gint64 deadline = deadline_in(timeout_ms);
  RawSocket socket(port);
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

std::string get_request(int port, const std::string &target, const std::string &extra_headers) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
         extra_headers + "\r\n";
}

}  // namespace hardening_test
