// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http_head.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace test_support {

bool HttpHead::has(const std::string &name) const { return headers.count(lower_case(name)) > 0; }

std::string HttpHead::header(const std::string &name) const {
  auto it = headers.find(lower_case(name));
  return it == headers.end() ? "" : it->second;
}

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string &text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool add_header_line(const std::string &line, std::map<std::string, std::string> *headers) {
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  (*headers)[lower_case(line.substr(0, colon))] = trim(line.substr(colon + 1));
  return true;
}

bool parse_head(const std::string &bytes, HttpHead *head, size_t *body_offset) {
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  // "HTTP/1.1 200 OK"
  if (bytes.compare(0, 5, "HTTP/") != 0 || end < 12) return false;
  *head = HttpHead();
  size_t line_start = bytes.find("\r\n") + 2;
  while (line_start < end + 2) {
    const size_t line_end = bytes.find("\r\n", line_start);
    if (!add_header_line(bytes.substr(line_start, line_end - line_start), &head->headers))
      return false;
    line_start = line_end + 2;
  }
  head->status = std::atoi(bytes.c_str() + 9);
  *body_offset = end + 4;
  return true;
}

HttpHead parse_response(const std::string &raw, std::string *body) {
  HttpHead head;
  size_t body_offset = 0;
  if (!parse_head(raw, &head, &body_offset)) return HttpHead();
  if (body) *body = raw.substr(body_offset);
  return head;
}

std::string boundary_of(const std::string &content_type) {
  const std::string key = "boundary=";
  const size_t at = lower_case(content_type).find(key);
  if (at == std::string::npos) return "";
  std::string value = content_type.substr(at + key.size());
  const size_t end = value.find(';');
  if (end != std::string::npos) value = value.substr(0, end);
  value = trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return value;
}

}  // namespace test_support
