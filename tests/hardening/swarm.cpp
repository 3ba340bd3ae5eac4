// SPDX-License-Identifier: LGPL-2.1-or-later
#include "swarm.h"

#include <poll.h>

#include <algorithm>

namespace hardening_test {

namespace {

int ms_until(gint64 deadline) {
  const gint64 left = deadline - g_get_monotonic_time();
  return left <= 0 ? 0 : static_cast<int>((left + 999) / 1000);
}

}  // namespace

Swarm::Swarm(int port, size_t count, int receive_buffer) {
  members_.resize(count);
  for (SwarmMember &member : members_)
    member.socket = std::make_unique<RawSocket>(port, receive_buffer);
}

size_t Swarm::await_connected(int timeout_ms) {
  const gint64 deadline = deadline_in(timeout_ms);
  size_t connected = 0;
  for (SwarmMember &member : members_) {
    if (member.socket->connected(ms_until(deadline))) connected++;
  }
  return connected;
}

size_t Swarm::send_to_all(const std::string &data) {
  size_t took = 0;
  for (SwarmMember &member : members_) {
    if (member.socket->send_all(data, 0)) took++;
  }
  return took;
}

void Swarm::poll_once(int timeout_ms, const std::function<bool(const SwarmMember &)> &wanted) {
  std::vector<pollfd> fds;
  std::vector<SwarmMember *> polled;
  for (SwarmMember &member : members_) {
    if (!wanted(member)) continue;
    fds.push_back({member.socket->fd(), POLLIN, 0});
    polled.push_back(&member);
  }
  if (fds.empty()) return;
  if (poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  for (size_t i = 0; i < fds.size(); i++) {
    if (fds[i].revents == 0) continue;
    SwarmMember &member = *polled[i];
    member.socket->pump(0);
    if (!member.has_head) {
      size_t body_offset = 0;
      member.has_head = parse_head(member.socket->received(), &member.head, &body_offset);
    }
  }
}

size_t Swarm::collect_heads(int timeout_ms) {
  const gint64 deadline = deadline_in(timeout_ms);
  auto waiting = [](const SwarmMember &m) { return !m.has_head && m.socket->open(); };
  while (g_get_monotonic_time() < deadline &&
         std::any_of(members_.begin(), members_.end(), waiting))
    poll_once(ms_until(deadline), waiting);
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(),
                                           [](const SwarmMember &m) { return m.has_head; }));
}

size_t Swarm::await_ended(int timeout_ms, int tick_ms, const std::function<void()> &tick) {
  const gint64 deadline = deadline_in(timeout_ms);
  gint64 next_tick = tick_ms > 0 ? deadline_in(tick_ms) : deadline;
  auto open = [](const SwarmMember &m) { return m.socket->open(); };
  while (g_get_monotonic_time() < deadline && std::any_of(members_.begin(), members_.end(), open)) {
    poll_once(std::max(0, std::min(ms_until(deadline), ms_until(next_tick))), open);
    if (tick && g_get_monotonic_time() >= next_tick) {
      tick();
      next_tick += static_cast<gint64>(tick_ms) * 1000;
    }
  }
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(),
                    [](const SwarmMember &m) { return m.socket->ended_us() != 0; }));
}

size_t Swarm::count_ended_now() {
  poll_once(0, [](const SwarmMember &m) { return m.socket->open(); });
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(),
                    [](const SwarmMember &m) { return m.socket->ended_us() != 0; }));
}

size_t Swarm::count_status(int status) const {
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(),
                    [&](const SwarmMember &m) { return m.has_head && m.head.status == status; }));
}

void Swarm::close_all() {
  for (SwarmMember &member : members_) member.socket->close_now();
}

}  // namespace hardening_test
