// SPDX-License-Identifier: LGPL-2.1-or-later
// What clients written for mjpg-streamer and ustreamer put in their URLs,
// read into this server's terms: "?action=stream|snapshot" on a page path,
// ustreamer's per-viewer stream options. Pure functions; any thread.
#pragma once

#include <glib.h>

namespace mjpeghttp {

enum class MjpgStreamerAction { kStream, kSnapshot, kUnknown };

MjpgStreamerAction parse_mjpg_streamer_action(const char *action);

// A ustreamer-style boolean query option ("1"/"0", "true"/"false",
// "yes"/"no"). Absent: `fallback`. Present but none of those: false with
// *valid set to false.
bool query_flag(GHashTable *query, const char *name, bool fallback, bool *valid);

}  // namespace mjpeghttp
