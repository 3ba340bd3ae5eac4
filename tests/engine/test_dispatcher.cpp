// SPDX-License-Identifier: LGPL-2.1-or-later
// Dispatcher: one frame object fanned out to every attached queue, released
// once by whoever holds it last; attach/detach, end and shutdown.
#include <glib.h>

#include "stream/dispatcher.h"
#include "test_support.h"

using namespace enginetest;
using namespace test_support;
using mjpeghttp::Dispatcher;

namespace {

constexpr size_t kViewers = 3;

// Queues as the client threads would own them, already attached.
struct AttachedQueues {
  explicit AttachedQueues(Dispatcher &dispatcher) {
    for (FrameQueue &queue : queues) {
      queue.reset(4, QueuePolicy::kDropOldest);
      g_assert_true(dispatcher.attach(&queue).accepted);
    }
  }
  FrameQueue queues[kViewers];
};

// Every attached queue gives these events, in this order, without blocking.
void expect_each_queue_gives(AttachedQueues &attached, std::initializer_list<Event> events) {
  for (FrameQueue &queue : attached.queues) {
    for (Event expected : events) {
      FramePtr frame;
      g_assert_true(queue.pop(frame) == expected);
    }
  }
}

void test_fan_out_shares_one_frame() {
  ReleaseCounter counter;
  {
    Dispatcher dispatcher;
    AttachedQueues attached(dispatcher);

    FramePtr published = make_counted_frame(1, counter);
    const mjpeghttp::Frame *original = published.get();
    dispatcher.publish(std::move(published));

    // Every viewer holds the very same object: nothing was copied.
    std::vector<FramePtr> held;
    for (FrameQueue &queue : attached.queues) {
      g_assert_cmpuint(queue.depth(), ==, 1);
      FramePtr frame;
      g_assert_true(queue.pop(frame) == Event::kFrame);
      g_assert_true(frame.get() == original);
      held.push_back(std::move(frame));
    }
    // The viewers share one reference count; the dispatcher keeps none.
    g_assert_cmpint(held[0].use_count(), ==, static_cast<long>(kViewers));

    // The first frame lives only in the viewers' hands and is released when
    // the last of them lets go.
    dispatcher.publish(make_counted_frame(2, counter));
    for (size_t i = 0; i + 1 < held.size(); i++) {
      held[i].reset();
      g_assert_cmpuint(counter.released.load(), ==, 0);
    }
    held.back().reset();
    g_assert_cmpuint(counter.released.load(), ==, 1);
  }
  // Frame 2 was still queued: gone with the queues, exactly once.
  g_assert_cmpuint(counter.released.load(), ==, 2);
}

void test_release_once_per_frame_under_eviction() {
  ReleaseCounter counter;
  constexpr uint64_t kFrames = 50;
  {
    Dispatcher dispatcher;
    AttachedQueues attached(dispatcher);
    // Queues of 4 evict 46 frames each; an evicted frame must not be
    // released while another queue still holds it.
    for (uint64_t i = 1; i <= kFrames; i++) dispatcher.publish(make_counted_frame(i, counter));
    g_assert_cmpuint(counter.released.load(), ==, kFrames - 4);
    for (FrameQueue &queue : attached.queues) {
      g_assert_cmpuint(queue.depth(), ==, 4);
      g_assert_cmpuint(queue.dropped(), ==, kFrames - 4);
    }
  }
  g_assert_cmpuint(counter.released.load(), ==, kFrames);
}

void test_late_attach() {
  ReleaseCounter counter;
  Dispatcher dispatcher;
  FrameQueue early;
  early.reset(2, QueuePolicy::kDropOldest);
  Dispatcher::Attachment first = dispatcher.attach(&early);
  g_assert_true(first.accepted);
  g_assert_false(first.ended);

  dispatcher.publish(make_counted_frame(1, counter));
  dispatcher.publish(make_counted_frame(2, counter));

  // A late viewer is not sent the frames published before it came (it
  // starts with the engine's latest frame instead).
  FrameQueue late;
  late.reset(2, QueuePolicy::kDropOldest);
  Dispatcher::Attachment second = dispatcher.attach(&late);
  g_assert_true(second.accepted);
  g_assert_cmpuint(late.depth(), ==, 0);
  g_assert_cmpuint(early.depth(), ==, 2);
  dispatcher.detach(&early);
  dispatcher.detach(&late);
}

void test_detach_stops_delivery() {
  ReleaseCounter counter;
  Dispatcher dispatcher;
  AttachedQueues attached(dispatcher);
  dispatcher.detach(&attached.queues[1]);
  dispatcher.publish(make_counted_frame(1, counter));
  g_assert_cmpuint(attached.queues[0].depth(), ==, 1);
  g_assert_cmpuint(attached.queues[1].depth(), ==, 0);
  g_assert_cmpuint(attached.queues[2].depth(), ==, 1);
  // Detaching twice, or a queue never attached, changes nothing.
  dispatcher.detach(&attached.queues[1]);
  FrameQueue stranger;
  dispatcher.detach(&stranger);
  dispatcher.publish(make_counted_frame(2, counter));
  g_assert_cmpuint(attached.queues[0].depth(), ==, 2);
  g_assert_cmpuint(attached.queues[1].depth(), ==, 0);
  g_assert_cmpuint(attached.queues[2].depth(), ==, 2);
  g_assert_cmpuint(stranger.depth(), ==, 0);
  dispatcher.detach(&attached.queues[0]);
  dispatcher.detach(&attached.queues[2]);
  dispatcher.publish(make_counted_frame(3, counter));
  g_assert_cmpuint(attached.queues[0].depth(), ==, 2);
  g_assert_cmpuint(attached.queues[2].depth(), ==, 2);
}

void test_end_and_resume() {
  ReleaseCounter counter;
  Dispatcher dispatcher;
  AttachedQueues attached(dispatcher);
  dispatcher.publish(make_counted_frame(1, counter));
  dispatcher.end();
  expect_each_queue_gives(attached, {Event::kFrame, Event::kEnd});
  // A viewer arriving after EOS is told so.
  FrameQueue late;
  late.reset(2, QueuePolicy::kDropOldest);
  Dispatcher::Attachment after_end = dispatcher.attach(&late);
  g_assert_true(after_end.accepted);
  g_assert_true(after_end.ended);
  dispatcher.detach(&late);

  dispatcher.resume();
  late.reset(2, QueuePolicy::kDropOldest);
  Dispatcher::Attachment after_resume = dispatcher.attach(&late);
  g_assert_false(after_resume.ended);
  dispatcher.publish(make_counted_frame(2, counter));
  g_assert_cmpuint(late.depth(), ==, 1);
  dispatcher.detach(&late);
  for (FrameQueue &queue : attached.queues) dispatcher.detach(&queue);
}

void test_shutdown_cancels_and_refuses() {
  ReleaseCounter counter;
  Dispatcher dispatcher;
  AttachedQueues attached(dispatcher);
  dispatcher.publish(make_counted_frame(1, counter));
  dispatcher.shutdown();
  expect_each_queue_gives(attached, {Event::kCancel});
  FrameQueue late;
  late.reset(2, QueuePolicy::kDropOldest);
  Dispatcher::Attachment refused = dispatcher.attach(&late);
  g_assert_false(refused.accepted);
  // Refused means not attached: a later frame does not reach it.
  dispatcher.publish(make_counted_frame(2, counter));
  g_assert_cmpuint(late.depth(), ==, 0);
  for (FrameQueue &queue : attached.queues) dispatcher.detach(&queue);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/dispatcher/fan-out-shares-one-frame", test_fan_out_shares_one_frame);
  g_test_add_func("/dispatcher/release-once-per-frame-under-eviction",
                  test_release_once_per_frame_under_eviction);
  g_test_add_func("/dispatcher/late-attach", test_late_attach);
  g_test_add_func("/dispatcher/detach-stops-delivery", test_detach_stops_delivery);
  g_test_add_func("/dispatcher/end-and-resume", test_end_and_resume);
  g_test_add_func("/dispatcher/shutdown-cancels-and-refuses", test_shutdown_cancels_and_refuses);
  return g_test_run();
}
