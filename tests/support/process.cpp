// SPDX-License-Identifier: LGPL-2.1-or-later
#include "process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test_support {

ChildProcess::ChildProcess(const std::vector<std::string> &argv) {
  std::vector<gchar *> args;
  for (const std::string &arg : argv) args.push_back(const_cast<gchar *>(arg.c_str()));
  args.push_back(nullptr);
  GError *error = nullptr;
  // stdin from /dev/null: a program such as ffmpeg reads commands from an
  // inherited terminal.
  if (!g_spawn_async_with_pipes(
          nullptr, args.data(), nullptr,
          static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                   G_SPAWN_STDIN_FROM_DEV_NULL),
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

void ChildProcess::kill_now() {
  if (pid_ > 0 && !reaped_) kill(pid_, SIGKILL);
}

bool ChildProcess::read_output(int timeout_ms) {
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
    read_output(static_cast<int>(left_ms));
  }
  // What is left on stderr once stdout ended (a killed child closes both).
  while (err_fd_ >= 0 && g_get_monotonic_time() < deadline) {
    pollfd fd{err_fd_, POLLIN, 0};
    if (poll(&fd, 1, 0) <= 0) break;
    char chunk[65536];
    const ssize_t n = read(err_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      close(err_fd_);
      err_fd_ = -1;
      break;
    }
    errors_.append(chunk, static_cast<size_t>(n));
  }
  // The output ended, so the child is exiting; bound the wait all the same.
  int status = 0;
  while (g_get_monotonic_time() < deadline) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      exited_ = WIFEXITED(status);
      return exited_ ? WEXITSTATUS(status) : -1;
    }
    if (done < 0) return -1;
    g_usleep(2000);
  }
  return -1;
}

ProcessResult run_process(const std::vector<std::string> &argv, int timeout_ms,
                          const std::function<void()> &while_running) {
  ProcessResult result;
  ChildProcess child(argv);
  if (!child.started()) {
    result.err = child.errors();
    return result;
  }
  result.ran = true;
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  for (;;) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0) {
      child.kill_now();
      break;
    }
    if (while_running) {
      while_running();
      if (!child.read_output(0)) break;
    } else if (!child.read_output(static_cast<int>(left_ms))) {
      break;
    }
  }
  // Ended or killed: its output is closed, so this returns at once.
  result.exit_status = child.finish(timeout_ms);
  result.exited = child.exited();
  result.out = child.output();
  result.err = child.errors();
  return result;
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv, int timeout_ms)
    : thread_([this, argv, timeout_ms] { result_ = run_process(argv, timeout_ms); }) {}

BackgroundProcess::~BackgroundProcess() {
  if (thread_.joinable()) thread_.join();
}

const ProcessResult &BackgroundProcess::result() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

std::string find_program(const char *program) {
  gchar *path = g_find_program_in_path(program);
  std::string found = path ? path : "";
  g_free(path);
  return found;
}

}  // namespace test_support
