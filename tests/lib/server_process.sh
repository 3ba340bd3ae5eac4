# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the shell tests that run a server process of their own: failing
# with the end of its log, and stopping it by its PID (SIGINT, so gst-launch
# sends EOS and exits cleanly; SIGKILL after STOP_LIMIT_S).
# Needs from the caller: say(), $workdir (holding server.log), STOP_LIMIT_S.

fail() {
  say "FAIL: $*" >&2
  if [ -s "$workdir/server.log" ]; then
    echo "--- server log (last 30 lines) ---" >&2
    tail -n 30 "$workdir/server.log" >&2
  fi
  exit 1
}

# stop_process PID: returns once the process has gone (and was reaped).
stop_process() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_LIMIT_S * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true
}
