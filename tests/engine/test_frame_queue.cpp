// SPDX-License-Identifier: LGPL-2.1-or-later
// FrameQueue: the bound, each full-queue policy, and how end/cancel reach a
// client blocked in pop().
#include <glib.h>

#include <future>
#include <thread>

#include "stream/frame_queue.h"
#include "test_support.h"

using namespace enginetest;
using namespace test_support;

namespace {

constexpr auto kBlockedPopLimit = std::chrono::seconds(5);

// Pops everything queued, in order, without ever blocking (depth says how
// many frames are there).
std::vector<uint64_t> drain_sequences(FrameQueue &queue) {
  std::vector<uint64_t> sequences;
  for (size_t left = queue.depth(); left > 0; left--) {
    FramePtr frame;
    g_assert_true(queue.pop(frame) == Event::kFrame);
    sequences.push_back(frame->sequence);
  }
  return sequences;
}

// A queue of a given bound and policy, and the counter of its frames'
// releases.
struct CountedQueue {
  CountedQueue(size_t capacity, QueuePolicy policy) { queue.reset(capacity, policy); }
  // Pushes frames `first` to `last`; the frames the pushes handed back.
  std::vector<FramePtr> push(uint64_t first, uint64_t last) {
    std::vector<FramePtr> returned;
    for (uint64_t i = first; i <= last; i++) {
      FramePtr out = queue.push(make_counted_frame(i, counter));
      if (out) returned.push_back(std::move(out));
    }
    return returned;
  }
  ReleaseCounter counter;
  FrameQueue queue;
};

void test_fifo_below_bound() {
  CountedQueue fixture(4, QueuePolicy::kDropOldest);
  FrameQueue &queue = fixture.queue;
  ReleaseCounter &counter = fixture.counter;
  g_assert_true(fixture.push(1, 3).empty());
  g_assert_cmpuint(queue.depth(), ==, 3);
  g_assert_cmpuint(queue.dropped(), ==, 0);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{1, 2, 3}));
  g_assert_cmpuint(counter.released.load(), ==, 3);
}

void test_drop_oldest_keeps_newest() {
  CountedQueue fixture(3, QueuePolicy::kDropOldest);
  FrameQueue &queue = fixture.queue;
  ReleaseCounter &counter = fixture.counter;
  std::vector<FramePtr> evicted;
  for (uint64_t i = 1; i <= 7; i++) {
    for (FramePtr &out : fixture.push(i, i)) evicted.push_back(std::move(out));
    g_assert_cmpuint(queue.depth(), <=, 3);
  }
  g_assert_cmpuint(queue.depth(), ==, 3);
  g_assert_cmpuint(queue.dropped(), ==, 4);
  // The evicted frames come back to the caller (to be dropped outside its
  // locks), oldest first, and are released only when the caller lets go.
  g_assert_cmpuint(evicted.size(), ==, 4);
  for (size_t i = 0; i < evicted.size(); i++) g_assert_cmpuint(evicted[i]->sequence, ==, i + 1);
  g_assert_cmpuint(counter.released.load(), ==, 0);
  evicted.clear();
  g_assert_cmpuint(counter.released.load(), ==, 4);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{5, 6, 7}));
  g_assert_cmpuint(counter.released.load(), ==, 7);
}

void test_drop_newest_keeps_oldest() {
  CountedQueue fixture(3, QueuePolicy::kDropNewest);
  FrameQueue &queue = fixture.queue;
  ReleaseCounter &counter = fixture.counter;
  g_assert_true(fixture.push(1, 7).empty());
  g_assert_cmpuint(queue.depth(), ==, 3);
  g_assert_cmpuint(queue.dropped(), ==, 4);
  // Refused frames were never kept.
  g_assert_cmpuint(counter.released.load(), ==, 4);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{1, 2, 3}));
  // Room again: the next frame is taken.
  fixture.push(8, 8);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{8}));
}

void test_disconnect_overflows() {
  CountedQueue fixture(2, QueuePolicy::kDisconnect);
  FrameQueue &queue = fixture.queue;
  fixture.push(1, 2);
  g_assert_false(queue.stop_requested());
  fixture.push(3, 3);
  g_assert_true(queue.stop_requested());
  // The viewer is cut off even though frames are still queued.
  FramePtr frame;
  g_assert_true(queue.pop(frame) == Event::kOverflow);
  g_assert_null(frame.get());
  // Nothing more is taken once overflowed.
  fixture.push(4, 4);
  g_assert_cmpuint(queue.depth(), ==, 2);
  g_assert_cmpuint(fixture.counter.released.load(), ==, 2);
}

void test_end_drains_before_end() {
  CountedQueue fixture(4, QueuePolicy::kDropOldest);
  FrameQueue &queue = fixture.queue;
  fixture.push(1, 2);
  queue.end();
  g_assert_false(queue.stop_requested());
  // Frames published before EOS still reach the viewer, then the end.
  FramePtr frame;
  g_assert_true(queue.pop(frame) == Event::kFrame);
  g_assert_cmpuint(frame->sequence, ==, 1);
  g_assert_true(queue.pop(frame) == Event::kFrame);
  g_assert_cmpuint(frame->sequence, ==, 2);
  frame.reset();
  g_assert_true(queue.pop(frame) == Event::kEnd);
  g_assert_true(queue.pop(frame) == Event::kEnd);
  // Frames after EOS are not queued.
  g_assert_true(fixture.push(3, 3).empty());
  g_assert_cmpuint(queue.depth(), ==, 0);
  g_assert_cmpuint(fixture.counter.released.load(), ==, 3);
}

