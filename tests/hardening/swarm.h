// SPDX-License-Identifier: LGPL-2.1-or-later
// Many raw clients at once, driven by one poll loop on the test's thread: a
// burst of connections, a crowd of viewers, slowloris, silent sockets.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "raw_socket.h"

namespace hardening_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

// Small enough that a member that never reads stops taking bytes at once,
// so hundreds of them do not pin megabytes of kernel memory each.
constexpr int kSmallReceiveBuffer = 16 * 1024;

struct SwarmMember {
  std::unique_ptr<RawSocket> socket;
  HttpHead head;
  bool has_head = false;
};

class Swarm {
 public:
  // Starts `count` connections to 127.0.0.1:port at once.
  Swarm(int port, size_t count, int receive_buffer = kSmallReceiveBuffer);

  size_t size() const { return members_.size(); }
  SwarmMember &operator[](size_t i) { return members_[i]; }
  const SwarmMember &operator[](size_t i) const { return members_[i]; }

  // How many finished connecting within the timeout.
  size_t await_connected(int timeout_ms);
  // Sends `data` to every member in one non-blocking attempt each; how many
  // took all of it.
  size_t send_to_all(const std::string &data);
  // Reads until every member has a complete response head or has been
  // closed, or the time is up; how many have a head.
  size_t collect_heads(int timeout_ms);
  // Reads (what arrives is kept in each socket) until the server has closed
  // or reset every member, or the time is up; calls `tick` every `tick_ms`
  // meanwhile. How many were closed or reset, however that was noticed: a
  // reset often shows first as a failed send from `tick`, and each member's
  // socket()->ended_us() says when.
  size_t await_ended(int timeout_ms, int tick_ms = 0, const std::function<void()> &tick = {});
  // How many the server has closed or reset so far, looking without
  // waiting.
  size_t count_ended_now();
  size_t count_status(int status) const;
  void close_all();

 private:
  // One poll over the members `wanted` picks, then a read on each ready one.
  void poll_once(int timeout_ms, const std::function<bool(const SwarmMember &)> &wanted);

  std::vector<SwarmMember> members_;
};

}  // namespace hardening_test
