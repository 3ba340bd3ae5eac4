// SPDX-License-Identifier: LGPL-2.1-or-later
// libsoup clients for the access tests: credentials, extra headers and a
// trusted CA over any URL (HTTPS, IPv6). Each call is bounded in time. Raw
// sockets, processes and head parsing come from tests/support.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "jpeg_frames.h"
#include "soup_client.h"
#include "stream_client.h"

namespace access_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::Bytes;
using test_support::SoupReply;

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

// Sends `request` as is to `host` (a numeric IPv4 or IPv6 address) and reads
// until the server closes or `limit` bytes arrived. "" when the connection
// failed.
std::string raw_exchange(const std::string &host, int port, const std::string &request,
                         size_t limit = 1 << 20);

// Whether `bytes` holds a JPEG start-of-image marker anywhere.
bool contains_jpeg_start(const std::string &bytes);

}  // namespace access_test
