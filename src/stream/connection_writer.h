// SPDX-License-Identifier: LGPL-2.1-or-later
// How a viewer thread puts bytes on its viewer's connection without
// blocking: straight onto the socket with sendmsg, or, over HTTPS, through
// the TLS stream libsoup handed over. Either way the caller waits for the
// socket's fd to become writable (poll) when a write would block, so its
// no-progress timeout and stop wake-up work the same for both.
//
// Used by the viewer's own viewer thread only.
#pragma once

#include <gio/gio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <memory>

namespace mjpeghttp {

class ConnectionWriter {
 public:
  virtual ~ConnectionWriter() = default;

  // Writes what the connection takes now of `count` buffers. Returns the
  // bytes written, or -1 with errno set: EAGAIN when nothing could be
  // written yet (retry with the same buffers once the fd is writable),
  // anything else when the viewer is gone.
  virtual ssize_t write_some(const iovec *iov, size_t count) = 0;

  // Ends the stream in a way the viewer can tell from a cut connection (the
  // TLS close_notify alert), before the socket is shut down. Bounded in time.
  virtual void finish() {}
};

// `connection` is the stolen libsoup stream and `socket` the TCP socket under
// it; `encrypted` says whether the server speaks TLS on it. Neither is owned.
std::unique_ptr<ConnectionWriter> make_connection_writer(GIOStream *connection, GSocket *socket,
                                                         bool encrypted);

}  // namespace mjpeghttp
