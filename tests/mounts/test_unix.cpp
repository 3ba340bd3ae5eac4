// SPDX-License-Identifier: LGPL-2.1-or-later
// address=unix:PATH: curl --unix-socket and a raw AF_UNIX client get the
// stream and the snapshot; the file has unix-socket-mode; a stale file is
// replaced, a live socket and a regular file are left alone; the file goes
// with the server; and the request gate works on unix sockets too (a head
// split over two writes, a slow head cut off at request-timeout, an
// oversized head refused).
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "await.h"
#include "check_suite.h"
#include "json_reply.h"
#include "mount_rig.h"
#include "process.h"

using namespace test_support;
using namespace mounts_test;

namespace {

// A private directory for one test's socket files, removed with them.
class SocketDirectory {
 public:
  SocketDirectory() {
    GError *error = nullptr;
    gchar *made = g_dir_make_tmp("mjpeghttp-unix-XXXXXX", &error);
    fail_unless(made != nullptr, "no temporary directory: %s", error ? error->message : "?");
    path_ = made;
    g_free(made);
  }
  ~SocketDirectory() {
    for (const char *name : {"cam.sock", "file"})
      g_unlink((path_ + "/" + std::string(name)).c_str());
    g_rmdir(path_.c_str());
  }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool exists(const std::string &path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0;
}

sockaddr_un unix_address(const std::string &path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  return address;
}

// A unix socket of `type` bound at `path`. A SOCK_STREAM one is left as a
// stale file when closed without unlinking (as a killed server leaves it);
// a SOCK_DGRAM one stands for another program's live datagram socket, which
// a stream connect() cannot reach (EPROTOTYPE rather than ECONNREFUSED).
int bind_unix_socket(const std::string &path, int type) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  fail_unless(fd >= 0);
  const sockaddr_un address = unix_address(path);
  fail_unless(bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0,
              "bind %s: %s", path.c_str(), g_strerror(errno));
  return fd;
}

// A stream socket bound at `path`, listening with `backlog` or not at all.
int bind_unix(const std::string &path, bool listening, int backlog = 4) {
  const int fd = bind_unix_socket(path, SOCK_STREAM);
  if (listening) fail_unless(listen(fd, backlog) == 0);
  return fd;
}

// Connects to `path` until its backlog is full (a non-blocking connect then
// fails with EAGAIN); the descriptors go into `clients`.
void fill_backlog(const std::string &path, std::vector<int> *clients) {
  const sockaddr_un address = unix_address(path);
  for (int i = 0; i < 64; i++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    fail_unless(fd >= 0);
    if (connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0) {
      clients->push_back(fd);
      continue;
    }
    const int error = errno;
    close(fd);
    fail_unless(error == EAGAIN, "connect %s: %s", path.c_str(), g_strerror(error));
    return;
  }
  fail("the backlog of %s never filled", path.c_str());
}

// A rig with one camera serving the root mount on unix:`path`.
void serve_on_unix(Rig &rig, const std::string &path) {
  rig.add_camera("unixcam", "/");
  rig.set_on_sinks("address", "unix:" + path);
}

// One element serving on a unix socket in a directory of its own;
// `configure` sets what the test needs before it starts listening.
struct UnixServer {
  explicit UnixServer(const std::function<void(GstElement *sink)> &configure) {
    serve_on_unix(rig, path);
    configure(rig.sink());
    fail_unless(rig.play());
  }
  SocketDirectory directory;
  const std::string path = directory.file("cam.sock");
  Rig rig{"unix"};
};

// Another program's socket, bound by `bind_socket` at cam.sock in a directory
// of its own; closed (its file left for the directory to remove) at the end.
struct OtherProgramSocket {
  explicit OtherProgramSocket(const std::function<int(const std::string &path)> &bind_socket)
      : fd(bind_socket(path)) {}
  ~OtherProgramSocket() { close(fd); }
  OtherProgramSocket(const OtherProgramSocket &) = delete;
  OtherProgramSocket &operator=(const OtherProgramSocket &) = delete;

