// SPDX-License-Identifier: LGPL-2.1-or-later
// One viewer of /stream, served by its own thread from the moment libsoup hands
// over the connection until the viewer leaves, the stream ends or the engine
// stops. The thread owns the connection and closes it; the engine joins the
// thread (viewer threads are never detached).
#pragma once

#include <gio/gio.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "stats/leave_reason.h"
#include "stats/viewer_counters.h"
#include "stream/connection_writer.h"
#include "stream/dispatcher.h"
#include "stream/frame_queue.h"
#include "stream/latest_frame.h"
#include "stream/multipart.h"
#include "stream/stall_pacer.h"
#include "stream/viewer_info.h"

namespace mjpeghttp {

// What the engine shares with every viewer thread. Outlives all of them.
struct ViewerEnvironment {
  Dispatcher *dispatcher = nullptr;
  // The newest frame published (required), which may be newer than the
  // last one the fan-out has pushed into queues.
  const LatestFrame *latest = nullptr;
  const MultipartFormat *format = nullptr;
  // The rest as EngineConfig says (the defaults live there).
  size_t queue_capacity = 0;
  QueuePolicy queue_policy = QueuePolicy::kDropOldest;
  // A viewer whose socket accepts no byte for this long is cut off; 0 = never.
  unsigned viewer_timeout_ms = 0;
  // With no new frame for this long, the latest one is sent again; 0 = never.
  unsigned idle_resend_ms = 0;
  // Readable once the engine stops; wakes a thread blocked on a full socket.
  int stop_fd = -1;
  // Why the engine cut its viewers off (kStopping or kMountRemoved): set
  // before stop_fd is written and the queues are cancelled.
  const std::atomic<LeaveReason> *stop_reason = nullptr;
  // The connection speaks TLS: bytes go through its stream, not the fd.
  bool tls = false;
};

class ViewerThread {
 public:
  // on_started runs once the viewer is attached to the dispatcher;
  // on_finished runs when the thread ends, whether or not it had started
  // (ViewerInfo::announced tells).
  using Hook = std::function<void(const ViewerInfo &)>;

  // Takes ownership of `connection` (a stolen libsoup connection) and of the
  // reference on `socket`, the socket under it.
  ViewerThread(ViewerInfo info, GIOStream *connection, GSocket *socket,
               const ViewerEnvironment &env, Hook on_started, Hook on_finished);
  ~ViewerThread();
  ViewerThread(const ViewerThread &) = delete;
  ViewerThread &operator=(const ViewerThread &) = delete;

  // False when the thread could not be created (the connection is closed).
  bool start(std::string *error);
  void join();
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  const ViewerInfo &info() const { return info_; }
  // Lock-free to read from any thread while this object exists.
  const ViewerCounters &counters() const { return counters_; }

  // Stack of each viewer thread, set explicitly so a thousand viewers cost
  // a thousand small stacks rather than 8 MiB reservations each. The thread
  // formats nothing itself: it waits, writes, and runs the application's
  // client-added/removed handlers, which is what the margin is for.
  static constexpr size_t kStackSize = 256 * 1024;

 private:
  // kPeerClosed: the viewer closed or reset the connection; kFailed: any
  // other write error (network, TLS); kStopped: the engine stops or the
  // disconnect policy fired (stop_reason() tells which).
  enum class WriteResult { kDone, kPeerClosed, kFailed, kTimedOut, kStopped };

  static void *thread_main(void *self);
  void run();
  // Returns why the viewer leaves.
  LeaveReason serve(FrameQueue &queue);
  LeaveReason reason_for(WriteResult result) const;
  LeaveReason reason_for(StallPacer::Result result) const;
  // Why the thread was told to stop: its queue overflowed, or the engine.
  LeaveReason stop_reason() const;
  WriteResult write_frame(const Frame &frame, bool opening, bool closing);
  WriteResult write_bytes(const std::string &bytes);
  WriteResult write_all(iovec *iov, size_t count, const FrameQueue *queue);
  // What a write error (errno, or the socket's pending error) means.
  static WriteResult write_failure(int error);
  // The socket's pending error (SO_ERROR, cleared by reading it); 0 after a
  // plain hang-up.
  int pending_socket_error() const;
  bool peer_has_left() const;
  // Looks for a hang-up when the viewer has been written nothing for a while.
  bool peer_left_unnoticed();
  FramePtr newest_frame() const;
  void close_connection();

  ViewerInfo info_;
  GIOStream *connection_;
  GSocket *socket_;
  int fd_;
  ViewerEnvironment env_;
  std::unique_ptr<ConnectionWriter> writer_;
  StallPacer pacer_;
  Hook on_started_;
  Hook on_finished_;
  FrameQueue *queue_ = nullptr;
  ViewerCounters counters_;
  // When the last part was fully written (monotonic ms).
  int64_t last_write_ms_ = 0;
  // When the socket was last looked at for a hang-up (monotonic ms).
  int64_t last_peer_check_ms_ = 0;
  // Sequence of the newest frame written: a frame the fan-out delivers after
  // the viewer already started with it (or a newer one) is not sent again.
  uint64_t last_sequence_ = 0;
  pthread_t thread_{};
  bool running_ = false;
  std::atomic<bool> finished_{false};
};

}  // namespace mjpeghttp
