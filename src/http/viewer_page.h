// SPDX-License-Identifier: LGPL-2.1-or-later
// The page served at a mount ("/" or "/cam1/"): the live stream, a snapshot button, full screen and
// live statistics. Self-contained (no external script, style or font), so it
// works offline and behind strict networks. Edited as viewer_page.html and
// compiled in at build time.
#pragma once

#include <string>

namespace mjpeghttp {

struct MountConfig;

// The page of one mount, with its stream, snapshot and stats links pointing
// at the mount's paths, relative to the page.
std::string render_viewer_page(const MountConfig &mount);

}  // namespace mjpeghttp
