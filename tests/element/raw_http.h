// SPDX-License-Identifier: LGPL-2.1-or-later
// A plain POSIX-socket HTTP client for the element's server: one-shot
// requests read until the server closes, and RawViewer, which reads an MJPEG
// stream with its own minimal multipart parser (framing by Content-Length,
// CRLF and boundary lines checked byte for byte).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "await.h"
#include "jpeg_frames.h"

namespace element_test {

struct HttpHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case

  bool has(const std::string &name) const;
  std::string header(const std::string &name) const;
};

struct HttpResponse : HttpHead {
  std::string body;
  bool closed_by_server = false;  // read up to a clean end of stream
};

// Where the server under test listens: a loopback TCP port, or the path of a
// unix domain socket (address=unix:PATH).
struct Endpoint {
  // Implicit: a port is what almost every test has.
  Endpoint(int tcp_port) : port(tcp_port) {}
  static Endpoint unix_socket(const std::string &path);

  int port = 0;
  std::string unix_path;  // set for a unix socket
  // The request's Host header value.
  std::string host() const;
};

// A blocking connection whose reads give up after a receive timeout.
class Connection {
 public:
  // Connects to 127.0.0.1:port or to the unix socket; check ok().
  explicit Connection(const Endpoint &endpoint);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  bool ok() const { return fd_ >= 0; }
  // The client's TCP port; -1 over a unix socket.
  int local_port() const;
  bool send_all(const std::string &data);
  // One line ending in CRLF, without it; false on EOF, timeout or a bare LF.
  bool read_line(std::string *line);
  bool read_exact(size_t count, std::string *out);
  // Status line and headers, up to the empty line.
  bool read_head(HttpHead *head);
  // Everything up to the server's close; false on timeout or error.
  bool read_to_end(std::string *out);
  // True if the next read finds the server closed with nothing left.
  bool at_end();
  // Bytes received since read_head() returned.
  uint64_t bytes_after_head() const { return received_ - head_bytes_; }
  // Wakes a blocked read (it then sees an end of stream).
  void shut_down();
  bool timed_out() const { return timed_out_; }

 private:
  bool fill();

  int fd_ = -1;
  std::string pending_;
  uint64_t received_ = 0;
  uint64_t head_bytes_ = 0;
  bool timed_out_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound with port 0 and
// released). Elements that must share a port cannot use port=0, which is
// never shared; a rare clash with another process shows as a listen error,
// and the caller tries again.
int free_port();

// Sends one request with Connection: close and reads the reply until the
// server closes the connection.
HttpResponse http_exchange(const Endpoint &endpoint, const std::string &method,
                           const std::string &path, const std::string &body = "");

struct StreamPart {
  std::map<std::string, std::string> headers;  // names in lower case
  Bytes body;
  bool closing = false;  // followed by the close delimiter "--b--"
};

enum class StreamEnd {
  kOpen,              // still reading
  kClosedAfterClose,  // close delimiter, then the server closed: a proper end
  kClosedEarly,       // the server closed without a close delimiter
  kMalformed,         // bytes that break the multipart framing
  kTimedOut,          // nothing arrived within the receive timeout
  kLeft,              // the test hung up
};

const char *stream_end_name(StreamEnd end);

// One viewer of /stream: connects and reads the response head in the
// constructor, then parses parts on a thread of its own until the stream ends
// or the test calls leave().
class RawViewer {
 public:
  explicit RawViewer(const Endpoint &endpoint, const std::string &path = "/stream");
  ~RawViewer();
  RawViewer(const RawViewer &) = delete;
  RawViewer &operator=(const RawViewer &) = delete;

  const HttpHead &head() const { return head_; }
  const std::string &boundary() const { return boundary_; }
  // A 200 multipart response is being read.
  bool streaming() const { return reader_.joinable(); }
  int local_port() const { return connection_.local_port(); }

  bool await_parts(size_t count, int timeout_ms = kAwaitMs) const;
  StreamEnd await_end(int timeout_ms = kAwaitMs) const;
  std::vector<StreamPart> parts() const;
  uint64_t body_bytes() const;
  // Why the stream ended as it did, for failure messages.
  std::string detail() const;
  // Stops reading and closes the connection.
  void leave();

 private:
  void read_parts();
  bool read_part(StreamPart *part, std::string *delimiter);
  void finish(StreamEnd end, const std::string &why);

  Connection connection_;
  HttpHead head_;
  std::string boundary_;
  std::thread reader_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<StreamPart> parts_;
  StreamEnd end_ = StreamEnd::kOpen;
  std::string detail_;
  uint64_t body_bytes_ = 0;
  bool leaving_ = false;
};

// The boundary parameter of a multipart Content-Type, or "".
std::string boundary_of(const std::string &content_type);

}  // namespace element_test
