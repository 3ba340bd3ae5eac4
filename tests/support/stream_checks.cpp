// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream_checks.h"

#include <gst/check/gstcheck.h>

#include <cstdlib>

#include "stream_client.h"

namespace test_support {

namespace {

std::string get(const std::map<std::string, std::string> &headers, const char *name) {
  auto it = headers.find(name);
  fail_unless(it != headers.end(), "no %s header", name);
  return it->second;
}

void expect(const std::map<std::string, std::string> &headers, const char *name,
            const char *value) {
  const std::string actual = get(headers, name);
  fail_unless(actual == value, "%s: '%s', expected '%s'", name, actual.c_str(), value);
}

}  // namespace

std::string check_stream_headers(const std::map<std::string, std::string> &headers) {
  const std::string content_type = get(headers, "content-type");
  const std::string prefix = "multipart/x-mixed-replace;boundary=";
  fail_unless(content_type.compare(0, prefix.size(), prefix) == 0, "Content-Type %s",
              content_type.c_str());
  const std::string boundary = boundary_of(content_type);
  fail_if(boundary.empty(), "no boundary in %s", content_type.c_str());
  expect(headers, "cache-control", "no-cache, no-store, must-revalidate");
  expect(headers, "pragma", "no-cache");
  expect(headers, "expires", "0");
  expect(headers, "connection", "close");
  expect(headers, "x-accel-buffering", "no");
  // The body runs until the connection closes.
  fail_if(headers.count("content-length"), "a stream with a Content-Length");
  fail_if(headers.count("transfer-encoding"), "a stream with a Transfer-Encoding");
  return boundary;
}

void check_timestamp(const std::string &value) {
  const size_t dot = value.find('.');
  fail_unless(dot != std::string::npos && dot > 0 && value.size() - dot - 1 == 6,
              "X-Timestamp '%s' is not seconds.micros", value.c_str());
  fail_unless(value.find_first_not_of("0123456789.") == std::string::npos &&
                  value.find('.', dot + 1) == std::string::npos,
              "X-Timestamp '%s' is not seconds.micros", value.c_str());
  const gint64 seconds = std::atoll(value.c_str());
  const gint64 now = g_get_real_time() / G_USEC_PER_SEC;
  fail_unless(seconds > now - 60 && seconds <= now + 1,
              "X-Timestamp %s is not about now (%" G_GINT64_FORMAT ")", value.c_str(), now);
}

}  // namespace test_support
