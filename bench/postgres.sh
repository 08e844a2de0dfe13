#!/usr/bin/env bash
# Issue 7: loading the 10M-row orders into Postgres, side by side in one run: assay's
# binary COPY (from Parquet and from CSV, one transaction) against `psql \copy` of the
# same CSV into a table of the same types (the server parses the text). A throwaway
# server (Debian's postgresql, default settings: fsync on) runs in a temporary folder on
# 127.0.0.1; it and its data are removed when the script ends.
RUNS="${RUNS:-3}"
source "$(dirname "$0")/env.sh"
needs apt:hyperfine apt:psql=postgresql-client
# The server: Debian's package, as the tests use (.ci/run installs it too).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }
CSV="$PWD/bench/data/orders_${ROWS}.csv"
PQ="$PWD/bench/data/orders_${ROWS}.parquet"
[ -f "$CSV" ] || "$A" gen orders --rows "$ROWS" --out "$CSV"
[ -f "$PQ" ] || "$A" export "$CSV" --to "$PQ"
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/assay-bench-pg.XXXX")
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$OUT"; AS=(runuser -u postgres --); fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${AS[@]}" "$BIN/initdb" -D "$OUT/data" -U assay --auth=trust -E UTF8 --no-locale >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$OUT/data" -o "-p $PORT -k $OUT -c listen_addresses=127.0.0.1" -l "$OUT/log" -w start >/dev/null
trap '"${AS[@]}" "$BIN/pg_ctl" -D "$OUT/data" -m immediate -w stop >/dev/null; rm -rf "$OUT"' EXIT
DB="postgres://assay@127.0.0.1:$PORT/postgres"
PSQL=(psql -X -q -h 127.0.0.1 -p "$PORT" -U assay -d postgres)
# The table psql fills has the types assay creates.
"$A" export "$PQ" --to "$DB?table=orders"
"${PSQL[@]}" -c "SELECT count(*) FROM orders"
echo "== Postgres loads, $ROWS rows (runs: $RUNS)"
hyperfine -r "$RUNS" -w 0 --export-json "$OUT/pg.json" \
  -n "assay export parquet -> postgres" "$A export $PQ --to '$DB?table=a' --overwrite" \
  -n "assay export csv -> postgres" "$A export $CSV --to '$DB?table=b' --overwrite" \
  -n "psql \\copy (csv)" "${PSQL[*]} -c 'BEGIN' -c 'DROP TABLE IF EXISTS p' -c 'CREATE TABLE p (LIKE orders)' -c \"\\copy p FROM '$CSV' WITH (FORMAT csv, HEADER)\" -c 'COMMIT'"
"${PSQL[@]}" -c "SELECT (SELECT count(*) FROM a) AS a, (SELECT count(*) FROM b) AS b, (SELECT count(*) FROM p) AS p"
python3 bench/peak.py "$A" export "$PQ" --to "$DB?table=m"
