// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats/leave_reason.h"

namespace mjpeghttp {

const char *leave_reason_name(LeaveReason reason) {
  switch (reason) {
    case LeaveReason::kClosed:
      return "closed";
    case LeaveReason::kWriteError:
      return "write-error";
    case LeaveReason::kTimeout:
      return "timeout";
    case LeaveReason::kQueueDisconnect:
      return "queue-disconnect";
    case LeaveReason::kEndOfStream:
      return "eos";
    case LeaveReason::kStopping:
      return "stopping";
    case LeaveReason::kMountRemoved:
      return "mount-removed";
  }
  return "unknown";
}

}  // namespace mjpeghttp
