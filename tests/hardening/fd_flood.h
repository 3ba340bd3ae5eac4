// SPDX-License-Identifier: LGPL-2.1-or-later
// Running a server out of file descriptors: a lower RLIMIT_NOFILE for this
// process (where the element serves), a flood of connections from a forked
// child (whose descriptors do not count against it), what the HTTP thread
// spends meanwhile, and the element's log lines about it.
#pragma once

#include <gst/gst.h>
#include <sys/types.h>

#include <atomic>
#include <string>

namespace hardening_test {

// Lowers the soft descriptor limit to what is open now plus `headroom`;
// the destructor puts the old limit back.
class FdLimit {
 public:
  explicit FdLimit(int headroom);
  ~FdLimit();
  FdLimit(const FdLimit &) = delete;
  FdLimit &operator=(const FdLimit &) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  unsigned long long old_soft_ = 0;
};

// `count` connections to 127.0.0.1:port opened by a child process and held
// until end(). The child gets only system calls after the fork.
class ConnectionFlood {
 public:
  ConnectionFlood(int port, int count);
  ~ConnectionFlood();
  ConnectionFlood(const ConnectionFlood &) = delete;
  ConnectionFlood &operator=(const ConnectionFlood &) = delete;
  // Waits until the child has connected them all (the listen backlog holds
  // what the server does not accept); the number connected, -1 on timeout.
  int await_connected(int timeout_ms);
  // Closes every connection (the child exits) and reaps the child.
  bool end(int timeout_ms);

 private:
  pid_t pid_ = -1;
  int report_fd_ = -1;  // the child writes how many connected
  int hold_fd_ = -1;    // closing it tells the child to exit
};

// The CPU time a thread of this process has used. Its /proc file is opened
// at construction, so reading works even when the process is out of
// descriptors.
class ThreadCpuClock {
 public:
  // The thread named `name` (its first one).
  explicit ThreadCpuClock(const char *name);
  ~ThreadCpuClock();
  ThreadCpuClock(const ThreadCpuClock &) = delete;
  ThreadCpuClock &operator=(const ThreadCpuClock &) = delete;
  bool found() const { return stat_fd_ >= 0; }
  // User + system time in microseconds, or -1.
  gint64 used_us() const;

 private:
  int stat_fd_ = -1;
};

// Counts the log messages of the element's debug category (at INFO or more
// severe) whose text contains `needle`, while it exists.
class LogCounter {
 public:
  explicit LogCounter(std::string needle);
  ~LogCounter();
  LogCounter(const LogCounter &) = delete;
  LogCounter &operator=(const LogCounter &) = delete;
  int count() const { return count_.load(); }

 private:
  static void on_log(GstDebugCategory *category, GstDebugLevel level, const gchar *file,
                     const gchar *function, gint line, GObject *object, GstDebugMessage *message,
                     gpointer self);
  std::string needle_;
  std::atomic<int> count_{0};
};

}  // namespace hardening_test
