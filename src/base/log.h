// SPDX-License-Identifier: LGPL-2.1-or-later
// How the engine reports what it does without depending on GStreamer: the
// element routes these lines into its debug category. Thread-safe as long as
// the sink is (the element's is).
#pragma once

#include <functional>
#include <string>

namespace mjpeghttp {

enum class LogLevel { kError, kWarning, kInfo, kDebug, kLog };

using LogSink = std::function<void(LogLevel, const std::string &)>;

}  // namespace mjpeghttp
