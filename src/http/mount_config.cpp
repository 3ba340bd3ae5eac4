// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/mount_config.h"

#include <glib.h>

#include <cstring>

namespace mjpeghttp {

bool normalize_mount(const std::string &text, std::string *mount) {
  std::string result = text.empty() ? "/" : text;
  if (result[0] != '/') return false;
  while (result.size() > 1 && result.back() == '/') result.pop_back();
  if (result == "/") {
    *mount = result;
    return true;
  }
  size_t start = 1;
  while (start <= result.size()) {
    size_t end = result.find('/', start);
    if (end == std::string::npos) end = result.size();
    const std::string segment = result.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      if (!g_ascii_isalnum(c) && !strchr("-._~", c)) return false;
    }
    start = end + 1;
  }
  *mount = result;
  return true;
}

}  // namespace mjpeghttp
