// SPDX-License-Identifier: LGPL-2.1-or-later
// listen-fd: a socket the test made to listen (as systemd or a parent
// process would) is served through, across state cycles, and stays the
// test's: still open and listening afterwards. Descriptors that are not a
// listening stream socket are an OPEN_WRITE error.
#include <fcntl.h>
#include <gst/check/gstcheck.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_suite.h"
#include "mount_rig.h"
#include "process.h"

using namespace test_support;
using namespace mounts_test;

namespace {

// A socket on 127.0.0.1 with an ephemeral port, listening if asked to.
int inet_socket(int type, bool listening, int *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  fail_unless(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  fail_unless(bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
  fail_unless(getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0);
  if (listening) fail_unless(listen(fd, 16) == 0);
  if (port) *port = ntohs(address.sin_port);
  return fd;
}

bool still_listening(int fd) {
  int listening = 0;
  socklen_t length = sizeof listening;
  return fcntl(fd, F_GETFD) != -1 &&
         getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening == 1;
}

// curl's GET of `path` on 127.0.0.1:`port`: the body, or "" on failure.
Bytes curl_get(int port, const std::string &path) {
  ChildProcess curl({"curl", "--silent", "--show-error", "--max-time", "10",
                     "http://127.0.0.1:" + std::to_string(port) + path});
  const int status = curl.finish(15000);
  fail_unless_equals_int(status, 0);
  return curl.output();
}

void expect_fd_error(int fd, const std::string &reason) {
  Rig rig("handed");
  rig.add_camera("handed", "/");
  g_object_set(rig.sink(), "listen-fd", fd, nullptr);
  fail_if(rig.play(), "the element started on fd %d", fd);
  const ElementError error = parse_error(rig.await_error());
  fail_unless(error.domain == GST_RESOURCE_ERROR);
  fail_unless_equals_int(error.code, GST_RESOURCE_ERROR_OPEN_WRITE);
  const std::string wanted = "Could not listen on listen-fd " + std::to_string(fd) + ": " + reason;
  fail_unless(error.message.find(wanted) != std::string::npos, "'%s' lacks '%s'",
              error.message.c_str(), wanted.c_str());
  // The element left the descriptor as it found it.
  fail_unless(fcntl(fd, F_GETFD) != -1, "the element closed the descriptor it was given");
}

}  // namespace

GST_START_TEST(test_serves_through_handed_socket_across_state_cycles) {
  int port = 0;
  const int fd = inet_socket(SOCK_STREAM, true, &port);
  Rig rig("handed");
  rig.add_camera("handed", "/");
  g_object_set(rig.sink(), "listen-fd", fd, nullptr);
  const std::vector<Bytes> frames = camera_frames(1, 3);
  for (size_t round = 0; round < frames.size(); round++) {
    fail_unless(rig.play(), "round %zu: the element did not start on fd %d", round, fd);
    gint current = 0;
    g_object_get(rig.sink(), "current-port", &current, nullptr);
    fail_unless_equals_int(current, port);
    fail_unless(rig.push_jpeg(0, frames[round]));
    fail_unless(curl_get(port, "/snapshot") == frames[round], "round %zu: curl's snapshot", round);
    RawViewer viewer(port, "/stream");
    fail_unless(viewer.streaming() && viewer.await_parts(1), "%s", viewer.detail().c_str());
    fail_unless(viewer.parts()[0].body == frames[round]);
    viewer.leave();
    rig.stop();
    fail_unless(still_listening(fd), "round %zu: the descriptor no longer listens", round);
  }
  close(fd);
}
GST_END_TEST;

GST_START_TEST(test_two_elements_share_a_handed_socket) {
  int port = 0;
  const int fd = inet_socket(SOCK_STREAM, true, &port);
  Rig first("first"), second("second");
  first.add_camera("cam1", "/cam1");
  second.add_camera("cam2", "/cam2");
  for (Rig *rig : {&first, &second}) {
    g_object_set(rig->sink(), "listen-fd", fd, nullptr);
    fail_unless(rig->play());
  }
  const Bytes one = camera_frames(1, 1)[0], two = camera_frames(2, 1)[0];
  fail_unless(first.push_jpeg(0, one) && second.push_jpeg(0, two));
  fail_unless(curl_get(port, "/cam1/snapshot") == one);
  fail_unless(curl_get(port, "/cam2/snapshot") == two);
  first.stop();
  second.stop();
  fail_unless(still_listening(fd));
  close(fd);
}
GST_END_TEST;

GST_START_TEST(test_descriptor_that_is_not_a_socket) {
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  fail_unless(fd >= 0);
  expect_fd_error(fd, "the descriptor is not a socket");
  close(fd);
}
GST_END_TEST;

GST_START_TEST(test_socket_that_does_not_listen) {
  const int bound = inet_socket(SOCK_STREAM, false, nullptr);
  expect_fd_error(bound, "the descriptor is not a listening stream socket");
  close(bound);
  const int datagram = inet_socket(SOCK_DGRAM, false, nullptr);
  expect_fd_error(datagram, "the descriptor is not a listening stream socket");
  close(datagram);
}
GST_END_TEST;

static Suite *mounts_listen_fd_suite() {
  return test_support::single_case_suite(
      "mounts_listen_fd", "listen_fd",
      {NAMED_TEST(test_serves_through_handed_socket_across_state_cycles),
       NAMED_TEST(test_two_elements_share_a_handed_socket),
       NAMED_TEST(test_descriptor_that_is_not_a_socket),
       NAMED_TEST(test_socket_that_does_not_listen)},
      60);
}

GST_CHECK_MAIN(mounts_listen_fd);
