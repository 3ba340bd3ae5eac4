// SPDX-License-Identifier: LGPL-2.1-or-later
// Publishers, viewers arriving and leaving, and readers of the statistics,
// all at once for a bounded time. Asserts what must hold under any
// interleaving (order per publisher, each frame released exactly once,
// every viewer accounted for); its main value is under ThreadSanitizer.
#include <glib.h>

#include <thread>

#include "engine_fixture.h"
#include "stream/dispatcher.h"
#include "stream/viewer_queue_tls.h"
#include "stream_client.h"

using namespace enginetest;
using namespace test_support;
using mjpeghttp::Dispatcher;
using mjpeghttp::this_thread_queue;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kRunFor(1500);
constexpr milliseconds kIoLimit(10000);
constexpr int kPublishers = 3;
constexpr int kViewers = 4;

// Publisher p numbers its frames p * kStride + 1, + 2, ...; a viewer checks
// that frames of one publisher never arrive out of order.
constexpr uint64_t kStride = uint64_t(1) << 40;

void test_dispatcher_under_contention() {
  ReleaseCounter counter;
  std::atomic<uint64_t> created{0};
  std::atomic<bool> running{true};
  std::atomic<int> out_of_order{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sessions{0};
  {
    Dispatcher dispatcher;
    std::vector<std::thread> threads;
    for (int p = 0; p < kPublishers; p++) {
      threads.emplace_back([&, p] {
        uint64_t next = static_cast<uint64_t>(p) * kStride;
        while (running.load()) {
          dispatcher.publish(enginetest::make_counted_frame(++next, counter));
          created.fetch_add(1);
          if (next % 64 == 0) std::this_thread::yield();
        }
      });
    }
    for (int v = 0; v < kViewers; v++) {
      // Each viewer is a thread with its thread_local queue, attaching and
      // detaching over and over with every policy in turn, as client
      // threads do for viewers that come and go.
      threads.emplace_back([&, v] {
        const QueuePolicy policies[] = {QueuePolicy::kDropOldest, QueuePolicy::kDropNewest,
                                        QueuePolicy::kDisconnect};
        FrameQueue &queue = this_thread_queue();
        for (uint64_t round = 0;; round++) {
          queue.reset(1 + (round + v) % 4, policies[(round + v) % 3]);
          Dispatcher::Attachment attachment = dispatcher.attach(&queue);
          if (!attachment.accepted) break;
          sessions.fetch_add(1);
          uint64_t last_seen[kPublishers] = {};
          for (int taken = 0; taken < 20; taken++) {
            FramePtr frame;
            if (queue.pop(frame) != Event::kFrame) break;
            const uint64_t publisher = frame->sequence / kStride;
            const uint64_t number = frame->sequence % kStride;
            if (number <= last_seen[publisher]) out_of_order.fetch_add(1);
            last_seen[publisher] = number;
            received.fetch_add(1);
          }
          dispatcher.detach(&queue);
        }
        queue.reset(1, QueuePolicy::kDropOldest);
      });
    }

    std::this_thread::sleep_until(Clock::now() + kRunFor);  // the run's length, not a wait
    running.store(false);
    // Publishers stop first; viewers blocked in pop() are then woken by the
    // shutdown, and any that attach later are refused.
    for (int p = 0; p < kPublishers; p++) threads[p].join();
    dispatcher.shutdown();
    for (size_t i = kPublishers; i < threads.size(); i++) threads[i].join();
  }
  g_assert_cmpint(out_of_order.load(), ==, 0);
  g_assert_cmpuint(sessions.load(), >, 0);
  g_assert_cmpuint(received.load(), >, 0);
  g_assert_cmpuint(counter.released.load(), ==, created.load());
}

void test_engine_under_contention() {
  mjpeghttp::EngineConfig config = test_config();
  config.max_queued_frames = 3;
  EngineFixture fixture(config);
  const unsigned port = fixture.start();
  // Viewers stop before the publishers: a viewer in the middle of a part
  // needs the frames that complete it.
  std::atomic<bool> publishing{true};
  std::atomic<bool> viewing{true};
  std::atomic<uint64_t> parts{0};
  std::atomic<uint64_t> visits{0};
  std::atomic<int> failures{0};
  std::mutex failure_mutex;
  std::string first_failure;
  auto record_failure = [&](const std::string &why) {
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (failures.fetch_add(1) == 0) first_failure = why;
  };

  std::vector<std::thread> threads;
  for (int p = 0; p < 2; p++) {
    threads.emplace_back([&, p] {
      for (uint64_t seed = 1; publishing.load(); seed++) {
        fixture.publish(seed * 2 + p, 2000 + seed % 5000, g_get_real_time(), seed % 3 + 1);
        std::this_thread::sleep_for(milliseconds(1));  // a source's frame interval
      }
    });
  }
  std::vector<std::thread> viewers;
  for (int v = 0; v < kViewers; v++) {
    viewers.emplace_back([&] {
      while (viewing.load()) {
        StreamConnection viewer;
        HttpHead head;
        if (!viewer.request(port, "GET", "/stream") ||
            !viewer.read_head(&head, StreamConnection::in(kIoLimit)) || head.status != 200) {
          record_failure("stream request: " + viewer.error());
          return;
        }
        visits.fetch_add(1);
        for (int i = 0; i < 3; i++) {
          StreamPart part;
          if (!viewer.read_part(&part, StreamConnection::in(kIoLimit))) {
            record_failure("part: " + viewer.error());
            return;
          }
          const std::string &body = part.body;
          if (body.size() < 4 || static_cast<unsigned char>(body[0]) != 0xFF ||
              static_cast<unsigned char>(body[1]) != 0xD8 ||
              static_cast<unsigned char>(body[body.size() - 1]) != 0xD9) {
            record_failure("part is not the JPEG-like payload");
            return;
          }
          parts.fetch_add(1);
        }
      }
    });
  }
  // Reads what the element's getters read, while everything else moves.
  // (viewers_now may briefly exceed the connected viewers: a thread counts
  // until it notices its viewer left.)
  std::atomic<uint64_t> stats_reads{0};
  threads.emplace_back([&] {
    while (publishing.load()) {
      mjpeghttp::StatsSnapshot stats = fixture.engine->snapshot();
      if (stats.frames_sent > 0 && stats.bytes_served == 0) record_failure("frames without bytes");
      (void)fixture.engine->num_viewers();
      stats_reads.fetch_add(1);
      std::this_thread::sleep_for(milliseconds(1));
    }
  });

  std::this_thread::sleep_until(Clock::now() + kRunFor);  // the run's length, not a wait
  viewing.store(false);
  for (std::thread &thread : viewers) thread.join();
  publishing.store(false);
  for (std::thread &thread : threads) thread.join();
  if (failures.load() > 0)
    g_error("%d failures, first: %s", failures.load(), first_failure.c_str());
  g_assert_cmpuint(visits.load(), >, 0);
  g_assert_cmpuint(parts.load(), >=, visits.load());
  g_assert_cmpuint(stats_reads.load(), >, 0);

  fixture.engine->stop();
  // Every viewer that came also left, and the counts agree.
  g_assert_cmpint(fixture.added.load(), ==, fixture.removed.load());
  g_assert_cmpuint(fixture.engine->snapshot().viewers_total, ==,
                   static_cast<uint64_t>(fixture.added.load()));
  g_assert_cmpuint(fixture.engine->snapshot().frames_published, ==, fixture.published.load());
  fixture.engine.reset();
  g_assert_cmpuint(fixture.counter.released.load(), ==, fixture.published.load());
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/concurrency/dispatcher-under-contention", test_dispatcher_under_contention);
  g_test_add_func("/concurrency/engine-under-contention", test_engine_under_contention);
  return g_test_run();
}
