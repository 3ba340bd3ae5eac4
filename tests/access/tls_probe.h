// SPDX-License-Identifier: LGPL-2.1-or-later
// Clients for the HTTPS gate tests: a verifying TLS client that times its
// handshake and sends one request as is, a real ClientHello to replay on raw
// sockets (a handshake begun and abandoned), and raw sockets that hold a
// connection at a chosen point before the handshake. Each call is bounded in
// time.
#pragma once

#include <string>
#include <vector>

namespace access_test {

struct TlsExchange {
  bool handshaken = false;
  double handshake_ms = 0;  // from the TCP connect to the end of the handshake
  std::string response;     // everything read until the server closed
  std::string error;
};

// Connects to 127.0.0.1:port trusting `ca_file`, sends `request` (if not
// empty) and reads until the server closes, `limit` bytes or `timeout_s`.
TlsExchange tls_exchange(int port, const std::string &ca_file, const std::string &request,
                         unsigned timeout_s = 5, size_t limit = 1 << 20);

// The first TLS record (a ClientHello) that GIO's TLS client sends, captured
// on a socket pair; empty on failure.
std::string capture_client_hello();

// Blocking TCP connects to 127.0.0.1:port, each sent `first_bytes` (may be
// empty); -1 for a connect that failed.
std::vector<int> open_connections(int port, size_t count, const std::string &first_bytes);

// Waits until the server has closed (or reset) each of `fds`, or the time is
// up. `ended_us` gets each one's monotonic end time (0: still open). How
// many ended. Reads and discards what arrives.
size_t await_closed_by_server(const std::vector<int> &fds, int timeout_ms,
                              std::vector<long long> *ended_us);

// How many of `fds` the server has closed (or reset) by now, without
// waiting. Reads and discards what arrives.
size_t count_closed_now(const std::vector<int> &fds);

void close_all(std::vector<int> *fds);

// This process's resident set size in KiB.
long resident_kib();

}  // namespace access_test
