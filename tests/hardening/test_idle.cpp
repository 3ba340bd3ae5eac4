// SPDX-License-Identifier: LGPL-2.1-or-later
// Clients that hold connections without finishing a request: slowloris,
// connections that send nothing, a keep-alive connection left idle. The
// element cuts each off after request-timeout (2 s here, to bound the test)
// and keeps serving everyone else meanwhile.
#include <gst/check/gstcheck.h>

#include <functional>
#include <string>

#include "check_suite.h"
#include "live_stream.h"
#include "swarm.h"

using namespace hardening_test;
using namespace test_support;

namespace {

constexpr guint kRequestTimeoutS = 2;
// A cut-off earlier than this is not the request timeout (the timer may only
// start once the connection is accepted, after our connect()).
constexpr gint64 kEarliestCutUs = kRequestTimeoutS * G_USEC_PER_SEC - 100 * 1000;
// Timer slack plus a loaded machine.
constexpr gint64 kLatestCutUs = (kRequestTimeoutS + 2) * G_USEC_PER_SEC;

LiveOptions with_request_timeout() {
  LiveOptions options;
  options.request_timeout_s = kRequestTimeoutS;
  return options;
}

// While idle connections pile up, a normal request is still answered, and
// while every one of them is still open: a request held up behind them would
// be answered only once request-timeout had cut them off. (Ordered by cause,
// not by a time limit a loaded machine could miss.)
void expect_snapshot_served(int port, Swarm &swarm, const char *case_name) {
  const gint64 start = g_get_monotonic_time();
  Exchange answer = exchange(port, get_request(port, "/snapshot"), kLatestCutUs / 1000);
  const gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
  fail_unless_equals_int(answer.head.status, 200);
  const size_t cut_before_answer = swarm.count_ended_now();
  fail_unless(cut_before_answer == 0,
              "%s: /snapshot was answered (after %lld ms) only once %zu idle connections had "
              "been cut off",
              case_name, static_cast<long long>(took_ms), cut_before_answer);
}

// Every member was cut off by the server, each about request-timeout after
// it connected at `start`.
void expect_cut_off_on_time(const Swarm &swarm, size_t ended, gint64 start, const char *case_name) {
  size_t early = 0;
  size_t late = 0;
  gint64 first = G_MAXINT64;
  gint64 last = 0;
  for (size_t i = 0; i < swarm.size(); i++) {
    const gint64 at = swarm[i].socket->ended_us();
    if (at == 0) continue;
    first = std::min(first, at - start);
    last = std::max(last, at - start);
    if (at - start < kEarliestCutUs) early++;
    if (at - start > kLatestCutUs) late++;
  }
  size_t still_open = 0;
  for (size_t i = 0; i < swarm.size(); i++) still_open += swarm[i].socket->open() ? 1 : 0;
  fail_unless(ended == swarm.size(),
              "%s: %zu of %zu connections not cut off by the server %lld ms after they "
              "connected (%zu still open, the others failed on the client's side; "
              "request-timeout=%u s)",
              case_name, swarm.size() - ended, swarm.size(),
              static_cast<long long>((g_get_monotonic_time() - start) / 1000), still_open,
              kRequestTimeoutS);
  fail_unless(early == 0 && late == 0,
              "%s: cut off between %lld and %lld ms after connecting (%zu too early, %zu too "
              "late); expected about %u s",
              case_name, static_cast<long long>(first / 1000), static_cast<long long>(last / 1000),
              early, late, kRequestTimeoutS);
}

// `count` connections to a stream with request-timeout set, which
// `hold_idle` keeps from ever finishing a request until the server has cut
// them off (it returns how many it saw cut off): each must be cut off about
// request-timeout after it connected, and the stream go on undisturbed.
void expect_idle_connections_cut_off(
    size_t count, const char *case_name,
    const std::function<size_t(LiveStream &live, Swarm &swarm)> &hold_idle) {
  LiveStream live(with_request_timeout());
  const gint64 start = g_get_monotonic_time();
  Swarm swarm(live.port(), count);
  fail_unless_equals_int(swarm.await_connected(5000), count);
  const size_t ended = hold_idle(live, swarm);
  expect_cut_off_on_time(swarm, ended, start, case_name);
  swarm.close_all();
  live.expect_undisturbed(case_name);
}

}  // namespace

