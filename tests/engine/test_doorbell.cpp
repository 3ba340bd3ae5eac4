// SPDX-License-Identifier: LGPL-2.1-or-later
// The doorbell the fan-out rings once per frame for every waiting viewer.
#include <glib.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "stream/doorbell.h"
#include "test_support.h"

using namespace enginetest;
using namespace test_support;
using mjpeghttp::Doorbell;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// A ring that came after the waiter read the state but before it slept is
// not lost: wait() returns at once.
void test_ring_before_wait_is_not_lost() {
  Doorbell doorbell;
  const uint32_t seen = doorbell.state();
  doorbell.ring();
  const Clock::time_point start = Clock::now();
  doorbell.wait(seen, 10000);
  g_assert_cmpint(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count(), <, 5000);
  g_assert_cmpuint(doorbell.state(), !=, seen);
}

// One ring wakes every sleeper, each really asleep first.
void test_one_ring_wakes_every_sleeper() {
  Doorbell doorbell;
  constexpr int kSleepers = 8;
  std::atomic<int> woken{0};
  std::vector<pid_t> tids(kSleepers, 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  const uint32_t seen = doorbell.state();
  for (int i = 0; i < kSleepers; i++) {
    threads.emplace_back([&, i] {
      tids[i] = current_tid();
      ready.fetch_add(1);
      while (doorbell.state() == seen) doorbell.wait(seen, -1);
      woken.fetch_add(1);
    });
  }
  g_assert_true(await_condition([&] { return ready.load() == kSleepers; }, milliseconds(5000)));
  for (pid_t tid : tids) g_assert_true(await_thread_sleeping(tid, milliseconds(5000)));
  g_assert_cmpint(woken.load(), ==, 0);
  doorbell.ring();
  g_assert_true(await_condition([&] { return woken.load() == kSleepers; }, milliseconds(5000)));
  for (std::thread &thread : threads) thread.join();
}

void test_wait_times_out_without_a_ring() {
  Doorbell doorbell;
  const Clock::time_point start = Clock::now();
  doorbell.wait(doorbell.state(), 50);
  const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  g_assert_cmpint(waited, >=, 45);
  g_assert_cmpint(waited, <, 5000);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/doorbell/ring-before-wait-is-not-lost", test_ring_before_wait_is_not_lost);
  g_test_add_func("/doorbell/one-ring-wakes-every-sleeper", test_one_ring_wakes_every_sleeper);
  g_test_add_func("/doorbell/wait-times-out-without-a-ring", test_wait_times_out_without_a_ring);
  return g_test_run();
}