  SocketDirectory directory;
  const std::string path = directory.file("cam.sock");
  const int fd;
};

// The start of `rig` fails with OPEN_WRITE naming the socket and `reason`.
void expect_listen_error(Rig &rig, const std::string &path, const std::string &reason) {
  fail_if(rig.play(), "the element started on %s", path.c_str());
  const ElementError error = parse_error(rig.await_error());
  fail_unless(error.domain == GST_RESOURCE_ERROR, "no resource error");
  fail_unless_equals_int(error.code, GST_RESOURCE_ERROR_OPEN_WRITE);
  const std::string wanted = "Could not listen on unix:" + path + ": " + reason;
  fail_unless(error.message.find(wanted) != std::string::npos, "'%s' lacks '%s'",
              error.message.c_str(), wanted.c_str());
  rig.stop();
}

// An element told to serve on `path`, where another program's socket file
// is, fails with `reason` and leaves that very file in place.
void expect_existing_socket_kept(const std::string &path, const std::string &reason) {
  struct stat before {};
  fail_unless(lstat(path.c_str(), &before) == 0);
  Rig rig("unix");
  serve_on_unix(rig, path);
  expect_listen_error(rig, path, reason);
  struct stat after {};
  fail_unless(lstat(path.c_str(), &after) == 0, "the socket file at %s was removed", path.c_str());
  fail_unless(after.st_ino == before.st_ino, "the socket file at %s was replaced", path.c_str());
}

std::vector<std::string> curl_args(const std::string &socket_path, const std::string &path) {
  return {"curl",          "--silent",  "--show-error",           "--no-buffer", "--max-time", "20",
          "--unix-socket", socket_path, "http://localhost" + path};
}

}  // namespace

GST_START_TEST(test_unix_socket_serves_curl_and_raw_clients) {
  UnixServer server(
      [](GstElement *sink) { g_object_set(sink, "unix-socket-mode", 0600, nullptr); });
  const std::string &path = server.path;
  Rig &rig = server.rig;
  gint port = -1;
  g_object_get(rig.sink(), "current-port", &port, nullptr);
  fail_unless_equals_int(port, 0);
  struct stat info {};
  fail_unless(lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode), "no socket at %s",
              path.c_str());
  fail_unless_equals_int(info.st_mode & 0777, 0600);

  const std::vector<Bytes> frames = camera_frames(1, 4);
  fail_unless(rig.push_jpeg(0, frames[0]));
  ChildProcess snapshot(curl_args(path, "/snapshot"));
  fail_unless_equals_int(snapshot.finish(20000), 0);
  fail_unless(snapshot.output() == frames[0], "curl's snapshot over the unix socket: %zu bytes, %s",
              snapshot.output().size(), snapshot.errors().c_str());

  // curl reads the stream while frames arrive: every one of them, whole.
  ChildProcess stream(curl_args(path, "/stream"));
  fail_unless(
      stream.read_until(
          [&](const std::string &out) { return out.find(frames[0]) != std::string::npos; }, 10000),
      "curl got no first part: %s", stream.errors().c_str());
  fail_unless(await_condition([&] { return rig.num_clients(0) == 1; }));
  // One at a time: a viewer's queue holds two frames, a burst could skip one.
  for (size_t i = 1; i < frames.size(); i++) {
    fail_unless(rig.push_jpeg(0, frames[i]));
    fail_unless(
        stream.read_until(
            [&](const std::string &out) { return out.find(frames[i]) != std::string::npos; },
            10000),
        "curl did not get part %zu", i);
  }
  size_t at = 0;
  for (const Bytes &frame : frames) {
    at = stream.output().find(frame, at);
    fail_unless(at != std::string::npos, "a frame is missing or out of order in curl's stream");
  }

  // A raw AF_UNIX client: the multipart framing byte for byte.
  const Endpoint endpoint = Endpoint::unix_socket(path);
  RawViewer viewer(endpoint, "/stream");
  fail_unless(viewer.streaming() && viewer.await_parts(1), "%s", viewer.detail().c_str());
  fail_unless(viewer.parts()[0].body == frames.back());
  HttpResponse raw_snapshot = http_exchange(endpoint, "GET", "/snapshot");
  fail_unless_equals_int(raw_snapshot.status, 200);
  fail_unless(raw_snapshot.body == frames.back());

  // Unix peers have no address; the stats say so.
  JsonReply stats(endpoint, "/stats");
  JsonArray *viewers = JsonReply::array(stats.root(), "viewers");
  fail_unless_equals_int(json_array_get_length(viewers), 2);
  for (guint i = 0; i < 2; i++) {
    const std::string address =
        JsonReply::string(json_array_get_object_element(viewers, i), "address");
    fail_unless(address == "unix", "viewer address %s", address.c_str());
  }

  viewer.leave();
  rig.stop();
  fail_if(exists(path), "the socket file outlived the server");
  fail_unless(stream.finish(10000) >= 0, "curl's stream did not end with the server");
}
GST_END_TEST;

