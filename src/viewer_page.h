// The page served at "/": the live stream, a snapshot button, full screen and
// live statistics. Self-contained (no external script, style or font), so it
// works offline and behind strict networks. Edited as viewer_page.html and
// compiled in at build time.
#pragma once

#include <string>

namespace mjpeghttp {

struct HttpConfig;

// The page with its stream, snapshot and stats links pointing at the
// configured paths, relative to the page.
std::string render_viewer_page(const HttpConfig &config);

}  // namespace mjpeghttp
