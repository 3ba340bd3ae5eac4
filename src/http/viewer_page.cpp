// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/viewer_page.h"

#include <glib.h>

#include "http/html_text.h"
#include "http/mount_config.h"

namespace mjpeghttp {

// viewer_page_html.cpp, generated from viewer_page.html.
extern const char kViewerPageHtml[];
extern const size_t kViewerPageHtmlSize;

namespace {

// Relative to the mount's page, so a reverse proxy may put the server under
// a prefix; escaped for an HTML attribute.
std::string relative_attribute(const std::string &path) {
  return escape_html(!path.empty() && path[0] == '/' ? path.substr(1) : path);
}

void replace_all(std::string &text, const std::string &token, const std::string &value) {
  for (size_t at = text.find(token); at != std::string::npos;
       at = text.find(token, at + value.size()))
    text.replace(at, token.size(), value);
}

}  // namespace

std::string render_viewer_page(const MountConfig &mount) {
  std::string page(kViewerPageHtml, kViewerPageHtmlSize);
  replace_all(page, "@STREAM@", relative_attribute(mount.stream_path));
  replace_all(page, "@SNAPSHOT@", relative_attribute(mount.snapshot_path));
  replace_all(page, "@STATS@", relative_attribute(mount.stats_path));
  replace_all(page, "@MOUNT@", escape_html(mount.mount));
  replace_all(page, "@TITLE@",
              escape_html(mount.is_root() ? "mjpeghttpsink" : "mjpeghttpsink " + mount.mount));
  // Every page links to the server's list of streams (HTML at /streams for a
  // browser), relative again for reverse proxies: one "../" per segment of
  // the mount. The root page shows it only once its stats list other
  // mounts: a lone element has no list to show.
  std::string up;
  if (!mount.is_root())
    for (char c : mount.mount)
      if (c == '/') up += "../";
  replace_all(page, "@LISTING_LINK@",
              "<a id=\"all-streams\" href=\"" + up + "streams\"" +
                  (mount.is_root() ? " hidden" : "") + ">All streams</a>");
  return page;
}

}  // namespace mjpeghttp
