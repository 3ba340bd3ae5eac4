// SPDX-License-Identifier: LGPL-2.1-or-later
// Bounded waiting for a condition that another thread (the element's HTTP or
// viewer threads, or a client thread of the test) makes true.
#pragma once

#include <glib.h>

namespace element_test {

// Long enough for a loaded CI machine, short enough that a hang fails the
// test well before the check framework's own timeout.
constexpr int kAwaitMs = 10000;

// Polls `condition` every 2 ms until it holds or `timeout_ms` has passed;
// returns whether it held.
template <typename Condition>
bool await_condition(Condition condition, int timeout_ms = kAwaitMs) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  for (;;) {
    if (condition()) return true;
    if (g_get_monotonic_time() >= deadline) return false;
    g_usleep(2000);
  }
}

}  // namespace element_test
