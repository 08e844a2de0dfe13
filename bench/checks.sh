#!/usr/bin/env bash
# Issue 5's benchmark: the 20 checks of bench/checks.toml through `assay check` (Polars
# and DataFusion), side by side with the same checks hand-written as one Python Polars
# lazy query (bench/checks_direct.py, the floor), pandera's Polars backend
# (bench/checks_pandera.py) and Great Expectations on pandas (bench/checks_ge.py), on the
# 10M-row orders CSV and its Parquet twin (made by bench/run.sh). Then the peak memory of
# one run of each. Needs hyperfine and pip's polars, pandera[polars], great_expectations.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p bench/results
{ echo "samples = 0"; cat bench/checks.toml; } > bench/results/checks_nosamples.toml
for f in "bench/data/orders_${ROWS}.csv" "bench/data/orders_${ROWS}.parquet"; do
  names=("assay check (20 checks)" "assay check, samples = 0" "assay check --engine datafusion, samples = 0"
         "polars by hand (one lazy query)" "pandera (polars backend)" "great expectations (pandas)")
  cmds=("$A check $f --rules bench/checks.toml --format json"
        "$A check $f --rules bench/results/checks_nosamples.toml --format json"
        "$A check $f --rules bench/results/checks_nosamples.toml --engine datafusion --format json"
        "python3 bench/checks_direct.py $f"
        "python3 bench/checks_pandera.py $f"
        "python3 bench/checks_ge.py $f")
  args=()
  for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --warmup "${WARMUP:-1}" --runs "$RUNS" -i --export-markdown "bench/results/checks_$(basename "$f").md" "${args[@]}"
  echo "peak RSS, one run each ($f):"
  for i in "${!names[@]}"; do
    /usr/bin/time -f "%M" -o bench/results/rss.txt ${cmds[$i]} >/dev/null 2>&1 || true
    kb=$(tail -1 bench/results/rss.txt)
    echo "  ${names[$i]}: $((kb / 1024)) MB"
  done | tee "bench/results/checks_rss_$(basename "$f").txt"
done
