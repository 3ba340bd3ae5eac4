// SPDX-License-Identifier: LGPL-2.1-or-later
#include "abandoned_pipelines.h"

#include <algorithm>
#include <vector>

namespace test_support {

namespace {

// Test helpers are used from the test's thread only.
std::vector<GstElement *> &tracked() {
  static std::vector<GstElement *> pipelines;
  return pipelines;
}

}  // namespace

void track_pipeline(GstElement *pipeline) { tracked().push_back(pipeline); }

void untrack_pipeline(GstElement *pipeline) {
  std::vector<GstElement *> &pipelines = tracked();
  pipelines.erase(std::remove(pipelines.begin(), pipelines.end(), pipeline), pipelines.end());
}

void stop_abandoned_pipelines() {
  std::vector<GstElement *> abandoned;
  abandoned.swap(tracked());
  for (GstElement *pipeline : abandoned) {
    GST_WARNING("stopping pipeline %s, left running by a failed check", GST_ELEMENT_NAME(pipeline));
    gst_element_set_state(pipeline, GST_STATE_NULL);
  }
}

}  // namespace test_support
