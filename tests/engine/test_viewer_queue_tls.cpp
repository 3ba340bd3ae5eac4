// SPDX-License-Identifier: LGPL-2.1-or-later
// this_thread_queue(): each thread has its own queue, stable for the life of
// the thread. Both threads are kept alive together while their addresses are
// compared, since a finished thread's storage may be reused by the next one.
#include <glib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "stream/viewer_queue_tls.h"
#include "test_support.h"

using namespace enginetest;
using mjpeghttp::this_thread_queue;

namespace {

constexpr auto kRendezvousLimit = std::chrono::seconds(10);

struct Sighting {
  FrameQueue *first = nullptr;
  FrameQueue *second = nullptr;
  size_t depth_seen = 0;
};

void test_queue_per_thread() {
  enginetest::ReleaseCounter counter;
  std::mutex mutex;
  std::condition_variable all_arrived;
  size_t arrived = 0;
  bool met = true;
  Sighting sightings[2];

  auto look = [&](Sighting &mine, uint64_t frames_to_queue) {
    mine.first = &this_thread_queue();
    mine.first->reset(8, QueuePolicy::kDropOldest);
    for (uint64_t i = 0; i < frames_to_queue; i++)
      mine.first->push(enginetest::make_counted_frame(i + 1, counter));
    std::unique_lock<std::mutex> lock(mutex);
    arrived++;
    all_arrived.notify_all();
    if (!all_arrived.wait_for(lock, kRendezvousLimit, [&] { return arrived == 2; })) met = false;
    lock.unlock();
    // Still alive next to the other thread: same queue as before, holding
    // only what this thread put in it.
    mine.second = &this_thread_queue();
    mine.depth_seen = mine.second->depth();
    mine.second->reset(1, QueuePolicy::kDropOldest);
  };
  std::thread one(look, std::ref(sightings[0]), 1);
  std::thread two(look, std::ref(sightings[1]), 3);
  one.join();
  two.join();

  g_assert_true(met);
  g_assert_nonnull(sightings[0].first);
  g_assert_true(sightings[0].first == sightings[0].second);
  g_assert_true(sightings[1].first == sightings[1].second);
  g_assert_true(sightings[0].first != sightings[1].first);
  g_assert_cmpuint(sightings[0].depth_seen, ==, 1);
  g_assert_cmpuint(sightings[1].depth_seen, ==, 3);
  g_assert_true(&this_thread_queue() != sightings[0].first);
  g_assert_true(&this_thread_queue() != sightings[1].first);
  g_assert_true(&this_thread_queue() == &this_thread_queue());
  g_assert_cmpuint(counter.released.load(), ==, 4);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/client-queue-tls/queue-per-thread", test_queue_per_thread);
  return g_test_run();
}
