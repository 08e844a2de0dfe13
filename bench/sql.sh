#!/usr/bin/env bash
# Issue 4's benchmark: TPC-H queries (bench/tpch/*.sql, the differential test's corpus)
# at scale factor 1 on Parquet (made here by tpchgen-cli), each through `assay sql` on
# Polars and on DataFusion, side by side with the same Polars version driven directly
# from Rust (`assay-baseline sql`: the query as assay rewrites it, on the streaming
# engine; BASELINE_IN_MEMORY=1 adds the in-memory engine), the same DataFusion version
# driven directly (`assay-baseline sql --engine datafusion`: a default session), the
# engines driven from Python
# (bench/sql_direct.py) and DuckDB. Whole processes, as a user runs them.
# Installs hyperfine and pip's polars, datafusion, duckdb, tpchgen-cli when missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
needs_baseline
needs apt:hyperfine pip:polars pip:datafusion pip:duckdb pipcmd:tpchgen-cli
DATA=bench/data/tpch/sf1
[ -f "$DATA/lineitem.parquet" ] || { mkdir -p "$DATA"; tpchgen-cli parquet -s 1 -o "$DATA"; }
T=()
for t in lineitem orders customer nation region supplier part partsupp; do T+=(-t "$DATA/$t.parquet"); done
mkdir -p bench/results
# POLARS_SKIP="q18 …" leaves queries out of the Polars side.
for q in ${QUERIES:-bench/tpch/*.sql}; do
  name=$(basename "$q" .sql)
  sql=$(cat "$q")
  polars=()
  case " ${POLARS_SKIP-} " in *" $name "*) ;; *)
    polars=(-n "assay sql --engine polars" "$A sql \"$sql\" ${T[*]} --engine polars --format csv"
            -n "rust polars (same version)" "$B sql \"$sql\" ${T[*]}")
    [ -z "${BASELINE_IN_MEMORY-}" ] ||
      polars+=(-n "rust polars (same version, in-memory)" "$B sql \"$sql\" ${T[*]} --in-memory")
    polars+=(-n "polars (python)" "python3 bench/sql_direct.py polars $DATA $q") ;;
  esac
  hyperfine --warmup "${WARMUP:-1}" --runs "$RUNS" -N --export-markdown "bench/results/sql_$name.md" \
    "${polars[@]}" \
    -n "assay sql --engine datafusion" "$A sql \"$sql\" ${T[*]} --engine datafusion --format csv" \
    -n "rust datafusion (same version)" "$B sql \"$sql\" ${T[*]} --engine datafusion" \
    -n "datafusion (python)" "python3 bench/sql_direct.py datafusion $DATA $q" \
    -n "duckdb (python)" "python3 bench/sql_direct.py duckdb $DATA $q" \
    --output null
done
