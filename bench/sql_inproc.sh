#!/usr/bin/env bash
# The engines' own query times, in process (after imports and table registration):
# bench/sql_direct.py run RUNS times per engine and query; prints the median in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench/data/tpch/sf1
for q in ${QUERIES:-bench/tpch/*.sql}; do
  for e in polars datafusion duckdb; do
    case "$e $(basename "$q" .sql)" in "polars q18") continue ;; esac
    ms=$(for _ in $(seq "${RUNS:-3}"); do python3 bench/sql_direct.py "$e" "$DATA" "$q" 2>&1 >/dev/null | awk '{print $(NF-1)}'; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$(basename "$q" .sql) $e ${ms} ms"
  done
done
