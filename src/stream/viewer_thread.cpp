// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/viewer_thread.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "base/monotonic_clock.h"
#include "stream/rate_limiter.h"
#include "stream/viewer_queue_tls.h"

namespace mjpeghttp {

namespace {

// Between slices a blocked writer rechecks whether it should give up (the
// disconnect policy fired); keeps that reaction prompt without a second fd.
constexpr int kPollSliceMs = 250;

// A viewer that leaves while no frames flow (paused or stalled source) is only
// noticed by looking at its socket; an idle thread wakes this often.
constexpr int kIdleCheckMs = 1000;

// A viewer offered frames but written none for this long (a low ?fps cap
// skips them) has its socket looked at for a hang-up: with no write to fail,
// nothing else would notice, and it would keep its descriptor, thread and
// max-clients slot in CLOSE-WAIT for as long as its cap holds frames back.
// No shorter than the silence a viewer of a live stream already tolerates,
// as a client that only half-closed is taken for one that left.
constexpr int kPeerCheckMs = 1000;

// Bounds of the wait after which ?dual_final_frames=1 sends a frame again:
// never sooner than a fast camera's next frame, never later than an idle
// resend would.
constexpr int64_t kMinDualFinalWaitMs = 20;
constexpr int64_t kMaxDualFinalWaitMs = 1000;

}  // namespace

ViewerThread::ViewerThread(ViewerInfo info, GIOStream *connection, GSocket *socket,
                           const ViewerEnvironment &env, Hook on_started, Hook on_finished)
    : info_(std::move(info)),
      connection_(connection),
      socket_(socket),
      fd_(socket ? g_socket_get_fd(socket) : -1),
      env_(env),
      writer_(make_connection_writer(connection, socket, env.tls)),
      pacer_(fd_),
      on_started_(std::move(on_started)),
      on_finished_(std::move(on_finished)) {
  counters_.started_monotonic_ms = monotonic_ms();
}

ViewerThread::~ViewerThread() {
  join();
  close_connection();
}

bool ViewerThread::start(std::string *error) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackSize);
  int rc = pthread_create(&thread_, &attr, &ViewerThread::thread_main, this);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    if (error) *error = std::string("cannot create viewer thread: ") + strerror(rc);
    close_connection();
    finished_.store(true, std::memory_order_release);
    return false;
  }
  running_ = true;
  return true;
}

void ViewerThread::join() {
  if (running_) {
    pthread_join(thread_, nullptr);
    running_ = false;
  }
}

void *ViewerThread::thread_main(void *self) {
  static_cast<ViewerThread *>(self)->run();
  return nullptr;
}

void ViewerThread::run() {
  // Named so profiles and debuggers tell viewers apart from the threads
  // they were started from (15 characters at most).
  pthread_setname_np(pthread_self(), "mjpeg-viewer");
  // SCHED_BATCH (still a normal, unprivileged policy) only gives up wake-up
  // preemption: a viewer woken for a frame waits for the running thread's
  // slice instead of taking its CPU. Without it, every frame the fan-out
  // thread was preempted by the viewers it woke, dozens of times per frame
  // (about 1 900 involuntary switches a second at 300 viewers), and so
  // could the streaming thread and the application's encoder be.
  sched_param batch{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);
  FrameQueue &queue = this_thread_queue();
  queue.reset(env_.queue_capacity, env_.queue_policy, &counters_);
  queue_ = &queue;
  // Without a socket there is nothing to serve (never announced).
  LeaveReason reason = LeaveReason::kWriteError;
  if (fd_ >= 0) {
    pacer_.bound_unsent_bytes();
    pacer_.sample_window();
    reason = serve(queue);
  }
  env_.dispatcher->detach(&queue);
  // Drop queued frames now: their buffers must go back before the thread's
  // thread_local destructors run, which is after the engine may have stopped.
  queue.reset(1, QueuePolicy::kDropOldest);
  queue_ = nullptr;
  close_connection();
  info_.reason = reason;
  if (on_finished_) on_finished_(info_);
  finished_.store(true, std::memory_order_release);
}