GST_START_TEST(test_slowloris) {
  expect_idle_connections_cut_off(
      50, "50 slowloris connections", [](LiveStream &live, Swarm &swarm) {
        // One byte a second, each a little further into a request whose header
        // block never ends: progress must not keep a connection alive.
        const std::string request = get_request(live.port(), "/stream", "X-Slow: ");
        size_t next_byte = 0;
        auto send_next_byte = [&] {
          const std::string byte = request.substr(next_byte % request.size(), 1);
          next_byte++;
          for (size_t i = 0; i < swarm.size(); i++) swarm[i].socket->send_now(byte);
        };
        send_next_byte();
        expect_snapshot_served(live.port(), swarm, "slowloris");
        return swarm.await_ended(static_cast<int>(kLatestCutUs / 1000) + 1000, 1000,
                                 [&] { send_next_byte(); });
      });
}
GST_END_TEST;

GST_START_TEST(test_silent_connections) {
  expect_idle_connections_cut_off(
      200, "200 silent connections", [](LiveStream &live, Swarm &swarm) {
        expect_snapshot_served(live.port(), swarm, "200 silent connections");
        return swarm.await_ended(static_cast<int>(kLatestCutUs / 1000) + 1000);
      });
}
GST_END_TEST;

GST_START_TEST(test_idle_keepalive) {
  LiveStream live(with_request_timeout());
  RawSocket client(live.port());
  fail_unless(client.connected(5000));
  // A client that would keep the connection for another request and then
  // never sends one: the server has said Connection: close, and must close.
  fail_unless(
      client.send_all(get_request(live.port(), "/snapshot", "Connection: keep-alive\r\n"), 5000));
  HttpHead head;
  fail_unless(client.read_head(&head, deadline_in(5000)), "idle keep-alive: no answer");
  fail_unless_equals_int(head.status, 200);
  std::string body;
  fail_unless(
      client.read_exact(std::stoul(head.header("Content-Length")), &body, deadline_in(5000)));
  const gint64 answered = g_get_monotonic_time();
  const bool ended = client.await_end(static_cast<int>(kLatestCutUs / 1000));
  fail_unless(ended, "idle keep-alive: connection still open %lld ms after the answer (%s)",
              static_cast<long long>((g_get_monotonic_time() - answered) / 1000),
              head.header("Connection").c_str());
  client.close_now();
  live.expect_undisturbed("idle keep-alive connection");
}
GST_END_TEST;

GST_START_TEST(test_request_timeout_property) {
  // Documented name, type, default and "0 = never", so applications can rely
  // on it; the other cases here fail with this message while it is missing.
  fail_unless(has_request_timeout(), "request-timeout not implemented");
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", nullptr);
  GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "request-timeout");
  fail_unless(G_IS_PARAM_SPEC_UINT(spec), "request-timeout is not a guint");
  fail_unless_equals_int(G_PARAM_SPEC_UINT(spec)->default_value, 10);
  fail_unless_equals_int(G_PARAM_SPEC_UINT(spec)->minimum, 0);
  gst_object_unref(sink);
}
GST_END_TEST;

static Suite *hardening_idle_suite() {
  return test_support::single_case_suite(
      "mjpeghttpsink-hardening-idle", "idle",
      {NAMED_TEST(test_request_timeout_property), NAMED_TEST(test_slowloris),
       NAMED_TEST(test_silent_connections), NAMED_TEST(test_idle_keepalive)});
}

int main(int argc, char **argv) {
  return run_battery(argc, argv, hardening_idle_suite, "hardening_idle", __FILE__);
}
