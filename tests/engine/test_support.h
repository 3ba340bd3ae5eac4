// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers shared by the engine tests: frames whose release is counted, and
// waiting for a thread to sleep (tests/support has what every suite shares).
// Header-only; each test program includes it once.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "await.h"
#include "stream/frame.h"
#include "stream/frame_queue.h"

// g_assert_cmpstr for std::string values: g_assert_cmpstr keeps the pointers
// it is given past the end of the statement that made them, so c_str() of a
// temporary would dangle.
#define assert_text_eq(actual, expected)                               \
  do {                                                                 \
    const std::string actual_text_ = (actual);                         \
    const std::string expected_text_ = (expected);                     \
    g_assert_cmpstr(actual_text_.c_str(), ==, expected_text_.c_str()); \
  } while (0)

namespace enginetest {

// The engine's types every engine test names.
using mjpeghttp::FramePtr;
using mjpeghttp::FrameQueue;
using mjpeghttp::QueuePolicy;
using Event = mjpeghttp::FrameQueue::Event;

using Clock = std::chrono::steady_clock;

inline pid_t current_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// True once thread `tid` of this process is asleep in the kernel (state S),
// as a thread blocked on a condition variable is. Lets a test prove that a
// wake-up reached a thread that was really waiting, not one that had not yet
// started to wait.
inline bool await_thread_sleeping(pid_t tid, std::chrono::milliseconds limit) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  return test_support::await_condition(
      [&path] {
        std::ifstream stat(path);
        std::string line;
        if (!std::getline(stat, line)) return false;
        // The state follows the command name, which is in parentheses and
        // may itself contain spaces or parentheses.
        size_t close = line.rfind(')');
        return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S';
      },
      limit);
}

// Counts how many frames gave their bytes back.
struct ReleaseCounter {
  std::atomic<uint64_t> released{0};
};

// A frame without bytes, for the queue and dispatcher, which only move
// pointers around.
inline mjpeghttp::FramePtr make_counted_frame(uint64_t sequence, ReleaseCounter &counter) {
  auto frame = std::make_shared<mjpeghttp::Frame>();
  frame->sequence = sequence;
  frame->release = [&counter] { counter.released.fetch_add(1); };
  return frame;
}

// A JPEG-shaped payload (SOI ... EOI) whose bytes depend on `seed`, so a
// viewer receiving the wrong frame or a torn one is noticed.
inline std::string make_jpeg_like(uint64_t seed, size_t size) {
  std::string bytes(size < 4 ? 4 : size, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char &c : bytes) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = static_cast<char>(state & 0xFF);
  }
  bytes[0] = static_cast<char>(0xFF);
  bytes[1] = static_cast<char>(0xD8);
  bytes[bytes.size() - 2] = static_cast<char>(0xFF);
  bytes[bytes.size() - 1] = static_cast<char>(0xD9);
  return bytes;
}

// Splits `payload` (which must outlive the chunks) into `pieces` byte ranges,
// the way a GstBuffer with several memories reaches the engine.
inline std::vector<iovec> split_into_chunks(std::string &payload, size_t pieces) {
  std::vector<iovec> chunks;
  const size_t step = payload.size() / pieces + 1;
  for (size_t offset = 0; offset < payload.size(); offset += step) {
    size_t length = std::min(step, payload.size() - offset);
    chunks.push_back({&payload[offset], length});
  }
  return chunks;
}

}  // namespace enginetest
