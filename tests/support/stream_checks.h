// SPDX-License-Identifier: LGPL-2.1-or-later
// Assertions on the wire format of the element's MJPEG stream, shared by the
// tests that read it with different clients.
#pragma once

#include <map>
#include <string>

namespace test_support {

// Checks the response headers of GET /stream (names in lower case) and
// returns the boundary.
std::string check_stream_headers(const std::map<std::string, std::string> &headers);

// Checks an X-Timestamp value: "<seconds>.<6-digit micros>" within a minute
// of now.
void check_timestamp(const std::string &value);

}  // namespace test_support
