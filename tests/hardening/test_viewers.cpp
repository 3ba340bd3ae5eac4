// SPDX-License-Identifier: LGPL-2.1-or-later
// Viewers that break the stream from their end: one that never reads, resets
// in the middle of a frame, hangs up before its answer, half-closes, or comes
// and goes a thousand times. None may raise SIGPIPE (live_stream.cpp restores
// its default action, so one would kill the test), post an element error or
// disturb the well-behaved viewers.
#include <gst/check/gstcheck.h>

#include <string>

#include "check_suite.h"
#include "live_stream.h"
#include "swarm.h"

using namespace hardening_test;
using namespace test_support;

namespace {

constexpr guint kClientTimeoutS = 2;

// Connects to /stream and reads the head and `body_bytes` of the body.
std::unique_ptr<RawSocket> viewer_in_mid_frame(int port, size_t body_bytes) {
  auto socket = std::make_unique<RawSocket>(port);
  fail_unless(socket->connected(5000) && socket->send_all(get_request(port, "/stream"), 5000));
  HttpHead head;
  fail_unless(socket->read_head(&head, deadline_in(5000)) && head.status == 200,
              "viewer not served: status %d", head.status);
  const gint64 deadline = deadline_in(5000);
  while (socket->received().size() < body_bytes && g_get_monotonic_time() < deadline)
    fail_unless(socket->pump(1000), "stream ended before %zu bytes", body_bytes);
  fail_unless(socket->received().size() >= body_bytes);
  return socket;
}

}  // namespace

GST_START_TEST(test_viewer_never_reads) {
  LiveOptions options;
  options.client_timeout_s = kClientTimeoutS;
  LiveStream live(options);
  // A tiny receive window fills within a few frames; from then on the
  // element can write nothing and must drop the viewer after client-timeout.
  RawSocket stuck(live.port(), 4096);
  fail_unless(stuck.connected(5000) && stuck.send_all(get_request(live.port(), "/stream"), 5000));
  fail_unless(live.pipeline().await_num_clients(4), "the stuck viewer was never counted");
  const gint64 start = g_get_monotonic_time();
  const bool dropped = test_support::await_condition(
      [&] { return live.pipeline().num_clients() == 3; }, (kClientTimeoutS + 8) * 1000);
  fail_unless(dropped,
              "a viewer that never reads is still connected after %lld ms "
              "(client-timeout=%u s)",
              static_cast<long long>((g_get_monotonic_time() - start) / 1000), kClientTimeoutS);
  // Reading now finds what was queued and then the server's close.
  fail_unless(stuck.await_end(5000), "the stuck viewer's connection is %s", stuck.end_name());
  stuck.close_now();
  live.expect_undisturbed("viewer that never reads");
}
GST_END_TEST;

GST_START_TEST(test_viewer_reset_mid_frame) {
  LiveStream live;
  // Many at once, so some resets land while the element is writing.
  std::vector<std::unique_ptr<RawSocket>> viewers;
  for (int i = 0; i < 20; i++) viewers.push_back(viewer_in_mid_frame(live.port(), 100 + 37 * i));
  fail_unless(live.pipeline().await_num_clients(23));
  for (auto &viewer : viewers) viewer->reset();
  live.expect_undisturbed("viewers reset mid-frame");
}
GST_END_TEST;

GST_START_TEST(test_hang_up_before_answer) {
  LiveStream live;
  const int port = live.port();
  // Requests whose client is gone (reset or closed) by the time the answer
  // is written: the write fails with EPIPE or ECONNRESET.
  for (int round = 0; round < 50; round++) {
    const char *target = round % 3 == 0 ? "/snapshot" : round % 3 == 1 ? "/stream" : "/";
    RawSocket client(port);
    fail_unless(client.connected(5000) && client.send_all(get_request(port, target), 5000));
    if (round % 2 == 0)
      client.reset();
    else
      client.close_now();
  }
  // Viewers that close normally while frames flow to them.
  std::vector<std::unique_ptr<RawSocket>> viewers;
  for (int i = 0; i < 20; i++) viewers.push_back(viewer_in_mid_frame(port, 1));
  for (auto &viewer : viewers) viewer->close_now();
  live.expect_undisturbed("clients gone before or while being answered");
}
GST_END_TEST;

GST_START_TEST(test_half_close_after_request) {
  LiveStream live;
  const int port = live.port();
  // shutdown(SHUT_WR) after the request is a complete, legal request (curl
  // and netcat scripts do it); the client still reads its answer.
  SequenceViewer::Options half_close;
  half_close.half_close = true;
  SequenceViewer viewer(port, get_request(port, "/stream"), half_close);
  fail_unless(viewer.streaming(), "half-closed viewer not served: %s",
              viewer.head_summary().c_str());
  fail_unless(viewer.await_frames(60, 10000), "half-closed viewer: %zu frames, then: %s",
              viewer.frames(), viewer.problems_text().c_str());
  fail_unless(viewer.problems().empty(), "half-closed viewer: %s", viewer.problems_text().c_str());
  viewer.leave();

  RawSocket client(port);
  fail_unless(client.connected(5000) && client.send_all(get_request(port, "/snapshot"), 5000));
  client.half_close();
  HttpHead head;
  fail_unless(client.read_head(&head, deadline_in(5000)), "half-closed /snapshot: no answer (%s)",
              client.end_name());
  fail_unless_equals_int(head.status, 200);
  std::string body;
  fail_unless(
      client.read_exact(std::stoul(head.header("Content-Length")), &body, deadline_in(5000)),
      "half-closed /snapshot: body incomplete");
  fail_unless(client.await_end(5000), "half-closed /snapshot: connection left open");
  client.close_now();
  live.expect_undisturbed("half-close after the request");
}
GST_END_TEST;

