// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/listen_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/request_gate.h"

namespace mjpeghttp {

namespace {

std::string errno_text(int error) { return g_strerror(error); }

// Accepted sockets inherit this: room for a whole request head in the kernel
// while the request gate peeks at it (the default window may be smaller).
void size_receive_buffer(int fd) {
  int receive_buffer = 4 * static_cast<int>(RequestGate::kMaxRequestHead);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
}

// A socket file left behind by a process that died is refused by connect()
// (ECONNREFUSED), and only then is it taken over. Any other answer leaves the
// file alone: a connect that succeeds, or finds the backlog full (EAGAIN),
// reaches a live server; EACCES (another user's socket) or EPROTOTYPE (another
// program's datagram socket) say nothing about whether its owner still runs.
// The probe does not block, so a live server that is not accepting cannot
// hold the element's state change up. Returns an empty string when stale.
std::string why_unix_socket_is_not_stale(const std::string &path) {
  const std::string unknown = "cannot check whether another server is listening on it: ";
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe < 0) return unknown + errno_text(errno);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int result = connect(probe, reinterpret_cast<sockaddr *>(&address), sizeof address);
  const int error = result == 0 ? 0 : errno;
  ::close(probe);
  if (error == ECONNREFUSED || error == ENOENT) return "";
  if (error == 0 || error == EAGAIN) return "another server is listening on it";
  return unknown + errno_text(error);
}

}  // namespace

std::string ListenConfig::key() const {
  if (listen_fd >= 0) return "fd:" + std::to_string(listen_fd);
  if (is_unix()) return address;
  std::string host = address;
  for (char &c : host) c = g_ascii_tolower(c);
  return host + "|" + std::to_string(port);
}

std::string ListenConfig::describe() const {
  if (listen_fd >= 0) return "listen-fd " + std::to_string(listen_fd);
  if (is_unix()) return address;
  const bool ipv6 = address.find(':') != std::string::npos;
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

ListenSocket::~ListenSocket() { close(); }

bool ListenSocket::open(const ListenConfig &config, int backlog, std::string *error) {
  std::string reason;
  bool ok = config.listen_fd >= 0 ? adopt_fd(config, &reason)
            : config.is_unix()    ? open_unix(config, backlog, &reason)
                                  : open_tcp(config, backlog, &reason);
  if (!ok) {
    close();
    *error = "Could not listen on " + config.describe() + ": " + reason;
  }
  return ok;
}

void ListenSocket::close() {
  if (socket_) {
    g_socket_close(socket_, nullptr);
    g_object_unref(socket_);
    socket_ = nullptr;
  }
  // Another server may have replaced the file meanwhile (after removing
  // ours as stale): only our own is removed.
  struct stat info {};
  if (!unix_path_.empty() && lstat(unix_path_.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) &&
      info.st_dev == unix_device_ && info.st_ino == unix_inode_)
    unlink(unix_path_.c_str());
  unix_path_.clear();
  bound_port_ = 0;
}

bool ListenSocket::wrap(int fd, std::string *error) {
  GError *err = nullptr;
  socket_ = g_socket_new_from_fd(fd, &err);
  if (!socket_) {
    *error = err ? err->message : "not a usable socket";
    g_clear_error(&err);
    ::close(fd);
    return false;
  }
  return true;
}

bool ListenSocket::open_tcp(const ListenConfig &config, int backlog, std::string *error) {
  GInetAddress *inet = g_inet_address_new_from_string(config.address.c_str());
  if (!inet) {
    GResolver *resolver = g_resolver_get_default();
    GError *err = nullptr;
    GList *found = g_resolver_lookup_by_name(resolver, config.address.c_str(), nullptr, &err);
    g_object_unref(resolver);
    if (!found) {
      *error = std::string("cannot resolve the address: ") + (err ? err->message : "no address");
      g_clear_error(&err);
      return false;
    }
    inet = G_INET_ADDRESS(g_object_ref(found->data));
    g_resolver_free_addresses(found);
  }
  GSocketAddress *address = g_inet_socket_address_new(inet, config.port);
  GError *err = nullptr;
  socket_ = g_socket_new(g_inet_address_get_family(inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &err);
  g_object_unref(inet);
  bool ok = socket_ != nullptr;
  // allow_reuse sets SO_REUSEADDR: a restart on the same port right after a
  // stop must not fail on the old connections' TIME-WAIT.
  if (ok) ok = g_socket_bind(socket_, address, TRUE, &err);
  if (ok) {
    size_receive_buffer(g_socket_get_fd(socket_));
    g_socket_set_listen_backlog(socket_, backlog);
    ok = g_socket_listen(socket_, &err);
  }
  g_object_unref(address);
  if (!ok) {
    *error = err ? err->message : "unknown error";
    g_clear_error(&err);
    return false;
  }
  GSocketAddress *local = g_socket_get_local_address(socket_, nullptr);
  if (local) {
    bound_port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
    g_object_unref(local);
  }
  return true;
}

bool ListenSocket::open_unix(const ListenConfig &config, int backlog, std::string *error) {
  const std::string path = config.unix_path();
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    *error = path.empty() ? "no path after 'unix:'"
                          : "the path is longer than " +
                                std::to_string(sizeof address.sun_path - 1) + " bytes";
    return false;
  }
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      *error = "the path exists and is not a socket";
      return false;
    }
    const std::string in_use = why_unix_socket_is_not_stale(path);
    if (!in_use.empty()) {
      *error = in_use;
      return false;
    }
    // Left by a server that did not clean up (killed, or a crash).
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      *error = "cannot remove the stale socket: " + errno_text(errno);
      return false;
    }
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno_text(errno);
    return false;
  }
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    *error = errno_text(errno);
    ::close(fd);
    return false;
  }
  struct stat created {};
  lstat(path.c_str(), &created);
  unix_path_ = path;
  unix_device_ = created.st_dev;
  unix_inode_ = created.st_ino;
  // Before listen(): until then a connect is refused, so no one gets in
  // under the looser permissions the umask gave the file.
  if (chmod(path.c_str(), config.unix_socket_mode) != 0) {
    *error = "cannot set the socket's permissions: " + errno_text(errno);
    ::close(fd);
    return false;
  }
  size_receive_buffer(fd);
  if (listen(fd, backlog) != 0) {
    *error = errno_text(errno);
    ::close(fd);
    return false;
  }
  return wrap(fd, error);
}

