// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fd_flood.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sink_pipeline.h"

namespace hardening_test {

FdLimit::FdLimit(int headroom) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  old_soft_ = limit.rlim_cur;
  limit.rlim_cur = static_cast<rlim_t>(test_support::count_open_fds() + headroom);
  ok_ = setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

FdLimit::~FdLimit() {
  rlimit limit{};
  if (!ok_ || getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = static_cast<rlim_t>(old_soft_);
  setrlimit(RLIMIT_NOFILE, &limit);
}

ConnectionFlood::ConnectionFlood(int port, int count) {
  int report[2];
  int hold[2];
  if (pipe(report) != 0) return;
  if (pipe(hold) != 0) {
    close(report[0]);
    close(report[1]);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    // The child: system calls only (the parent has threads, and a lock
    // any of them held is held for ever here).
    close(report[0]);
    close(hold[1]);
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int connected = 0;
    for (int i = 0; i < count; i++) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) break;
      if (connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        close(fd);
        break;
      }
      connected++;
    }
    if (write(report[1], &connected, sizeof connected) < 0) _exit(1);
    char byte;
    // Returns when the parent closes its end (or dies): the exit closes all.
    while (read(hold[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(report[1]);
  close(hold[0]);
  if (pid_ < 0) {
    close(report[0]);
    close(hold[1]);
    return;
  }
  report_fd_ = report[0];
  hold_fd_ = hold[1];
}

ConnectionFlood::~ConnectionFlood() { end(5000); }

int ConnectionFlood::await_connected(int timeout_ms) {
  if (report_fd_ < 0) return -1;
  pollfd entry = {report_fd_, POLLIN, 0};
  if (poll(&entry, 1, timeout_ms) != 1) return -1;
  int connected = -1;
  if (read(report_fd_, &connected, sizeof connected) != sizeof connected) return -1;
  return connected;
}

bool ConnectionFlood::end(int timeout_ms) {
  if (pid_ <= 0) return true;
  close(hold_fd_);
  close(report_fd_);
  hold_fd_ = report_fd_ = -1;
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (g_get_monotonic_time() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return false;
    }
    // Awaiting a child's exit has no descriptor to poll: look again shortly.
    g_usleep(5000);
  }
  pid_ = -1;
  return true;
}

ThreadCpuClock::ThreadCpuClock(const char *name) {
  DIR *dir = opendir("/proc/self/task");
  if (!dir) return;
  while (dirent *entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    std::ifstream comm(task + "/comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    stat_fd_ = open((task + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    break;
  }
  closedir(dir);
}

ThreadCpuClock::~ThreadCpuClock() {
  if (stat_fd_ >= 0) close(stat_fd_);
}

gint64 ThreadCpuClock::used_us() const {
  char buffer[1024];
  const ssize_t got = pread(stat_fd_, buffer, sizeof buffer - 1, 0);
  if (got <= 0) return -1;
  const std::string stat(buffer, static_cast<size_t>(got));
  // The fields after the parenthesised name, from field 3 (state); utime
  // and stime are fields 14 and 15.
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; i++) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<gint64>((utime + stime) * G_USEC_PER_SEC / sysconf(_SC_CLK_TCK));
}

LogCounter::LogCounter(std::string needle) : needle_(std::move(needle)) {
  gst_debug_set_active(TRUE);
  gst_debug_set_threshold_for_name("mjpeghttpsink", GST_LEVEL_INFO);
  gst_debug_add_log_function(&LogCounter::on_log, this, nullptr);
}

LogCounter::~LogCounter() {
  gst_debug_remove_log_function_by_data(this);
  gst_debug_unset_threshold_for_name("mjpeghttpsink");
}

void LogCounter::on_log(GstDebugCategory *category, GstDebugLevel level, const gchar *,
                        const gchar *, gint, GObject *, GstDebugMessage *message, gpointer self) {
  auto *counter = static_cast<LogCounter *>(self);
  if (level > GST_LEVEL_INFO || strcmp(gst_debug_category_get_name(category), "mjpeghttpsink"))
    return;
  const gchar *text = gst_debug_message_get(message);
  if (text && strstr(text, counter->needle_.c_str())) counter->count_++;
}

}  // namespace hardening_test
