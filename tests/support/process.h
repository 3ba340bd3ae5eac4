// SPDX-License-Identifier: LGPL-2.1-or-later
// The one way the tests run a program (curl, ffmpeg, ffprobe, VLC, a helper
// pipeline): its output collected as it arrives, every wait bounded, and a
// child that outlives its time killed (by its own pid) and reaped.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

// A started program; stdin is /dev/null. Used from one thread.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string> &argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess &) = delete;
  ChildProcess &operator=(const ChildProcess &) = delete;

  bool started() const { return pid_ > 0; }
  // Waits up to `timeout_ms` for output and collects it; false once the
  // output has ended.
  bool read_output(int timeout_ms);
  // Reads the output until `condition(output)` holds, the output ends or
  // `timeout_ms` passes; returns whether the condition held.
  template <typename Condition>
  bool read_until(Condition condition, int timeout_ms);
  // Reads to the end of the output and reaps the child; its exit status
  // (-1 on timeout or if killed by a signal).
  int finish(int timeout_ms);
  // SIGKILL now (it is reaped by finish() or the destructor).
  void kill_now();
  bool exited() const { return exited_; }
  const std::string &output() const { return output_; }
  const std::string &errors() const { return errors_; }

 private:
  GPid pid_ = 0;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  bool exited_ = false;
  std::string output_;
  std::string errors_;
};

template <typename Condition>
bool ChildProcess::read_until(Condition condition, int timeout_ms) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  while (!condition(output_)) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0 || !read_output(static_cast<int>(left_ms))) return condition(output_);
  }
  return true;
}

struct ProcessResult {
  bool ran = false;     // the program could be started
  bool exited = false;  // ran to its end (false: killed at the deadline)
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to its end, or kills it after `timeout_ms`. Until it ends,
// calls `while_running` over and over (it must return within tens of ms: it
// feeds the stream the program reads).
ProcessResult run_process(const std::vector<std::string> &argv, int timeout_ms = 60000,
                          const std::function<void()> &while_running = {});

// Runs `argv` with run_process() on a thread of its own, so the test can
// drive the pipeline while it runs.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(std::vector<std::string> argv, int timeout_ms = 60000);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess &) = delete;
  BackgroundProcess &operator=(const BackgroundProcess &) = delete;
  // Waits for the program to end (its timeout bounds it).
  const ProcessResult &result();

 private:
  ProcessResult result_;
  std::thread thread_;
};

// Full path of `program` on PATH, or "".
std::string find_program(const char *program);

}  // namespace test_support
