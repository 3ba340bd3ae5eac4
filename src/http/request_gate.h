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
// Over HTTPS the gate runs the TLS handshake first, under the same request
// timeout: it starts only once the client's whole first TLS record (its
// ClientHello) has arrived, so connections that stall before it cost no
// handshake at all (GIO runs each handshake on a pool thread that a stalled
// client would hold). After the handshake the head is read through TLS,
// checked by the same rules, and replayed to libsoup.
//
// The gate accepts connections itself: when the process runs out of file
// descriptors (EMFILE) it stops accepting for a short, growing pause instead
// of spinning, says so once per burst, and never stops for good.
//
// Lives on the HTTP thread and must be created, used and destroyed there.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <functional>
#include <string>
#include <vector>

#include "base/log.h"

namespace mjpeghttp {

class RequestGate {
 public:
  // Bigger heads are refused. Real clients send well under 8 KiB; nginx's
  // largest default buffer is 32 KiB.
  static constexpr size_t kMaxRequestHead = 32 * 1024;

  // `certificate` (may be null: plain HTTP) is the TLS identity to serve.
  RequestGate(SoupServer *server, unsigned request_timeout_ms, GTlsCertificate *certificate,
              LogSink log);
  ~RequestGate();
  RequestGate(const RequestGate &) = delete;
  RequestGate &operator=(const RequestGate &) = delete;

  // Starts accepting on `listening` (bound and listening already); it stays
  // the caller's to close, after the gate is gone.
  void add_listener(GSocket *listening);

  // The first and the longest pause of accepting after an accept failed for
  // lack of descriptors or memory.
  static constexpr unsigned kFirstAcceptPauseMs = 10;
  static constexpr unsigned kMaxAcceptPauseMs = 500;

  // The socket of a connection this gate handed to libsoup, found through
  // the remote address object libsoup keeps for it (transfer full), or null.
  static GSocket *socket_of(GSocketAddress *remote_address);
  // What is left of `timeout_ms` since the gate accepted that connection
  // (at least 1), or all of it for a connection the gate never saw: the
  // request timeout runs from the connect, not again from the head.
  static unsigned time_left_ms(GSocketAddress *remote_address, unsigned timeout_ms);

 private:
  struct Pending;
  static gboolean on_acceptable(GSocket *socket, GIOCondition condition, gpointer self);
  static gboolean on_accept_pause_over(gpointer self);
  static gboolean on_readable(GSocket *socket, GIOCondition condition, gpointer pending);
  static gboolean on_tls_readable(GObject *stream, gpointer pending);
  static gboolean on_timeout(gpointer pending);
  static void on_handshaken(GObject *tls, GAsyncResult *result, gpointer pending);

  void watch_listener();
  // Accepts what is waiting; false when accepting pauses.
  bool accept_waiting();
  void pause_accepting(const char *reason);
  void adopt(GSocket *socket);
  // Looks at what arrived; true while the connection must still wait.
  bool inspect(Pending *pending);
  // Waits for the client's whole first TLS record, then starts the
  // handshake; true while it must still wait.
  bool inspect_client_hello(Pending *pending);
  void start_handshake(Pending *pending);
  // Reads the head through TLS; true while it must still wait.
  bool read_tls_head(Pending *pending);
  // What to do with a head of `size` bytes (`end`: where it ends, or npos);
  // true while the connection must still wait.
  bool judge(Pending *pending, const char *head, size_t size, size_t end);
  void hand_to_libsoup(Pending *pending);
  // Answers `status` and starts draining; true while still draining.
  bool refuse(Pending *pending, unsigned status, const char *reason);
  // Discards what the refused client still sends; true while it goes on.
  bool drain(Pending *pending);
  void arm_timer(Pending *pending, unsigned timeout_ms);
  void watch_readable(Pending *pending);
  // Looks at an unfinished head again shortly (unix sockets).
  void recheck_later(Pending *pending);
  // Closes the connection and forgets it.
  void drop(Pending *pending);
  // Forgets the connection (handed over, or closed already).
  void finish(Pending *pending);
  static void free_pending(Pending *pending);
  void log(LogLevel level, const std::string &text) const;

  SoupServer *server_;
  unsigned request_timeout_ms_;
  GTlsCertificate *certificate_;
  LogSink log_;
  GSocket *listening_ = nullptr;
  GSource *listen_source_ = nullptr;
  GSource *accept_pause_ = nullptr;
  unsigned accept_pause_ms_ = kFirstAcceptPauseMs;
  // Accepts that failed in the current burst (0: not in one).
  unsigned failed_accepts_ = 0;
  std::vector<Pending *> pending_;
  // Connections dropped while their handshake ran on a GIO thread; each is
  // freed by its handshake's callback.
  std::vector<Pending *> abandoned_;
  // One peek buffer for the whole server: the gate runs on one thread.
  std::vector<char> scratch_;
};

}  // namespace mjpeghttp
