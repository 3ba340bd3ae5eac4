// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sink_pipeline.h"

#include <dirent.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

#include "abandoned_pipelines.h"
#include "await.h"

namespace test_support {

SinkPipeline::SinkPipeline() {
  pipeline_ = gst_pipeline_new("under-test");
  track_pipeline(pipeline_);
  source_ = gst_element_factory_make("appsrc", "source");
  sink_ = gst_element_factory_make("mjpeghttpsink", "sink");
  fail_unless(source_ != nullptr, "appsrc is missing");
  fail_unless(sink_ != nullptr, "mjpeghttpsink is missing: is GST_PLUGIN_PATH set?");
  GstCaps *caps = gst_caps_new_empty_simple("image/jpeg");
  // A live source like a camera; the sink renders each buffer on arrival
  // (sync=false) so a pushed frame is published without waiting on a clock.
  g_object_set(source_, "is-live", TRUE, "format", GST_FORMAT_TIME, "caps", caps, nullptr);
  gst_caps_unref(caps);
  // Parts the test did not push (an idle resend after 1 s, a "no signal"
  // picture after 2 s) would come between two pushes whenever a loaded
  // machine keeps the test off the CPU that long; a test that wants them
  // turns them on.
  g_object_set(sink_, "port", 0, "sync", FALSE, "idle-resend", 0u, "source-timeout", 0u, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_), source_, sink_, nullptr);
  fail_unless(gst_element_link(source_, sink_));
}

SinkPipeline::~SinkPipeline() {
  stop();
  untrack_pipeline(pipeline_);
  gst_object_unref(pipeline_);
}

bool SinkPipeline::play() {
  // A live pipeline completes PLAYING only with its first buffer, so this
  // does not wait for that: the server listens as soon as the call returns.
  return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE &&
         port() > 0;
}

void SinkPipeline::start_serving(const Bytes &first_frame) {
  fail_unless(play(), "the sink did not start listening");
  fail_unless(push_jpeg(first_frame), "the sink did not publish the first frame");
}

void SinkPipeline::stop() { gst_element_set_state(pipeline_, GST_STATE_NULL); }

int SinkPipeline::port() const {
  gint port = 0;
  g_object_get(sink_, "current-port", &port, nullptr);
  return port;
}

bool SinkPipeline::push_jpeg(const Bytes &jpeg) {
  return push_and_await(buffer_from_bytes(jpeg), "frames-published");
}

bool SinkPipeline::push_and_await(GstBuffer *buffer, const char *counter) {
  const guint64 before = stat(counter);
  if (gst_app_src_push_buffer(GST_APP_SRC(source_), buffer) != GST_FLOW_OK) return false;
  return await_condition([&] { return stat(counter) > before; });
}

void SinkPipeline::push_eos() { gst_app_src_end_of_stream(GST_APP_SRC(source_)); }

guint64 sink_stat(GstElement *sink, const char *field) {
  GstStructure *stats = nullptr;
  g_signal_emit_by_name(sink, "get-stats", &stats);
  fail_unless(stats != nullptr, "get-stats returned nothing");
  guint64 value = 0;
  if (!gst_structure_get_uint64(stats, field, &value)) {
    guint small = 0;
    fail_unless(gst_structure_get_uint(stats, field, &small), "no stat %s", field);
    value = small;
  }
  gst_structure_free(stats);
  return value;
}

guint64 SinkPipeline::stat(const char *field) const { return sink_stat(sink_, field); }

guint SinkPipeline::num_clients() const {
  guint clients = 0;
  g_object_get(sink_, "num-clients", &clients, nullptr);
  return clients;
}

bool SinkPipeline::await_num_clients(guint expected) const {
  return await_condition([&] { return num_clients() == expected; });
}

GstMessage *SinkPipeline::await_message(GstMessageType types, int timeout_ms) const {
  GstBus *bus = gst_element_get_bus(pipeline_);
  GstMessage *message =
      gst_bus_timed_pop_filtered(bus, static_cast<GstClockTime>(timeout_ms) * GST_MSECOND, types);
  gst_object_unref(bus);
  return message;
}

std::vector<GstMessage *> SinkPipeline::take_messages(GstMessageType types) const {
  std::vector<GstMessage *> messages;
  GstBus *bus = gst_element_get_bus(pipeline_);
  while (GstMessage *message = gst_bus_pop_filtered(bus, types)) messages.push_back(message);
  gst_object_unref(bus);
  return messages;
}

static int count_directory_entries(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return -1;
  int count = 0;
  while (struct dirent *entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count;
}

// The directory stream's own fd is counted too; it is there every time.
int count_open_fds() { return count_directory_entries("/proc/self/fd"); }
int count_threads() { return count_directory_entries("/proc/self/task"); }

}  // namespace test_support
