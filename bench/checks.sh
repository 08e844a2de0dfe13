#!/usr/bin/env bash
# Issue 5's benchmark: the 20 checks of bench/checks.toml through `assay check`, side by
# side with the same checks hand-written as one Python Polars lazy query
# (bench/checks_direct.py), on the 10M-row orders CSV and its Parquet twin (made by
# bench/run.sh). Needs hyperfine and polars (pip).
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p bench/results
{ echo "samples = 0"; cat bench/checks.toml; } > bench/results/checks_nosamples.toml
for f in "bench/data/orders_${ROWS}.csv" "bench/data/orders_${ROWS}.parquet"; do
  hyperfine --warmup 1 --runs "$RUNS" -i --export-markdown "bench/results/checks_$(basename "$f").md" \
    -n "assay check (20 checks)" "$A check $f --rules bench/checks.toml --format json" \
    -n "assay check, samples = 0" "$A check $f --rules bench/results/checks_nosamples.toml --format json" \
    -n "polars by hand (one lazy query)" "python3 bench/checks_direct.py $f" \
    -n "python: import polars (startup only)" "python3 -c 'import polars'"
done
