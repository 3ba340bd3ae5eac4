// SPDX-License-Identifier: LGPL-2.1-or-later
// Wakes every thread waiting on it with one system call: the fan-out rings it
// once per frame, after the frame is in every viewer's queue, instead of
// signalling each viewer's condition variable in turn (one futex call per
// viewer per frame from the fan-out thread). The kernel still wakes each
// waiter; what goes away is a system call and a condition variable's
// bookkeeping per viewer. A Linux futex word with a count of waiters, so a
// ring nobody waits for costs no system call at all.
#pragma once

#include <atomic>
#include <cstdint>

namespace mjpeghttp {

class Doorbell {
 public:
  // Read before looking for work, then passed to wait(): a ring between the
  // two makes wait() return at once, so no ring is ever missed.
  uint32_t state() const { return rings_.load(std::memory_order_seq_cst); }
  void ring();
  // Returns once rung after `seen`, after `timeout_ms` (negative: no limit),
  // or spuriously; callers look for work again either way.
  void wait(uint32_t seen, int timeout_ms);

 private:
  std::atomic<uint32_t> rings_{0};
  std::atomic<uint32_t> waiters_{0};
};

}  // namespace mjpeghttp