GST_START_TEST(test_default_mode_and_shared_unix_socket) {
  SocketDirectory directory;
  const std::string path = directory.file("cam.sock");
  Rig first("first"), second("second");
  first.add_camera("cam1", "/cam1");
  second.add_camera("cam2", "/cam2");
  for (Rig *rig : {&first, &second}) rig->set_on_sinks("address", "unix:" + path);
  fail_unless(first.play() && second.play());
  struct stat info {};
  fail_unless(lstat(path.c_str(), &info) == 0);
  fail_unless_equals_int(info.st_mode & 0777, 0660);
  const Bytes one = camera_frames(1, 1)[0], two = camera_frames(2, 1)[0];
  fail_unless(first.push_jpeg(0, one) && second.push_jpeg(0, two));
  const Endpoint endpoint = Endpoint::unix_socket(path);
  fail_unless(http_exchange(endpoint, "GET", "/cam1/snapshot").body == one);
  fail_unless(http_exchange(endpoint, "GET", "/cam2/snapshot").body == two);

  // The file stays while one element still serves on it.
  first.stop();
  fail_unless(exists(path));
  fail_unless(http_exchange(endpoint, "GET", "/cam2/snapshot").body == two);
  second.stop();
  fail_if(exists(path), "the socket file outlived the last element");
}
GST_END_TEST;

GST_START_TEST(test_stale_socket_file_is_replaced) {
  SocketDirectory directory;
  const std::string path = directory.file("cam.sock");
  close(bind_unix(path, false));
  fail_unless(exists(path));
  Rig rig("unix");
  serve_on_unix(rig, path);
  fail_unless(rig.play(), "a stale socket file stopped the element");
  const Bytes frame = camera_frames(1, 1)[0];
  fail_unless(rig.push_jpeg(0, frame));
  fail_unless(http_exchange(Endpoint::unix_socket(path), "GET", "/snapshot").body == frame);
}
GST_END_TEST;

GST_START_TEST(test_live_socket_is_not_taken) {
  OtherProgramSocket other([](const std::string &path) { return bind_unix(path, true); });
  expect_existing_socket_kept(other.path, "another server is listening on it");
  // The other server is still reachable.
  RawSocket client(Endpoint::unix_socket(other.path));
  fail_unless(client.ok(), "the other server can no longer be reached");
}
GST_END_TEST;

// A live server that is not accepting (its backlog full) must not hold the
// start up: the check of the file does not block.
GST_START_TEST(test_live_socket_with_full_backlog_is_not_taken) {
  OtherProgramSocket other([](const std::string &path) { return bind_unix(path, true, 0); });
  std::vector<int> clients;
  fill_backlog(other.path, &clients);
  expect_existing_socket_kept(other.path, "another server is listening on it");
  for (int fd : clients) close(fd);
}
GST_END_TEST;

// Only a refused connect proves a file stale; another program's datagram
// socket answers otherwise and is left alone.
GST_START_TEST(test_datagram_socket_is_not_taken) {
  OtherProgramSocket other(
      [](const std::string &path) { return bind_unix_socket(path, SOCK_DGRAM); });
  expect_existing_socket_kept(other.path, "cannot check whether another server is listening on it");
}
GST_END_TEST;

