// SPDX-License-Identifier: LGPL-2.1-or-later
// Text made safe to put into the generated pages' HTML (element content and
// attribute values): element names and mounts come from the application.
#pragma once

#include <glib.h>

#include <string>

namespace mjpeghttp {

inline std::string escape_html(const std::string &text) {
  gchar *escaped = g_markup_escape_text(text.c_str(), -1);
  std::string result = escaped;
  g_free(escaped);
  return result;
}

}  // namespace mjpeghttp
