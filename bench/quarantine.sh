#!/usr/bin/env bash
# Quarantine (issue 5): `assay check DATA --rules bench/quarantine.toml --valid V
# --quarantine Q` on the 10M-row orders CSV and its Parquet twin (made by bench/run.sh),
# side by side with the same split hand-written in Python Polars (bench/quarantine_direct.py:
# one collect_all of both sinks) and, when BEFORE names another assay binary, that
# build (for before/after comparisons). Then peak memory of one run each (bench/peak.py).
# Installs hyperfine and pip's polars when missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
needs apt:hyperfine pip:polars
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
mkdir -p bench/results
for f in ${FILES:-"bench/data/orders_${ROWS}.csv" "bench/data/orders_${ROWS}.parquet"}; do
  names=("assay check --valid --quarantine")
  cmds=("$A check $f --rules bench/quarantine.toml --valid $OUT/v.parquet --quarantine $OUT/q.parquet --overwrite --format json")
  if [ -n "${BEFORE-}" ]; then
    names+=("assay (before)")
    cmds+=("$BEFORE check $f --rules bench/quarantine.toml --valid $OUT/v.parquet --quarantine $OUT/q.parquet --overwrite --format json")
  fi
  names+=("polars by hand (python, collect_all)")
  cmds+=("python3 bench/quarantine_direct.py $f $OUT/v.parquet $OUT/q.parquet")
  args=()
  for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --warmup "${WARMUP:-0}" --runs "$RUNS" --export-markdown "bench/results/quarantine_$(basename "$f").md" "${args[@]}"
  echo "peak RSS, one run each ($f):"
  for i in "${!names[@]}"; do
    echo "  ${names[$i]}: $(python3 bench/peak.py ${cmds[$i]})"
  done | tee "bench/results/quarantine_rss_$(basename "$f").txt"
done
