// SPDX-License-Identifier: LGPL-2.1-or-later
// Clients for the access tests: libsoup with credentials, extra headers and
// a trusted CA over any URL (HTTPS, IPv6), curl run as a child process, and a
// raw socket to any loopback address. Each call is bounded in time.
#pragma once

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "jpeg_frames.h"
#include "raw_http.h"
#include "soup_client.h"

namespace access_test {

using element_test::Bytes;
using element_test::SoupReply;

struct RequestOptions {
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  // A PEM file of certificates to trust for HTTPS; empty = the system's.
  std::string ca_file;
};

// "Basic <base64(user:password)>".
std::string basic_authorization(const std::string &user, const std::string &password);

// One request with libsoup; the body is read to its end.
SoupReply soup_request(const std::string &url, const RequestOptions &options = {});

// GET `url` with libsoup and read `wanted` parts of the MJPEG stream with
// SoupMultipartInputStream. `head` gets the response head; `error` why fewer
// parts were read.
std::vector<Bytes> soup_read_parts(const std::string &url, size_t wanted,
                                   const RequestOptions &options, SoupReply *head,
                                   std::string *error);

struct ProcessResult {
  bool ran = false;  // the program could be started
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to its end (callers bound it, e.g. curl --max-time).
ProcessResult run_process(const std::vector<std::string> &argv);

// Runs `argv` on a thread of its own, so the test can drive the pipeline
// while it runs.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(std::vector<std::string> argv);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess &) = delete;
  BackgroundProcess &operator=(const BackgroundProcess &) = delete;
  // Waits for the process to end (its own limit bounds it).
  const ProcessResult &result();

 private:
  std::thread thread_;
  ProcessResult result_;
};

// True when a TCP socket can be bound to [::1] on this machine.
bool have_ipv6_loopback();

// Sends `request` as is to `host` (a numeric IPv4 or IPv6 address) and reads
// until the server closes or `limit` bytes arrived. "" when the connection
// failed.
std::string raw_exchange(const std::string &host, int port, const std::string &request,
                         size_t limit = 1 << 20);

// A connection to `host`:`port` kept open; the local port it uses.
class RawConnection {
 public:
  RawConnection(const std::string &host, int port);
  ~RawConnection();
  RawConnection(const RawConnection &) = delete;
  RawConnection &operator=(const RawConnection &) = delete;
  bool ok() const { return fd_ >= 0; }
  int local_port() const;
  bool send_all(const std::string &data);
  // Reads until `needle` has been received, more than `limit` bytes came,
  // or the server closed; returns everything read so far.
  const std::string &read_until(const std::string &needle, size_t limit = 1 << 20);

 private:
  int fd_ = -1;
  std::string received_;
};

// The status line and headers of a raw HTTP response; `body` gets the rest.
// Status 0 when there is no well-formed head.
element_test::HttpHead parse_response(const std::string &raw, std::string *body = nullptr);

// Whether `bytes` holds a JPEG start-of-image marker anywhere.
bool contains_jpeg_start(const std::string &bytes);

}  // namespace access_test
