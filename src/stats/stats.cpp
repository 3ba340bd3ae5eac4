// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats/stats.h"

#include <glib.h>

namespace mjpeghttp {

std::string format_iso8601(int64_t wall_clock_us) {
  GDateTime *time = g_date_time_new_from_unix_utc(wall_clock_us / G_USEC_PER_SEC);
  if (!time) return "";
  gchar *seconds = g_date_time_format(time, "%Y-%m-%dT%H:%M:%S");
  g_date_time_unref(time);
  char millis[8];
  g_snprintf(millis, sizeof millis, ".%03dZ",
             static_cast<int>((wall_clock_us % G_USEC_PER_SEC) / 1000));
  std::string text = std::string(seconds) + millis;
  g_free(seconds);
  return text;
}

}  // namespace mjpeghttp
