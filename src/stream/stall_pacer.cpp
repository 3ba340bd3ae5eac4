// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/stall_pacer.h"

// <linux/tcp.h>, not <netinet/tcp.h>: glibc's struct tcp_info stops before
// tcpi_snd_wnd. The two headers cannot be included together.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>

#include "base/monotonic_clock.h"
#include "stream/frame_queue.h"

namespace mjpeghttp {

namespace {

// How often a paced viewer's progress is looked at. Each look is one
// getsockopt; only viewers that have not received their last frame pay it.
// The first looks come sooner: a viewer that was only a moment late (its
// reader off the CPU, a delayed ACK) is let go within a millisecond or two
// of catching up instead of losing up to a whole interval per frame.
constexpr int kSampleIntervalMs = 10;
constexpr int kFirstSampleIntervalMs = 1;
// The longest single wait for a viewer's window to open. The stop fd ends
// it at once; this bounds how late the viewer timeout and a request to drop
// this viewer are noticed, as the blocked writer's slice does.
constexpr int kWindowWaitMs = 250;
// Never hold a viewer back longer than this on an estimate alone.
constexpr int64_t kMaxEstimatedWaitMs = 2000;
// A viewer that will have what is still on its way within this long is not
// held back for it (see wait_until_ready()).
constexpr uint64_t kMomentUs = 2000;
// Unsent bytes the kernel may keep per viewer before a write reports EAGAIN.
constexpr int kNotSentLowWater = 16 * 1024;

}  // namespace

StallPacer::StallPacer(int fd) : fd_(fd) {}

void StallPacer::bound_unsent_bytes() {
  int value = kNotSentLowWater;
  // Best effort: a socket that refuses (not TCP) is served unpaced.
  unsent_bounded_ = setsockopt(fd_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value) == 0;
}

StallPacer::Sample StallPacer::sample() {
  Sample result;
  tcp_info info{};
  socklen_t length = sizeof info;
  if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return result;
  int queued = 0;
  if (ioctl(fd_, SIOCOUTQ, &queued) != 0) return result;
  result.valid = true;
  result.queued = static_cast<uint32_t>(std::max(queued, 0));
  // The kernel fills only the fields it knows: check the length it returned
  // before trusting the newer ones.
  if (length >= offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
    result.bytes_acked = info.tcpi_bytes_acked;
  if (length >= offsetof(tcp_info, tcpi_delivery_rate) + sizeof info.tcpi_delivery_rate)
    result.delivery_rate = info.tcpi_delivery_rate;
  if (length >= offsetof(tcp_info, tcpi_notsent_bytes) + sizeof info.tcpi_notsent_bytes)
    result.notsent = info.tcpi_notsent_bytes;
  if (length >= offsetof(tcp_info, tcpi_snd_wnd) + sizeof info.tcpi_snd_wnd) {
    result.has_window = true;
    result.window = info.tcpi_snd_wnd;
  }
  return result;
}

bool StallPacer::viewer_has_everything() const {
  int queued = 0;
  return ioctl(fd_, SIOCOUTQ, &queued) != 0 || queued <= 0;
}

void StallPacer::sample_window() {
  Sample now = sample();
  if (now.has_window) max_window_ = std::max(max_window_, now.window);
}

StallPacer::Result StallPacer::wait_until_ready(int stop_fd, const FrameQueue *queue,
                                                unsigned timeout_ms) {
  Sample first = sample();
  if (!first.valid) return Result::kReady;
  if (first.has_window) max_window_ = std::max(max_window_, first.window);

  // A viewer that will have what is still on its way within a moment, both
  // at the rate its connection delivers and at the rate it has been reading,
  // is not held back: a frame takes a fast viewer (loopback, a LAN) tens of
  // microseconds, and waiting the first sampling interval for each one cut
  // a viewer at full rate to a fifth of it. Both rates, because TCP's
  // delivery rate cannot tell a reader that drains its buffer slowly:
  // loopback acknowledges whatever fits its window at once.
  update_read_rate(first);
  if (first.delivery_rate > 0 && read_rate_ > 0 &&
      uint64_t{first.queued} * 1000000 < kMomentUs * first.delivery_rate &&
      static_cast<double>(first.queued) * 1000 < read_rate_ * static_cast<double>(kMomentUs))
    return Result::kReady;

  // Sleeps `wait_ms`, or until the socket reports one of `events`, unless
  // asked to stop; also notices a dead peer.
  auto pause = [&](short events, int64_t wait_ms) -> Result {
    pollfd fds[2] = {{fd_, events, 0}, {stop_fd, POLLIN, 0}};
    poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(std::max<int64_t>(wait_ms, 1)));
    if (stop_fd >= 0 && (fds[1].revents & POLLIN)) return Result::kStopped;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return Result::kPeerGone;
    if (queue && queue->stop_requested()) return Result::kStopped;
    return Result::kReady;
  };

  // Phase 1: everything sent reaches the viewer's buffer.
  int64_t last_progress = monotonic_ms();
  Sample now = first;
  int interval_ms = kFirstSampleIntervalMs;
  while (now.queued > 0) {
    Result result;
    if (unsent_bounded_ && now.notsent >= static_cast<uint32_t>(kNotSentLowWater)) {
      // TCP holds the rest back unsent (mostly the viewer's window: it has
      // not read what it was sent): POLLOUT comes once all but
      // TCP_NOTSENT_LOWAT of it has gone out. An event, not a look every
      // few milliseconds: when hundreds of viewers fall behind at once (a
      // congested uplink, a client short of CPU), looking at each cost the
      // CPU they were waiting for. (Without the low-water mark POLLOUT would
      // only mean room in the send buffer, and this would spin.)
      result = pause(POLLOUT, kWindowWaitMs);
    } else {
      result = pause(0, interval_ms);
      interval_ms = std::min(2 * interval_ms, kSampleIntervalMs);
    }
    if (result != Result::kReady) return result;
    Sample next = sample();
    if (!next.valid) return Result::kPeerGone;
    if (next.has_window) max_window_ = std::max(max_window_, next.window);
    if (next.queued < now.queued) last_progress = monotonic_ms();
    now = next;
    if (timeout_ms > 0 && monotonic_ms() - last_progress >= static_cast<int64_t>(timeout_ms))
      return Result::kTimedOut;
  }

  // Phase 2: the viewer still holds what its window lacks. Wait until it has
  // read all of that at the rate it has been reading, or its window is whole
  // again. No slack: a frame sent while the viewer still holds even a part
  // of the last one waits behind it, and a frame sent a little late is only
  // as old as the time it takes, since it is the newest there is.
  //
  // Only a viewer whose window is at least half closed is waited for. A
  // receiver announces a window it reopened by reading only once the window
  // has doubled (Linux: tcp_cleanup_rbuf), so a viewer that holds less than
  // half of it drains it unheard: the wait would end on the estimate alone,
  // and the estimate is measured from what was sent, so it falls while the
  // viewer is held back. With 900 fast readers behind one client short of
  // CPU, such waits averaged about 115 ms (50 941 looks in 3 680 waits) and
  // the viewers lost frames they could have read. A slow reader's window
  // closes: it is behind by all of it once its last frame is acknowledged.
  update_read_rate(now);
  const uint64_t held = held_bytes(now);
  if (!now.has_window || read_rate_ <= 0 || held == 0 || held * 2 < max_window_)
    return Result::kReady;
  const int64_t wait_ms = std::min<int64_t>(
      static_cast<int64_t>(static_cast<double>(held) / read_rate_), kMaxEstimatedWaitMs);
  const int64_t deadline = monotonic_ms() + wait_ms;
  // Looks that double in spacing up to the deadline: they only end the wait
  // early, and a long wait stays a handful of looks.
  interval_ms = kFirstSampleIntervalMs;
  for (int64_t left = wait_ms; left > 0; left = deadline - monotonic_ms()) {
    Result result = pause(0, std::min<int64_t>(interval_ms, left));
    interval_ms = std::min<int>(2 * interval_ms, kMaxEstimatedWaitMs);
    if (result != Result::kReady) return result;
    Sample next = sample();
    if (!next.valid) return Result::kPeerGone;
    if (next.has_window && held_bytes(next) == 0) break;
  }
  return Result::kReady;
}

uint64_t StallPacer::held_bytes(const Sample &s) const {
  return s.has_window && max_window_ > s.window ? max_window_ - s.window : 0;
}

void StallPacer::update_read_rate(const Sample &s) {
  const int64_t now = monotonic_ms();
  const uint64_t held = held_bytes(s);
  const uint64_t consumed = s.bytes_acked > held ? s.bytes_acked - held : 0;
  // Shorter spans measure the window's granularity more than the reader.
  constexpr int64_t kMinSpanMs = 100;
  if (consumed_at_ms_ >= 0 && now - consumed_at_ms_ < kMinSpanMs) return;
  if (consumed_at_ms_ >= 0 && consumed > consumed_) {
    const double rate =
        static_cast<double>(consumed - consumed_) / static_cast<double>(now - consumed_at_ms_);
    read_rate_ = read_rate_ > 0 ? 0.5 * read_rate_ + 0.5 * rate : rate;
  }
  consumed_ = consumed;
  consumed_at_ms_ = now;
}

}  // namespace mjpeghttp
