// SPDX-License-Identifier: LGPL-2.1-or-later
// Bounded waiting for a condition that another thread (the element's HTTP or
// viewer threads, or a client thread of the test) makes true. The one way the
// tests wait: never a fixed sleep standing in for a condition.
#pragma once

#include <glib.h>

#include <chrono>

namespace test_support {

// Long enough for a loaded CI machine, short enough that a hang fails the
// test well before the check framework's own timeout.
constexpr int kAwaitMs = 10000;

// Microseconds on the monotonic clock, `ms` from now.
inline gint64 deadline_in(int ms) {
  return g_get_monotonic_time() + static_cast<gint64>(ms) * 1000;
}

// Milliseconds left until `deadline` (0 once passed), for poll().
inline int remaining_ms(gint64 deadline) {
  const gint64 left = deadline - g_get_monotonic_time();
  if (left <= 0) return 0;
  return static_cast<int>(left > G_GINT64_CONSTANT(60000000) ? 60000 : (left + 999) / 1000);
}

// Polls `condition` every 2 ms until it holds or `timeout_ms` has passed;
// the last check comes after the deadline, so a condition that became true
// just in time still counts.
template <typename Condition>
bool await_condition(Condition condition, int timeout_ms = kAwaitMs) {
  const gint64 deadline = deadline_in(timeout_ms);
  for (;;) {
    if (condition()) return true;
    if (g_get_monotonic_time() >= deadline) return condition();
    g_usleep(2000);
  }
}

template <typename Condition>
bool await_condition(Condition condition, std::chrono::milliseconds limit) {
  return await_condition(condition, static_cast<int>(limit.count()));
}

}  // namespace test_support
