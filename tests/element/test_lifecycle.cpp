// SPDX-License-Identifier: LGPL-2.1-or-later
// The element's life: a port already in use, viewers coming and going
// (signals, num-clients), and many start/stop cycles leaving no thread or
// file descriptor behind.
#include <arpa/inet.h>
#include <gst/check/gstcheck.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;

namespace {

// A listening socket of the test's own on 127.0.0.1, to occupy a port.
class PortSquatter {
 public:
  PortSquatter() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    fail_unless(fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr *>(&address), length) == 0 &&
                listen(fd_, 4) == 0 &&
                getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~PortSquatter() { release(); }
  int port() const { return port_; }
  void release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// What the client signals reported, from whichever thread emitted them.
struct ViewerLog {
  std::mutex mutex;
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::set<GThread *> emitting_threads;
  std::atomic<int> num_clients_notifications{0};

  bool saw(const std::vector<std::string> &list, const std::string &address) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::find(list.begin(), list.end(), address) != list.end();
  }
  size_t count(const std::vector<std::string> &list) {
    std::lock_guard<std::mutex> lock(mutex);
    return list.size();
  }
};

void on_client_added(GstElement *, const gchar *address, ViewerLog *log) {
  std::lock_guard<std::mutex> lock(log->mutex);
  log->added.push_back(address);
  log->emitting_threads.insert(g_thread_self());
}

void on_client_removed(GstElement *, const gchar *address, ViewerLog *log) {
  std::lock_guard<std::mutex> lock(log->mutex);
  log->removed.push_back(address);
  log->emitting_threads.insert(g_thread_self());
}

void on_num_clients(GObject *, GParamSpec *, ViewerLog *log) { log->num_clients_notifications++; }

std::string loopback_address(int port) { return "127.0.0.1:" + std::to_string(port); }

// One start with a viewer that receives a frame, then a stop while it is
// still connected. Returns the stream's boundary.
std::string cycle_with_viewer(SinkPipeline &pipeline, const Bytes &jpeg) {
  fail_unless(pipeline.play());
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(pipeline.push_jpeg(jpeg));
  fail_unless(viewer.await_parts(1), "%s", viewer.detail().c_str());
  pipeline.stop();
  // Stopping cuts the viewer off: the server closes the connection.
  StreamEnd end = viewer.await_end();
  fail_unless(end == StreamEnd::kClosedEarly, "after stop the stream is %s",
              viewer.detail().c_str());
  return viewer.boundary();
}

}  // namespace

GST_START_TEST(test_port_in_use_fails_with_open_write) {
  PortSquatter squatter;
  const int squatted_port = squatter.port();
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "port", squatted_port, nullptr);
  fail_unless_equals_int(gst_element_set_state(pipeline.pipeline(), GST_STATE_PAUSED),
                         GST_STATE_CHANGE_FAILURE);

  GstMessage *message = pipeline.await_message(GST_MESSAGE_ERROR, kAwaitMs);
  fail_unless(message != nullptr, "no error on the bus");
  fail_unless(GST_MESSAGE_SRC(message) == GST_OBJECT(pipeline.sink()));
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  fail_unless(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE),
              "error %s (%d) is not RESOURCE OPEN_WRITE", error->message, error->code);
  const std::string where = loopback_address(squatted_port);
  fail_unless(strstr(error->message, where.c_str()) != nullptr, "'%s' does not name %s",
              error->message, where.c_str());
  g_error_free(error);
  g_free(debug);
  gst_message_unref(message);
  fail_unless_equals_int(pipeline.port(), 0);
  pipeline.stop();

  // Once the port is free the same element takes it.
  squatter.release();
  fail_unless(pipeline.play(), "cannot listen on the freed port");
  fail_unless_equals_int(pipeline.port(), squatted_port);
}
GST_END_TEST;