LeaveReason ViewerThread::serve(FrameQueue &queue) {
  Dispatcher::Attachment attachment = env_.dispatcher->attach(&queue);
  if (!attachment.accepted) return stop_reason();
  // Announced only once attached: from here on the viewer receives every
  // frame, so an application that waits for client-added and then pushes
  // frames knows the viewer gets all of them.
  info_.announced = true;
  if (on_started_) on_started_(info_);

  bool sent_any = false;
  FrameRateLimiter rate_limiter(info_.max_fps);
  // A new viewer gets the latest frame at once instead of waiting a frame
  // interval (or forever, if the source is paused) for a picture. It also
  // starts the viewer's rate schedule.
  // Read after attaching: every frame published from here on reaches the
  // queue, and anything the queue repeats is skipped by its sequence.
  FramePtr first = env_.latest->get();
  // The newest frame this viewer has had in hand (written, or skipped on
  // purpose). A newer published one is still on its way to the queue.
  uint64_t newest_taken = first ? first->sequence : 0;
  if (first) {
    rate_limiter.admit(first->timestamp_us);
    WriteResult result = write_frame(*first, true, attachment.ended);
    if (result != WriteResult::kDone) return reason_for(result);
    sent_any = true;
    if (attachment.ended) return LeaveReason::kEndOfStream;
  } else if (attachment.ended) {
    WriteResult result = write_bytes(env_.format->bare_closing());
    return result == WriteResult::kDone ? LeaveReason::kEndOfStream : reason_for(result);
  }

  const int idle_wait_ms = env_.idle_resend_ms > 0
                               ? std::min<int>(static_cast<int>(env_.idle_resend_ms), kIdleCheckMs)
                               : kIdleCheckMs;
  // ?dual_final_frames=1: a new frame was written and the one after it is
  // not due yet; if it does not come in time, the frame goes out again.
  bool final_frame_pending = false;
  int64_t last_new_frame_ms = 0;
  int64_t frame_gap_ms = kMaxDualFinalWaitMs;
  // When the write of the last frame began: the time the viewer took to
  // receive it tells a viewer that cannot keep up from one briefly late.
  int64_t last_frame_started_ms = monotonic_ms();
  // After a stall: the newest frame published by the time the viewer could
  // take frames again. Until a frame after it goes out without another
  // stall, the viewer is still taking what piled up meanwhile.
  bool taking_backlog = false;
  uint64_t backlog_end = 0;
  // A resend is for a viewer offered nothing for a whole period. A frame
  // from the source puts it off, sent or skipped by the viewer's ?fps cap (a
  // capped viewer is not idle); so does a resend that was due but could not
  // go out (no frame to repeat, or a newer one on its way), or the wait for
  // it would become a loop of zero waits.
  int64_t resend_not_before_ms = 0;
  for (;;) {
    FramePtr frame;
    int wait_ms = idle_wait_ms;
    if (final_frame_pending) {
      wait_ms = static_cast<int>(
          std::clamp<int64_t>(frame_gap_ms * 3 / 2, kMinDualFinalWaitMs, kMaxDualFinalWaitMs));
    } else if (env_.idle_resend_ms > 0 && sent_any) {
      // Until the resend is due, counted from the last write: a wait of the
      // whole period after a frame that was skipped or a wake-up that found
      // nothing would put the resend a period late.
      const int64_t due_ms = std::max(last_write_ms_ + static_cast<int64_t>(env_.idle_resend_ms),
                                      resend_not_before_ms);
      wait_ms = static_cast<int>(std::clamp<int64_t>(due_ms - monotonic_ms(), 0, idle_wait_ms));
    }
    const FrameQueue::Event event = queue.pop(frame, wait_ms);
    if (event == FrameQueue::Event::kFrame && peer_left_unnoticed()) return LeaveReason::kClosed;
    if (event == FrameQueue::Event::kIdle && final_frame_pending) {
      final_frame_pending = false;
      FramePtr last = newest_frame();
      if (last) {
        // A resend is a frame too: the next frame's stall is timed from it.
        last_frame_started_ms = monotonic_ms();
        WriteResult result = write_frame(*last, false, false);
        if (result != WriteResult::kDone) return reason_for(result);
      }
      continue;
    }
    switch (event) {
      case FrameQueue::Event::kIdle:
        // Looked at before any resend: the first write after a hang-up
        // still succeeds, so a write would notice only a second later.
        if (peer_has_left()) return LeaveReason::kClosed;
        last_peer_check_ms_ = monotonic_ms();
        // Browsers that show a frame only once the next part begins (Chrome)
        // would keep showing the one before the latest while the source is
        // idle; sending the latest again makes them show it.
        if (env_.idle_resend_ms > 0 && sent_any &&
            monotonic_ms() - last_write_ms_ >= static_cast<int64_t>(env_.idle_resend_ms) &&
            monotonic_ms() >= resend_not_before_ms) {
          FramePtr last = newest_frame();
          // A frame newer than any this viewer has taken is already on its
          // way to the queue (the latest is set before the fan-out runs):
          // sending it now would make the viewer skip the ones before it.
          // That happens when the source resumes just as the wait ends,
          // e.g. after a busy machine held the source back for a second.
          if (!last || last->sequence > newest_taken) {
            resend_not_before_ms = monotonic_ms() + static_cast<int64_t>(env_.idle_resend_ms);
            break;
          }
          last_frame_started_ms = monotonic_ms();
          WriteResult result = write_frame(*last, false, false);
          if (result != WriteResult::kDone) return reason_for(result);
        }
        break;
      case FrameQueue::Event::kFrame: {
        newest_taken = std::max(newest_taken, frame->sequence);
        resend_not_before_ms = monotonic_ms() + static_cast<int64_t>(env_.idle_resend_ms);
        // Already sent (the viewer started with it): never twice, never back.
        if (frame->sequence != 0 && frame->sequence <= last_sequence_) break;
        // Skipped, not queued: the viewer's cap never delays a frame.
        if (!rate_limiter.admit(frame->timestamp_us)) break;
        // The viewer has not yet received the last frame: sending this one
        // now would queue it behind that one on the viewer's link, and it
        // would arrive a whole frame-transfer old. Wait until the viewer has
        // taken everything. A fast viewer has by the time its next frame
        // comes: one ioctl, no wait.
        bool stalled = false;
        if (!pacer_.viewer_has_everything()) {
          StallPacer::Result paced =
              pacer_.wait_until_ready(env_.stop_fd, &queue, env_.viewer_timeout_ms);
          if (paced != StallPacer::Result::kReady) return reason_for(paced);
          // A viewer that took kStallMs or more to receive its last frame
          // stalled. One stall is a pause (this thread or the viewer's kept
          // off a busy CPU, a network hiccup): the frames queued meanwhile,
          // as many as max-queued-frames allows, go out in order, so a viewer
          // that reads fast again loses none. A viewer that stalls again
          // before it has taken them, with its queue at least half full,
          // cannot keep up (a slow link stalls on every frame): it gets the
          // newest frame instead of a backlog that grows staler with every
          // stall. (A busy machine can stall a fast viewer twice in a row;
          // it is still only a few frames behind.)
          stalled = monotonic_ms() - last_frame_started_ms >= StallPacer::kStallMs;
          if (stalled) {
            FramePtr newer;
            if (taking_backlog && queue.depth() * 2 >= env_.queue_capacity &&
                queue.take_newest(newer)) {
              frame = std::move(newer);
              newest_taken = std::max(newest_taken, frame->sequence);
            }
            taking_backlog = true;
            FramePtr newest = newest_frame();
            backlog_end = newest ? newest->sequence : last_sequence_;
          }
        }
        last_frame_started_ms = monotonic_ms();
        WriteResult result = write_frame(*frame, !sent_any, false);
        if (result != WriteResult::kDone) return reason_for(result);
        sent_any = true;
        if (info_.dual_final_frames) {
          // The source's own pace tells when a frame is late: 1.5 gaps.
          if (last_new_frame_ms > 0) frame_gap_ms = last_write_ms_ - last_new_frame_ms;
          last_new_frame_ms = last_write_ms_;
          final_frame_pending = true;
        }
        frame.reset();
        if (!stalled && taking_backlog && last_sequence_ > backlog_end) taking_backlog = false;
        break;
      }
      case FrameQueue::Event::kEnd: {
        // Every part is already followed by a boundary line, so the only
        // well-formed way to close is one more part ending in the close
        // delimiter: repeat the latest frame. (A bare "--b--" after "--b"
        // would be a malformed, header-less part to every parser.)
        FramePtr last = newest_frame();
        WriteResult result =
            last ? write_frame(*last, !sent_any, true) : write_bytes(env_.format->bare_closing());
        // A viewer gone before its closing part did not see the end.
        return result == WriteResult::kDone ? LeaveReason::kEndOfStream : reason_for(result);
      }
      case FrameQueue::Event::kCancel:
      case FrameQueue::Event::kOverflow:
        return stop_reason();
    }
  }
}

