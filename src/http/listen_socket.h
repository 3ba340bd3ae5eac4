// SPDX-License-Identifier: LGPL-2.1-or-later
// Where a server listens, and the listening socket itself: a TCP address and
// port, a unix domain socket path ("unix:/run/cam.sock"), or a socket some
// other process already made to listen (systemd's socket activation, a
// parent that bound port 80 before dropping privileges).
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include <string>

namespace mjpeghttp {

struct ListenConfig {
  // An IPv4/IPv6 address, a host name, or "unix:" followed by a path.
  std::string address = "127.0.0.1";
  unsigned port = 8080;  // 0 = ephemeral; unused for unix sockets
  // An already listening socket to serve on instead of binding `address`;
  // -1 = none. The server works on a duplicate, so the caller's descriptor
  // stays open and valid for the next start.
  int listen_fd = -1;
  // Permissions of a unix socket's file: who may connect (a reverse proxy
  // runs as another user, usually in a shared group).
  unsigned unix_socket_mode = 0660;

  static constexpr const char *kUnixPrefix = "unix:";
  bool is_unix() const { return listen_fd < 0 && address.rfind(kUnixPrefix, 0) == 0; }
  std::string unix_path() const { return is_unix() ? address.substr(5) : std::string(); }
  // Two configurations that name the same listening place share one server.
  // Ephemeral ports are never shared: each asked for a port of its own.
  bool shareable() const { return listen_fd >= 0 || is_unix() || port != 0; }
  std::string key() const;
  // "127.0.0.1:8080", "[::1]:8080", "unix:/run/cam.sock", "listen-fd 3".
  std::string describe() const;
};

// A listening socket ready for accept(), and what is needed to clean up after
// it: a unix socket's file is removed when the socket closes, if it is still
// the file this server created.
class ListenSocket {
 public:
  ListenSocket() = default;
  ~ListenSocket();
  ListenSocket(const ListenSocket &) = delete;
  ListenSocket &operator=(const ListenSocket &) = delete;

  // Binds and listens (or adopts the given descriptor). On failure returns
  // false with a message naming the place and the reason.
  bool open(const ListenConfig &config, int backlog, std::string *error);
  void close();

  GSocket *socket() const { return socket_; }
  // The TCP port actually bound (the ephemeral one for port 0); 0 for unix.
  unsigned bound_port() const { return bound_port_; }

 private:
  bool open_tcp(const ListenConfig &config, int backlog, std::string *error);
  bool open_unix(const ListenConfig &config, int backlog, std::string *error);
  bool adopt_fd(const ListenConfig &config, std::string *error);
  bool wrap(int fd, std::string *error);

  GSocket *socket_ = nullptr;
  unsigned bound_port_ = 0;
  std::string unix_path_;
  dev_t unix_device_ = 0;
  ino_t unix_inode_ = 0;
};

// "host:port" of a TCP peer, with IPv6 hosts bracketed and IPv4-mapped
// addresses shown as IPv4; "unix" for a unix socket peer (they are unnamed).
std::string format_socket_address(GSocketAddress *address);

}  // namespace mjpeghttp
