// SPDX-License-Identifier: LGPL-2.1-or-later
// The JPEG viewers see while the source is offline: the engine's "NO SIGNAL"
// picture encoded with jpegenc (on the calling thread, no pipeline), or the
// file named by placeholder-location.
// Runs on the engine's source-watch thread, never the streaming thread.
#pragma once

#include <gst/gst.h>

#include <string>

// "NO SIGNAL" and the time the signal was lost (`lost_at_us`, wall clock;
// 0 = none yet) at `width`x`height`. Empty when it cannot be encoded (no
// jpegenc), with the reason in `error`.
std::string make_no_signal_jpeg(unsigned width, unsigned height, gint64 lost_at_us,
                                std::string *error);

// The bytes of a JPEG file, or empty with the reason in `error`.
std::string read_placeholder_file(const std::string &path, std::string *error);