void test_cancel_beats_queued_frames() {
  CountedQueue fixture(4, QueuePolicy::kDropOldest);
  FrameQueue &queue = fixture.queue;
  fixture.push(1, 1);
  queue.cancel();
  g_assert_true(queue.stop_requested());
  FramePtr frame;
  g_assert_true(queue.pop(frame) == Event::kCancel);
  g_assert_null(frame.get());
}

void test_reset_clears_state() {
  CountedQueue fixture(1, QueuePolicy::kDisconnect);
  FrameQueue &queue = fixture.queue;
  fixture.push(1, 2);
  queue.cancel();
  queue.reset(2, QueuePolicy::kDropOldest);
  // reset() gave the queued frame back and forgot cancel and overflow.
  g_assert_cmpuint(fixture.counter.released.load(), ==, 2);
  g_assert_false(queue.stop_requested());
  g_assert_cmpuint(queue.depth(), ==, 0);
  g_assert_cmpuint(queue.dropped(), ==, 0);
  fixture.push(3, 3);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{3}));
}

void test_zero_capacity_means_one() {
  CountedQueue fixture(0, QueuePolicy::kDropOldest);
  FrameQueue &queue = fixture.queue;
  fixture.push(1, 2);
  g_assert_cmpuint(queue.depth(), ==, 1);
  g_assert_true(drain_sequences(queue) == (std::vector<uint64_t>{2}));
}

// pop() sleeps until something happens; each kind of wake-up is delivered
// from another thread, as the dispatcher and the engine do.
void check_blocked_pop_wakes(const std::function<void(FrameQueue &)> &wake, Event expected) {
  FrameQueue queue;
  queue.reset(2, QueuePolicy::kDropOldest);
  std::promise<pid_t> started;
  auto popped = std::async(std::launch::async, [&queue, &started] {
    started.set_value(enginetest::current_tid());
    FramePtr frame;
    return queue.pop(frame);
  });
  pid_t popper = started.get_future().get();
  g_assert_true(enginetest::await_thread_sleeping(popper, kBlockedPopLimit));
  g_assert_true(popped.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  wake(queue);
  g_assert_true(popped.wait_for(kBlockedPopLimit) == std::future_status::ready);
  g_assert_true(popped.get() == expected);
}

void test_push_wakes_pop() {
  ReleaseCounter counter;
  check_blocked_pop_wakes([&counter](FrameQueue &q) { q.push(make_counted_frame(1, counter)); },
                          Event::kFrame);
}

void test_end_wakes_pop() {
  check_blocked_pop_wakes([](FrameQueue &q) { q.end(); }, Event::kEnd);
}

void test_cancel_wakes_pop() {
  check_blocked_pop_wakes([](FrameQueue &q) { q.cancel(); }, Event::kCancel);
}

// A wait that times out is never shorter than asked for: the viewer times
// idle-resend from its own clock, and an idle return a fraction of a
// millisecond early made it wait a whole period more. (Only a lower bound:
// a busy machine can make any wait longer.)
void test_idle_never_before_the_deadline() {
  FrameQueue queue;
  queue.reset(2, QueuePolicy::kDropOldest);
  constexpr int kWaitMs = 2;
  for (int round = 0; round < 200; round++) {
    FramePtr frame;
    const auto start = std::chrono::steady_clock::now();
    g_assert_true(queue.pop(frame, kWaitMs) == Event::kIdle);
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited < std::chrono::milliseconds(kWaitMs))
      g_error("round %d: pop(%d ms) returned idle after %.3f ms", round, kWaitMs,
              std::chrono::duration<double, std::milli>(waited).count());
  }
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/frame-queue/fifo-below-bound", test_fifo_below_bound);
  g_test_add_func("/frame-queue/drop-oldest-keeps-newest", test_drop_oldest_keeps_newest);
  g_test_add_func("/frame-queue/drop-newest-keeps-oldest", test_drop_newest_keeps_oldest);
  g_test_add_func("/frame-queue/disconnect-overflows", test_disconnect_overflows);
  g_test_add_func("/frame-queue/end-drains-before-end", test_end_drains_before_end);
  g_test_add_func("/frame-queue/cancel-beats-queued-frames", test_cancel_beats_queued_frames);
  g_test_add_func("/frame-queue/reset-clears-state", test_reset_clears_state);
  g_test_add_func("/frame-queue/zero-capacity-means-one", test_zero_capacity_means_one);
  g_test_add_func("/frame-queue/push-wakes-pop", test_push_wakes_pop);
  g_test_add_func("/frame-queue/end-wakes-pop", test_end_wakes_pop);
  g_test_add_func("/frame-queue/cancel-wakes-pop", test_cancel_wakes_pop);
  g_test_add_func("/frame-queue/idle-never-before-the-deadline",
                  test_idle_never_before_the_deadline);
  return g_test_run();
}
