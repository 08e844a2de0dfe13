#!/usr/bin/env bash
# Whole-command benchmarks (issue 2): `assay count` and a filter + group-by through
# `assay sql` on each engine, against the same work written directly in Python Polars,
# DataFusion's Python bindings and DuckDB, side by side in one hyperfine run per table.
#
#   bash bench/run.sh            # 10M rows (about 1 GB of CSV)
#   ROWS=1000000 bash bench/run.sh
#
# Installs hyperfine (apt), polars duckdb datafusion (pip) when missing. Data and results go to
# bench/data and bench/results (not committed).
set -euo pipefail
source "$(dirname "$0")/env.sh"
needs apt:hyperfine pip:polars pip:duckdb pip:datafusion
mkdir -p bench/data bench/results
CSV="bench/data/orders_${ROWS}.csv"
PQ="bench/data/orders_${ROWS}.parquet"
[ -f "$CSV" ] || "$A" gen orders --rows "$ROWS" --out "$CSV"
[ -f "$PQ" ] || python3 -c "import polars as pl, sys; pl.scan_csv(sys.argv[1], try_parse_dates=True, infer_schema_length=10000).sink_parquet(sys.argv[2])" "$CSV" "$PQ"

Q="SELECT country, COUNT(*) AS n, SUM(amount) AS total, AVG(price) AS avg_price FROM orders WHERE status = 'delivered' AND quantity >= 3 GROUP BY country ORDER BY country"
{
  echo "# $(date -u +%F) rows=$ROWS runs=$RUNS $(nproc) cores"
  "$A" --version
  python3 -c "import polars, duckdb, datafusion; print('python polars', polars.__version__, '| duckdb', duckdb.__version__, '| datafusion-python', datafusion.__version__)"
} > bench/results/versions.txt
for f in "$CSV" "$PQ"; do
  kind="${f##*.}"
  hyperfine --warmup 1 --runs "$RUNS" --export-markdown "bench/results/count_${kind}.md" --export-json "bench/results/count_${kind}.json" \
    -n "assay count" "$A count $f" \
    -n "python: import polars (startup only)" "python3 -c 'import polars'" \
    -n "polars direct (in-memory)" "python3 bench/direct.py polars count $f" \
    -n "polars direct (streaming)" "python3 bench/direct.py polars-streaming count $f" \
    -n "datafusion direct" "python3 bench/direct.py datafusion count $f" \
    -n "duckdb" "python3 bench/direct.py duckdb count $f"
  hyperfine --warmup 1 --runs "$RUNS" --export-markdown "bench/results/groupby_${kind}.md" --export-json "bench/results/groupby_${kind}.json" \
    -n "assay sql --engine polars" "$A sql \"$Q\" -t orders=$f --engine polars" \
    -n "assay sql --engine datafusion" "$A sql \"$Q\" -t orders=$f --engine datafusion" \
    -n "python: import polars (startup only)" "python3 -c 'import polars'" \
    -n "polars direct (in-memory)" "python3 bench/direct.py polars groupby $f" \
    -n "polars direct (streaming)" "python3 bench/direct.py polars-streaming groupby $f" \
    -n "datafusion direct" "python3 bench/direct.py datafusion groupby $f" \
    -n "duckdb" "python3 bench/direct.py duckdb groupby $f"
done
cat bench/results/versions.txt bench/results/*.md
