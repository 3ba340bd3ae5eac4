// SPDX-License-Identifier: LGPL-2.1-or-later
#include "child_process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mounts_test {

ChildProcess::ChildProcess(const std::vector<std::string> &argv) {
  std::vector<gchar *> args;
  for (const std::string &arg : argv) args.push_back(const_cast<gchar *>(arg.c_str()));
  args.push_back(nullptr);
  GError *error = nullptr;
  if (!g_spawn_async_with_pipes(nullptr, args.data(), nullptr,
                                static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH |
                                                         G_SPAWN_DO_NOT_REAP_CHILD),
                                nullptr, nullptr, &pid_, nullptr, &out_fd_, &err_fd_, &error)) {
    errors_ = std::string("cannot start ") + argv.at(0) + ": " + (error ? error->message : "?");
    g_clear_error(&error);
    pid_ = 0;
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
  if (pid_ > 0) g_spawn_close_pid(pid_);
}

bool ChildProcess::read_some(int timeout_ms) {
  if (out_fd_ < 0) return false;
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  const int ready = poll(fds, err_fd_ >= 0 ? 2 : 1, timeout_ms);
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return ready == 0;
  char chunk[65536];
  if (err_fd_ >= 0 && fds[1].revents) {
    const ssize_t n = read(err_fd_, chunk, sizeof chunk);
    if (n > 0) {
      errors_.append(chunk, static_cast<size_t>(n));
    } else {
      close(err_fd_);
      err_fd_ = -1;
    }
  }
  if (fds[0].revents) {
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      return false;
    }
    output_.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

int ChildProcess::finish(int timeout_ms) {
  if (pid_ <= 0) return -1;
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  while (out_fd_ >= 0) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0) return -1;
    read_some(static_cast<int>(left_ms));
  }
  // The output ended, so the child is exiting; bound the wait all the same.
  int status = 0;
  while (g_get_monotonic_time() < deadline) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (done < 0) return -1;
    g_usleep(2000);
  }
  return -1;
}

}  // namespace mounts_test