GST_START_TEST(test_client_signals_and_num_clients) {
  const std::vector<Bytes> frames = distinct_jpegs(2);
  fail_unless_equals_int(frames.size(), 2);
  SinkPipeline pipeline;
  ViewerLog log;
  g_signal_connect(pipeline.sink(), "client-added", G_CALLBACK(on_client_added), &log);
  g_signal_connect(pipeline.sink(), "client-removed", G_CALLBACK(on_client_removed), &log);
  g_signal_connect(pipeline.sink(), "notify::num-clients", G_CALLBACK(on_num_clients), &log);
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(frames[0]));

  auto first = std::make_unique<RawViewer>(pipeline.port());
  fail_unless(first->streaming());
  const std::string first_address = loopback_address(first->local_port());
  fail_unless(await_condition([&] { return log.saw(log.added, first_address); }),
              "no client-added for %s", first_address.c_str());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(await_condition([&] { return log.num_clients_notifications >= 1; }));

  RawViewer second(pipeline.port());
  const std::string second_address = loopback_address(second.local_port());
  fail_unless(await_condition([&] { return log.saw(log.added, second_address); }),
              "no client-added for %s", second_address.c_str());
  fail_unless(pipeline.await_num_clients(2));
  fail_unless(await_condition([&] { return log.num_clients_notifications >= 2; }));
  fail_unless_equals_int(log.count(log.added), 2);
  fail_unless_equals_int(log.count(log.removed), 0);

  first.reset();
  fail_unless(
      pipeline.pump_frames_until(frames[1], [&] { return log.saw(log.removed, first_address); }),
      "no client-removed for %s", first_address.c_str());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(await_condition([&] { return log.num_clients_notifications >= 3; }));
  fail_if(log.saw(log.removed, second_address));

  // Stopping removes the viewers still there.
  pipeline.stop();
  fail_unless(log.saw(log.removed, second_address), "no client-removed for %s on stop",
              second_address.c_str());
  fail_unless_equals_int(log.count(log.removed), 2);
  fail_unless_equals_int(pipeline.num_clients(), 0);
  fail_unless(log.num_clients_notifications >= 4);
  {
    // Viewer threads, not the application's.
    std::lock_guard<std::mutex> lock(log.mutex);
    fail_if(log.emitting_threads.count(g_thread_self()), "a client signal on the test thread");
  }
  g_signal_handlers_disconnect_by_data(pipeline.sink(), &log);
}
GST_END_TEST;

GST_START_TEST(test_restart_on_same_port) {
  const std::vector<Bytes> frames = distinct_jpegs(2);
  fail_unless_equals_int(frames.size(), 2);
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  const int port = pipeline.port();
  pipeline.stop();
  g_object_set(pipeline.sink(), "port", port, nullptr);

  // The stop closes the viewer's connection from the server side, leaving it
  // in TIME-WAIT there; the next start must still bind.
  cycle_with_viewer(pipeline, frames[0]);
  fail_unless(pipeline.play(), "restart on port %d failed", port);
  fail_unless_equals_int(pipeline.port(), port);
  RawViewer viewer(port);
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(pipeline.push_jpeg(frames[1]));
  fail_unless(viewer.await_parts(1), "%s", viewer.detail().c_str());
  fail_unless(viewer.parts()[0].body == frames[1]);
}
GST_END_TEST;

GST_START_TEST(test_start_stop_cycles_leave_nothing_behind) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  fail_unless_equals_int(frames.size(), 1);
  SinkPipeline pipeline;
  // GStreamer and GLib create some threads and fds once, on first use (task
  // pool, debug output): a first cycle sets the baseline.
  cycle_with_viewer(pipeline, frames[0]);
  const int baseline_fds = count_open_fds();
  const int baseline_threads = count_threads();
  fail_unless(baseline_fds > 0 && baseline_threads > 0);

  std::set<std::string> boundaries;
  constexpr int kCycles = 50;
  for (int i = 0; i < kCycles; i++) {
    if (i % 5 == 0) {
      boundaries.insert(cycle_with_viewer(pipeline, frames[0]));
    } else {
      fail_unless(pipeline.play(), "cycle %d did not start", i);
      pipeline.stop();
    }
    fail_unless_equals_int(pipeline.port(), 0);
  }
  // A fresh boundary per start.
  fail_unless_equals_int(boundaries.size(), kCycles / 5);

  const bool settled = await_condition(
      [&] { return count_open_fds() <= baseline_fds && count_threads() <= baseline_threads; });
  fail_unless(settled, "after %d cycles: %d fds (baseline %d), %d threads (baseline %d)", kCycles,
              count_open_fds(), baseline_fds, count_threads(), baseline_threads);
}
GST_END_TEST;

static Suite *element_lifecycle_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-lifecycle", "lifecycle",
      {NAMED_TEST(test_port_in_use_fails_with_open_write),
       NAMED_TEST(test_client_signals_and_num_clients), NAMED_TEST(test_restart_on_same_port),
       NAMED_TEST(test_start_stop_cycles_leave_nothing_behind)});
}

GST_CHECK_MAIN(element_lifecycle);
