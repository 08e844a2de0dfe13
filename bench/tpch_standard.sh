#!/usr/bin/env bash
# Issue 20's benchmark: the 22 TPC-H queries in the specification's text
# (bench/tpch/standard, run with `assay sql --file`) at scale factor 1 on Parquet (made
# here by tpchgen-cli), through assay on Polars, DataFusion and auto, side by side with
# DuckDB from Python (bench/sql_direct.py), in one hyperfine run per query. Whole
# processes, as a user runs them. Prints each query's medians and the geometric means.
# Installs hyperfine and pip's duckdb and tpchgen-cli when missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
needs apt:hyperfine pip:duckdb pipcmd:tpchgen-cli
DATA=bench/data/tpch/sf1
[ -f "$DATA/lineitem.parquet" ] || { mkdir -p "$DATA"; tpchgen-cli parquet -s 1 -o "$DATA"; }
T=()
for t in lineitem orders customer nation region supplier part partsupp; do T+=(-t "$DATA/$t.parquet"); done
mkdir -p bench/results
for q in ${QUERIES:-bench/tpch/standard/q*.sql}; do
  name=$(basename "$q" .sql)
  hyperfine --warmup "${WARMUP:-1}" --runs "$RUNS" -N --export-json "bench/results/std_$name.json" \
    -n polars "$A sql --file $q ${T[*]} --engine polars --format csv" \
    -n datafusion "$A sql --file $q ${T[*]} --engine datafusion --format csv" \
    -n auto "$A sql --file $q ${T[*]} --engine auto --format csv" \
    -n duckdb "python3 bench/sql_direct.py duckdb $DATA $q" \
    --output null >/dev/null
done
python3 - <<'PY'
import glob, json, math, os
rows, logs = [], {}
for f in sorted(glob.glob("bench/results/std_q*.json")):
    r = {x["command"]: x["median"] for x in json.load(open(f))["results"]}
    rows.append((os.path.basename(f)[4:-5], r))
names = ["polars", "datafusion", "auto", "duckdb"]
print("| query | " + " | ".join(names) + " | auto / duckdb |")
print("|---|" + "---:|" * (len(names) + 1))
for q, r in rows:
    print(f"| {q} | " + " | ".join(f"{r[n] * 1000:,.0f}" for n in names) + f" | {r['auto'] / r['duckdb']:.2f}x |")
    for n in names:
        logs.setdefault(n, []).append(math.log(r[n]))
g = {n: math.exp(sum(v) / len(v)) for n, v in logs.items()}
print("| geometric mean | " + " | ".join(f"{g[n] * 1000:,.0f}" for n in names) + f" | {g['auto'] / g['duckdb']:.2f}x |")
PY
