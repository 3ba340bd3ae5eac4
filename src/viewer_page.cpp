#include "viewer_page.h"

#include <glib.h>

#include "http_server.h"

namespace mjpeghttp {

// viewer_page_html.cpp, generated from viewer_page.html.
extern const char kViewerPageHtml[];
extern const size_t kViewerPageHtmlSize;

namespace {

// Relative to the page at "/", so a reverse proxy may mount the server under
// a prefix; escaped for an HTML attribute.
std::string relative_attribute(const std::string &path) {
  const std::string relative = !path.empty() && path[0] == '/' ? path.substr(1) : path;
  gchar *escaped = g_markup_escape_text(relative.c_str(), -1);
  std::string text = escaped;
  g_free(escaped);
  return text;
}

void replace_all(std::string &text, const std::string &token, const std::string &value) {
  for (size_t at = text.find(token); at != std::string::npos;
       at = text.find(token, at + value.size()))
    text.replace(at, token.size(), value);
}

}  // namespace

std::string render_viewer_page(const HttpConfig &config) {
  std::string page(kViewerPageHtml, kViewerPageHtmlSize);
  replace_all(page, "@STREAM@", relative_attribute(config.stream_path));
  replace_all(page, "@SNAPSHOT@", relative_attribute(config.snapshot_path));
  replace_all(page, "@STATS@", relative_attribute(config.stats_path));
  return page;
}

}  // namespace mjpeghttp