// Issue 15: a viewer whose ?fps cap holds every frame back is written
// nothing, so no failed write ever told that it had hung up: 50 of them kept
// their descriptors, threads and max-clients slots (CLOSE-WAIT) for good.
GST_START_TEST(test_rate_capped_viewers_that_hang_up_are_reaped) {
  constexpr size_t kCapped = 50;
  LiveOptions options;
  options.max_clients = 3 + kCapped;
  LiveStream live(options);
  const int port = live.port();

  // Below the lowest cap there is no stream, and no slot is taken.
  for (const char *fps : {"1e-9", "0.001", "0.0099"}) {
    RawSocket client(port);
    fail_unless(client.connected(5000) &&
                client.send_all(get_request(port, std::string("/stream?fps=") + fps), 5000));
    HttpHead head;
    fail_unless(client.read_head(&head, deadline_in(5000)), "fps=%s: no answer (%s)", fps,
                client.end_name());
    fail_unless(head.status == 400, "fps=%s: status %d, expected 400", fps, head.status);
  }

  // The lowest cap streams: one frame now, the next in 100 s.
  Swarm capped(port, kCapped);
  fail_unless_equals_int(capped.await_connected(5000), kCapped);
  fail_unless_equals_int(capped.send_to_all(get_request(port, "/stream?fps=0.01")), kCapped);
  capped.collect_heads(10000);
  fail_unless(capped.count_status(200) == kCapped, "%zu of %zu capped viewers served",
              capped.count_status(200), kCapped);
  fail_unless(live.pipeline().await_num_clients(3 + kCapped), "num-clients %u, expected %zu",
              live.pipeline().num_clients(), 3 + kCapped);
  // Every slot is taken: the next viewer is refused.
  {
    RawSocket extra(port);
    fail_unless(extra.connected(5000) && extra.send_all(get_request(port, "/stream"), 5000));
    HttpHead head;
    fail_unless(extra.read_head(&head, deadline_in(5000)) && head.status == 503,
                "a viewer beyond max-clients got %d", head.status);
  }

  // They hang up while frames flow (none of which they are sent). Noticed
  // within about a second; the bound is generous for a loaded machine.
  capped.close_all();
  const gint64 start = g_get_monotonic_time();
  const bool reaped =
      test_support::await_condition([&] { return live.pipeline().num_clients() == 3; }, 15000);
  const long long reaped_ms = (g_get_monotonic_time() - start) / 1000;
  fail_unless(reaped, "%u viewers still counted %lld ms after %zu capped viewers hung up",
              live.pipeline().num_clients(), reaped_ms, kCapped);

  // Their slots serve again.
  live.expect_slots_serve(kCapped, "the hang-up");
  live.expect_undisturbed("rate-capped viewers that hang up");
}
GST_END_TEST;

GST_START_TEST(test_connect_disconnect_cycles) {
  LiveStream live;
  const int port = live.port();
  const guint64 viewers_before = live.pipeline().stat("viewers-total");
  constexpr int kCycles = 1000;
  constexpr gint64 kBoundUs = 60 * G_USEC_PER_SEC;
  const gint64 start = g_get_monotonic_time();
  int served = 0;
  for (int cycle = 0; cycle < kCycles; cycle++) {
    fail_unless(g_get_monotonic_time() - start < kBoundUs, "only %d cycles in %lld s", cycle,
                static_cast<long long>(kBoundUs / G_USEC_PER_SEC));
    RawSocket client(port);
    fail_unless(client.connected(5000), "cycle %d: cannot connect", cycle);
    fail_unless(client.send_all(get_request(port, "/stream"), 5000), "cycle %d: cannot send",
                cycle);
    // Leave right away, after the head, or after the head with a reset.
    if (cycle % 3 != 0) {
      HttpHead head;
      fail_unless(client.read_head(&head, deadline_in(5000)) && head.status == 200,
                  "cycle %d: status %d (%s)", cycle, head.status, client.end_name());
      served++;
      if (cycle % 3 == 2) client.reset();
    }
  }
  // Every viewer that got its head was counted; the others may or may not
  // have been, depending on when their close was seen.
  fail_unless(
      test_support::await_condition([&] {
        return live.pipeline().stat("viewers-total") - viewers_before >=
               static_cast<guint64>(served);
      }),
      "viewers-total grew by %llu for %d viewers served",
      static_cast<unsigned long long>(live.pipeline().stat("viewers-total") - viewers_before),
      served);
  live.expect_undisturbed("1000 connect/disconnect cycles");
}
GST_END_TEST;

static Suite *hardening_viewers_suite() {
  return test_support::single_case_suite(
      "mjpeghttpsink-hardening-viewers", "viewers",
      {NAMED_TEST(test_viewer_never_reads), NAMED_TEST(test_viewer_reset_mid_frame),
       NAMED_TEST(test_hang_up_before_answer), NAMED_TEST(test_half_close_after_request),
       NAMED_TEST(test_rate_capped_viewers_that_hang_up_are_reaped),
       NAMED_TEST(test_connect_disconnect_cycles)});
}

int main(int argc, char **argv) {
  return run_battery(argc, argv, hardening_viewers_suite, "hardening_viewers", __FILE__);
}
