// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sequence_viewer.h"

#include <cstdlib>

#include "jpeg_frames.h"

namespace hardening_test {

namespace {

// A read that waits this long for a byte means the stream stalled; far above
// kMaxSilenceMs, it only bounds a hang.
constexpr int kReadTimeoutMs = 15000;
constexpr int kHeadTimeoutMs = 10000;
// A part larger than this is a framing error, not a frame of the test.
constexpr unsigned long long kMaxPartBytes = 16 * 1024 * 1024;


}  // namespace

uint64_t frame_sequence(const std::string &jpeg) {
  uint64_t stamp = 0;
  return test_support::read_stamp(jpeg, &stamp) ? stamp : 0;
}

SequenceViewer::SequenceViewer(int port, const std::string &request, Options options)
    : socket_(port) {
  const gint64 deadline = deadline_in(kHeadTimeoutMs);
  if (!socket_.connected(kHeadTimeoutMs) || !socket_.send_all(request, kHeadTimeoutMs)) return;
  if (options.half_close) socket_.half_close();
  if (!socket_.read_head(&head_, deadline)) return;
  boundary_ = test_support::boundary_of(head_.header("Content-Type"));
  if (head_.status == 200 && !boundary_.empty()) reader_ = std::thread([this] { read_stream(); });
}

SequenceViewer::~SequenceViewer() { leave(); }

std::string SequenceViewer::head_summary() const {
  if (head_.status == 0)
    return std::string("no response head; connection ") + socket_.end_name() + ", " +
           std::to_string(socket_.total_received()) + " bytes received";
  return "status " + std::to_string(head_.status) + ", Content-Type '" +
         head_.header("Content-Type") + "'";
}

void SequenceViewer::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    leaving_ = true;
  }
  socket_.shut_down();
  if (reader_.joinable()) reader_.join();
  socket_.close_now();
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

bool SequenceViewer::read_part(std::string *jpeg, std::string *delimiter, std::string *why) {
  const gint64 deadline = deadline_in(kReadTimeoutMs);
  std::string line;
  std::string length_text;
  for (;;) {
    if (!socket_.read_line(&line, deadline)) {
      *why = "part headers incomplete";
      return false;
    }
    if (line.empty()) break;
    if (line.compare(0, 15, "Content-Length:") == 0) length_text = line.substr(15);
  }
  char *end = nullptr;
  const unsigned long long length = std::strtoull(length_text.c_str(), &end, 10);
  if (length_text.empty() || *end != '\0' || length > kMaxPartBytes) {
    *why = "bad part Content-Length '" + length_text + "'";
    return false;
  }
  if (!socket_.read_exact(static_cast<size_t>(length), jpeg, deadline)) {
    *why = "part body incomplete";
    return false;
  }
  if (!socket_.read_line(&line, deadline) || !line.empty()) {
    *why = "no CRLF after the part body";
    return false;
  }
  if (!socket_.read_line(delimiter, deadline)) {
    *why = "no delimiter after the part";
    return false;
  }
  return true;
}

void SequenceViewer::read_stream() {
  const std::string next = "--" + boundary_;
  std::string delimiter;
  if (!socket_.read_line(&delimiter, deadline_in(kReadTimeoutMs))) {
    finish(std::string("no opening delimiter; connection ") + socket_.end_name());
    return;
  }
  while (delimiter == next) {
    std::string jpeg;
    std::string why;
    if (!read_part(&jpeg, &delimiter, &why)) {
      finish(why + "; connection " + socket_.end_name());
      return;
    }
    const gint64 now = g_get_monotonic_time();
    const uint64_t sequence = frame_sequence(jpeg);
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
  finish("unexpected delimiter line '" + delimiter.substr(0, 80) + "'");
}

bool SequenceViewer::await_sequence(uint64_t sequence, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return last_sequence_ >= sequence || ended_; }) &&
         last_sequence_ >= sequence;
}

bool SequenceViewer::await_frames(size_t count, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return frames_ >= count || ended_; }) &&
         frames_ >= count;
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