LeaveReason ViewerThread::reason_for(WriteResult result) const {
  switch (result) {
    case WriteResult::kPeerClosed:
      return LeaveReason::kClosed;
    case WriteResult::kTimedOut:
      return LeaveReason::kTimeout;
    case WriteResult::kStopped:
      return stop_reason();
    case WriteResult::kFailed:
    case WriteResult::kDone:
      break;
  }
  return LeaveReason::kWriteError;
}

LeaveReason ViewerThread::reason_for(StallPacer::Result result) const {
  switch (result) {
    case StallPacer::Result::kTimedOut:
      return LeaveReason::kTimeout;
    case StallPacer::Result::kStopped:
      return stop_reason();
    case StallPacer::Result::kPeerGone:
    case StallPacer::Result::kReady:
      break;
  }
  // The pacer sees the socket hung up or in error: the same as a write that
  // finds it so.
  return reason_for(write_failure(pending_socket_error()));
}

LeaveReason ViewerThread::stop_reason() const {
  // Overflow first: the disconnect policy may have fired just before the
  // engine stopped, and it is what ended this viewer's stream.
  if (queue_ && queue_->overflowed()) return LeaveReason::kQueueDisconnect;
  return env_.stop_reason ? env_.stop_reason->load() : LeaveReason::kStopping;
}

