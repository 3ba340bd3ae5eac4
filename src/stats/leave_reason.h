// SPDX-License-Identifier: LGPL-2.1-or-later
// Why a viewer's stream ended. The viewer thread decides it at the moment it
// leaves; the engine counts it, logs it and hands it to the client-removed
// hook. The names are the element's enum nicks and the JSON keys and metric
// labels, so an operator reads the same word everywhere.
#pragma once

#include <cstddef>

namespace mjpeghttp {

enum class LeaveReason {
  kClosed = 0,           // the viewer closed or reset its connection
  kWriteError = 1,       // a write failed for another reason (network, TLS)
  kTimeout = 2,          // the viewer accepted no byte for client-timeout
  kQueueDisconnect = 3,  // its queue filled up under queue-policy=disconnect
  kEndOfStream = 4,      // EOS: the stream was closed properly
  kStopping = 5,         // the element stopped and the server with it
  kMountRemoved = 6,     // the element stopped; the server goes on for other mounts
};

constexpr size_t kLeaveReasonCount = 7;

// Reasons a running mount can count. The last two happen only after the
// engine has taken its mount off the server, so no /stats or /metrics of
// that engine is served any more: they reach the bus and the signal only.
constexpr size_t kLeaveReasonsWhileServing = 5;

// "closed", "write-error", "timeout", "queue-disconnect", "eos", "stopping",
// "mount-removed". Static storage.
const char *leave_reason_name(LeaveReason reason);

}  // namespace mjpeghttp