GST_START_TEST(test_regular_file_is_left_alone) {
  SocketDirectory directory;
  const std::string path = directory.file("file");
  const std::string content = "not a socket\n";
  fail_unless(g_file_set_contents(path.c_str(), content.data(), content.size(), nullptr));
  Rig rig("unix");
  serve_on_unix(rig, path);
  expect_listen_error(rig, path, "the path exists and is not a socket");
  gchar *kept = nullptr;
  gsize length = 0;
  fail_unless(g_file_get_contents(path.c_str(), &kept, &length, nullptr));
  fail_unless(std::string(kept, length) == content, "the file was changed");
  g_free(kept);
}
GST_END_TEST;

namespace {

std::string read_all(RawSocket &connection, HttpHead *head) {
  std::string body;
  if (connection.read_head(head)) connection.read_to_end(&body);
  return body;
}

}  // namespace

GST_START_TEST(test_request_gate_on_unix_socket) {
  UnixServer server([](GstElement *sink) { g_object_set(sink, "request-timeout", 1, nullptr); });
  const std::string &path = server.path;
  Rig &rig = server.rig;
  const Bytes frame = camera_frames(1, 1)[0];
  fail_unless(rig.push_jpeg(0, frame));
  const Endpoint endpoint = Endpoint::unix_socket(path);

  // A head in two writes: unix sockets ignore SO_RCVLOWAT, so the gate must
  // come back to the unfinished head by itself.
  {
    RawSocket client(endpoint);
    fail_unless(client.send_all("GET /snapshot HTTP/1.1\r\nHo"));
    // A real pause between the writes (not a wait for anything), so the
    // server sees the first half alone.
    g_usleep(100 * 1000);
    fail_unless(client.send_all("st: localhost\r\nConnection: close\r\n\r\n"));
    HttpHead head;
    const std::string body = read_all(client, &head);
    fail_unless_equals_int(head.status, 200);
    fail_unless(body == frame, "the split request's snapshot is not the frame");
  }

  // A head that never ends is cut off at request-timeout (1 s).
  {
    RawSocket client(endpoint);
    const gint64 start = g_get_monotonic_time();
    fail_unless(client.send_all("GET /snapshot HTTP/1.1\r\nHost: localhost\r\n"));
    std::string rest;
    client.read_to_end(&rest);
    const double waited_s = static_cast<double>(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    fail_if(client.timed_out(), "the slow head was never cut off");
    fail_unless(waited_s > 0.8 && waited_s < 4, "cut off after %.2f s, not about 1 s", waited_s);
  }

  // Oversized heads: a long target, and long header fields.
  {
    RawSocket client(endpoint);
    fail_unless(client.send_all("GET /" + std::string(40 * 1024, 'a') +
                                " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    HttpHead head;
    read_all(client, &head);
    fail_unless_equals_int(head.status, 414);
  }
  {
    RawSocket client(endpoint);
    fail_unless(client.send_all("GET /snapshot HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
                                std::string(40 * 1024, 'b') + "\r\n\r\n"));
    HttpHead head;
    read_all(client, &head);
    fail_unless_equals_int(head.status, 431);
  }
  // And the server still serves.
  fail_unless(http_exchange(endpoint, "GET", "/snapshot").body == frame);
}
GST_END_TEST;

static Suite *mounts_unix_suite() {
  return test_support::single_case_suite(
      "mounts_unix", "unix",
      {NAMED_TEST(test_unix_socket_serves_curl_and_raw_clients),
       NAMED_TEST(test_default_mode_and_shared_unix_socket),
       NAMED_TEST(test_stale_socket_file_is_replaced), NAMED_TEST(test_live_socket_is_not_taken),
       NAMED_TEST(test_live_socket_with_full_backlog_is_not_taken),
       NAMED_TEST(test_datagram_socket_is_not_taken), NAMED_TEST(test_regular_file_is_left_alone),
       NAMED_TEST(test_request_gate_on_unix_socket)},
      60);
}

GST_CHECK_MAIN(mounts_unix);
