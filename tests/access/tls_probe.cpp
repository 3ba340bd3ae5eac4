// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tls_probe.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>

namespace access_test {

TlsExchange tls_exchange(int port, const std::string &ca_file, const std::string &request,
                         unsigned timeout_s, size_t limit) {
  TlsExchange result;
  GError *error = nullptr;
  GSocketClient *client = g_socket_client_new();
  // Every blocking read or write on the connection (the handshake's too)
  // gives up after this.
  g_socket_client_set_timeout(client, timeout_s);
  const gint64 start = g_get_monotonic_time();
  GSocketConnection *tcp = g_socket_client_connect_to_host(
      client, "127.0.0.1", static_cast<guint16>(port), nullptr, &error);
  GTlsDatabase *database = nullptr;
  GSocketConnectable *identity = nullptr;
  GIOStream *tls = nullptr;
  if (tcp) database = g_tls_file_database_new(ca_file.c_str(), &error);
  if (database) {
    identity = g_network_address_new("127.0.0.1", static_cast<guint16>(port));
    tls = g_tls_client_connection_new(G_IO_STREAM(tcp), identity, &error);
  }
  if (tls) {
    g_tls_connection_set_database(G_TLS_CONNECTION(tls), database);
    result.handshaken = g_tls_connection_handshake(G_TLS_CONNECTION(tls), nullptr, &error);
    result.handshake_ms = (g_get_monotonic_time() - start) / 1000.0;
  }
  if (result.handshaken && !request.empty() &&
      !g_output_stream_write_all(g_io_stream_get_output_stream(tls), request.data(), request.size(),
                                 nullptr, nullptr, &error))
    result.error = std::string("write: ") + error->message;
  if (result.handshaken) {
    g_clear_error(&error);
    char chunk[16384];
    // Each read waits at most timeout_s, and each turn adds bytes (towards
    // `limit`) or ends the loop.
    while (result.response.size() < limit) {
      const gssize got = g_input_stream_read(g_io_stream_get_input_stream(tls), chunk, sizeof chunk,
                                             nullptr, &error);
      if (got <= 0) break;
      result.response.append(chunk, static_cast<size_t>(got));
    }
  }
  if (error && result.error.empty()) result.error = error->message;
  g_clear_error(&error);
  if (tls) g_object_unref(tls);
  if (identity) g_object_unref(identity);
  if (database) g_object_unref(database);
  if (tcp) g_object_unref(tcp);
  g_object_unref(client);
  return result;
}

std::string capture_client_hello() {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return "";
  // The client side runs a real handshake on its own thread; it fails once
  // the capturing side closes.
  std::thread client([fd = pair[0]] {
    GSocket *socket = g_socket_new_from_fd(fd, nullptr);
    if (!socket) {
      close(fd);
      return;
    }
    g_socket_set_timeout(socket, 5);
    GSocketConnection *connection = g_socket_connection_factory_create_connection(socket);
    GSocketConnectable *identity = g_network_address_new("127.0.0.1", 443);
    GIOStream *tls = g_tls_client_connection_new(G_IO_STREAM(connection), identity, nullptr);
    if (tls) {
      g_tls_connection_handshake(G_TLS_CONNECTION(tls), nullptr, nullptr);
      g_object_unref(tls);
    }
    g_object_unref(identity);
    g_object_unref(connection);
    g_object_unref(socket);
  });
  std::string record;
  pollfd entry = {pair[1], POLLIN, 0};
  char chunk[4096];
  // Up to the end of the first record, as its header announces it.
  while (poll(&entry, 1, 5000) == 1) {
    const ssize_t got = recv(pair[1], chunk, sizeof chunk, 0);
    if (got <= 0) break;
    record.append(chunk, static_cast<size_t>(got));
    if (record.size() >= 5) {
      const size_t length =
          5 + (static_cast<unsigned char>(record[3]) << 8 | static_cast<unsigned char>(record[4]));
      if (record.size() >= length) {
        record.resize(length);
        break;
      }
    }
  }
  close(pair[1]);
  client.join();
  if (record.size() < 5 || record[0] != 0x16) return "";
  return record;
}

std::vector<int> open_connections(int port, size_t count, const std::string &first_bytes) {
  std::vector<int> fds;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
      close(fd);
      fd = -1;
    }
    if (fd >= 0 && !first_bytes.empty() &&
        send(fd, first_bytes.data(), first_bytes.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(first_bytes.size())) {
      close(fd);
      fd = -1;
    }
    fds.push_back(fd);
  }
  return fds;
}

size_t await_closed_by_server(const std::vector<int> &fds, int timeout_ms,
                              std::vector<long long> *ended_us) {
  ended_us->assign(fds.size(), 0);
  size_t ended = 0;
  for (size_t i = 0; i < fds.size(); i++)
    if (fds[i] < 0) (*ended_us)[i] = -1;
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  std::vector<pollfd> entries;
  std::vector<size_t> which;
  char chunk[4096];
  for (;;) {
    entries.clear();
    which.clear();
    for (size_t i = 0; i < fds.size(); i++) {
      if ((*ended_us)[i] != 0) continue;
      entries.push_back({fds[i], POLLIN, 0});
      which.push_back(i);
    }
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (entries.empty() || left_ms <= 0) break;
    if (poll(entries.data(), entries.size(), static_cast<int>(left_ms)) <= 0) continue;
    for (size_t k = 0; k < entries.size(); k++) {
      if (!entries[k].revents) continue;
      const ssize_t got = recv(entries[k].fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      (*ended_us)[which[k]] = g_get_monotonic_time();
      ended++;
    }
  }
  return ended;
}

size_t count_closed_now(const std::vector<int> &fds) {
  size_t closed = 0;
  char chunk[4096];
  for (int fd : fds) {
    if (fd < 0) continue;
    ssize_t got;
    while ((got = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0) {
    }
    if (got == 0 || (errno != EAGAIN && errno != EINTR)) closed++;
  }
  return closed;
}

void close_all(std::vector<int> *fds) {
  for (int fd : *fds)
    if (fd >= 0) close(fd);
  fds->clear();
}

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace access_test
