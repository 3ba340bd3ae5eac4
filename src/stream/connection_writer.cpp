// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/connection_writer.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <vector>

namespace mjpeghttp {

namespace {

// Longest the TLS close_notify may wait for a viewer that reads nothing.
constexpr guint kFinishTimeoutS = 1;

class SocketWriter : public ConnectionWriter {
 public:
  explicit SocketWriter(int fd) : fd_(fd) {}

  ssize_t write_some(const iovec *iov, size_t count) override {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec *>(iov);
    msg.msg_iovlen = count;
    // MSG_NOSIGNAL: a viewer that went away must be an EPIPE here, not a
    // SIGPIPE that kills the application.
    return sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  }

 private:
  int fd_;
};

// Over TLS every byte must go through the TLS stream (it encrypts and
// frames records), never onto the fd. The stream underneath is the GSocket
// whose fd the caller polls, so "would block" here means that fd is full.
class TlsWriter : public ConnectionWriter {
  // The caller tells a viewer that closed its connection (EPIPE) from a
  // write that failed under it (EIO: a TLS error, or the network). The
  // error alone does not always say: after the peer's reset GnuTLS may
  // report only that its session was invalidated (G_TLS_ERROR_MISC). So
  // a write that failed while the socket shows the peer gone counts as
  // closed too.
  int errno_of(const GError *error) const {
    if (error && error->domain == G_IO_ERROR &&
        (error->code == G_IO_ERROR_CONNECTION_CLOSED || error->code == G_IO_ERROR_NOT_CONNECTED ||
         error->code == G_IO_ERROR_BROKEN_PIPE || error->code == g_io_error_from_errno(ECONNRESET)))
      return EPIPE;
    pollfd peer{g_socket_get_fd(socket_), POLLRDHUP, 0};
    if (poll(&peer, 1, 0) == 1 && (peer.revents & (POLLRDHUP | POLLHUP | POLLERR))) return EPIPE;
    return EIO;
  }

 public:
  TlsWriter(GIOStream *connection, GSocket *socket)
      : output_(g_io_stream_get_output_stream(connection)), socket_(socket) {}

  ssize_t write_some(const iovec *iov, size_t count) override {
    if (!G_IS_POLLABLE_OUTPUT_STREAM(output_) ||
        !g_pollable_output_stream_can_poll(G_POLLABLE_OUTPUT_STREAM(output_))) {
      errno = EOPNOTSUPP;
      return -1;
    }
    vectors_.resize(count);
    for (size_t i = 0; i < count; i++) vectors_[i] = {iov[i].iov_base, iov[i].iov_len};
    gsize written = 0;
    GError *error = nullptr;
    // A record the TLS layer could send only in part stays buffered inside
    // it; the caller's retry with the same buffers completes it.
    GPollableReturn result = g_pollable_output_stream_writev_nonblocking(
        G_POLLABLE_OUTPUT_STREAM(output_), vectors_.data(), count, &written, nullptr, &error);
    switch (result) {
      case G_POLLABLE_RETURN_OK:
        return static_cast<ssize_t>(written);
      case G_POLLABLE_RETURN_WOULD_BLOCK:
        errno = EAGAIN;
        return -1;
      default:
        errno = errno_of(error);
        g_clear_error(&error);
        return -1;
    }
  }

  void finish() override {
    // Without close_notify, TLS clients (curl with OpenSSL among them)
    // report a truncated stream even after the closing boundary. The
    // blocking close must not hang on a viewer that reads nothing: the
    // socket's timeout bounds it.
    g_socket_set_timeout(socket_, kFinishTimeoutS);
    g_output_stream_close(output_, nullptr, nullptr);
  }

 private:
  GOutputStream *output_;
  GSocket *socket_;
  std::vector<GOutputVector> vectors_;
};

}  // namespace

std::unique_ptr<ConnectionWriter> make_connection_writer(GIOStream *connection, GSocket *socket,
                                                         bool encrypted) {
  if (encrypted && connection && socket) return std::make_unique<TlsWriter>(connection, socket);
  return std::make_unique<SocketWriter>(socket ? g_socket_get_fd(socket) : -1);
}

}  // namespace mjpeghttp
