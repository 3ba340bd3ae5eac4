// SPDX-License-Identifier: LGPL-2.1-or-later
// A viewer of the live stream that knows how the source numbers its frames
// (a sequence number in each JPEG's comment segment, see live_stream.h): on
// its own thread it parses every part and notes any frame out of order or
// missing, any silence longer than kMaxSilenceMs and any broken framing.
// Its public methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stream_client.h"

namespace hardening_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

// The longest a well-behaved viewer of a 30 fps stream may wait for its next
// frame while hostile clients do their worst.
constexpr int kMaxSilenceMs = 1000;

// The sequence number carried by a frame of the live source, or 0.
uint64_t frame_sequence(const std::string &jpeg);

class SequenceViewer {
 public:
  struct Options {
    // Shut down the sending side right after the request (half-close).
    bool half_close = false;
  };

  // Sends `request` (any bytes: the test decides what a request is) and
  // reads the response head; if it is a 200 multipart stream, reading goes
  // on in the background.
  SequenceViewer(int port, const std::string &request, Options options);
  SequenceViewer(int port, const std::string &request) : SequenceViewer(port, request, Options()) {}
  ~SequenceViewer();
  SequenceViewer(const SequenceViewer &) = delete;
  SequenceViewer &operator=(const SequenceViewer &) = delete;

  const HttpHead &head() const { return head_; }
  bool streaming() const { return reader_.joinable(); }
  // How the request went before streaming, for failure messages.
  std::string head_summary() const;

  // Waits until a frame numbered `sequence` or later has arrived.
  bool await_sequence(uint64_t sequence, int timeout_ms) const;
  bool await_frames(size_t count, int timeout_ms) const;
  // Waits until the server has ended the stream.
  bool await_end(int timeout_ms) const;
  size_t frames() const;
  uint64_t last_sequence() const;
  // Everything wrong so far, one line each; empty if all is well.
  std::vector<std::string> problems() const;
  std::string problems_text() const;

  // Stops reading and closes the connection; what follows is no problem.
  void leave();

 private:
  void read_stream();
  void note(const std::string &problem);
  void finish(const std::string &why);

  StreamConnection connection_;
  HttpHead head_;
  std::thread reader_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  size_t frames_ = 0;
  uint64_t last_sequence_ = 0;
  gint64 last_arrival_us_ = 0;
  bool ended_ = false;
  bool leaving_ = false;
  std::vector<std::string> problems_;
};

}  // namespace hardening_test
