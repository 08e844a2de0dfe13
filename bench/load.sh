#!/usr/bin/env bash
# Issue 7: loading the 10M-row orders into SQLite with durable settings (one
# transaction; a new database synchronous = FULL, an existing one WAL with
# synchronous = NORMAL), from Parquet and from CSV, against a
# hand-written Python loader (WAL, synchronous = NORMAL) and against the published figure
# of a Rust streaming ETL example (10M rows in about 23 s with synchronous = OFF).
# CSV -> Parquet against Python Polars' sink_parquet, the same Rust Polars version driven
# directly (`assay-baseline`, bench/baseline: no sniffing, no fsync, no count back) and DuckDB's COPY,
# side by side.
# Three runs by default (RUNS=3): each run writes a 1 GB database.
RUNS="${RUNS:-3}"
source "$(dirname "$0")/env.sh"
needs_baseline
needs apt:hyperfine apt:sqlite3 pip:polars pip:duckdb
CSV="bench/data/orders_${ROWS}.csv"
PQ="bench/data/orders_${ROWS}.parquet"
[ -f "$CSV" ] || "$A" gen orders --rows "$ROWS" --out "$CSV"
[ -f "$PQ" ] || "$A" export "$CSV" --to "$PQ"
OUT="${TMPDIR:-/tmp}/assay-bench-load"
rm -rf "$OUT" && mkdir -p "$OUT"
# The databases and files written are over 3 GB: gone when the script ends.
trap 'rm -rf "$OUT"' EXIT
cat > "$OUT/python_load.py" <<'PY'
import csv, sqlite3, sys
db, path = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = NORMAL")
with open(path, newline="") as f:
    rows = csv.reader(f)
    header = next(rows)
    cols = ", ".join(f'"{c}"' for c in header)
    con.execute("BEGIN")
    con.execute(f"DROP TABLE IF EXISTS orders")
    con.execute(f"CREATE TABLE orders ({cols})")
    con.executemany(f"INSERT INTO orders VALUES ({', '.join('?' * len(header))})",
                    ([v if v != '' else None for v in r] for r in rows))
    con.commit()
print(con.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
PY
cat > "$OUT/polars_sink.py" <<'PY'
import polars as pl, sys
# The schema assay infers (created_at a datetime), so both parse the same.
pl.scan_csv(sys.argv[1], schema_overrides={"created_at": pl.Datetime("us")}).sink_parquet(sys.argv[2])
PY
cat > "$OUT/duckdb_copy.py" <<'PY'
import duckdb, sys
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet)")
PY
# PART=parquet runs the CSV -> Parquet comparison only, PART=sqlite the SQLite loads only.
if [ "${PART:-all}" != parquet ]; then
echo "== SQLite loads, $ROWS rows (runs: $RUNS)"
hyperfine -r "$RUNS" -w 0 --export-json "$OUT/sqlite.json" \
  --prepare "rm -f $OUT/a.db* $OUT/b.db* $OUT/p.db*" \
  -n "assay export parquet -> sqlite" "$A export $PQ --to 'sqlite://$OUT/a.db?table=orders'" \
  -n "assay export csv -> sqlite" "$A export $CSV --to 'sqlite://$OUT/b.db?table=orders'" \
  -n "python sqlite3 executemany (csv)" "python3 $OUT/python_load.py $OUT/p.db $CSV"
python3 bench/peak.py "$A" export "$PQ" --to "sqlite://$OUT/m.db?table=orders"
# The same load into a database that exists already (it holds another table): that one
# runs in WAL mode with synchronous = NORMAL, so readers go on meanwhile.
echo "== SQLite load into an existing database (WAL)"
hyperfine -r "$RUNS" -w 0 \
  --prepare "rm -f $OUT/e.db* && sqlite3 $OUT/e.db 'PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; CREATE TABLE other (x)'" \
  -n "assay export parquet -> existing sqlite (WAL)" "$A export $PQ --to 'sqlite://$OUT/e.db?table=orders'"
# SQLite's own floor on this machine: copying the loaded table into a new database with
# the settings assay uses for one (64 KiB pages, rollback journal in memory, synchronous
# = FULL, 64 MiB cache, switched to WAL after), and into one in WAL mode with
# synchronous = NORMAL (an existing database's), one transaction, by the sqlite3 shell:
# no reading, no binding, only SQLite's inserts.
echo "== SQLite's floor: INSERT ... SELECT of the loaded table (sqlite3 $(sqlite3 --version | cut -d' ' -f1))"
COPY="ATTACH '$OUT/m.db' AS s; BEGIN; CREATE TABLE orders AS SELECT * FROM s.orders WHERE 0; INSERT INTO orders SELECT * FROM s.orders; COMMIT;"
hyperfine -r "$RUNS" -w 0 --prepare "rm -f $OUT/f.db* $OUT/g.db*" \
  -n "sqlite3 INSERT ... SELECT, a new database's settings" \
  "sqlite3 $OUT/f.db \"PRAGMA page_size = 65536; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; $COPY PRAGMA journal_mode = WAL;\"" \
  -n "sqlite3 INSERT ... SELECT, WAL and synchronous = NORMAL" \
  "sqlite3 $OUT/g.db \"PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; $COPY\""
fi
[ "${PART:-all}" = sqlite ] && exit 0
echo "== CSV -> Parquet, $ROWS rows"
hyperfine -r "$RUNS" -w 0 --export-json "$OUT/parquet.json" \
  --prepare "rm -f $OUT/*.parquet" \
  -n "assay export" "$A export $CSV --to $OUT/a.parquet" \
  -n "rust polars (same version) sink_parquet" "$B csv-to-parquet $CSV $OUT/r.parquet --datetime created_at" \
  -n "rust polars (same version), dates parsed after the scan" "$B csv-to-parquet $CSV $OUT/s.parquet --datetime created_at --parse-after '%Y-%m-%d %H:%M:%S'" \
  -n "polars sink_parquet" "python3 $OUT/polars_sink.py $CSV $OUT/p.parquet" \
  -n "duckdb COPY" "python3 $OUT/duckdb_copy.py $CSV $OUT/d.parquet"
python3 bench/peak.py "$A" export "$CSV" --to "$OUT/m.parquet"
