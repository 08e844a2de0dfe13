"""Runs a command and samples its memory every 10 ms from /proc: peak anonymous memory
(what the process allocated), peak file-backed memory (mapped input files, page cache
the kernel can drop) and peak total RSS, in MB.

    python3 bench/peak.py CMD [ARGS...]
"""
import subprocess
import sys
import time

p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
anon = file = total = 0
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            kv = dict(line.split(":", 1) for line in f if ":" in line)
        a, fb = int(kv["RssAnon"].split()[0]), int(kv["RssFile"].split()[0])
        anon, file, total = max(anon, a), max(file, fb), max(total, a + fb)
    except (OSError, KeyError, ValueError):
        pass
    time.sleep(0.01)
print(f"anon {anon // 1024} MB, file {file // 1024} MB, total {total // 1024} MB")
