#!/usr/bin/env python3
"""Browsing benchmark (issue 3): assay's workbench against csvlens and VisiData, each
driven the same way in tmux on the same file, one after another, `RUNS` times.

For each tool and run: the time from launch until the first data row is on screen,
the time from pressing the jump-to-end key until the last row is on screen, and the
peak RSS (VmHWM) of the tool's process after browsing (page down x20, end, top).

    python3 bench/tui.py bench/data/orders_10000000.csv [RUNS]
    python3 bench/tui.py --latency bench/data/orders_10000000.csv

`--latency` measures assay alone: keystroke to finished redraw (from its debug log), for
100 `j` presses while a regex search with no match scans the whole file in the
background.

Needs tmux, csvlens (`cargo install csvlens`) and VisiData (`pip install visidata`)
on PATH; assay from the release build. Prints a Markdown table of medians.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

SESSION = f"assay-bench-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(needle, timeout=120.0):
    start = time.perf_counter()
    while True:
        text = screen()
        if re.search(needle, text, re.MULTILINE):
            if os.environ.get("BENCH_DEBUG"):
                print(f"--- {needle!r} after {time.perf_counter() - start:.3f} s:\n{text}", file=sys.stderr)
            return time.perf_counter()
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{needle!r} never appeared:\n{screen()}")
        time.sleep(0.005)


def peak_rss_mb(pid):
    # The tool may run as a child of the pane's process (a shim); take the largest.
    pids = [pid] + subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    best = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        best = max(best, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return best / 1024


def run(tool, argv, first, last, end_keys, quit_keys):
    env = dict(os.environ, NO_COLOR="1", ASSAY_CONFIG="/nonexistent")
    start = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48", *argv], env=env)
    shown = wait_for(first)
    pid = int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
    for _ in range(20):
        tmux("send-keys", "-t", SESSION, "PageDown")
    time.sleep(1)
    pressed = time.perf_counter()
    # A tool still loading jumps to the last row loaded so far: press again each second
    # until the file's last row shows (the time until the end is reachable).
    while True:
        tmux("send-keys", "-t", SESSION, *end_keys)
        try:
            at_end = wait_for(last, timeout=1.0)
            break
        except TimeoutError:
            if time.perf_counter() - pressed > 600:
                raise
    tmux("send-keys", "-t", SESSION, "g", "g")
    time.sleep(1)
    rss = peak_rss_mb(pid)
    tmux("send-keys", "-t", SESSION, *quit_keys)
    time.sleep(0.5)
    tmux("kill-session", "-t", SESSION)
    return shown - start, at_end - pressed, rss


def latency(path):
    import tempfile
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/assay-target"))
    assay = os.path.join(target, "release", "assay")
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, NO_COLOR="1", ASSAY_CONFIG="/nonexistent", ASSAY_DATA_DIR=data,
                   ASSAY_LOG="assay=debug")
        subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48", assay, path], env=env)
        wait_for(r"row 1 of \d")
        tmux("send-keys", "-t", SESSION, "/", "zzz_no_match_zzz", "Enter")
        time.sleep(0.3)
        for _ in range(100):
            tmux("send-keys", "-t", SESSION, "j")
            time.sleep(0.02)
        searching = "no more matches" not in screen()
        tmux("send-keys", "-t", SESSION, "q")
        time.sleep(0.5)
        tmux("kill-session", "-t", SESSION)
        with open(os.path.join(data, "assay.log")) as f:
            busy = [int(m.group(1)) for m in re.finditer(r"key drawn busy=true micros=(\d+)", f.read())]
    busy.sort()
    print(f"keystroke to redraw while a search runs: {len(busy)} keys, median {busy[len(busy) // 2] / 1000:.2f} ms, "
          f"p99 {busy[int(len(busy) * 0.99) - 1] / 1000:.2f} ms, max {busy[-1] / 1000:.2f} ms "
          f"(search still running at the end: {searching})")


def main():
    if sys.argv[1] == "--latency":
        return latency(sys.argv[2])
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # A line starting with the first row's order id and customer id, and one with the
    # last row's (the file's name, which the tools show, holds digits too), read the same
    # way for every format; every tool shows these first two columns in full.
    ids = subprocess.run(
        ["python3", "-c", "import polars as pl, sys; c = pl.scan_csv(sys.argv[1]) if sys.argv[1].endswith('.csv') "
         "else pl.scan_parquet(sys.argv[1]); d = c.select('order_id', 'customer_id').collect(); "
         "print(d['order_id'][0], d['customer_id'][0], d['order_id'][-1], d['customer_id'][-1])", path],
        capture_output=True, text=True, check=True).stdout.split()
    line = lambda i, c: rf"^\W*(\d+\W+)?{i}\W+{c}\b"
    first_id, last_id = line(ids[0], ids[1]), line(ids[2], ids[3])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/assay-target"))
    assay = os.path.join(target, "release", "assay")
    tools = [
        ("assay", [assay, path], ["G"], ["q"]),
        ("csvlens", [shutil.which("csvlens") or "csvlens", path], ["G"], ["q"]),
        ("visidata", [shutil.which("vd") or "vd", path], ["G"], ["C-q"]),
    ]
    only = os.environ.get("TOOLS")
    if only:
        tools = [t for t in tools if t[0] in only.split(",")]
    if not path.endswith(".csv"):
        # csvlens reads only CSV; VisiData reads Parquet only with pyarrow installed.
        tools = [t for t in tools if t[0] == "assay"]
    results = {name: [] for name, *_ in tools}
    for _ in range(runs):
        for name, argv, end_keys, quit_keys in tools:
            results[name].append(run(name, argv, first_id, last_id, end_keys, quit_keys))
    size = os.path.getsize(path) / 1e9
    print(f"file: {path} ({size:.2f} GB), {runs} runs, medians, terminal 160x48 in tmux")
    print()
    print("| tool | first rows on screen | jump to last row | peak RSS |")
    print("|---|---|---|---|")
    for name, rs in results.items():
        first = statistics.median(r[0] for r in rs)
        end = statistics.median(r[1] for r in rs)
        rss = statistics.median(r[2] for r in rs)
        print(f"| {name} | {first * 1000:.0f} ms | {end * 1000:.0f} ms | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
