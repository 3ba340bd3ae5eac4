// SPDX-License-Identifier: LGPL-2.1-or-later
// The calling thread's own frame queue. Every viewer thread serves exactly one
// viewer and keeps that viewer's queue in thread-local storage; the dispatcher
// only ever sees the queue's address while the thread has it registered.
#pragma once

#include "stream/frame_queue.h"

namespace mjpeghttp {

FrameQueue &this_thread_queue();

}  // namespace mjpeghttp
