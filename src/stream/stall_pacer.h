// SPDX-License-Identifier: LGPL-2.1-or-later
// Keeps a slow viewer's frames fresh. Bounding the server's unsent bytes
// (TCP_NOTSENT_LOWAT) is not enough: the viewer's own receive buffer holds
// about one more frame, already acknowledged and so invisible to the sender's
// queue sizes. Once a write to a viewer has stalled, the pacer waits until
// everything sent is acknowledged, estimates from struct tcp_info what the
// viewer still holds and how fast it reads, and returns when it can take a
// new frame, so the viewer thread picks the freshest frame at that moment
// instead of one chosen a whole frame-transfer earlier.
//
// Used only by the viewer's own viewer thread. Only stalled viewers are
// paced: pacing every short EAGAIN would cut a fast viewer's rate in half.
#pragma once

#include <cstdint>

namespace mjpeghttp {

class FrameQueue;

class StallPacer {
 public:
  enum class Result { kReady, kStopped, kTimedOut, kPeerGone };

  explicit StallPacer(int fd);

  // Limits the bytes the kernel keeps unsent for this socket, so a stalled
  // write shows as EAGAIN instead of megabytes of queued video.
  static void bound_unsent_bytes(int fd);

  // A frame whose write waited this long in total counts as stalled.
  static constexpr int64_t kStallMs = 150;

  // Blocks until the viewer can take a new frame. Wakes early on `stop_fd`
  // or when `queue` says to stop; gives up after `timeout_ms` without
  // progress (0 = never).
  Result wait_until_ready(int stop_fd, const FrameQueue *queue, unsigned timeout_ms);

  // Remembers the viewer's receive window; its largest value tells how much
  // the viewer can hold when its buffer is empty.
  void sample_window();

 private:
  struct Sample {
    bool valid = false;
    bool has_window = false;  // older kernels do not report tcpi_snd_wnd
    uint32_t queued = 0;      // unsent plus unacknowledged bytes
    uint64_t bytes_acked = 0;
    uint32_t window = 0;
    uint32_t mss = 1448;
  };

  Sample sample();

  // What the viewer holds unread: the part of its largest window it lacks.
  uint64_t held_bytes(const Sample &s) const;
  // Updates the estimate of how fast the viewer reads, from the bytes it
  // has consumed (acknowledged minus still held) since the last look.
  void update_read_rate(const Sample &s);

  int fd_;
  uint32_t max_window_ = 0;
  // Bytes the viewer had consumed at the last look, and when.
  uint64_t consumed_ = 0;
  int64_t consumed_at_ms_ = -1;
  double read_rate_ = 0;  // bytes per millisecond, smoothed
};

}  // namespace mjpeghttp
