#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns one benchmark run (results.jsonl, machine.json, ceiling.json in the
results dir) into a markdown table with ours ÷ theirs ratios, a check of the
targets of issue 4, and summary.json. Usage: report.py RESULTS_DIR"""
import json
import os
import sys

OURS = "mjpeghttpsink"
THEIRS = "tcpserversink"
# One sendmsg per viewer per frame and nothing else (feeder --server floor):
# what the kernel's loopback TCP costs on this machine, for any server.
FLOOR = "kernel floor"
# The same sends from a thread per viewer, woken once per frame by one futex
# (feeder --server floor-threads): the least a server of our shape pays.
THREAD_FLOOR = "thread-per-viewer floor"


def load(results_dir):
    rows = [json.loads(line) for line in open(os.path.join(results_dir, "results.jsonl")) if line.strip()]
    machine = json.load(open(os.path.join(results_dir, "machine.json")))
    ceiling = json.load(open(os.path.join(results_dir, "ceiling.json")))
    return rows, machine, ceiling


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def ratio(ours, theirs):
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def other_load(row, nproc):
    """CPU (in cores) used during the window by neither the server nor the
    load client: other people's work on a shared machine."""
    if row.get("machine_busy_pct") is None or not row["window_s"]:
        return None
    own = (row["server_cpu_s"] + (row["client_cpu_s"] or 0)) / row["window_s"]
    return max(0.0, row["machine_busy_pct"] / 100 * nproc - own)


NPROC = os.cpu_count() or 1


def metrics(row):
    """The compared metrics of one row, in table order: (header, value, digits)."""
    window = row["window_s"]
    return [
        ("connected", row["connected"], 0),
        ("all connected (s)", row["connect_all_s"], 3),
        ("fps min", row["fps"]["min"], 2),
        ("fps median", row["fps"]["median"], 2),
        ("fps max", row["fps"]["max"], 2),
        ("latency p50 (ms)", row["latency_ms"]["p50"], 1),
        ("latency p99 (ms)", row["latency_ms"]["p99"], 1),
        ("CPU ms / 1000 frames", row["cpu_ms_per_1000_frames"], 1),
        ("server CPU %", 100 * row["server_cpu_s"] / window if window else None, 1),
        ("stream thread µs/frame", row["stream_thread_us_per_frame"], 0),
        ("peak RSS (MB)", row["server_rss_hwm_kb"] / 1024, 1),
        ("bad frames", row["bad_frames"], 0),
        ("conn. errors", row["connection_errors"], 0),
        ("other load (cores)", other_load(row, NPROC), 2),
    ]


