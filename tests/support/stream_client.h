// SPDX-License-Identifier: LGPL-2.1-or-later
// Viewers of an MJPEG stream over a RawSocket, with their own multipart
// parser (framing by Content-Length; CRLF and boundary lines checked byte for
// byte): StreamConnection reads on the test's thread, RawViewer on a thread
// of its own while the test drives the pipeline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "await.h"
#include "http_head.h"
#include "raw_socket.h"

namespace test_support {

struct StreamPart {
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool closing = false;  // followed by the close delimiter "--b--"
};

// One request and its response, read synchronously, every read bounded by a
// deadline (monotonic microseconds: deadline_in(), or in()).
class StreamConnection {
 public:
  // kEnded: the close delimiter came where a part would start (a stream that
  // ended before its first frame is only "--b--").
  enum class Failure { kNone, kEnded, kClosed, kTimedOut, kMalformed };

  StreamConnection() = default;
  StreamConnection(const StreamConnection &) = delete;
  StreamConnection &operator=(const StreamConnection &) = delete;

  static gint64 in(std::chrono::milliseconds limit) {
    return deadline_in(static_cast<int>(limit.count()));
  }

  // Connects and sends "METHOD path HTTP/1.1" with a Host header.
  bool request(const Endpoint &endpoint, const std::string &method, const std::string &path,
               const std::string &user_agent = "test-support-raw");
  // Connects and sends `request` as it is (any bytes: the test decides what a
  // request is); with `half_close`, shuts the sending side right after.
  bool send_request(const Endpoint &endpoint, const std::string &request, bool half_close = false);
  // Status line and headers; remembers the multipart boundary, if any.
  bool read_head(HttpHead *head, gint64 deadline);
  // The next part, checked against the framing the element promises; false
  // with a reason in error() on any deviation.
  bool read_part(StreamPart *part, gint64 deadline);
  // Exactly `size` body bytes (for responses with a Content-Length).
  bool read_exactly(size_t size, std::string *out, gint64 deadline);
  // True once the server has closed the connection and nothing else came.
  bool await_close(gint64 deadline);
  // Closes the socket: the viewer leaves.
  void close();
  // Wakes a read blocked in another thread (it then fails with kClosed).
  void shut_down();

  const std::string &error() const { return error_; }
  Failure failure() const { return failure_; }
  const std::string &boundary() const { return boundary_; }
  int local_port() const { return socket_ ? socket_->local_port() : -1; }
  // The connection under it, for what a test asks of the socket itself.
  const RawSocket *socket() const { return socket_.get(); }
  // Bytes received after the response head.
  uint64_t body_bytes() const;

 private:
  bool expect(const std::string &bytes, gint64 deadline);
  bool read_line(std::string *line, gint64 deadline);
  bool fail_with(Failure failure, const std::string &why);
  bool fail_read(const std::string &what, gint64 deadline);

  std::unique_ptr<RawSocket> socket_;
  std::string boundary_;
  uint64_t head_end_ = 0;  // total bytes received when the head was read
  bool opened_ = false;    // the opening delimiter was read
  bool ended_ = false;     // the close delimiter was read
  Failure failure_ = Failure::kNone;
  std::string error_;
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
  const std::string &boundary() const { return connection_.boundary(); }
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

  // A part must arrive within this long of the previous one; a stream that
  // goes quiet for longer ends as kTimedOut.
  static constexpr int kQuietLimitMs = 15000;

 private:
  void read_parts();
  void finish(StreamEnd end, const std::string &why);

  StreamConnection connection_;
  HttpHead head_;
  std::thread reader_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<StreamPart> parts_;
  StreamEnd end_ = StreamEnd::kOpen;
  std::string detail_;
  uint64_t body_bytes_ = 0;
  bool leaving_ = false;
};

}  // namespace test_support
