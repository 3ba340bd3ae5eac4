// SPDX-License-Identifier: LGPL-2.1-or-later
// Several mjpeghttpsink elements on one port: each mount serves its own
// frames (checked by content), the server's own documents (/streams, /,
// /stats, /metrics) cover every mount, a mount leaves and comes back without
// disturbing the others' viewers, and the server lives exactly as long as
// its last element.
#include <gst/check/gstcheck.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>

#include "await.h"
#include "check_suite.h"
#include "exposition.h"
#include "json_reply.h"
#include "mount_rig.h"

using namespace test_support;
using namespace mounts_test;

namespace {

// fail_unless_equals_string keeps the pointers it is given, which must not be
// those of temporaries.
void expect_text(const std::string &got, const std::string &wanted) {
  fail_unless(got == wanted, "'%s', not '%s'", got.c_str(), wanted.c_str());
}

// One camera on each of `rigs`: the n-th (from 1) is camN, mounted at /camN.
void add_numbered_cameras(std::initializer_list<Rig *> rigs) {
  unsigned number = 1;
  for (Rig *rig : rigs) {
    const std::string name = "cam" + std::to_string(number++);
    rig->add_camera(name, "/" + name);
  }
}

// What one mount served: its snapshot is the newest frame pushed into its
// element, and a viewer of its stream gets that frame and then every frame
// pushed after it, each one this camera's own. Returns the viewer, still
// watching, for the checks of the figures.
std::unique_ptr<RawViewer> expect_mount_serves(int port, const std::string &mount, Rig &rig,
                                               size_t camera, const std::vector<Bytes> &frames) {
  fail_unless(frames.size() >= 3);
  fail_unless(rig.push_jpeg(camera, frames[0]));
  HttpResponse snapshot = http_exchange(port, "GET", mount + "/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.body == frames[0], "%s/snapshot is not the frame pushed into it",
              mount.c_str());

  auto viewer = std::make_unique<RawViewer>(port, mount + "/stream");
  fail_unless(viewer->streaming(), "%s/stream: status %d", mount.c_str(), viewer->head().status);
  // Its first part before any new frame: a frame published while the viewer
  // starts would rightly replace the one it was about to get.
  fail_unless(viewer->await_parts(1), "%s/stream: %s", mount.c_str(), viewer->detail().c_str());
  // One at a time: a viewer's queue holds two frames, and a burst could
  // rightly skip one.
  for (size_t i = 1; i < frames.size(); i++) {
    fail_unless(rig.push_jpeg(camera, frames[i]));
    fail_unless(viewer->await_parts(i + 1), "%s/stream: %s", mount.c_str(),
                viewer->detail().c_str());
  }
  const std::vector<StreamPart> parts = viewer->parts();
  for (size_t i = 0; i < frames.size(); i++)
    fail_unless(parts[i].body == frames[i], "%s/stream part %zu is not frame %zu of its camera",
                mount.c_str(), i, i);
  // Counted once written; the figures then hold still while they are read.
  fail_unless(test_support::await_condition(
      [&] { return rig.stat(camera, "frames-sent") == frames.size(); }));
  return viewer;
}

// The mounts /streams lists, in its order.
std::vector<std::string> listed_mounts(int port) {
  JsonReply streams(port, "/streams");
  JsonArray *list = JsonReply::array(streams.root(), "streams");
  std::vector<std::string> mounts;
  for (guint i = 0; i < json_array_get_length(list); i++)
    mounts.push_back(JsonReply::string(json_array_get_object_element(list, i), "mount"));
  return mounts;
}

std::string joined(const std::vector<std::string> &items) {
  std::string text;
  for (const std::string &item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// One camera of a shared-port test: the rig holding it and its index there.
struct MountUnderTest {
  std::string mount;
  std::string element;
  Rig *rig;
  size_t camera;
};

// /streams, /stats, /cam/stats and /metrics against each element's own
// get-stats; each mount has one viewer, and a frame count of its own.
void expect_documents_cover(int port, const std::vector<MountUnderTest> &mounts) {
  JsonReply streams(port, "/streams");
  JsonArray *list = JsonReply::array(streams.root(), "streams");
  fail_unless_equals_int(json_array_get_length(list), mounts.size());
  std::string previous;
  for (guint i = 0; i < json_array_get_length(list); i++) {
    const std::string mount = JsonReply::string(json_array_get_object_element(list, i), "mount");
    fail_unless(mount > previous, "/streams is not sorted by mount: %s", streams.text().c_str());
    previous = mount;
  }

  JsonReply stats(port, "/stats");
  JsonArray *per_mount = JsonReply::array(stats.root(), "streams");
  fail_unless_equals_int(json_array_get_length(per_mount), mounts.size());
  gint64 published_sum = 0, sent_sum = 0, viewers_sum = 0;
  const test_support::Exposition metrics = [&] {
    HttpResponse reply = http_exchange(port, "GET", "/metrics");
    fail_unless_equals_int(reply.status, 200);
    test_support::Exposition parsed;
    std::string error;
    fail_unless(test_support::parse_exposition(reply.body, &parsed, &error), "%s\n%s",
                error.c_str(), reply.body.c_str());
    return parsed;
  }();

  for (const MountUnderTest &m : mounts) {
    const gint64 published = static_cast<gint64>(m.rig->stat(m.camera, "frames-published"));
    const gint64 sent = static_cast<gint64>(m.rig->stat(m.camera, "frames-sent"));
    published_sum += published;
    sent_sum += sent;
    viewers_sum += 1;

    JsonObject *listed = JsonReply::with_mount(list, m.mount);
    fail_unless(listed != nullptr, "/streams lacks %s", m.mount.c_str());
    expect_text(JsonReply::string(listed, "element"), m.element);
    expect_text(JsonReply::string(listed, "page"), m.mount + "/");
    expect_text(JsonReply::string(listed, "stream"), m.mount + "/stream");
    expect_text(JsonReply::string(listed, "snapshot"), m.mount + "/snapshot");
    expect_text(JsonReply::string(listed, "stats"), m.mount + "/stats");
    expect_text(JsonReply::string(listed, "metrics"), m.mount + "/metrics");
    fail_unless_equals_int(JsonReply::integer(listed, "frames_published"), published);
    fail_unless_equals_int(JsonReply::integer(listed, "viewers_now"), 1);

    JsonObject *in_stats = JsonReply::with_mount(per_mount, m.mount);
    fail_unless(in_stats != nullptr, "/stats lacks %s", m.mount.c_str());
    expect_text(JsonReply::string(in_stats, "element"), m.element);
    fail_unless_equals_int(JsonReply::integer(in_stats, "frames_published"), published);
    fail_unless_equals_int(JsonReply::integer(in_stats, "frames_sent"), sent);
    fail_unless_equals_int(JsonReply::integer(in_stats, "viewers_now"), 1);
    fail_if(json_object_has_member(in_stats, "viewers"),
            "a mount's entry in /stats repeats its viewers");

    // The mount's own document: its figures and its viewer alone.
    JsonReply own(port, m.mount + "/stats");
    expect_text(JsonReply::string(own.root(), "element"), m.element);
    expect_text(JsonReply::string(own.root(), "mount"), m.mount);
    fail_unless_equals_int(JsonReply::integer(own.root(), "frames_published"), published);
    fail_unless_equals_int(JsonReply::integer(own.root(), "frames_sent"), sent);
    fail_unless_equals_int(json_array_get_length(JsonReply::array(own.root(), "viewers")), 1);

    // Every metric of this mount, labelled with it and its element.
    int labelled = 0;
    for (const test_support::Sample &sample : metrics.samples) {
      auto element = sample.labels.find("element");
      auto mount = sample.labels.find("mount");
      fail_unless(element != sample.labels.end() && mount != sample.labels.end(),
                  "%s has no element or mount label", sample.name.c_str());
      if (mount->second != m.mount) continue;
      expect_text(element->second, m.element);
      labelled++;
      if (sample.name == "mjpeghttpsink_frames_published_total")
        fail_unless_equals_int(static_cast<gint64>(sample.value), published);
      if (sample.name == "mjpeghttpsink_frames_sent_total")
        fail_unless_equals_int(static_cast<gint64>(sample.value), sent);
      if (sample.name == "mjpeghttpsink_viewers")
        fail_unless_equals_int(static_cast<gint64>(sample.value), 1);
    }
    fail_unless(labelled >= 5, "only %d samples for %s", labelled, m.mount.c_str());

    // The mount's own metrics carry no other mount.
    HttpResponse own_metrics = http_exchange(port, "GET", m.mount + "/metrics");
    fail_unless_equals_int(own_metrics.status, 200);
    for (const MountUnderTest &other : mounts)
      if (other.mount != m.mount)
        fail_if(own_metrics.body.find("mount=\"" + other.mount + "\"") != std::string::npos,
                "%s/metrics shows %s", m.mount.c_str(), other.mount.c_str());
  }
  fail_unless_equals_int(JsonReply::integer(stats.root(), "frames_published"), published_sum);
  fail_unless_equals_int(JsonReply::integer(stats.root(), "frames_sent"), sent_sum);
  fail_unless_equals_int(JsonReply::integer(stats.root(), "viewers_now"), viewers_sum);
  JsonArray *all_viewers = JsonReply::array(stats.root(), "viewers");
  fail_unless_equals_int(json_array_get_length(all_viewers), mounts.size());
  for (const MountUnderTest &m : mounts)
    fail_unless(JsonReply::with_mount(all_viewers, m.mount) != nullptr,
                "/stats has no viewer of %s", m.mount.c_str());
  // HELP and TYPE once per family, however many mounts.
  fail_unless(metrics.types.count("mjpeghttpsink_frames_published_total") == 1);
}

}  // namespace

GST_START_TEST(test_three_pipelines_on_one_port) {
  Rig first("first"), second("second"), third("third");
  add_numbered_cameras({&first, &second, &third});
  const int port = play_sharing_free_port(first, {&second, &third});
  for (Rig *rig : {&first, &second, &third}) {
    gint current = 0;
    g_object_get(rig->sink(), "current-port", &current, nullptr);
    fail_unless_equals_int(current, port);
  }

  // Different frame counts, so a figure taken from the wrong mount shows.
  const auto viewer1 = expect_mount_serves(port, "/cam1", first, 0, camera_frames(1, 3));
  const auto viewer2 = expect_mount_serves(port, "/cam2", second, 0, camera_frames(2, 4));
  const auto viewer3 = expect_mount_serves(port, "/cam3", third, 0, camera_frames(3, 5));
  expect_text(joined(listed_mounts(port)), "/cam1,/cam2,/cam3");
  expect_documents_cover(
      port,
      {{"/cam1", "cam1", &first, 0}, {"/cam2", "cam2", &second, 0}, {"/cam3", "cam3", &third, 0}});

  // With no root mount, / lists the mounts and /cam1 leads to its page.
  HttpResponse listing = http_exchange(port, "GET", "/");
  fail_unless_equals_int(listing.status, 200);
  fail_unless(listing.header("Content-Type").rfind("text/html", 0) == 0);
  for (const char *mount : {"/cam1", "/cam2", "/cam3"})
    fail_unless(listing.body.find(std::string("data-mount=\"") + mount + "\"") != std::string::npos,
                "the listing page has no card for %s", mount);
  HttpResponse redirect = http_exchange(port, "GET", "/cam2");
  fail_unless_equals_int(redirect.status, 301);
  // Relative, so it stays inside a reverse proxy's prefix and scheme.
  const std::string location = redirect.header("Location");
  fail_unless(location == "cam2/", "Location %s", location.c_str());
  HttpResponse page = http_exchange(port, "GET", "/cam2/");
  fail_unless_equals_int(page.status, 200);
  fail_unless(page.body.find("stream") != std::string::npos);
}
GST_END_TEST;

GST_START_TEST(test_two_sinks_in_one_pipeline) {
  Rig rig("pair");
  rig.add_camera("left", "/left");
  rig.add_camera("right", "/right");
  const int port = play_on_free_port(rig);
  fail_unless(port > 0);
  const auto left = expect_mount_serves(port, "/left", rig, 0, camera_frames(1, 3));
  const auto right = expect_mount_serves(port, "/right", rig, 1, camera_frames(2, 5));
  expect_text(joined(listed_mounts(port)), "/left,/right");
  expect_documents_cover(port, {{"/left", "left", &rig, 0}, {"/right", "right", &rig, 1}});

  // A browser asking /streams for HTML gets the listing page.
  RawSocket browser(port);
  fail_unless(browser.ok());
  fail_unless(
      browser.send_all("GET /streams HTTP/1.1\r\nHost: x\r\nAccept: "
                       "text/html,application/xhtml+xml,*/*;q=0.8\r\n\r\n"));
  HttpHead head;
  fail_unless(browser.read_head(&head));
  fail_unless_equals_int(head.status, 200);
  fail_unless(head.header("Content-Type").rfind("text/html", 0) == 0, "%s",
              head.header("Content-Type").c_str());
}
GST_END_TEST;

namespace {

// Pushes numbered frames into some cameras at a camera's pace until told to
// stop; a viewer can then check it saw every one of them in order.
class Feeder {
 public:
  Feeder(Rig &rig_a, Rig &rig_b) : rigs_{&rig_a, &rig_b} {
    pictures_ = camera_frames(9, 4);
    fail_unless(pictures_.size() == 4);
    thread_ = std::thread([this] { run(); });
  }
  ~Feeder() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  unsigned pushed() const { return pushed_.load(); }
  bool failed() const { return failed_.load(); }
  // Camera number i + 1 for rigs_[i]: the number in its frames' tags.
  static unsigned camera_number(size_t rig) { return static_cast<unsigned>(rig) + 1; }

 private:
  void run() {
    for (unsigned sequence = 1; !stop_ && sequence < 100000; sequence++) {
      for (size_t i = 0; i < 2; i++)
        if (!rigs_[i]->push_jpeg(0, live_frame(pictures_, camera_number(i), sequence)))
          failed_ = true;
      pushed_ = sequence;
      // A camera's pace (30 fps), so a mount change happens mid-stream.
      g_usleep(33000);
    }
  }

  Rig *rigs_[2];
  std::vector<Bytes> pictures_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<unsigned> pushed_{0};
};

// Every part `viewer` got is camera `camera`'s, numbered one after another.
void expect_consecutive(const RawViewer &viewer, unsigned camera, const char *who) {
  unsigned previous = 0;
  const std::vector<StreamPart> parts = viewer.parts();
  fail_unless(parts.size() >= 2, "%s got %zu parts", who, parts.size());
  for (const StreamPart &part : parts) {
    unsigned from = 0, sequence = 0;
    fail_unless(read_live_tag(part.body, &from, &sequence), "%s: a part without a tag", who);
    fail_unless_equals_int(from, camera);
    fail_unless(previous == 0 || sequence == previous + 1, "%s: frame %u after frame %u", who,
                sequence, previous);
    previous = sequence;
  }
}

}  // namespace

GST_START_TEST(test_mount_leaves_while_others_stream) {
  Rig first("first"), leaving("leaving"), third("third");
  add_numbered_cameras({&first, &leaving, &third});
  // Room for a slow moment of a loaded machine: a frame a viewer misses
  // must be one the leaving mount cost it, not one its queue dropped.
  first.set_on_sinks("max-queued-frames", 30);
  third.set_on_sinks("max-queued-frames", 30);
  const int port = play_sharing_free_port(first, {&leaving, &third});
  const std::vector<Bytes> leaving_frames = camera_frames(2, 2);
  fail_unless(leaving.push_jpeg(0, leaving_frames[0]));

  Feeder feeder(first, third);
  fail_unless(test_support::await_condition([&] { return feeder.pushed() >= 2; }));
  RawViewer watching_first(port, "/cam1/stream");
  RawViewer watching_leaving(port, "/cam2/stream");
  RawViewer watching_third(port, "/cam3/stream");
  fail_unless(watching_first.streaming() && watching_leaving.streaming() &&
              watching_third.streaming());
  fail_unless(watching_leaving.await_parts(1));
  fail_unless(watching_first.await_parts(5) && watching_third.await_parts(5));

  leaving.set_state(GST_STATE_READY);
  // The leaving mount's viewer is cut off; the others stream on.
  const StreamEnd end = watching_leaving.await_end();
  fail_unless(end == StreamEnd::kClosedEarly || end == StreamEnd::kClosedAfterClose,
              "the viewer of the mount that left: %s", watching_leaving.detail().c_str());
  for (const char *path : {"/cam2/stream", "/cam2/snapshot", "/cam2/stats", "/cam2/"})
    fail_unless_equals_int(http_exchange(port, "GET", path).status, 404);
  expect_text(joined(listed_mounts(port)), "/cam1,/cam3");
  const size_t first_before = watching_first.parts().size();
  const size_t third_before = watching_third.parts().size();
  fail_unless(watching_first.await_parts(first_before + 10) &&
              watching_third.await_parts(third_before + 10));

  // Back again on the same server, serving new frames.
  leaving.set_state(GST_STATE_PLAYING);
  fail_unless(leaving.push_jpeg(0, leaving_frames[1]));
  HttpResponse snapshot = http_exchange(port, "GET", "/cam2/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.body == leaving_frames[1]);
  RawViewer returning(port, "/cam2/stream");
  fail_unless(returning.streaming() && returning.await_parts(1));
  fail_unless(returning.parts()[0].body == leaving_frames[1]);
  expect_text(joined(listed_mounts(port)), "/cam1,/cam2,/cam3");

  fail_unless(watching_first.await_parts(watching_first.parts().size() + 5));
  feeder.stop();
  fail_if(feeder.failed(), "a push into a staying camera failed");
  fail_unless_equals_int(static_cast<int>(watching_first.await_end(0)),
                         static_cast<int>(StreamEnd::kOpen));
  fail_unless_equals_int(static_cast<int>(watching_third.await_end(0)),
                         static_cast<int>(StreamEnd::kOpen));
  expect_consecutive(watching_first, Feeder::camera_number(0), "the viewer of /cam1");
  expect_consecutive(watching_third, Feeder::camera_number(1), "the viewer of /cam3");
}
GST_END_TEST;

GST_START_TEST(test_removed_sink_leaves_its_pipeline_partner_serving) {
  Rig rig("pair");
  rig.add_camera("kept", "/kept");
  GstElement *removed = rig.add_camera("removed", "/removed");
  const int port = play_on_free_port(rig);
  fail_unless(port > 0);
  const std::vector<Bytes> frames = camera_frames(1, 3);
  fail_unless(rig.push_jpeg(0, frames[0]));
  fail_unless(rig.push_jpeg(1, camera_frames(2, 1)[0]));
  RawViewer kept_viewer(port, "/kept/stream");
  RawViewer removed_viewer(port, "/removed/stream");
  fail_unless(kept_viewer.await_parts(1) && removed_viewer.await_parts(1));

  // Taken out of the running pipeline, as an application would drop a camera.
  GstElement *removed_source = gst_bin_get_by_name(GST_BIN(rig.pipeline()), "removed-source");
  fail_unless(removed_source != nullptr);
  gst_object_ref(removed);
  for (GstElement *element : {removed, removed_source}) {
    gst_element_set_locked_state(element, TRUE);
    gst_element_set_state(element, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(rig.pipeline()), element);
  }
  gst_object_unref(removed_source);
  const StreamEnd end = removed_viewer.await_end();
  fail_unless(end == StreamEnd::kClosedEarly || end == StreamEnd::kClosedAfterClose, "%s",
              removed_viewer.detail().c_str());
  fail_unless_equals_int(http_exchange(port, "GET", "/removed/snapshot").status, 404);
  expect_text(joined(listed_mounts(port)), "/kept");

  fail_unless(rig.push_jpeg(0, frames[1]) && rig.push_jpeg(0, frames[2]));
  fail_unless(kept_viewer.await_parts(3), "%s", kept_viewer.detail().c_str());
  fail_unless(kept_viewer.parts()[2].body == frames[2]);
  gst_object_unref(removed);
}
GST_END_TEST;

GST_START_TEST(test_server_lives_while_any_element_uses_it) {
  Rig creator("creator"), follower("follower");
  creator.add_camera("creator", "/a");
  follower.add_camera("follower", "/b");
  const int port = play_sharing_free_port(creator, {&follower});
  const std::vector<Bytes> frames = camera_frames(2, 3);
  fail_unless(follower.push_jpeg(0, frames[0]));
  RawViewer viewer(port, "/b/stream");
  fail_unless(viewer.await_parts(1));

  // The element that started the server leaves first.
  creator.stop();
  fail_unless_equals_int(http_exchange(port, "GET", "/a/snapshot").status, 404);
  fail_unless(follower.push_jpeg(0, frames[1]));
  fail_unless(viewer.await_parts(2), "%s", viewer.detail().c_str());
  fail_unless(viewer.parts()[1].body == frames[1]);
  HttpResponse snapshot = http_exchange(port, "GET", "/b/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.body == frames[1]);
  fail_if(port_is_free(port), "the port was released while an element still served on it");

  follower.stop();
  const StreamEnd end = viewer.await_end();
  fail_unless(end != StreamEnd::kOpen && end != StreamEnd::kTimedOut, "%s",
              viewer.detail().c_str());
  fail_unless(port_is_free(port), "the port is still bound after the last element left");
}
GST_END_TEST;

static Suite *mounts_shared_suite() {
  return test_support::single_case_suite(
      "mounts_shared", "shared",
      {NAMED_TEST(test_three_pipelines_on_one_port), NAMED_TEST(test_two_sinks_in_one_pipeline),
       NAMED_TEST(test_mount_leaves_while_others_stream),
       NAMED_TEST(test_removed_sink_leaves_its_pipeline_partner_serving),
       NAMED_TEST(test_server_lives_while_any_element_uses_it)},
      60);
}

GST_CHECK_MAIN(mounts_shared);
