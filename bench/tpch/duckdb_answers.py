"""DuckDB's answers to SQL files over a folder of TPC-H Parquet tables, as JSON.

The reference the TPC-H test compares assay's engines with (tests/integration/
differential.rs) and bench/tpch_standard.sh runs beside them:

    python3 bench/tpch/duckdb_answers.py DIR Q.sql [Q.sql ...]

prints {"Q.sql": [[cell, ...], ...], ...}; a cell is text as assay prints it: null as
NULL, numbers in full (decimals exact, floats by repr), dates ISO.
"""
import datetime
import decimal
import json
import sys

import duckdb

TABLES = ["lineitem", "orders", "customer", "nation", "region", "supplier", "part", "partsupp"]


def cell(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return str(v)


def main():
    folder, files = sys.argv[1], sys.argv[2:]
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{folder}/{t}.parquet')")
    out = {}
    for f in files:
        with open(f) as h:
            rows = con.execute(h.read()).fetchall()
        out[f] = [[cell(v) for v in r] for r in rows]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