ViewerThread::WriteResult ViewerThread::write_frame(const Frame &frame, bool opening,
                                                    bool closing) {
  const MultipartFormat &format = *env_.format;
  // One sendmsg per part: boundary (first part only), headers, the JPEG's own
  // memories and the trailing boundary, gathered without copying. Frames of
  // a few memories fit the array on the stack: no allocation per viewer.
  constexpr size_t kInlineIovecs = 16;
  const size_t needed = frame.chunks.size() + 3;
  iovec inline_iov[kInlineIovecs];
  std::vector<iovec> heap_iov;
  iovec *iov = inline_iov;
  if (needed > kInlineIovecs) {
    heap_iov.resize(needed);
    iov = heap_iov.data();
  }
  size_t count = 0;
  auto add = [&](const void *data, size_t size) {
    if (size > 0) iov[count++] = {const_cast<void *>(data), size};
  };
  if (opening) add(format.opening().data(), format.opening().size());
  if (!format.headers_in_advance()) add(frame.part_header.data(), frame.part_header.size());
  for (const iovec &chunk : frame.chunks) add(chunk.iov_base, chunk.iov_len);
  const std::string &tail = closing ? format.closing_trailer() : format.trailer();
  add(tail.data(), tail.size());
  WriteResult result = write_all(iov, count, queue_);
  if (result == WriteResult::kDone) {
    last_write_ms_ = monotonic_ms();
    last_sequence_ = std::max(last_sequence_, frame.sequence);
    counters_.frames_sent.fetch_add(1, std::memory_order_relaxed);
    counters_.send_rate.tick(last_write_ms_);
  }
  return result;
}

