// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream_client.h"

#include <cstdlib>

namespace test_support {

bool StreamConnection::fail_with(Failure failure, const std::string &why) {
  if (failure_ == Failure::kNone || failure_ == Failure::kEnded) {
    failure_ = failure;
    error_ = why;
  }
  return false;
}

// A read came up short: the server closed, the deadline passed, or the bytes
// broke a rule (a bare LF, a runaway line).
bool StreamConnection::fail_read(const std::string &what, gint64 deadline) {
  if (!socket_) return fail_with(Failure::kClosed, "not connected");
  if (!socket_->open())
    return fail_with(Failure::kClosed,
                     "connection " + std::string(socket_->end_name()) + " " + what);
  if (g_get_monotonic_time() >= deadline)
    return fail_with(Failure::kTimedOut, "timed out waiting for " + what);
  return fail_with(Failure::kMalformed, "malformed " + what);
}

bool StreamConnection::request(const Endpoint &endpoint, const std::string &method,
                               const std::string &path, const std::string &user_agent) {
  socket_ = std::make_unique<RawSocket>(endpoint);
  if (!socket_->connected()) return fail_with(Failure::kClosed, "cannot connect");
  const std::string text = method + " " + path + " HTTP/1.1\r\nHost: " + endpoint.host_header() +
                           "\r\nUser-Agent: " + user_agent + "\r\n\r\n";
  if (!socket_->send_all(text)) return fail_with(Failure::kClosed, "cannot send the request");
  return true;
}

bool StreamConnection::send_request(const Endpoint &endpoint, const std::string &request,
                                    bool half_close) {
  socket_ = std::make_unique<RawSocket>(endpoint);
  if (!socket_->connected()) return fail_with(Failure::kClosed, "cannot connect");
  if (!socket_->send_all(request)) return fail_with(Failure::kClosed, "cannot send the request");
  if (half_close) socket_->half_close();
  return true;
}

bool StreamConnection::read_head(HttpHead *head, gint64 deadline) {
  if (!socket_ || !socket_->read_head(head, deadline))
    return fail_read("the response head", deadline);
  boundary_ = boundary_of(head->header("Content-Type"));
  head_end_ = socket_->total_received() - socket_->received().size();
  return true;
}

bool StreamConnection::read_line(std::string *line, gint64 deadline) {
  return socket_->read_line(line, deadline);
}

bool StreamConnection::expect(const std::string &bytes, gint64 deadline) {
  std::string got;
  if (!socket_->read_exact(bytes.size(), &got, deadline))
    return fail_read("\"" + bytes + "\"", deadline);
  if (got != bytes)
    return fail_with(Failure::kMalformed, "expected \"" + bytes + "\", got \"" + got + "\"");
  return true;
}

bool StreamConnection::read_part(StreamPart *part, gint64 deadline) {
  if (!socket_) return fail_with(Failure::kClosed, "not connected");
  if (boundary_.empty()) return fail_with(Failure::kMalformed, "no multipart boundary");
  if (ended_) return fail_with(Failure::kMalformed, "part requested after the close delimiter");
  if (!opened_) {
    if (!expect("--" + boundary_, deadline)) return false;
    std::string tail;
    if (!socket_->read_exact(2, &tail, deadline)) return fail_read("a delimiter's end", deadline);
    if (tail == "--") {
      if (!expect("\r\n", deadline)) return false;
      ended_ = true;
      return fail_with(Failure::kEnded, "the stream ended before its first part");
    }
    if (tail != "\r\n") return fail_with(Failure::kMalformed, "bad delimiter end \"" + tail + "\"");
    opened_ = true;
  }
  part->headers.clear();
  for (std::string line;;) {
    if (!read_line(&line, deadline)) return fail_read("a part's headers", deadline);
    if (line.empty()) break;
    if (!add_header_line(line, &part->headers))
      return fail_with(Failure::kMalformed, "bad part header line \"" + line + "\"");
  }
  auto length = part->headers.find("content-length");
  if (length == part->headers.end())
    return fail_with(Failure::kMalformed, "part without Content-Length");
  char *end = nullptr;
  const unsigned long long size = std::strtoull(length->second.c_str(), &end, 10);
  if (length->second.empty() || *end != '\0')
    return fail_with(Failure::kMalformed, "bad Content-Length " + length->second);
  if (!socket_->read_exact(static_cast<size_t>(size), &part->body, deadline))
    return fail_read("a part's body", deadline);
  // Every part is followed at once by the next delimiter, or the close one.
  if (!expect("\r\n--" + boundary_, deadline)) return false;
  std::string tail;
  if (!socket_->read_exact(2, &tail, deadline)) return fail_read("a delimiter's end", deadline);
  if (tail == "--") {
    if (!expect("\r\n", deadline)) return false;
    part->closing = true;
    ended_ = true;
    return true;
  }
  if (tail != "\r\n") return fail_with(Failure::kMalformed, "bad delimiter end \"" + tail + "\"");
  part->closing = false;
  return true;
}

bool StreamConnection::read_exactly(size_t size, std::string *out, gint64 deadline) {
  if (!socket_ || !socket_->read_exact(size, out, deadline)) return fail_read("the body", deadline);
  return true;
}

bool StreamConnection::await_close(gint64 deadline) {
  if (!socket_) return false;
  while (socket_->received().empty() && socket_->open()) {
    if (!socket_->pump(remaining_ms(deadline)) || g_get_monotonic_time() >= deadline) break;
  }
  if (!socket_->received().empty())
    return fail_with(Failure::kMalformed,
                     "unexpected bytes after the end: " + socket_->received().substr(0, 64));
  if (socket_->end() != RawSocket::End::kClosed)
    return fail_with(socket_->open() ? Failure::kTimedOut : Failure::kClosed,
                     std::string("not closed cleanly: ") + socket_->end_name());
  return true;
}

void StreamConnection::close() {
  if (socket_) socket_->close_now();
}

void StreamConnection::shut_down() {
  if (socket_) socket_->shut_down();
}

uint64_t StreamConnection::body_bytes() const {
  return socket_ ? socket_->total_received() - head_end_ : 0;
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

RawViewer::RawViewer(const Endpoint &endpoint, const std::string &path) {
  if (!connection_.request(endpoint, "GET", path, "element-test-raw") ||
      !connection_.read_head(&head_, deadline_in(kQuietLimitMs)))
    return;
  if (head_.status == 200 && !connection_.boundary().empty())
    reader_ = std::thread([this] { read_parts(); });
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
  std::lock_guard<std::mutex> lock(mutex_);
  end_ = leaving_ ? StreamEnd::kLeft : end;
  detail_ = why;
  body_bytes_ = connection_.body_bytes();
  changed_.notify_all();
}

void RawViewer::read_parts() {
  for (;;) {
    StreamPart part;
    if (!connection_.read_part(&part, deadline_in(kQuietLimitMs))) {
      const std::string why = "part " + std::to_string(parts().size()) + ": " + connection_.error();
      switch (connection_.failure()) {
        case StreamConnection::Failure::kTimedOut:
          finish(StreamEnd::kTimedOut, why);
          return;
        case StreamConnection::Failure::kMalformed:
          finish(StreamEnd::kMalformed, why);
          return;
        case StreamConnection::Failure::kEnded:
          break;
        default:
          finish(StreamEnd::kClosedEarly, why);
          return;
      }
      break;
    }
    const bool closing = part.closing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      parts_.push_back(std::move(part));
      body_bytes_ = connection_.body_bytes();
      changed_.notify_all();
    }
    if (closing) break;
  }
  if (connection_.await_close(deadline_in(kQuietLimitMs)))
    finish(StreamEnd::kClosedAfterClose, "");
  else
    finish(StreamEnd::kMalformed, "after the close delimiter: " + connection_.error());
}

bool RawViewer::await_parts(size_t count, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return parts_.size() >= count || end_ != StreamEnd::kOpen;
  }) && parts_.size() >= count;
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

}  // namespace test_support
