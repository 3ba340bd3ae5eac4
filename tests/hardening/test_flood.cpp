// SPDX-License-Identifier: LGPL-2.1-or-later
// More connections than the process has descriptors for: the server must
// neither spin nor die. While the flood lasts it pauses accepting (saying so
// once), the viewers it already serves go on, and once the flood ends new
// viewers are served again.
#include <gst/check/gstcheck.h>

#include <string>

#include "await.h"
#include "check_suite.h"
#include "fd_flood.h"
#include "live_stream.h"
#include "raw_socket.h"

using namespace hardening_test;
using namespace test_support;

namespace {

// Descriptors the server may still open under the lowered limit: a few
// dozen accepted connections, then EMFILE with the rest in the backlog.
constexpr int kHeadroom = 32;
constexpr int kFloodConnections = 300;
// Long enough to tell a paused accept loop (a few wake-ups) from one that
// retries at once (it burns the whole window).
constexpr gint64 kWindowUs = G_USEC_PER_SEC;
constexpr gint64 kMaxHttpThreadCpuUs = 200 * 1000;

}  // namespace

GST_START_TEST(test_descriptor_exhaustion) {
  LiveStream live;
  LogCounter paused("cannot accept connections");
  LogCounter resumed("accepting connections again");
  {
    const ThreadCpuClock http_thread("mjpeghttp-http");
    fail_unless(http_thread.found(), "no HTTP thread found");
    FdLimit limit(kHeadroom);
    fail_unless(limit.ok(), "cannot lower RLIMIT_NOFILE");
    ConnectionFlood flood(live.port(), kFloodConnections);
    fail_unless_equals_int(flood.await_connected(10000), kFloodConnections);
    fail_unless(test_support::await_condition([&] { return paused.count() > 0; }),
                "the server never reported running out of descriptors");

    const gint64 cpu_before = http_thread.used_us();
    const gint64 window_start = g_get_monotonic_time();
    // A measuring window, not a wait for a condition: what the HTTP thread
    // spends while the flood stays.
    g_usleep(kWindowUs);
    const gint64 spent = http_thread.used_us() - cpu_before;
    const gint64 window = g_get_monotonic_time() - window_start;
    fail_unless(spent < kMaxHttpThreadCpuUs,
                "the HTTP thread spent %lld ms of CPU in %lld ms of descriptor exhaustion",
                static_cast<long long>(spent / 1000), static_cast<long long>(window / 1000));
    fail_unless_equals_int(paused.count(), 1);
    // The viewers already served go on meanwhile.
    live.expect_viewers_intact("during the flood", 10);

    fail_unless(flood.end(10000), "the flood's process did not end");
    // Still under the lowered limit: the closed connections gave their
    // descriptors back, and a new viewer is served.
    Exchange answer = exchange(live.port(), get_request(live.port(), "/snapshot"), 10000);
    fail_unless_equals_int(answer.head.status, 200);
  }
  // Said once the backlog the flood left is taken in, which may come a
  // moment after the first new viewer is served.
  fail_unless(test_support::await_condition([&] { return resumed.count() >= 1; }),
              "the server never said it accepts again");
  live.expect_undisturbed("descriptor exhaustion");
}
GST_END_TEST;

static Suite *hardening_flood_suite() {
  return test_support::single_case_suite("mjpeghttpsink-hardening-flood", "flood",
                                         {NAMED_TEST(test_descriptor_exhaustion)}, 60);
}

int main(int argc, char **argv) {
  return run_battery(argc, argv, hardening_flood_suite, "hardening_flood", __FILE__);
}
