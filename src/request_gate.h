// SPDX-License-Identifier: LGPL-2.1-or-later
// Accepts connections for the HTTP server and holds each one until its whole
// request head (request line and headers) has arrived, then hands it to
// libsoup. This gives the server what libsoup 3.2 lacks:
//  - a head larger than kMaxRequestHead gets 414 or 431 and a clean close;
//    libsoup drops a head over 64 KiB with no answer, or with a reset;
//  - a connection that does not finish its head within the request timeout
//    (slowloris, or one that sends nothing) is closed;
//  - a request that announces a body over 64 KiB (or of unknown length) gets
//    413: nothing served here takes one, and libsoup would read a body of any
//    size into memory first.
// The head is only peeked at (MSG_PEEK), never consumed, so libsoup reads
// the request as if it had accepted the connection itself.
//
// Lives on the HTTP thread and must be created, used and destroyed there.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <functional>
#include <string>
#include <vector>

#include "log.h"

namespace mjpeghttp {

class RequestGate {
 public:
  // Bigger heads are refused. Real clients send well under 8 KiB; nginx's
  // largest default buffer is 32 KiB.
  static constexpr size_t kMaxRequestHead = 32 * 1024;

  RequestGate(SoupServer *server, unsigned request_timeout_ms, LogSink log);
  ~RequestGate();
  RequestGate(const RequestGate &) = delete;
  RequestGate &operator=(const RequestGate &) = delete;

  // Starts accepting on `listening` (bound and listening already).
  bool add_listener(GSocket *listening, std::string *error);

  // The socket of a connection this gate handed to libsoup, found through
  // the remote address object libsoup keeps for it (transfer full), or null.
  static GSocket *socket_of(GSocketAddress *remote_address);
  // What is left of `timeout_ms` since the gate accepted that connection
  // (at least 1), or all of it for a connection the gate never saw: the
  // request timeout runs from the connect, not again from the head.
  static unsigned time_left_ms(GSocketAddress *remote_address, unsigned timeout_ms);

 private:
  struct Pending;
  static gboolean on_incoming(GSocketService *service, GSocketConnection *connection,
                              GObject *source, gpointer self);
  static gboolean on_readable(GSocket *socket, GIOCondition condition, gpointer pending);
  static gboolean on_timeout(gpointer pending);

  // Looks at what arrived; true while the connection must still wait.
  bool inspect(Pending *pending);
  void hand_to_libsoup(Pending *pending);
  // Answers `status` and starts draining; true while still draining.
  bool refuse(Pending *pending, unsigned status, const char *reason);
  // Discards what the refused client still sends; true while it goes on.
  bool drain(Pending *pending);
  void arm_timer(Pending *pending, unsigned timeout_ms);
  void watch_readable(Pending *pending);
  // Looks at an unfinished head again shortly (unix sockets).
  void recheck_later(Pending *pending);
  void finish(Pending *pending);
  void log(LogLevel level, const std::string &text) const;

  SoupServer *server_;
  unsigned request_timeout_ms_;
  LogSink log_;
  GSocketService *service_;
  std::vector<Pending *> pending_;
  // One peek buffer for the whole server: the gate runs on one thread.
  std::vector<char> scratch_;
};

}  // namespace mjpeghttp
