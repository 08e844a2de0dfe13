#!/usr/bin/env bash
# Issue 5's benchmark: 20 checks through `assay check` (Polars and DataFusion), side by
# side with the same checks hand-written as one Python Polars lazy query
# (bench/checks_direct.py, the floor), pandera's Polars backend (bench/checks_pandera.py)
# and Great Expectations on pandas (bench/checks_ge.py): bench/checks.toml on the 10M-row
# orders CSV and its Parquet twin (made by bench/run.sh), bench/checks_lineitem.toml on
# TPC-H lineitem at scale factor 1 (CSV, made here by tpchgen-cli). Then the peak memory
# of one run of each (bench/peak.py: anonymous, file-backed, total). Installs hyperfine
# and pip's polars, pandera[polars], great_expectations, tpchgen-cli when missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
needs apt:hyperfine pip:polars "pip:pandera=pandera[polars]" pip:great_expectations=great-expectations pipcmd:tpchgen-cli
mkdir -p bench/results bench/data/tpch
LINEITEM=bench/data/tpch/lineitem.csv
[ -f "$LINEITEM" ] || tpchgen-cli csv -s 1 --tables lineitem -o bench/data/tpch
for f in ${FILES:-"bench/data/orders_${ROWS}.csv" "bench/data/orders_${ROWS}.parquet" "$LINEITEM"}; do
  rules=bench/checks.toml
  case "$f" in *lineitem*) rules=bench/checks_lineitem.toml ;; esac
  { echo "samples = 0"; cat "$rules"; } > bench/results/checks_nosamples.toml
  names=("assay check (20 checks)" "assay check, samples = 0" "assay check --engine datafusion, samples = 0"
         "polars by hand (one lazy query)" "pandera (polars backend)" "great expectations (pandas)")
  cmds=("$A check $f --rules $rules --format json"
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
    echo "  ${names[$i]}: $(python3 bench/peak.py ${cmds[$i]})"
  done | tee "bench/results/checks_rss_$(basename "$f").txt"
done
