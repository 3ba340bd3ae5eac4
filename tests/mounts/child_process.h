// SPDX-License-Identifier: LGPL-2.1-or-later
// A client program run by a test (curl), its standard output collected as it
// arrives, so the test can push frames while the client reads. The
// destructor kills (by its pid) and reaps a child that has not exited.
// Used from one thread.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace mounts_test {

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string> &argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess &) = delete;
  ChildProcess &operator=(const ChildProcess &) = delete;

  bool started() const { return pid_ > 0; }
  // Reads the child's output until `condition(output)` holds, the output
  // ends or `timeout_ms` passes; returns whether the condition held.
  template <typename Condition>
  bool read_until(Condition condition, int timeout_ms);
  // Reads to the end of the output and reaps the child; its exit status
  // (-1 on timeout or if killed by a signal).
  int finish(int timeout_ms);
  const std::string &output() const { return output_; }
  const std::string &errors() const { return errors_; }

 private:
  // Waits up to `timeout_ms` for output; false once it has ended.
  bool read_some(int timeout_ms);

  GPid pid_ = 0;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  std::string output_;
  std::string errors_;
};

template <typename Condition>
bool ChildProcess::read_until(Condition condition, int timeout_ms) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  while (!condition(output_)) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0 || !read_some(static_cast<int>(left_ms))) return condition(output_);
  }
  return true;
}

}  // namespace mounts_test
