"""The reference side of bench/run.sh: the same work as an assay command, written directly
against an engine (Python Polars, DataFusion's Python bindings, DuckDB).

usage: direct.py ENGINE TASK PATH
  ENGINE: polars | polars-streaming | datafusion | duckdb
  TASK:   count | groupby
  PATH:   a .csv or .parquet file
Prints the result, so a run can be checked against assay's output.
"""
import sys

QUERY = (
    "SELECT country, COUNT(*) AS n, SUM(amount) AS total, AVG(price) AS avg_price "
    "FROM orders WHERE status = 'delivered' AND quantity >= 3 GROUP BY country ORDER BY country"
)


def polars_frame(path):
    import polars as pl

    if path.endswith(".parquet"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, try_parse_dates=True, infer_schema_length=10000)


def run_polars(task, path, engine):
    import polars as pl

    lf = polars_frame(path)
    if task == "count":
        return lf.select(pl.len()).collect(engine=engine)
    return (
        lf.filter((pl.col("status") == "delivered") & (pl.col("quantity") >= 3))
        .group_by("country")
        .agg(
            pl.len().alias("n"),
            pl.col("amount").sum().alias("total"),
            pl.col("price").mean().alias("avg_price"),
        )
        .sort("country")
        .collect(engine=engine)
    )


def run_datafusion(task, path):
    from datafusion import SessionContext

    ctx = SessionContext()
    if path.endswith(".parquet"):
        ctx.register_parquet("orders", path)
    else:
        ctx.register_csv("orders", path)
    sql = "SELECT COUNT(*) AS n FROM orders" if task == "count" else QUERY
    return ctx.sql(sql).to_arrow_table()


def run_duckdb(task, path):
    import duckdb

    src = f"read_parquet('{path}')" if path.endswith(".parquet") else f"read_csv('{path}')"
    sql = f"SELECT COUNT(*) AS n FROM {src}" if task == "count" else QUERY.replace("FROM orders", f"FROM {src}")
    return duckdb.sql(sql).fetchall()


def main():
    engine, task, path = sys.argv[1:4]
    if engine == "polars":
        print(run_polars(task, path, "in-memory"))
    elif engine == "polars-streaming":
        print(run_polars(task, path, "streaming"))
    elif engine == "datafusion":
        print(run_datafusion(task, path))
    elif engine == "duckdb":
        print(run_duckdb(task, path))
    else:
        sys.exit(f"unknown engine {engine}")


if __name__ == "__main__":
    main()
