// SPDX-License-Identifier: LGPL-2.1-or-later
// Pipelines of several mjpeghttpsink elements for the shared-server tests:
// a Rig is one GstPipeline holding one or more cameras (appsrc ! sink, each
// pair named by the test), so a test can build "two sinks in one pipeline"
// and "one sink in each of two pipelines" from the same parts. Each camera
// has its own recognisable JPEGs, so a viewer's frames tell which element
// served them. Used from the test's thread only.
#pragma once

#include <gst/gst.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "jpeg_frames.h"
#include "stream_client.h"

namespace mounts_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::Bytes;
using test_support::Endpoint;

// `count` JPEGs that belong to camera `camera` alone: a picture pattern of
// its own and a comment tag no other camera's frame carries.
std::vector<Bytes> camera_frames(unsigned camera, int count);

// Frame `sequence` of camera `camera`'s live feed: one of `pictures` with a
// tag that says both, so a viewer can check it got this camera's frames, in
// order, none missing.
Bytes live_frame(const std::vector<Bytes> &pictures, unsigned camera, unsigned sequence);
// The camera and sequence number a live_frame() carries; false for any other
// bytes.
bool read_live_tag(const Bytes &jpeg, unsigned *camera, unsigned *sequence);

using test_support::free_port;

struct Camera {
  GstElement *source = nullptr;
  GstElement *sink = nullptr;
};

class Rig {
 public:
  explicit Rig(const std::string &name);
  ~Rig();
  Rig(const Rig &) = delete;
  Rig &operator=(const Rig &) = delete;

  // Adds appsrc ! mjpeghttpsink, the sink named `sink_name` on `mount`, and
  // returns the sink (to set more properties on before play()).
  GstElement *add_camera(const std::string &sink_name, const std::string &mount);
  GstElement *sink(size_t camera = 0) const { return cameras_.at(camera).sink; }
  GstElement *pipeline() const { return pipeline_; }

  // Sets `name` to `value` on every sink of the rig.
  void set_on_sinks(const char *name, int value);
  void set_on_sinks(const char *name, const std::string &value);

  // To PLAYING; false if the state change failed (a sink could not start).
  bool play();
  // To `state` for the whole pipeline, synchronously.
  void set_state(GstState state);
  void stop() { set_state(GST_STATE_NULL); }

  // Pushes one JPEG into `camera` and waits until its sink published it.
  bool push_jpeg(size_t camera, const Bytes &jpeg);
  guint64 stat(size_t camera, const char *field) const;
  guint num_clients(size_t camera) const;

  // The next error message on the bus, or nullptr after `timeout_ms`.
  GstMessage *await_error(int timeout_ms = 5000) const;
  // Drops every message queued on the bus (a failed start's error).
  void flush_bus() const;

 private:
  std::string name_;
  GstElement *pipeline_;
  std::vector<Camera> cameras_;
};

// Plays `rig` with every sink on one free TCP port of 127.0.0.1 (another
// try on a clash) and returns the port, or 0.
int play_on_free_port(Rig &rig);

// Plays `first` on a free port as play_on_free_port() does, then each of
// `joining` on that same port: one server serving every rig's mounts. The
// port; the test fails if any of them did not start.
int play_sharing_free_port(Rig &first, std::initializer_list<Rig *> joining);

// An element error's domain, code and message, from a bus message.
struct ElementError {
  GQuark domain = 0;
  int code = 0;
  std::string message;
  std::string debug;
  std::string source;  // the posting element's name
};
// Takes `message` (may be null: then the error is empty).
ElementError parse_error(GstMessage *message);

}  // namespace mounts_test
