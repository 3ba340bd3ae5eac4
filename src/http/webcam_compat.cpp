// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/webcam_compat.h"

#include <cstring>

namespace mjpeghttp {

MjpgStreamerAction parse_mjpg_streamer_action(const char *action) {
  if (strcmp(action, "stream") == 0) return MjpgStreamerAction::kStream;
  if (strcmp(action, "snapshot") == 0) return MjpgStreamerAction::kSnapshot;
  return MjpgStreamerAction::kUnknown;
}

bool query_flag(GHashTable *query, const char *name, bool fallback, bool *valid) {
  *valid = true;
  if (!query || !g_hash_table_contains(query, name)) return fallback;
  const char *text = static_cast<const char *>(g_hash_table_lookup(query, name));
  if (!text) text = "";
  const char *yes[] = {"1", "true", "yes"};
  const char *no[] = {"0", "false", "no"};
  for (const char *word : yes)
    if (g_ascii_strcasecmp(text, word) == 0) return true;
  for (const char *word : no)
    if (g_ascii_strcasecmp(text, word) == 0) return false;
  *valid = false;
  return false;
}

}  // namespace mjpeghttp
