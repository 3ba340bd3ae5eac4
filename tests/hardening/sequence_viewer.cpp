// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sequence_viewer.h"

#include "jpeg_frames.h"

namespace hardening_test {

namespace {

// A read that waits this long for a byte means the stream stalled; far above
// kMaxSilenceMs, it only bounds a hang.
constexpr int kReadTimeoutMs = 15000;
constexpr int kHeadTimeoutMs = 10000;

}  // namespace

uint64_t frame_sequence(const std::string &jpeg) {
  uint64_t stamp = 0;
  return test_support::read_stamp(jpeg, &stamp) ? stamp : 0;
}

SequenceViewer::SequenceViewer(int port, const std::string &request, Options options) {
  if (!connection_.send_request(port, request, options.half_close)) return;
  if (!connection_.read_head(&head_, deadline_in(kHeadTimeoutMs))) return;
  if (head_.status == 200 && !connection_.boundary().empty())
    reader_ = std::thread([this] { read_stream(); });
}

SequenceViewer::~SequenceViewer() { leave(); }

std::string SequenceViewer::head_summary() const {
  const RawSocket *socket = connection_.socket();
  if (head_.status == 0)
    return std::string("no response head; connection ") +
           (socket ? socket->end_name() : "never made") + ", " +
           std::to_string(socket ? socket->total_received() : 0) + " bytes received";
  return "status " + std::to_string(head_.status) + ", Content-Type '" +
         head_.header("Content-Type") + "'";
}

void SequenceViewer::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    leaving_ = true;
  }
  connection_.shut_down();
  if (reader_.joinable()) reader_.join();
  connection_.close();
}

void SequenceViewer::note(const std::string &problem) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A flood of the same fault says no more than its first few lines.
  if (problems_.size() < 20) problems_.push_back(problem);
}

void SequenceViewer::finish(const std::string &why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!leaving_ && problems_.size() < 20)
    problems_.push_back("stream ended after frame " + std::to_string(last_sequence_) + ": " + why);
  ended_ = true;
  changed_.notify_all();
}

void SequenceViewer::read_stream() {
  for (;;) {
    StreamPart part;
    if (!connection_.read_part(&part, deadline_in(kReadTimeoutMs))) {
      finish(connection_.error());
      return;
    }
    const gint64 now = g_get_monotonic_time();
    const uint64_t sequence = frame_sequence(part.body);
    std::lock_guard<std::mutex> lock(mutex_);
    if (sequence == 0) {
      if (problems_.size() < 20) problems_.push_back("a part without a sequence number");
    } else if (frames_ > 0 && sequence != last_sequence_ + 1 && problems_.size() < 20) {
      problems_.push_back("frame " + std::to_string(sequence) + " came after frame " +
                          std::to_string(last_sequence_));
    }
    if (frames_ > 0 && now - last_arrival_us_ > kMaxSilenceMs * 1000 && problems_.size() < 20) {
      problems_.push_back("no frame for " + std::to_string((now - last_arrival_us_) / 1000) +
                          " ms before frame " + std::to_string(sequence));
    }
    frames_++;
    last_sequence_ = sequence;
    last_arrival_us_ = now;
    changed_.notify_all();
  }
}

bool SequenceViewer::await_sequence(uint64_t sequence, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return last_sequence_ >= sequence || ended_;
  }) && last_sequence_ >= sequence;
}

bool SequenceViewer::await_frames(size_t count, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return frames_ >= count || ended_;
  }) && frames_ >= count;
}

bool SequenceViewer::await_end(int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return ended_; });
}

size_t SequenceViewer::frames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frames_;
}

uint64_t SequenceViewer::last_sequence() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_sequence_;
}

std::vector<std::string> SequenceViewer::problems() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return problems_;
}

std::string SequenceViewer::problems_text() const {
  std::string text;
  for (const std::string &problem : problems()) text += (text.empty() ? "" : "; ") + problem;
  return text;
}

}  // namespace hardening_test
