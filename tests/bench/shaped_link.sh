# SPDX-License-Identifier: LGPL-2.1-or-later
# Rate-limited links for the benchmark (sourced by run.sh, not run): a network
# namespace whose own loopback is shaped with tc htb, one class per shaped
# viewer, each reached by a u32 filter on that viewer's local port (the
# server's packets to it carry it as destination port). Everything else, the
# unshaped viewers and every viewer's ACKs, bypasses the classes.
# This machine has no netem; htb alone gives a link of a given rate.
# Needs: log (lib.sh). Root only: the caller checks shaped_link_usable first.

# One shaped viewer per line: its local port, the link's rate in bit/s, and
# the SO_RCVBUF it sets before connect (0: left to the kernel, autotuned).
readonly SHAPED_VIEWERS=(
  "41001 2000000 65536"
  "41002 1000000 65536"
  "41003 512000 65536"
  "41004 1000000 0"
)
# A real link's MTU rather than loopback's 64 KiB, so segments, windows and
# the shaper's packets are the size they are on a network (header overhead:
# about 4.5% of the link's rate). One segment per packet, too: loopback
# otherwise hands the shaper 64 KiB GSO packets, each let through whole
# once the class has any tokens, so two-thirds of a frame would cross the
# "link" at once and the shaper would repay it later.
# BENCH_SHAPED_MTU=loopback keeps loopback's own 64 KiB MTU and GSO, as
# issue 11 first measured; see docs/benchmarks.md for what that changes.
readonly SHAPED_MTU=${BENCH_SHAPED_MTU:-1500}

shaped_netns=""
shaped_skip_reason=""

# True when this machine can build the shaped links; otherwise false with
# shaped_skip_reason saying why.
shaped_link_usable() {
  if [ "$(id -u)" -ne 0 ]; then
    shaped_skip_reason="needs root (a network namespace and tc)"
    return 1
  fi
  local tool
  for tool in ip tc; do
    if ! command -v "$tool" >/dev/null; then
      shaped_skip_reason="'$tool' is not installed (Debian package iproute2)"
      return 1
    fi
  done
  return 0
}

# Creates the namespace with its loopback up and shaped; false (and the
# namespace gone) with shaped_skip_reason set when the kernel refuses, e.g.
# without network namespaces or the htb scheduler.
shaped_link_up() {
  shaped_netns=mjpeg-bench-$$
  local errors
  errors=$(mktemp)
  if ! {
    ip netns add "$shaped_netns" &&
      if [ "$SHAPED_MTU" != loopback ]; then
        ip -n "$shaped_netns" link set lo mtu "$SHAPED_MTU" gso_max_size "$SHAPED_MTU" gso_max_segs 1
      fi &&
      ip -n "$shaped_netns" link set lo up
  } 2>"$errors"; then
    shaped_skip_reason="cannot create a network namespace: $(head -c 300 "$errors")"
    rm -f "$errors"
    shaped_link_down
    return 1
  fi
  if ! tc -n "$shaped_netns" qdisc add dev lo root handle 1: htb 2>"$errors"; then
    shaped_skip_reason="the htb scheduler is unavailable (tc: $(head -c 300 "$errors"))"
    rm -f "$errors"
    shaped_link_down
    return 1
  fi
  local spec port rate rcvbuf class=16
  for spec in "${SHAPED_VIEWERS[@]}"; do
    read -r port rate rcvbuf <<<"$spec"
    if ! {
      tc -n "$shaped_netns" class add dev lo parent 1: classid "1:$class" htb rate "${rate}bit" ceil "${rate}bit" &&
        tc -n "$shaped_netns" filter add dev lo parent 1: protocol ip prio 1 u32 \
          match ip dport "$port" 0xffff flowid "1:$class"
    } 2>"$errors"; then
      shaped_skip_reason="cannot shape port $port: $(head -c 300 "$errors")"
      rm -f "$errors"
      shaped_link_down
      return 1
    fi
    class=$((class + 1))
  done
  rm -f "$errors"
  return 0
}

# Removes the namespace (its loopback, classes and filters go with it). Safe
# to call twice and from an EXIT trap.
shaped_link_down() {
  [ -n "$shaped_netns" ] || return 0
  ip netns del "$shaped_netns" 2>/dev/null || true
  shaped_netns=""
}

# The load client's arguments for the shaped viewers.
shaped_link_client_args() {
  local spec port rate rcvbuf
  for spec in "${SHAPED_VIEWERS[@]}"; do
    read -r port rate rcvbuf <<<"$spec"
    printf -- '--link %s:%s ' "$port" "$rcvbuf"
  done
}

# {"41001": 2000000, ...}: each shaped port's link rate, for the report.
shaped_link_rates_json() {
  local spec port rate rcvbuf sep=""
  printf '{'
  for spec in "${SHAPED_VIEWERS[@]}"; do
    read -r port rate rcvbuf <<<"$spec"
    printf '%s"%s": %s' "$sep" "$port" "$rate"
    sep=", "
  done
  printf '}'
}

# The tc statistics of the shaped classes (sent bytes, drops, backlog): kept
# with the results to show the shaper did its job.
shaped_link_stats() {
  tc -n "$shaped_netns" -s class show dev lo
}
