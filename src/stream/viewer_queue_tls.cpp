// SPDX-License-Identifier: LGPL-2.1-or-later
// Alone in its translation unit on purpose: GCC constructs all thread_locals of
// one TU together on a thread's first use of any of them, so a neighbour here
// would be built (and destroyed) on every GStreamer or GLib thread that happened
// to touch it. Only viewer threads call this_thread_queue().
#include "stream/viewer_queue_tls.h"

namespace mjpeghttp {

FrameQueue &this_thread_queue() {
  thread_local FrameQueue queue;
  return queue;
}

}  // namespace mjpeghttp
