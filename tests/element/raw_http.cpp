// SPDX-License-Identifier: LGPL-2.1-or-later
#include "raw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gst/check/gstcheck.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace element_test {

namespace {

// A read that waits this long for a byte fails: the server under test
// answers in milliseconds, so this only bounds a hang.
constexpr int kReceiveTimeoutS = 15;
constexpr size_t kMaxLine = 8192;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// "Name: value" into `headers`; false if there is no colon.
bool add_header_line(const std::string &line, std::map<std::string, std::string> *headers) {
  size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  (*headers)[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  return true;
}

}  // namespace

bool HttpHead::has(const std::string &name) const { return headers.count(lower(name)) > 0; }

std::string HttpHead::header(const std::string &name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

Endpoint Endpoint::unix_socket(const std::string &path) {
  Endpoint endpoint(0);
  endpoint.unix_path = path;
  return endpoint;
}

std::string Endpoint::host() const {
  return unix_path.empty() ? "127.0.0.1:" + std::to_string(port) : "localhost";
}

Connection::Connection(const Endpoint &endpoint) {
  const bool over_unix = !endpoint.unix_path.empty();
  int fd = socket(over_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  timeval timeout{kReceiveTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int connected = -1;
  if (over_unix) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (endpoint.unix_path.size() < sizeof address.sun_path) {
      endpoint.unix_path.copy(address.sun_path, endpoint.unix_path.size());
      connected = connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
    }
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(endpoint.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
  }
  if (connected != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

int Connection::local_port() const {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length) != 0 ||
      address.sin_family != AF_INET)
    return -1;
  return ntohs(address.sin_port);
}

bool Connection::send_all(const std::string &data) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < data.size()) {
    ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool Connection::fill() {
  if (fd_ < 0) return false;
  char chunk[65536];
  for (;;) {
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timed_out_ = true;
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<size_t>(n));
    received_ += static_cast<uint64_t>(n);
    return true;
  }
}

bool Connection::read_line(std::string *line) {
  for (;;) {
    size_t lf = pending_.find('\n');
    if (lf != std::string::npos) {
      if (lf == 0 || pending_[lf - 1] != '\r') return false;
      *line = pending_.substr(0, lf - 1);
      pending_.erase(0, lf + 1);
      return true;
    }
    if (pending_.size() > kMaxLine || !fill()) return false;
  }
}

bool Connection::read_exact(size_t count, std::string *out) {
  while (pending_.size() < count) {
    if (!fill()) return false;
  }
  *out = pending_.substr(0, count);
  pending_.erase(0, count);
  return true;
}

bool Connection::read_head(HttpHead *head) {
  std::string line;
  if (!read_line(&line)) return false;
  // "HTTP/1.1 200 OK"
  if (line.compare(0, 5, "HTTP/") != 0 || line.size() < 12) return false;
  head->status = std::atoi(line.c_str() + 9);
  for (;;) {
    if (!read_line(&line)) return false;
    if (line.empty()) break;
    if (!add_header_line(line, &head->headers)) return false;
  }
  head_bytes_ = received_ - pending_.size();
  return true;
}

bool Connection::read_to_end(std::string *out) {
  while (fill()) {
  }
  if (timed_out_) return false;
  *out += pending_;
  pending_.clear();
  return true;
}

bool Connection::at_end() { return pending_.empty() && !fill() && !timed_out_; }

void Connection::shut_down() {
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  fail_unless(fd >= 0, "socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool bound = bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0;
  close(fd);
  fail_unless(bound, "could not bind an ephemeral port");
  return ntohs(address.sin_port);
}

HttpResponse http_exchange(const Endpoint &endpoint, const std::string &method,
                           const std::string &path, const std::string &body) {
  HttpResponse response;
  Connection connection(endpoint);
  if (!connection.ok()) return response;
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + endpoint.host() +
                        "\r\nConnection: close\r\n";
  if (!body.empty()) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  if (!connection.send_all(request) || !connection.read_head(&response)) return response;
  response.closed_by_server = connection.read_to_end(&response.body);
  return response;
}

std::string boundary_of(const std::string &content_type) {
  const std::string key = "boundary=";
  size_t at = lower(content_type).find(key);
  if (at == std::string::npos) return "";
  std::string value = content_type.substr(at + key.size());
  size_t end = value.find(';');
  if (end != std::string::npos) value = value.substr(0, end);
  value = trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return value;
}

const char *stream_end_name(StreamEnd end) {
  switch (end) {
    case StreamEnd::kOpen:
      return "still open";
    case StreamEnd::kClosedAfterClose:
      return "closed after the close delimiter";
    case StreamEnd::kClosedEarly:
      return "closed without a close delimiter";
    case StreamEnd::kMalformed:
      return "malformed";
    case StreamEnd::kTimedOut:
      return "timed out";
    case StreamEnd::kLeft:
      return "left by the test";
  }
  return "?";
}

RawViewer::RawViewer(const Endpoint &endpoint, const std::string &path) : connection_(endpoint) {
  if (!connection_.ok()) return;
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + endpoint.host() +
                              "\r\nUser-Agent: element-test-raw\r\n\r\n";
  if (!connection_.send_all(request) || !connection_.read_head(&head_)) return;
  boundary_ = boundary_of(head_.header("Content-Type"));
  if (head_.status == 200 && !boundary_.empty()) reader_ = std::thread([this] { read_parts(); });
}

RawViewer::~RawViewer() { leave(); }

void RawViewer::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    leaving_ = true;
  }
  connection_.shut_down();
  if (reader_.joinable()) reader_.join();
}

void RawViewer::finish(StreamEnd end, const std::string &why) {
  if (end == StreamEnd::kClosedEarly && connection_.timed_out()) end = StreamEnd::kTimedOut;
  std::lock_guard<std::mutex> lock(mutex_);
  end_ = leaving_ ? StreamEnd::kLeft : end;
  detail_ = why;
  body_bytes_ = connection_.bytes_after_head();
  changed_.notify_all();
}

// Reads one part's headers and body and the delimiter line after it.
bool RawViewer::read_part(StreamPart *part, std::string *delimiter) {
  std::string line;
  for (;;) {
    if (!connection_.read_line(&line)) return false;
    if (line.empty()) break;
    if (!add_header_line(line, &part->headers)) return false;
  }
  auto length = part->headers.find("content-length");
  if (length == part->headers.end()) return false;
  char *end = nullptr;
  unsigned long long size = std::strtoull(length->second.c_str(), &end, 10);
  if (end == length->second.c_str() || *end != '\0') return false;
  if (!connection_.read_exact(static_cast<size_t>(size), &part->body)) return false;
  // The JPEG is followed by CRLF and then the next delimiter line.
  if (!connection_.read_line(&line) || !line.empty()) return false;
  return connection_.read_line(delimiter);
}

void RawViewer::read_parts() {
  const std::string next = "--" + boundary_;
  const std::string last = next + "--";
  std::string delimiter;
  if (!connection_.read_line(&delimiter)) {
    finish(StreamEnd::kClosedEarly, "no opening delimiter");
    return;
  }
  while (delimiter == next) {
    StreamPart part;
    if (!read_part(&part, &delimiter)) {
      finish(StreamEnd::kClosedEarly, "part " + std::to_string(parts().size()) + " incomplete");
      return;
    }
    part.closing = delimiter == last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      parts_.push_back(std::move(part));
      body_bytes_ = connection_.bytes_after_head();
      changed_.notify_all();
    }
  }
  if (delimiter != last) {
    finish(StreamEnd::kMalformed, "unexpected delimiter line '" + delimiter + "'");
    return;
  }
  if (connection_.at_end())
    finish(StreamEnd::kClosedAfterClose, "");
  else
    finish(StreamEnd::kMalformed, "bytes or silence after the close delimiter");
}

bool RawViewer::await_parts(size_t count, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return parts_.size() >= count || end_ != StreamEnd::kOpen; }) &&
         parts_.size() >= count;
}

StreamEnd RawViewer::await_end(int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return end_ != StreamEnd::kOpen; });
  return end_;
}

std::vector<StreamPart> RawViewer::parts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return parts_;
}

uint64_t RawViewer::body_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return body_bytes_;
}

std::string RawViewer::detail() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::string(stream_end_name(end_)) + (detail_.empty() ? "" : ": " + detail_);
}

}  // namespace element_test