def table(rows):
    by_case = {}
    order = []
    for row in rows:
        if row["case"] not in by_case:
            order.append(row["case"])
        by_case.setdefault(row["case"], {})[row["server"]] = row
    headers = [name for name, _, _ in metrics(rows[0])]
    lines = ["| case | server | " + " | ".join(headers) + " |",
             "|" + "---|" * (len(headers) + 2)]
    for case in order:
        pair = by_case[case]
        for server in (OURS, THEIRS, FLOOR, THREAD_FLOOR):
            if server in pair:
                cells = [fmt(v, d) for _, v, d in metrics(pair[server])]
                lines.append(f"| {case} | {server} | " + " | ".join(cells) + " |")
        for label, a_server, b_server in (("ours ÷ theirs", OURS, THEIRS), ("floor ÷ theirs", FLOOR, THEIRS),
                                          ("ours ÷ floor", OURS, FLOOR),
                                          ("thread floor ÷ floor", THREAD_FLOOR, FLOOR),
                                          ("ours ÷ thread floor", OURS, THREAD_FLOOR)):
            if a_server not in pair or b_server not in pair:
                continue
            cells = []
            for (name, a, _), (_, b, _) in zip(metrics(pair[a_server]), metrics(pair[b_server])):
                r = None if name == "other load (cores)" else ratio(a, b)
                cells.append("–" if r is None else f"{r:.2f}×")
            lines.append(f"| {case} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines), by_case


# The slow readers' token bucket (loadclient --slow-rate in run.sh).
SLOW_READ_BYTES_PER_S = 100000
SLOW_CASES = ("slow_2of10", "slow64k_2of10")


def slow_floor_ms(row):
    """The least a slow reader's frame can be aged: one frame at its read rate."""
    return 1000 * row["frame_bytes"] / SLOW_READ_BYTES_PER_S if row.get("frame_bytes") else None


def slow_table(by_case):
    lines = ["| case | server | SO_RCVBUF | fast fps min | slow fps median | floor (ms) | slow frame age p50 (ms) "
             "| ÷ floor | slow frame age p99 (ms) | RSS at window start → end (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for case in SLOW_CASES:
        pair = by_case.get(case, {})
        for server in (OURS, THEIRS):
            row = pair.get(server)
            if not row:
                continue
            floor = slow_floor_ms(row)
            age = row["slow_age_ms"]["p50"]
            lines.append(f"| {case} | {server} | {row.get('slow_rcvbuf', 16384)} | {fmt(row['fps']['min'], 2)} | "
                         f"{fmt(row['slow_fps']['median'], 2)} | {fmt(floor, 0)} | {fmt(age)} | "
                         f"{fmt(ratio(age, floor), 2)}× | {fmt(row['slow_age_ms']['p99'])} | "
                         f"{row['rss_start_kb'] / 1024:.1f} → {row['rss_end_kb'] / 1024:.1f} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def link_floor_s(row, link):
    """The least a frame on a shaped link can be aged: its bytes at the link's rate."""
    rate = row.get("link_rates_bps", {}).get(str(link["port"]))
    return row["frame_bytes"] * 8 / rate if rate and row.get("frame_bytes") else None


def shaped_table(by_case):
    pair = by_case.get("shaped_links", {})
    lines = ["| server | link | SO_RCVBUF | floor (s) | age p50 (s) | ÷ floor | age p90 (s) | ÷ floor | frames "
             "| fast viewers fps min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for server in (OURS, THEIRS):
        row = pair.get(server)
        if not row:
            continue
        for link in row.get("links", []):
            rate = row["link_rates_bps"].get(str(link["port"]))
            floor = link_floor_s(row, link)
            p50 = link["age_ms"]["p50"] / 1000 if link["age_ms"]["p50"] is not None else None
            p90 = link["age_ms"]["p90"] / 1000 if link["age_ms"]["p90"] is not None else None
            rcvbuf = link["rcvbuf"] or "kernel default"
            lines.append(f"| {server} | {rate / 1e6:g} Mbit/s | {rcvbuf} | {fmt(floor, 2)} | {fmt(p50, 2)} | "
                         f"{fmt(ratio(p50, floor), 2)}× | {fmt(p90, 2)} | {fmt(ratio(p90, floor), 2)}× | "
                         f"{link['frames']} | {fmt(row['fps']['min'], 2)} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def targets(by_case, ceiling):
    """Each target of issue 4 as (description, measured, met or None when not measured)."""
    out = []

    def get(case, server=OURS):
        return by_case.get(case, {}).get(server)

    ours, theirs = get("v300"), get("v300", THEIRS)
    if ours and theirs:
        r = ratio(ours["cpu_ms_per_1000_frames"], theirs["cpu_ms_per_1000_frames"])
        out.append(("300 viewers: CPU per 1000 frames ≤ 0.5× tcpserversink", f"{fmt(r, 2)}×",
                    r is not None and r <= 0.5))
        r = ratio(ours["latency_ms"]["p99"], theirs["latency_ms"]["p99"])
        out.append(("300 viewers: latency p99 ≤ 0.3× tcpserversink", f"{fmt(r, 2)}×", r is not None and r <= 0.3))
        floor = get("v300", FLOOR)
        if floor:
            cpu = ratio(floor["cpu_ms_per_1000_frames"], theirs["cpu_ms_per_1000_frames"])
            p99 = ratio(floor["latency_ms"]["p99"], theirs["latency_ms"]["p99"])
            out.append(("(for scale) the kernel floor at 300 viewers, ÷ tcpserversink: CPU, latency p99",
                        f"{fmt(cpu, 2)}×, {fmt(p99, 2)}×", None))
    ours, floor, threads = get("v300"), get("v300", FLOOR), get("v300", THREAD_FLOOR)
    if ours and floor:
        r = ratio(ours["cpu_ms_per_1000_frames"], floor["cpu_ms_per_1000_frames"])
        out.append(("issue 11: 300 viewers: CPU per delivered frame ≤ 1.25× the kernel floor", f"{fmt(r, 2)}×",
                    r is not None and r <= 1.25))
        r = ratio(ours["latency_ms"]["p99"], floor["latency_ms"]["p99"])
        out.append(("issue 11: 300 viewers: latency p99 ≤ 1.1× the kernel floor", f"{fmt(r, 2)}×",
                    r is not None and r <= 1.1))
        if threads:
            cpu = ratio(threads["cpu_ms_per_1000_frames"], floor["cpu_ms_per_1000_frames"])
            p99 = ratio(threads["latency_ms"]["p99"], floor["latency_ms"]["p99"])
            out.append(("(for scale) the thread-per-viewer floor at 300 viewers, ÷ the kernel floor: CPU, p99",
                        f"{fmt(cpu, 2)}×, {fmt(p99, 2)}×", None))
    storm, storm_theirs = get("storm_300"), get("storm_300", THEIRS)
    if storm:
        t = storm["connect_all_s"]
        note = f"{storm['connected']} connected, all in {fmt(t, 3)} s"
        if storm_theirs:
            note += f" (tcpserversink: {storm_theirs['connected']} connected by the window's end)"
        out.append(("300 viewers connecting at once: all connected within 0.5 s", note,
                    storm["connected"] == 300 and t is not None and t <= 0.5))
    ours, theirs = get("v900"), get("v900", THEIRS)
    if ours:
        note = f"{ours['connected']} connected, fps min {fmt(ours['fps']['min'], 2)}"
        if theirs:
            note += f" (tcpserversink: {theirs['connected']} connected, fps min {fmt(theirs['fps']['min'], 2)})"
        copying = " (a client that reads every byte)" if ours.get("copy_bodies") else ""
        out.append((f"900 viewers @30{copying}: all connected, every viewer ≥ 29.5 fps", note,
                    ours["connected"] == 900 and (ours["fps"]["min"] or 0) >= 29.5))
        for label, server in (("kernel floor", FLOOR), ("thread-per-viewer floor", THREAD_FLOOR)):
            row = get("v900", server)
            if row:
                out.append((f"(for scale) the {label} at 900 viewers{copying}: fps min / median, p99",
                            f"{fmt(row['fps']['min'], 2)} / {fmt(row['fps']['median'], 2)}, "
                            f"{fmt(row['latency_ms']['p99'])} ms", None))
    ours, idle = get("v1000_10fps"), get("idle")
    if ours:
        base = idle["server_rss_hwm_kb"] if idle else 0
        per_viewer = (ours["server_rss_hwm_kb"] - base) / 1000
        over = "over the idle case" if idle else "(no idle case in this run)"
        out.append(("1000 viewers @10: every viewer ≥ 9.9 fps",
                    f"{ours['connected']} connected, fps min {fmt(ours['fps']['min'], 2)}; "
                    f"peak RSS {ours['server_rss_hwm_kb'] / 1024:.1f} MB, "
                    f"≈{per_viewer:.0f} KB per viewer {over}",
                    ours["connected"] == 1000 and (ours["fps"]["min"] or 0) >= 9.9))
    ours, theirs = get("max_v1"), get("max_v1", THEIRS)
    if ours and theirs:
        r = ratio(ours["fps"]["median"], theirs["fps"]["median"])
        out.append(("1 viewer at max rate: ≥ 1.0× tcpserversink's frames/s",
                    f"{fmt(ours['fps']['median'])} vs {fmt(theirs['fps']['median'])} fps ({fmt(r, 2)}×)",
                    r is not None and r >= 1.0))
        share = ours["fps"]["median"] / ceiling["frames_per_s"] if ceiling.get("frames_per_s") else None
        out.append(("1 viewer at max rate: ≥ 90% of the loopback ceiling",
                    f"{fmt(ours['fps']['median'])} of {fmt(ceiling['frames_per_s'])} frames/s "
                    f"({fmt(100 * share if share is not None else None, 0)}%)",
                    share is not None and share >= 0.9))
    ours = get("shaped_links")
    if ours:
        for link in ours.get("links", []):
            floor = link_floor_s(ours, link)
            rate = ours["link_rates_bps"].get(str(link["port"]), 0)
            p50, p90 = link["age_ms"]["p50"], link["age_ms"]["p90"]
            r50 = ratio(p50 / 1000, floor) if p50 is not None else None
            r90 = ratio(p90 / 1000, floor) if p90 is not None else None
            rcvbuf = link["rcvbuf"] or "default"
            out.append((f"shaped link {rate / 1e6:g} Mbit/s (SO_RCVBUF {rcvbuf}): age p50 ≤ 1.15×, p90 ≤ 1.3× floor",
                        f"{fmt(r50, 2)}×, {fmt(r90, 2)}×",
                        r50 is not None and r90 is not None and r50 <= 1.15 and r90 <= 1.3))
        out.append(("shaped links: unshaped viewers ≥ 29.5 fps", f"fps min {fmt(ours['fps']['min'], 2)}",
                    (ours["fps"]["min"] or 0) >= 29.5))
    for case in SLOW_CASES[1:]:
        row = get(case)
        if row:
            r = ratio(row["slow_age_ms"]["p50"], slow_floor_ms(row))
            out.append((f"{case}: slow age p50 ≤ 1.15× floor", f"{fmt(r, 2)}×", r is not None and r <= 1.15))
    ours = get("slow_2of10")
    if ours:
        age = ours["slow_age_ms"]["p50"]
        growth = (ours["rss_end_kb"] - ours["rss_start_kb"]) / 1024
        out.append(("slow viewers: fast viewers at 30 fps", f"fast fps min {fmt(ours['fps']['min'], 2)}",
                    (ours["fps"]["min"] or 0) >= 29.5))
        out.append(("slow viewers: frame age p50 ≤ 1.15 s", f"{fmt(age)} ms", age is not None and age <= 1150))
        r = ratio(age, slow_floor_ms(ours))
        out.append(("slow_2of10: slow age p50 ≤ 1.15× floor", f"{fmt(r, 2)}×", r is not None and r <= 1.15))
        out.append(("slow viewers: RSS flat (≤ 1 MB growth over the window)", f"{growth:+.1f} MB", growth <= 1.0))
    ours, idle = get("v300"), get("idle")
    if ours and idle and idle["stream_thread_us_per_frame"]:
        a, b = idle["stream_thread_us_per_frame"], ours["stream_thread_us_per_frame"]
        out.append(("render cost per buffer does not grow with viewers (300 ≤ 1.25× idle)",
                    f"{fmt(a, 0)} µs at 0 viewers, {fmt(b, 0)} µs at 300", b is not None and b <= 1.25 * a))
    return out


def main():
    results_dir = sys.argv[1]
    rows, machine, ceiling = load(results_dir)
    if not rows:
        print("no results")
        return 1
    text, by_case = table(rows)
    checks = targets(by_case, ceiling)
    print(f"Machine: {machine['nproc']} × {machine['cpu_model']}, kernel {machine['kernel']}, "
          f"{machine['gstreamer']}, libsoup {machine['libsoup']}")
    print(f"Commit {machine.get('commit', '?')}; command: {machine['command']}")
    print(f"Load average at start {' '.join(machine['loadavg_start'])}, "
          f"at end {' '.join(machine.get('loadavg_end', ['?']))}")
    print(f"Frames: 1280x720 JPEG, ~{machine['jpeg_average_bytes']} bytes (jpegenc quality "
          f"{machine['jpeg_quality']}); window {machine['measure_s']} s after {machine['warmup_s']} s warm-up")
    print(f"Loopback ceiling: {ceiling['bytes_per_s'] / 1e9:.2f} GB/s = {ceiling['frames_per_s']:.0f} frames/s\n")
    print(text + "\n")
    slow = slow_table(by_case)
    if slow:
        print("Slow viewers (2 of 10 read at 100 kB/s; floor = one frame at that rate):\n\n" + slow + "\n")
    shaped = shaped_table(by_case)
    if shaped:
        print("Shaped links (tc htb in a network namespace, 8 unshaped viewers beside them; "
              "floor = frame bytes ÷ link rate):\n\n" + shaped + "\n")
    print("| target (issue 4, issue 11) | measured | met |\n|---|---|---|")
    for description, measured, met in checks:
        verdict = "–" if met is None else ("yes" if met else "NO")
        print(f"| {description} | {measured} | {verdict} |")
    summary = {"machine": machine, "ceiling": ceiling, "rows": rows,
               "targets": [{"target": d, "measured": m, "met": None if ok is None else bool(ok)}
                           for d, m, ok in checks]}
    json.dump(summary, open(os.path.join(results_dir, "summary.json"), "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
