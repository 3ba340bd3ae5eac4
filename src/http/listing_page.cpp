// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/listing_page.h"

#include "http/html_text.h"

namespace mjpeghttp {

// listing_page_html.cpp, generated from listing_page.html.
extern const char kListingPageHtml[];
extern const size_t kListingPageHtmlSize;

namespace {

// The list is served at the top of the server ("/" or "/streams"), so every
// path is made relative to it: the page keeps working under a proxy prefix.
std::string relative(const std::string &path) {
  return escape_html(!path.empty() && path[0] == '/' ? path.substr(1) : path);
}

std::string render_card(const MountSnapshot &mount) {
  const std::string page = mount.page_path == "/" ? "./" : relative(mount.page_path);
  return "<a class=\"card\" href=\"" + page + "\" data-mount=\"" + escape_html(mount.mount) +
         "\" data-snapshot=\"" + relative(mount.snapshot_path) + "\">\n" + "  <img alt=\"" +
         escape_html(mount.mount) + "\">\n" + "  <span class=\"name\">" + escape_html(mount.mount) +
         "</span>\n" + "  <span class=\"meta\">" + escape_html(mount.stats.element_name) +
         " · viewers <b class=\"viewers\">" + std::to_string(mount.stats.viewers_now) +
         "</b> · fps <b class=\"fps\">–</b></span>\n</a>\n";
}

}  // namespace

std::string render_listing_page(const std::vector<MountSnapshot> &mounts) {
  std::string cards;
  for (const MountSnapshot &mount : mounts) cards += render_card(mount);
  if (cards.empty()) cards = "<p class=\"empty\">No stream is being served yet.</p>\n";
  std::string page(kListingPageHtml, kListingPageHtmlSize);
  const std::string token = "@CARDS@";
  page.replace(page.find(token), token.size(), cards);
  return page;
}

}  // namespace mjpeghttp
