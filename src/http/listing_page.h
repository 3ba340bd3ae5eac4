// SPDX-License-Identifier: LGPL-2.1-or-later
// The page listing every stream a server carries, each with a live thumbnail
// and a link to its own page. Served at "/" when no element serves the root
// mount, and at /streams to a browser. Self-contained, like the viewer page.
#pragma once

#include <string>
#include <vector>

#include "stats/stats.h"

namespace mjpeghttp {

std::string render_listing_page(const std::vector<MountSnapshot> &mounts);

}  // namespace mjpeghttp
