// SPDX-License-Identifier: LGPL-2.1-or-later
// The one parser of HTTP response heads and header lines in the tests: the
// raw clients read the server's exact bytes and check them with this.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace test_support {

struct HttpHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case

  bool has(const std::string &name) const;
  std::string header(const std::string &name) const;
};

std::string lower_case(std::string text);
std::string trim(const std::string &text);

// "Name: value" into `headers` (name lower-cased, value trimmed); false if
// there is no colon or no name.
bool add_header_line(const std::string &line, std::map<std::string, std::string> *headers);

// The status line and headers at the start of `bytes`, if complete (up to the
// empty line) and well formed; sets `body_offset` to the first byte after them.
bool parse_head(const std::string &bytes, HttpHead *head, size_t *body_offset);

// The head of a whole raw response; `body` gets what follows it. Status 0
// when there is no well-formed head.
HttpHead parse_response(const std::string &raw, std::string *body = nullptr);

// The boundary parameter of a multipart Content-Type, or "".
std::string boundary_of(const std::string &content_type);

}  // namespace test_support
