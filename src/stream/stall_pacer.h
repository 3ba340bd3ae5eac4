// SPDX-License-Identifier: LGPL-2.1-or-later
// Keeps a slow viewer's frames fresh. The rule: a viewer gets no new frame
// while it has not received the last one; once it has, it gets the newest.
// "Received" is more than written: a write returns once the frame is in the
// kernel, and on a slow link most of it is still on its way (in flight, in
// a shaper's queue) and would delay the next frame by a whole transfer. So
// before a viewer's next frame the pacer waits until everything sent is
// acknowledged (an event while the connection holds bytes back unsent, a
// look every few milliseconds while they are in flight), then, when the
// viewer's window is at least half closed, until the viewer has read what
// its own receive buffer still holds (acknowledged, so invisible to the
// sender's queue sizes: it estimates that from struct tcp_info, the window
// the viewer advertises and how fast it reads). A fast viewer has received
// everything by the time its next frame comes, and pays one ioctl per frame
// for the check; one fed faster than that (a source at full rate) is let
// through without a wait when what is on its way reaches it within a moment
// at both its connection's delivery rate and its own reading rate.
//
// Used only by the viewer's own viewer thread.
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
  void bound_unsent_bytes();

  // True when every byte sent so far is acknowledged (or the socket cannot
  // tell): the viewer has the last frame and needs no pacing.
  bool viewer_has_everything() const;

  // A viewer that took this long to receive one frame (from the start of its
  // write until the pacer found it ready) cannot keep up with the stream:
  // it skips to the newest frame.
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
    uint64_t delivery_rate = 0;  // bytes per second, as TCP last measured it; 0: unknown
    uint32_t notsent = 0;        // of `queued`, what TCP has not sent yet (window, congestion)
  };

  Sample sample();

  // What the viewer holds unread: the part of its largest window it lacks.
  uint64_t held_bytes(const Sample &s) const;
  // Updates the estimate of how fast the viewer reads, from the bytes it
  // has consumed (acknowledged minus still held) since the last look.
  void update_read_rate(const Sample &s);

  int fd_;
  // TCP_NOTSENT_LOWAT is set: POLLOUT then means the unsent bytes are few.
  bool unsent_bounded_ = false;
  uint32_t max_window_ = 0;
  // Bytes the viewer had consumed at the last look, and when.
  uint64_t consumed_ = 0;
  int64_t consumed_at_ms_ = -1;
  double read_rate_ = 0;  // bytes per millisecond, smoothed
};

}  // namespace mjpeghttp
