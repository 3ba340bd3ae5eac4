// SPDX-License-Identifier: LGPL-2.1-or-later
#include "access_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace access_test {

namespace {

// Bounds every read of a client: a hang becomes an error, well within the
// check framework's own timeout.
constexpr guint kTimeoutS = 15;

SoupSession *new_session(const RequestOptions &options, std::string *error) {
  SoupSession *session = soup_session_new_with_options("timeout", kTimeoutS, nullptr);
  if (!options.ca_file.empty()) {
    GError *err = nullptr;
    GTlsDatabase *database = g_tls_file_database_new(options.ca_file.c_str(), &err);
    if (!database) {
      *error = std::string("cannot load CA file: ") + err->message;
      g_clear_error(&err);
      g_object_unref(session);
      return nullptr;
    }
    soup_session_set_tls_database(session, database);
    g_object_unref(database);
  }
  return session;
}

SoupMessage *new_message(const std::string &url, const RequestOptions &options) {
  SoupMessage *message = soup_message_new(options.method.c_str(), url.c_str());
  if (!message) return nullptr;
  SoupMessageHeaders *headers = soup_message_get_request_headers(message);
  for (const auto &header : options.headers)
    soup_message_headers_replace(headers, header.first.c_str(), header.second.c_str());
  return message;
}

int connect_to(const std::string &host, int port) {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) != 1) return -1;
    length = sizeof *v6;
  } else {
    auto *v4 = reinterpret_cast<sockaddr_in *>(&address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) != 1) return -1;
    length = sizeof *v4;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{static_cast<time_t>(kTimeoutS), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr *>(&address), length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string basic_authorization(const std::string &user, const std::string &password) {
  const std::string pair = user + ":" + password;
  gchar *encoded = g_base64_encode(reinterpret_cast<const guchar *>(pair.data()), pair.size());
  std::string header = std::string("Basic ") + encoded;
  g_free(encoded);
  return header;
}

SoupReply soup_request(const std::string &url, const RequestOptions &options) {
  SoupReply reply;
  SoupSession *session = new_session(options, &reply.error);
  if (!session) return reply;
  SoupMessage *message = new_message(url, options);
  if (!message) {
    reply.error = "bad URL " + url;
    g_object_unref(session);
    return reply;
  }
  reply = element_test::soup_send_and_read(session, message);
  g_object_unref(message);
  g_object_unref(session);
  return reply;
}

std::vector<Bytes> soup_read_parts(const std::string &url, size_t wanted,
                                   const RequestOptions &options, SoupReply *head,
                                   std::string *error) {
  std::vector<Bytes> parts;
  SoupSession *session = new_session(options, error);
  if (!session) return parts;
  SoupMessage *message = new_message(url, options);
  GError *err = nullptr;
  GInputStream *body = soup_session_send(session, message, nullptr, &err);
  if (body) {
    element_test::soup_copy_head(message, head);
    SoupMultipartInputStream *multipart = soup_multipart_input_stream_new(message, body);
    while (parts.size() < wanted && !err) {
      GInputStream *part = soup_multipart_input_stream_next_part(multipart, nullptr, &err);
      if (!part) break;
      Bytes bytes;
      char chunk[16384];
      gssize n;
      while ((n = g_input_stream_read(part, chunk, sizeof chunk, nullptr, &err)) > 0)
        bytes.append(chunk, static_cast<size_t>(n));
      g_object_unref(part);
      if (n < 0) break;
      parts.push_back(std::move(bytes));
    }
    g_object_unref(multipart);
    g_object_unref(body);
  }
  if (err)
    *error = err->message;
  else if (parts.size() < wanted)
    *error = "the stream ended after " + std::to_string(parts.size()) + " parts";
  g_clear_error(&err);
  g_object_unref(message);
  g_object_unref(session);
  return parts;
}

ProcessResult run_process(const std::vector<std::string> &argv) {
  ProcessResult result;
  std::vector<gchar *> args;
  for (const std::string &arg : argv) args.push_back(const_cast<gchar *>(arg.c_str()));
  args.push_back(nullptr);
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  GError *error = nullptr;
  result.ran = g_spawn_sync(nullptr, args.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr,
                            &out, &err, &status, &error);
  if (result.ran) {
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = out ? out : "";
    result.err = err ? err : "";
  } else {
    result.err = error ? error->message : "cannot run";
  }
  g_free(out);
  g_free(err);
  g_clear_error(&error);
  return result;
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv)
    : thread_([this, argv] { result_ = run_process(argv); }) {}

BackgroundProcess::~BackgroundProcess() {
  if (thread_.joinable()) thread_.join();
}

const ProcessResult &BackgroundProcess::result() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

bool have_ipv6_loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

RawConnection::RawConnection(const std::string &host, int port) : fd_(connect_to(host, port)) {}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

int RawConnection::local_port() const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6 *>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in *>(&address)->sin_port);
}

bool RawConnection::send_all(const std::string &data) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < data.size()) {
    ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

const std::string &RawConnection::read_until(const std::string &needle, size_t limit) {
  char chunk[65536];
  // Each recv waits at most the receive timeout, and each turn either adds
  // bytes (towards `limit`) or ends the loop.
  while (fd_ >= 0 && received_.size() <= limit &&
         (needle.empty() || received_.find(needle) == std::string::npos)) {
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received_.append(chunk, static_cast<size_t>(n));
  }
  return received_;
}

std::string raw_exchange(const std::string &host, int port, const std::string &request,
                         size_t limit) {
  RawConnection connection(host, port);
  if (!connection.ok() || !connection.send_all(request)) return "";
  return connection.read_until("", limit);
}

element_test::HttpHead parse_response(const std::string &raw, std::string *body) {
  element_test::HttpHead head;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || end == std::string::npos || raw.size() < 12) return head;
  size_t line_start = raw.find("\r\n") + 2;
  while (line_start < end + 2) {
    const size_t line_end = raw.find("\r\n", line_start);
    const std::string line = raw.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return head;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    head.headers[element_test::lower_case(line.substr(0, colon))] = value;
    line_start = line_end + 2;
  }
  head.status = std::atoi(raw.c_str() + 9);
  if (body) *body = raw.substr(end + 4);
  return head;
}

bool contains_jpeg_start(const std::string &bytes) {
  return bytes.find("\xff\xd8") != std::string::npos;
}

}  // namespace access_test
