# SPDX-License-Identifier: LGPL-2.1-or-later
"""The test's child processes: started with their output in a log file,
awaited by polling that log with a deadline, and stopped by PID, every one of
them, even when the test fails or is killed by meson's timeout (SIGTERM)."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from free_port import free_port  # noqa: E402,F401  (re-exported for the tests)

SKIP = 77
LIMIT_S = 20  # any single awaited event


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def say(text):
    print(text, flush=True)


def await_condition(condition, limit_s=LIMIT_S, period_s=0.05):
    """Polls `condition` until it returns a true value (returned) or
    `limit_s` passes (None)."""
    deadline = time.monotonic() + limit_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(period_s)


class Process:
    def __init__(self, name, argv, log_path, env):
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self.pid = self.popen.pid

    def log(self):
        with open(self.log_path, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def running(self):
        return self.popen.poll() is None

    def await_line(self, pattern, limit_s=LIMIT_S):
        """The first match of `pattern` in the log, awaited; fails at once if
        the process exits first."""
        regex = re.compile(pattern, re.M)

        def seen():
            match = regex.search(self.log())
            if match:
                return match
            if not self.running():
                raise TestFailure(
                    "%s exited (%s) before printing %r:\n%s"
                    % (self.name, self.popen.returncode, pattern, self.log())
                )
            return None

        match = await_condition(seen, limit_s)
        check(match is not None, "%s did not print %r within %d s:\n%s"
              % (self.name, pattern, limit_s, self.log()))
        return match

    def stop(self, sig=signal.SIGTERM, grace_s=10):
        """Signals the process and waits for it (SIGKILL after `grace_s`).
        Returns its exit status (negative: killed by that signal)."""
        if self.running():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


class Processes:
    def __init__(self, workdir):
        self.workdir = workdir
        self.children = []

    def start(self, name, argv, env=None):
        process = Process(name, argv, os.path.join(self.workdir, name + ".log"), env)
        self.children.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.children):
            process.stop(grace_s=5)


def run_test(main):
    """Runs main(processes) and exits with the meson status: 0 pass, 1 fail,
    77 skip. Every child is stopped whatever happens; SIGTERM (meson's
    timeout) unwinds like a failure."""

    def on_term(signum, frame):
        raise TestFailure("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    with tempfile.TemporaryDirectory(prefix="mjpeg-scale-") as workdir:
        processes = Processes(workdir)
        try:
            status = main(processes)
        except TestFailure as failure:
            say("FAIL: %s" % failure)
            status = 1
        finally:
            processes.stop_all()
    sys.exit(status or 0)
