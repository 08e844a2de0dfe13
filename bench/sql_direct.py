"""One TPC-H query run directly on an engine from Python, for bench/sql.sh: the same
eight Parquet tables registered by name, the query's result collected in full. Prints
the query's own time (after imports and registration) on stderr.

    python3 bench/sql_direct.py polars|datafusion|duckdb DATA_DIR QUERY_FILE
"""
import sys
import time

engine, data, query_file = sys.argv[1], sys.argv[2], sys.argv[3]
query = open(query_file).read()
tables = ["lineitem", "orders", "customer", "nation", "region", "supplier", "part", "partsupp"]
if engine == "polars":
    import polars as pl

    ctx = pl.SQLContext({t: pl.scan_parquet(f"{data}/{t}.parquet") for t in tables})
    start = time.perf_counter()
    rows = ctx.execute(query).collect(engine="streaming").height
elif engine == "datafusion":
    import datafusion

    ctx = datafusion.SessionContext()
    for t in tables:
        ctx.register_parquet(t, f"{data}/{t}.parquet")
    start = time.perf_counter()
    rows = sum(b.num_rows for b in ctx.sql(query).collect())
else:
    import duckdb

    con = duckdb.connect()
    for t in tables:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
    start = time.perf_counter()
    rows = len(con.execute(query).fetchall())
print(f"{engine} {query_file}: {rows} rows, {(time.perf_counter() - start) * 1000:.0f} ms", file=sys.stderr)