ViewerThread::WriteResult ViewerThread::write_bytes(const std::string &bytes) {
  iovec iov{const_cast<char *>(bytes.data()), bytes.size()};
  return write_all(&iov, 1, queue_);
}

ViewerThread::WriteResult ViewerThread::write_all(iovec *iov, size_t count,
                                                  const FrameQueue *queue) {
  int64_t last_progress = monotonic_ms();
  while (count > 0) {
    ssize_t sent = writer_->write_some(iov, std::min<size_t>(count, IOV_MAX));
    if (sent > 0) {
      counters_.bytes_sent.fetch_add(static_cast<uint64_t>(sent), std::memory_order_relaxed);
      last_progress = monotonic_ms();
      size_t left = static_cast<size_t>(sent);
      while (count > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        iov++;
        count--;
      }
      if (count > 0) {
        iov->iov_base = static_cast<char *>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return write_failure(errno);

    pollfd fds[2] = {{fd_, POLLOUT, 0}, {env_.stop_fd, POLLIN, 0}};
    int rc = poll(fds, env_.stop_fd >= 0 ? 2 : 1, kPollSliceMs);
    if (rc < 0 && errno != EINTR) return WriteResult::kFailed;
    if (env_.stop_fd >= 0 && (fds[1].revents & POLLIN)) return WriteResult::kStopped;
    if (fds[0].revents & POLLNVAL) return WriteResult::kFailed;
    if (fds[0].revents & (POLLERR | POLLHUP)) return write_failure(pending_socket_error());
    if (queue && queue->stop_requested()) return WriteResult::kStopped;
    if (env_.viewer_timeout_ms > 0 &&
        monotonic_ms() - last_progress >= static_cast<int64_t>(env_.viewer_timeout_ms))
      return WriteResult::kTimedOut;
  }
  return WriteResult::kDone;
}

ViewerThread::WriteResult ViewerThread::write_failure(int error) {
  // A viewer that closes its end makes the next writes fail with one of
  // these (a reset answers bytes sent after its FIN); anything else is the
  // network or the TLS layer failing under a viewer that may still be there.
  if (error == EPIPE || error == ECONNRESET || error == 0) return WriteResult::kPeerClosed;
  return WriteResult::kFailed;
}

int ViewerThread::pending_socket_error() const {
  // A hang-up leaves no error behind (0, a close); a reset or a network
  // failure leaves its errno in SO_ERROR.
  int error = 0;
  socklen_t size = sizeof error;
  if (fd_ < 0 || getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size) < 0) return EBADF;
  return error;
}

FramePtr ViewerThread::newest_frame() const { return env_.latest->get(); }

bool ViewerThread::peer_left_unnoticed() {
  const int64_t now = monotonic_ms();
  // A viewer written to recently would have failed that write had it gone.
  if (now - std::max(last_write_ms_, last_peer_check_ms_) < kPeerCheckMs) return false;
  last_peer_check_ms_ = now;
  return peer_has_left();
}

bool ViewerThread::peer_has_left() const {
  // A viewer sends nothing after its request, so end-of-file or an error on
  // the read side means it closed the connection. (A client that only
  // half-closes is treated the same while the source is idle or its cap
  // holds frames back for kPeerCheckMs; while frames are written to it, only
  // a failed write cuts a viewer off.)
  pollfd fd{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&fd, 1, 0) <= 0) return false;
  if (fd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte;
  ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void ViewerThread::close_connection() {
  if (writer_ && fd_ >= 0) writer_->finish();
  writer_.reset();
  if (fd_ >= 0) {
    // Send FIN after our last bytes, so a viewer sees the closing boundary
    // followed by a clean end rather than a reset.
    shutdown(fd_, SHUT_WR);
  }
  fd_ = -1;
  // libsoup does not close a stolen connection: closing it is ours to do.
  if (connection_) {
    g_io_stream_close(connection_, nullptr, nullptr);
    g_object_unref(connection_);
    connection_ = nullptr;
  }
  if (socket_) {
    g_socket_close(socket_, nullptr);
    g_object_unref(socket_);
    socket_ = nullptr;
  }
}

}  // namespace mjpeghttp
