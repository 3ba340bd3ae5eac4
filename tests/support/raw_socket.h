// SPDX-License-Identifier: LGPL-2.1-or-later
// The one raw client of the tests: a socket with no HTTP library in between,
// so a test sees the exact bytes the server wrote and can misbehave on purpose
// (reset, half-close, a tiny receive buffer, a request sent byte by byte).
// Non-blocking: every wait is bounded by a deadline, and it reads while it
// writes, so a server that answers early and closes is still heard. Used
// from one thread at a time (shut_down() excepted).
#pragma once

#include <glib.h>

#include <cstdint>
#include <string>

#include "await.h"
#include "http_head.h"

namespace test_support {

// Where the server under test listens: a loopback TCP port, a numeric IPv4
// or IPv6 address and port, or the path of a unix domain socket.
struct Endpoint {
  // Implicit: a loopback port is what almost every test has.
  Endpoint(int tcp_port) : port(tcp_port) {}
  static Endpoint unix_socket(const std::string &path);
  static Endpoint at(const std::string &numeric_host, int port);

  int port = 0;
  std::string host = "127.0.0.1";  // numeric; IPv6 without brackets
  std::string unix_path;           // set for a unix socket
  // The request's Host header value.
  std::string host_header() const;
};

class RawSocket {
 public:
  enum class End {
    kOpen,
    kClosed,  // the server sent FIN
    kReset,   // the server reset the connection (ECONNRESET)
    kFailed,  // never connected, or another socket error
  };

  // Starts connecting. A `receive_buffer` > 0 is set before connecting (it
  // must be, to take effect on the TCP window), so a client that never reads
  // fills up quickly.
  explicit RawSocket(const Endpoint &endpoint, int receive_buffer = 0);
  ~RawSocket();
  RawSocket(const RawSocket &) = delete;
  RawSocket &operator=(const RawSocket &) = delete;

  int fd() const { return fd_; }
  bool connected(int timeout_ms = kAwaitMs);
  // Connected (waiting for it the first time).
  bool ok();
  End end() const { return end_; }
  bool open() const { return end_ == End::kOpen; }
  // Monotonic time this client first learnt that the server closed or reset
  // the connection, by whichever call noticed (a read, or a send answered
  // with ECONNRESET/EPIPE); 0 while open or after a failure of our own.
  gint64 ended_us() const { return ended_us_; }
  const char *end_name() const;
  // The client's own port; -1 over a unix socket or when not connected.
  int local_port() const;

  // Sends `data`, reading whatever arrives meanwhile; false if the server
  // closed or reset first or the deadline passed.
  bool send_all(const std::string &data, int timeout_ms = kAwaitMs);
  // One non-blocking attempt; false once the connection is gone.
  bool send_now(const std::string &data);
  // Reads what is there now, or waits up to `timeout_ms` for something;
  // false once the server has closed or reset (the bytes before stay in
  // received()).
  bool pump(int timeout_ms);
  // Reads until the server closes or resets, or the deadline passes; true if
  // it closed or reset.
  bool await_end(int timeout_ms = kAwaitMs);

  // One line ending in CRLF, without it; false on the end, the deadline or a
  // bare LF.
  bool read_line(std::string *line, gint64 deadline);
  bool read_exact(size_t count, std::string *out, gint64 deadline);
  // Status line and headers up to the empty line.
  bool read_head(HttpHead *head, gint64 deadline);
  // Reads until `needle` has been received (anywhere in received()), more
  // than `limit` bytes are held, the server ends the connection or the
  // deadline passes; true when the needle is there.
  bool read_until(const std::string &needle, gint64 deadline, size_t limit = 1 << 20);
  // Everything up to the server's close; false if the deadline came first.
  bool read_to_end(std::string *out, gint64 deadline);

  // The same reads for a test that simply waits: each gives up once nothing
  // arrived for kQuietLimitMs (a hang, not a slow server), and timed_out()
  // tells that from an end of the connection.
  static constexpr int kQuietLimitMs = 15000;
  bool read_line(std::string *line) { return note_timeout(read_line(line, quiet_deadline())); }
  bool read_exact(size_t count, std::string *out) {
    return note_timeout(read_exact(count, out, quiet_deadline()));
  }
  bool read_head(HttpHead *head) { return note_timeout(read_head(head, quiet_deadline())); }
  bool read_to_end(std::string *out) { return note_timeout(read_to_end(out, quiet_deadline())); }
  bool timed_out() const { return timed_out_; }

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
  static gint64 quiet_deadline() { return deadline_in(kQuietLimitMs); }
  // A read that failed with the connection still open ran out of time.
  bool note_timeout(bool read) {
    timed_out_ = !read && open();
    return read;
  }

  int fd_ = -1;
  End end_ = End::kFailed;
  gint64 ended_us_ = 0;
  std::string pending_;
  uint64_t total_received_ = 0;
  int connected_ = -1;  // ok()'s answer once known
  bool timed_out_ = false;
};

// "GET <target> HTTP/1.1" with a Host header and `extra_headers` (each line
// ending in CRLF).
std::string get_request(const Endpoint &endpoint, const std::string &target,
                        const std::string &extra_headers = "");

// One request on its own connection, read until the server closes (or the
// deadline passes).
struct Exchange {
  std::string received;                        // everything the server sent
  HttpHead head;                               // status 0 if no complete head came
  std::string body;                            // what followed the head
  RawSocket::End end = RawSocket::End::kOpen;  // kOpen: still open at the deadline
  bool request_sent = false;                   // the whole request went out
  bool closed_by_server() const { return end == RawSocket::End::kClosed; }
};
Exchange exchange(const Endpoint &endpoint, const std::string &request, int timeout_ms = kAwaitMs);

struct HttpResponse : HttpHead {
  std::string body;
  bool closed_by_server = false;  // read up to a clean end of stream
};

// METHOD path with Connection: close (and `body` with its Content-Length),
// read until the server closes.
HttpResponse http_exchange(const Endpoint &endpoint, const std::string &method,
                           const std::string &path, const std::string &body = "");

// A TCP port on 127.0.0.1 that was free a moment ago, from below the
// kernel's ephemeral range so that no outgoing connection can take it
// before the server binds. Elements that must share a port cannot use
// port=0, which is never shared; a rare clash with another test's server
// shows as a listen error, and the caller tries again. Aborts the test when
// no port can be bound.
int free_port();

// True when a server could bind 127.0.0.1:port now.
bool port_is_free(int port);

// True when a TCP socket can be bound to [::1] on this machine.
bool have_ipv6_loopback();

}  // namespace test_support
