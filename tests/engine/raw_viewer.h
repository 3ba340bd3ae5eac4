// SPDX-License-Identifier: LGPL-2.1-or-later
// A viewer speaking HTTP over a plain loopback socket, with no HTTP library
// in between: the test sees the exact bytes the engine wrote. Every read is
// bounded by a deadline. One thread per RawViewer.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace enginetest {

struct HttpHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string header(const std::string &name) const;
};

struct Part {
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool last = false;  // followed by the close delimiter
};

class RawViewer {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  RawViewer() = default;
  ~RawViewer();
  RawViewer(const RawViewer &) = delete;
  RawViewer &operator=(const RawViewer &) = delete;

  // Connects to 127.0.0.1:port and sends "METHOD path HTTP/1.1".
  bool request(unsigned port, const std::string &method, const std::string &path);
  // Status line and headers; remembers the multipart boundary if any.
  bool read_head(HttpHead *head, Deadline deadline);
  // The next part of a multipart body, checked against the framing the
  // engine promises; false with a reason in error() on any deviation.
  bool read_part(Part *part, Deadline deadline);
  // Exactly `size` body bytes (for responses with a Content-Length).
  bool read_exactly(size_t size, std::string *out, Deadline deadline);
  // True once the server has closed the connection and nothing else came.
  bool await_close(Deadline deadline);
  // Closes the socket: the viewer leaves.
  void close();

  const std::string &error() const { return error_; }
  static Deadline in(std::chrono::milliseconds limit) {
    return std::chrono::steady_clock::now() + limit;
  }

 private:
  // Makes at least `size` unread bytes available; false on close or timeout.
  bool fill(size_t size, Deadline deadline);
  // Reads up to and including "\r\n\r\n"; returns the block without it.
  bool read_header_block(std::string *block, Deadline deadline);
  bool expect(const std::string &bytes, Deadline deadline);
  bool fail(const std::string &why);

  int fd_ = -1;
  std::string buffer_;
  size_t offset_ = 0;  // first unread byte of buffer_
  bool peer_closed_ = false;
  std::string boundary_;
  bool opened_ = false;  // the opening delimiter was read
  bool ended_ = false;   // the close delimiter was read
  std::string error_;
};

}  // namespace enginetest