bool ListenSocket::adopt_fd(const ListenConfig &config, std::string *error) {
  int type = 0, listening = 0;
  socklen_t length = sizeof type;
  if (getsockopt(config.listen_fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    *error = errno == ENOTSOCK ? "the descriptor is not a socket" : errno_text(errno);
    return false;
  }
  length = sizeof listening;
  getsockopt(config.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  if (type != SOCK_STREAM || !listening) {
    *error = "the descriptor is not a listening stream socket";
    return false;
  }
  int fd = fcntl(config.listen_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    *error = errno_text(errno);
    return false;
  }
  if (!wrap(fd, error)) return false;
  GSocketAddress *local = g_socket_get_local_address(socket_, nullptr);
  if (local && G_IS_INET_SOCKET_ADDRESS(local))
    bound_port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
  if (local) g_object_unref(local);
  return true;
}

std::string format_socket_address(GSocketAddress *address) {
  if (address && g_socket_address_get_family(address) == G_SOCKET_FAMILY_UNIX) return "unix";
  if (!G_IS_INET_SOCKET_ADDRESS(address)) return "unknown";
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
  GInetAddress *ip = g_inet_socket_address_get_address(inet);
  // A dual-stack (::) listener sees IPv4 viewers as ::ffff:a.b.c.d; they are
  // reported as the IPv4 addresses they are.
  static const guint8 kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  GInetAddress *v4 = nullptr;
  if (g_inet_address_get_family(ip) == G_SOCKET_FAMILY_IPV6 &&
      memcmp(g_inet_address_to_bytes(ip), kV4MappedPrefix, sizeof kV4MappedPrefix) == 0) {
    v4 = g_inet_address_new_from_bytes(g_inet_address_to_bytes(ip) + 12, G_SOCKET_FAMILY_IPV4);
    ip = v4;
  }
  gchar *host = g_inet_address_to_string(ip);
  if (v4) g_object_unref(v4);
  std::string text = host;
  g_free(host);
  if (text.find(':') != std::string::npos) text = "[" + text + "]";
  return text + ":" + std::to_string(g_inet_socket_address_get_port(inet));
}

}  // namespace mjpeghttp
