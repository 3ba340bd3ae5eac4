// SPDX-License-Identifier: LGPL-2.1-or-later
// A loopback TCP client for clients that misbehave on purpose: non-blocking,
// every wait bounded by a deadline, able to end badly (reset, half-close) and
// to read while it writes, so a server that answers early and closes is still
// heard. Used from one thread at a time.
#pragma once

#include <glib.h>

#include <cstdint>
#include <string>

#include "raw_http.h"

namespace hardening_test {

using element_test::HttpHead;

// Microseconds on the monotonic clock, `ms` from now.
gint64 deadline_in(int ms);

class RawSocket {
 public:
  enum class End {
    kOpen,
    kClosed,  // the server sent FIN
    kReset,   // the server reset the connection (ECONNRESET)
    kFailed,  // never connected, or another socket error
  };

  // Starts connecting to 127.0.0.1:port. A `receive_buffer` > 0 is set
  // before connecting (it must be, to take effect on the TCP window), so a
  // client that never reads fills up quickly.
  explicit RawSocket(int port, int receive_buffer = 0);
  ~RawSocket();
  RawSocket(const RawSocket &) = delete;
  RawSocket &operator=(const RawSocket &) = delete;

  int fd() const { return fd_; }
  bool connected(int timeout_ms);
  End end() const { return end_; }
  bool open() const { return end_ == End::kOpen; }
  // Monotonic time this client first learnt that the server closed or reset
  // the connection, by whichever call noticed (a read, or a send answered
  // with ECONNRESET/EPIPE); 0 while open or after a failure of our own.
  gint64 ended_us() const { return ended_us_; }
  const char *end_name() const;

  // Sends `data`, reading whatever arrives meanwhile; false if the server
  // closed or reset first or the deadline passed.
  bool send_all(const std::string &data, int timeout_ms);
  // One non-blocking attempt; false once the connection is gone.
  bool send_now(const std::string &data);
  // Reads what is there now, or waits up to `timeout_ms` for something;
  // false once the server has closed or reset (the bytes before stay in
  // received()).
  bool pump(int timeout_ms);
  // Reads until the server closes or resets, or the deadline passes; true if
  // it closed or reset.
  bool await_end(int timeout_ms);

  bool read_line(std::string *line, gint64 deadline);
  bool read_exact(size_t count, std::string *out, gint64 deadline);
  // Status line and headers up to the empty line.
  bool read_head(HttpHead *head, gint64 deadline);

  // Bytes received and not consumed by a read_*() call.
  const std::string &received() const { return pending_; }
  uint64_t total_received() const { return total_received_; }

  // shutdown(SHUT_WR): the request is complete, the client still reads.
  void half_close();
  // SO_LINGER 0, then close: the server gets a reset, not a FIN.
  void reset();
  // Wakes a reader blocked in another thread (it then sees an end).
  void shut_down();
  void close_now();

 private:
  bool wait_for(short events, gint64 deadline);
  void note_error(int error);
  void end_as(End end);

  int fd_ = -1;
  End end_ = End::kFailed;
  gint64 ended_us_ = 0;
  std::string pending_;
  uint64_t total_received_ = 0;
};

// The status line and headers at the start of `bytes`, if complete; sets
// `body_offset` to the first byte after them.
bool parse_head(const std::string &bytes, HttpHead *head, size_t *body_offset);

// One request on its own connection, read until the server closes (or the
// deadline passes).
struct Exchange {
  std::string received;       // everything the server sent
  HttpHead head;              // status 0 if no complete head came
  std::string body;           // what followed the head
  RawSocket::End end = RawSocket::End::kOpen;  // kOpen: still open at the deadline
  bool request_sent = false;  // the whole request went out
};
Exchange exchange(int port, const std::string &request, int timeout_ms = 10000);

// "GET <target> HTTP/1.1" with a Host header and nothing else.
std::string get_request(int port, const std::string &target, const std::string &extra_headers = "");

}  // namespace hardening_test
