// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace mjpeghttp {

void Doorbell::ring() {
  // Sequentially consistent with wait()'s own pair of operations: either
  // the waiter sees the new count before sleeping, or this sees the waiter.
  rings_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) == 0) return;
  syscall(SYS_futex, &rings_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

void Doorbell::wait(uint32_t seen, int timeout_ms) {
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  if (rings_.load(std::memory_order_seq_cst) == seen) {
    timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    // The kernel sleeps only while the word still holds `seen`.
    syscall(SYS_futex, &rings_, FUTEX_WAIT_PRIVATE, seen, timeout_ms < 0 ? nullptr : &timeout,
            nullptr, 0);
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace mjpeghttp
