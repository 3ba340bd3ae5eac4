// SPDX-License-Identifier: LGPL-2.1-or-later
#include "mount_rig.h"

#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "abandoned_pipelines.h"
#include "await.h"
#include "sink_pipeline.h"

namespace mounts_test {

std::vector<Bytes> camera_frames(unsigned camera, int count) {
  static const char *const patterns[] = {"ball", "smpte", "snow", "pinwheel"};
  std::vector<Bytes> frames =
      test_support::encode_jpegs(count, patterns[camera % G_N_ELEMENTS(patterns)]);
  for (size_t i = 0; i < frames.size(); i++)
    frames[i] = live_frame({frames[i]}, camera, static_cast<unsigned>(i));
  return frames;
}

namespace {
// Room for a million frames per camera: tags of different cameras never meet.
constexpr unsigned kCameraTagStride = 1000000;
}  // namespace

Bytes live_frame(const std::vector<Bytes> &pictures, unsigned camera, unsigned sequence) {
  return test_support::stamp_jpeg(pictures.at(sequence % pictures.size()),
                                  camera * kCameraTagStride + sequence);
}

bool read_live_tag(const Bytes &jpeg, unsigned *camera, unsigned *sequence) {
  uint64_t tag = 0;
  if (!test_support::read_stamp(jpeg, &tag)) return false;
  *camera = static_cast<unsigned>(tag / kCameraTagStride);
  *sequence = static_cast<unsigned>(tag % kCameraTagStride);
  return true;
}

Rig::Rig(const std::string &name) : name_(name), pipeline_(gst_pipeline_new(name.c_str())) {
  fail_unless(pipeline_ != nullptr);
  test_support::track_pipeline(pipeline_);
}

Rig::~Rig() {
  stop();
  test_support::untrack_pipeline(pipeline_);
  gst_object_unref(pipeline_);
}

GstElement *Rig::add_camera(const std::string &sink_name, const std::string &mount) {
  Camera camera;
  camera.source = gst_element_factory_make("appsrc", (sink_name + "-source").c_str());
  camera.sink = gst_element_factory_make("mjpeghttpsink", sink_name.c_str());
  fail_unless(camera.source != nullptr, "appsrc is missing");
  fail_unless(camera.sink != nullptr, "mjpeghttpsink is missing: is GST_PLUGIN_PATH set?");
  GstCaps *caps = gst_caps_new_empty_simple("image/jpeg");
  // A live source like a camera; each buffer is rendered on arrival.
  g_object_set(camera.source, "is-live", TRUE, "format", GST_FORMAT_TIME, "caps", caps, nullptr);
  gst_caps_unref(caps);
  // async=false: with several sinks in one pipeline, one sink's first buffer
  // would otherwise wait in preroll until every other sink has one too.
  // idle-resend and source-timeout off: the tests match each part a viewer
  // gets to a frame they pushed, and a slow moment (a sanitizer build, a
  // loaded machine) would otherwise bring resends of the latest frame or a
  // "no signal" picture in between.
  g_object_set(camera.sink, "mount", mount.c_str(), "sync", FALSE, "async", FALSE, "idle-resend", 0,
               "source-timeout", 0, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_), camera.source, camera.sink, nullptr);
  fail_unless(gst_element_link(camera.source, camera.sink));
  cameras_.push_back(camera);
  return camera.sink;
}

void Rig::set_on_sinks(const char *name, int value) {
  for (const Camera &camera : cameras_) g_object_set(camera.sink, name, value, nullptr);
}

void Rig::set_on_sinks(const char *name, const std::string &value) {
  for (const Camera &camera : cameras_) g_object_set(camera.sink, name, value.c_str(), nullptr);
}

bool Rig::play() {
  // A live pipeline completes PLAYING only with its first buffer; the
  // servers listen as soon as the call returns without a failure.
  return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

void Rig::set_state(GstState state) {
  fail_if(gst_element_set_state(pipeline_, state) == GST_STATE_CHANGE_FAILURE,
          "%s could not go to %s", name_.c_str(), gst_element_state_get_name(state));
}

bool Rig::push_jpeg(size_t camera, const Bytes &jpeg) {
  const guint64 before = stat(camera, "frames-published");
  GstBuffer *buffer = test_support::buffer_from_bytes(jpeg);
  if (gst_app_src_push_buffer(GST_APP_SRC(cameras_.at(camera).source), buffer) != GST_FLOW_OK)
    return false;
  return test_support::await_condition([&] { return stat(camera, "frames-published") > before; });
}

guint64 Rig::stat(size_t camera, const char *field) const {
  return test_support::sink_stat(cameras_.at(camera).sink, field);
}

guint Rig::num_clients(size_t camera) const {
  guint clients = 0;
  g_object_get(cameras_.at(camera).sink, "num-clients", &clients, nullptr);
  return clients;
}

GstMessage *Rig::await_error(int timeout_ms) const {
  GstBus *bus = gst_element_get_bus(pipeline_);
  GstMessage *message = gst_bus_timed_pop_filtered(
      bus, static_cast<GstClockTime>(timeout_ms) * GST_MSECOND, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  return message;
}

void Rig::flush_bus() const {
  GstBus *bus = gst_element_get_bus(pipeline_);
  while (GstMessage *message = gst_bus_pop(bus)) gst_message_unref(message);
  gst_object_unref(bus);
}

int play_on_free_port(Rig &rig) {
  for (int attempt = 0; attempt < 5; attempt++) {
    const int port = free_port();
    rig.set_on_sinks("port", port);
    if (rig.play()) return port;
    // Someone took the port between free_port() and the element's bind.
    rig.stop();
    rig.flush_bus();
  }
  return 0;
}

int play_sharing_free_port(Rig &first, std::initializer_list<Rig *> joining) {
  const int port = play_on_free_port(first);
  fail_unless(port > 0, "no free port could be served");
  for (Rig *rig : joining) {
    rig->set_on_sinks("port", port);
    fail_unless(rig->play(), "another element on port %d failed", port);
  }
  return port;
}

ElementError parse_error(GstMessage *message) {
  ElementError result;
  if (!message) return result;
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  result.domain = error->domain;
  result.code = error->code;
  result.message = error->message ? error->message : "";
  result.debug = debug ? debug : "";
  result.source = GST_MESSAGE_SRC_NAME(message) ? GST_MESSAGE_SRC_NAME(message) : "";
  g_error_free(error);
  g_free(debug);
  gst_message_unref(message);
  return result;
}

}  // namespace mounts_test
