// SPDX-License-Identifier: LGPL-2.1-or-later
// FrameRateLimiter (/stream?fps=N) fed with source timestamps: which frames
// a capped viewer is sent. Frames must be skipped evenly, a cap at or near
// the source rate must not halve it, and clock jumps and pauses must not
// stall or burst the viewer.
#include <glib.h>

#include <cstdint>
#include <vector>

#include "stream/rate_limiter.h"

using mjpeghttp::FrameRateLimiter;

namespace {

constexpr int64_t kSecond = 1000000;

// Timestamps of `count` frames at `fps` starting at `start_us`, rounded to
// microseconds as a real source's nanosecond PTS would be.
std::vector<int64_t> frames_at(double fps, int count, int64_t start_us = 0) {
  std::vector<int64_t> stamps;
  for (int i = 0; i < count; i++)
    stamps.push_back(start_us + static_cast<int64_t>(i * (kSecond / fps) + 0.5));
  return stamps;
}

std::vector<int64_t> admitted(FrameRateLimiter &limiter, const std::vector<int64_t> &stamps) {
  std::vector<int64_t> sent;
  for (int64_t stamp : stamps)
    if (limiter.admit(stamp)) sent.push_back(stamp);
  return sent;
}

void assert_gaps_between(const std::vector<int64_t> &sent, int64_t low, int64_t high) {
  for (size_t i = 1; i < sent.size(); i++) {
    const int64_t gap = sent[i] - sent[i - 1];
    if (gap < low || gap > high) {
      g_test_fail_printf("gap %zu of %" G_GINT64_FORMAT " us, outside %" G_GINT64_FORMAT
                         "..%" G_GINT64_FORMAT,
                         i, gap, low, high);
      return;
    }
  }
}

void test_no_cap_admits_everything() {
  for (double fps : {0.0, -5.0}) {
    FrameRateLimiter limiter(fps);
    const std::vector<int64_t> stamps = frames_at(30, 90);
    g_assert_cmpuint(admitted(limiter, stamps).size(), ==, stamps.size());
  }
}

// 30 fps capped at 10: every third frame, 100 ms apart, from the first.
void test_skips_evenly() {
  FrameRateLimiter limiter(10);
  const std::vector<int64_t> stamps = frames_at(30, 300);
  const std::vector<int64_t> sent = admitted(limiter, stamps);
  g_assert_cmpuint(sent.size(), ==, 100);
  g_assert_cmpint(sent.front(), ==, stamps.front());
  for (size_t i = 0; i < sent.size(); i++) g_assert_cmpint(sent[i], ==, stamps[3 * i]);
}

// A cap equal to or above the source rate sends every frame.
void test_cap_at_or_above_source_rate() {
  for (double cap : {30.0, 30.5, 60.0, FrameRateLimiter::kMaxFps}) {
    FrameRateLimiter limiter(cap);
    const std::vector<int64_t> stamps = frames_at(30, 300);
    g_assert_cmpuint(admitted(limiter, stamps).size(), ==, stamps.size());
  }
}

// Real sources jitter: a 10 fps source whose frames come up to 20 ms early
// or late, capped at 10, must still send every frame.
void test_jitter_tolerated() {
  FrameRateLimiter limiter(10);
  std::vector<int64_t> stamps;
  const int64_t jitter[] = {0, -20000, 15000, -10000, 20000, -20000, 5000, 0};
  for (int i = 0; i < 200; i++) stamps.push_back(i * 100000 + jitter[i % 8]);
  g_assert_cmpuint(admitted(limiter, stamps).size(), ==, stamps.size());
}

// 29 of 30 fps: the average rate is the cap, each skip leaves out one frame
// (never two in a row) and skips are spread out rather than bunched.
void test_cap_just_below_source_rate() {
  FrameRateLimiter limiter(29);
  const std::vector<int64_t> stamps = frames_at(30, 30 * 30);  // 30 s
  std::vector<bool> sent_flags;
  for (int64_t stamp : stamps) sent_flags.push_back(limiter.admit(stamp));
  size_t sent = 0;
  std::vector<size_t> skipped;
  for (size_t i = 0; i < sent_flags.size(); i++) {
    if (sent_flags[i])
      sent++;
    else
      skipped.push_back(i);
  }
  g_assert_cmpuint(sent, >=, 29 * 30 - 1);
  g_assert_cmpuint(sent, <=, 29 * 30 + 1);
  // One skip per second or so: consecutive skips between 20 and 40 frames apart.
  for (size_t i = 1; i < skipped.size(); i++) {
    g_assert_cmpuint(skipped[i] - skipped[i - 1], >=, 20);
    g_assert_cmpuint(skipped[i] - skipped[i - 1], <=, 40);
  }
}

// A cap far below the source rate: even from the very first frame. The
// first frame sent starts the schedule, so the second must come a whole
// interval after it (give or take a source period), like every later one.
void test_cap_far_below_source_rate() {
  for (double cap : {1.0, 2.0, 5.0}) {
    FrameRateLimiter limiter(cap);
    const std::vector<int64_t> sent = admitted(limiter, frames_at(30, 30 * 10));
    const int64_t interval = static_cast<int64_t>(kSecond / cap);
    g_assert_cmpuint(sent.size(), >=, static_cast<size_t>(10 * cap) - 1);
    assert_gaps_between(sent, interval - 34000, interval + 34000);
  }
}

// A fractional cap below 1 fps.
void test_fractional_cap() {
  FrameRateLimiter limiter(0.5);
  const std::vector<int64_t> sent = admitted(limiter, frames_at(30, 30 * 20));
  g_assert_cmpuint(sent.size(), ==, 10);
  assert_gaps_between(sent, 2 * kSecond - 34000, 2 * kSecond + 34000);
}

// The clock jumps back 10 s (a source restarting its timestamps): the first
// frame after the jump goes out at once and the even pace carries on, rather
// than the viewer starving until the timestamps catch up with the schedule.
void test_timestamps_jump_back() {
  FrameRateLimiter limiter(10);
  const std::vector<int64_t> before = frames_at(30, 30, 20 * kSecond);
  const std::vector<int64_t> after = frames_at(30, 30, 10 * kSecond);
  const std::vector<int64_t> sent_before = admitted(limiter, before);
  g_assert_cmpuint(sent_before.size(), ==, 10);
  const std::vector<int64_t> sent_after = admitted(limiter, after);
  g_assert_cmpuint(sent_after.size(), ==, 10);
  g_assert_cmpint(sent_after.front(), ==, after.front());
  assert_gaps_between(sent_after, 100000 - 1, 100000 + 1);
}

// A frame slightly older than the last one sent (reordered, or a repeated
// timestamp) is not a clock jump: it is skipped and the schedule stands.
void test_small_step_back_skipped() {
  FrameRateLimiter limiter(10);
  g_assert_true(limiter.admit(1000000));
  g_assert_false(limiter.admit(950000));
  g_assert_false(limiter.admit(1000000));
  g_assert_true(limiter.admit(1100000));
}

// The source pauses for 5 s: the first frame after the pause goes out at
// once, and the next one a full interval later — no burst of frames to
// "catch up" with the schedule the pause left behind.
void test_pause_resyncs() {
  FrameRateLimiter limiter(10);
  const std::vector<int64_t> before = frames_at(30, 30);
  const std::vector<int64_t> after = frames_at(30, 30, before.back() + 5 * kSecond);
  admitted(limiter, before);
  const std::vector<int64_t> sent_after = admitted(limiter, after);
  g_assert_cmpint(sent_after.front(), ==, after.front());
  g_assert_cmpuint(sent_after.size(), ==, 10);
  assert_gaps_between(sent_after, 100000 - 1, 100000 + 1);
}

// A source slower than the cap: every frame goes out, whatever the spacing.
void test_slow_source_unaffected() {
  FrameRateLimiter limiter(10);
  const std::vector<int64_t> stamps = {0, 150000, 400000, 1400000, 1550000, 1700000};
  g_assert_cmpuint(admitted(limiter, stamps).size(), ==, stamps.size());
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/rate-limiter/no-cap", test_no_cap_admits_everything);
  g_test_add_func("/rate-limiter/skips-evenly", test_skips_evenly);
  g_test_add_func("/rate-limiter/cap-at-or-above-source", test_cap_at_or_above_source_rate);
  g_test_add_func("/rate-limiter/jitter", test_jitter_tolerated);
  g_test_add_func("/rate-limiter/cap-just-below-source", test_cap_just_below_source_rate);
  g_test_add_func("/rate-limiter/cap-far-below-source", test_cap_far_below_source_rate);
  g_test_add_func("/rate-limiter/fractional-cap", test_fractional_cap);
  g_test_add_func("/rate-limiter/jump-back", test_timestamps_jump_back);
  g_test_add_func("/rate-limiter/small-step-back", test_small_step_back_skipped);
  g_test_add_func("/rate-limiter/pause-resyncs", test_pause_resyncs);
  g_test_add_func("/rate-limiter/slow-source", test_slow_source_unaffected);
  return g_test_run();
}
