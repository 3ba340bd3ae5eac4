#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Context switches and CPU of one process's threads, grouped by thread name.

  thread_switches.py snapshot PID > FILE      one snapshot (JSON) from /proc
  thread_switches.py report BEFORE AFTER FRAMES VIEWERS

report prints, per thread name, the voluntary and involuntary switches and the
run time between the two snapshots, and each per delivered frame (FRAMES
pushed × VIEWERS). A thread per viewer sleeps at least once per frame it
sends, so its voluntary switches per delivered frame are at least 1.0 less
the frames it skipped; anything above that is an extra wake."""
import collections
import json
import os
import sys


def snapshot(pid):
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = open(f"/proc/{pid}/task/{tid}/status").read()
            run_ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except OSError:
            continue  # the thread ended meanwhile
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        threads[tid] = {"name": fields["Name"].strip(), "voluntary": int(fields["voluntary_ctxt_switches"]),
                        "involuntary": int(fields["nonvoluntary_ctxt_switches"]), "run_ns": run_ns}
    return threads


def report(before, after, frames, viewers):
    delivered = frames * viewers
    groups = collections.defaultdict(lambda: {"threads": 0, "voluntary": 0, "involuntary": 0, "run_ns": 0})
    for tid, thread in after.items():
        start = before.get(tid, {"voluntary": 0, "involuntary": 0, "run_ns": 0})
        group = groups[thread["name"]]
        group["threads"] += 1
        for key in ("voluntary", "involuntary", "run_ns"):
            group[key] += thread[key] - start[key]
    print(f"{frames} frames pushed × {viewers} viewers = {delivered} delivered")
    print("| threads | count | voluntary | involuntary | run ms | voluntary / delivered frame "
          "| involuntary / delivered frame | run µs / delivered frame |")
    print("|---|---|---|---|---|---|---|---|")
    total = {"voluntary": 0, "involuntary": 0, "run_ns": 0}
    for name, g in sorted(groups.items(), key=lambda item: -item[1]["run_ns"]):
        for key in total:
            total[key] += g[key]
        per = (lambda v: f"{v / delivered:.3f}") if delivered else (lambda v: "–")
        print(f"| {name} | {g['threads']} | {g['voluntary']} | {g['involuntary']} | {g['run_ns'] / 1e6:.0f} | "
              f"{per(g['voluntary'])} | {per(g['involuntary'])} | "
              f"{(g['run_ns'] / 1e3 / delivered if delivered else 0):.1f} |")
    if delivered:
        print(f"| all | | {total['voluntary']} | {total['involuntary']} | {total['run_ns'] / 1e6:.0f} | "
              f"{total['voluntary'] / delivered:.3f} | {total['involuntary'] / delivered:.3f} | "
              f"{total['run_ns'] / 1e3 / delivered:.1f} |")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        json.dump(snapshot(sys.argv[2]), sys.stdout)
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "report":
        report(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), int(sys.argv[4]), int(sys.argv[5]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
