// The URLs and behaviours clients written for mjpg-streamer and ustreamer
// rely on, end to end through a real server on a loopback port and raw-socket
// viewers.
#include <glib.h>

#include "engine_fixture.h"
#include "raw_viewer.h"

using enginetest::await;
using enginetest::EngineFixture;
using enginetest::HttpHead;
using enginetest::make_jpeg_like;
using enginetest::Part;
using enginetest::RawViewer;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kIoLimit(5000);
constexpr int64_t kBaseTime = INT64_C(1700000000000000);

HttpHead head_of(unsigned port, const std::string &method, const std::string &path,
                 RawViewer *viewer) {
  HttpHead head;
  g_assert_true(viewer->request(port, method, path));
  g_assert_true(viewer->read_head(&head, RawViewer::in(kIoLimit)));
  return head;
}

mjpeghttp::EngineConfig on_mount(const std::string &mount) {
  mjpeghttp::EngineConfig config;
  config.mount.mount = mount;
  return config;
}

void check_actions(const std::string &page) {
  EngineFixture fixture(on_mount(page == "/" ? "/" : page.substr(0, page.size() - 1)));
  const unsigned port = fixture.start();
  fixture.publish(3, 4000, kBaseTime);

  RawViewer stream;
  HttpHead head = head_of(port, "GET", page + "?action=stream", &stream);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), fixture.engine->format().content_type());
  Part part;
  g_assert_true(stream.read_part(&part, RawViewer::in(kIoLimit)));
  g_assert_true(part.body == make_jpeg_like(3, 4000));
  assert_text_eq(part.headers.at("content-length"), "4000");

  RawViewer snapshot;
  head = head_of(port, "GET", page + "?action=snapshot", &snapshot);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), "image/jpeg");
  std::string body;
  g_assert_true(snapshot.read_exactly(4000, &body, RawViewer::in(kIoLimit)));
  g_assert_true(body == make_jpeg_like(3, 4000));

  // The stream's own parameters apply to the mjpg-streamer URL too.
  RawViewer bad_fps;
  g_assert_cmpint(head_of(port, "GET", page + "?action=stream&fps=0", &bad_fps).status, ==, 400);
  RawViewer unknown;
  g_assert_cmpint(head_of(port, "GET", page + "?action=take_picture", &unknown).status, ==, 400);
  // Without an action the page is still the page.
  RawViewer plain;
  head = head_of(port, "GET", page, &plain);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), "text/html; charset=utf-8");
}

void test_actions_on_root_mount() { check_actions("/"); }
void test_actions_on_named_mount() { check_actions("/cam1/"); }

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/webcam/actions-on-root-mount", test_actions_on_root_mount);
  g_test_add_func("/webcam/actions-on-named-mount", test_actions_on_named_mount);
  return g_test_run();
}
