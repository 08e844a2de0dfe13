"""The 20 checks of bench/checks.toml (or, for TPC-H lineitem, bench/checks_lineitem.toml)
written by hand as one Polars lazy query (the practical floor): failing-row counts and
table-level values in one select.

    python3 bench/checks_direct.py DATA
"""
import sys

import polars as pl

path = sys.argv[1]
lf = pl.scan_csv(path, try_parse_dates=True, infer_schema_length=10000) if path.endswith(".csv") else pl.scan_parquet(path)
c = pl.col
if "lineitem" in path:
    fails = [
        c("l_orderkey").is_null(),
        c("l_partkey").is_null(),
        c("l_comment").is_null(),
        (c("l_quantity") < 1) | (c("l_quantity") > 50),
        (c("l_discount") < 0) | (c("l_discount") > 0.1),
        (c("l_tax") < 0) | (c("l_tax") > 0.08),
        ~c("l_returnflag").is_in(["A", "N", "R"]),
        ~c("l_linestatus").is_in(["O", "F"]),
        ~c("l_shipmode").is_in(["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]),
        ~c("l_comment").str.contains(r"^(?:[a-z ,.;:!?'-]+)$"),
        ~c("l_shipinstruct").str.contains(r"^(?:[A-Z ]+)$"),
        (c("l_returnflag").str.len_chars() < 1) | (c("l_returnflag").str.len_chars() > 1),
        (c("l_comment").str.len_chars() < 10) | (c("l_comment").str.len_chars() > 44),
        ~(c("l_receiptdate") >= c("l_shipdate")),
        pl.struct("l_orderkey", "l_linenumber").is_duplicated(),
    ]
    tables = [
        pl.len().alias("rows"),
        c("l_quantity").mean().alias("mean_quantity"),
        c("l_extendedprice").max().alias("max_price"),
        (c("l_comment").null_count() / pl.len()).alias("null_fraction"),
        c("l_shipmode").drop_nulls().n_unique().alias("shipmodes"),
    ]
else:
    fails = [
        c("order_id").is_null(),
        c("customer_id").is_null(),
        c("amount").is_null(),
        c("email").is_null(),
        (c("amount") < 0) | (c("amount") > 10000),
        (c("price") < 0) | (c("price") > 1000),
        (c("quantity") < 1) | (c("quantity") > 10),
        ~c("status").is_in(["pending", "shipped", "delivered", "returned", "cancelled"]),
        ~c("country").is_in(["BR", "CA", "DE", "ES", "FR", "GB", "IT", "JP", "NL", "PL", "US"]),
        ~c("email").str.contains(r"^(?:[^@ ]+@[^@ ]+\.[a-z]+)$"),
        ~c("order_date").cast(pl.String).str.contains(r"^(?:\d{4}-\d{2}-\d{2})$"),
        (c("country").str.len_chars() < 2) | (c("country").str.len_chars() > 2),
        (c("email").str.len_chars() < 5) | (c("email").str.len_chars() > 100),
        ~(c("amount") >= c("price")),
        pl.struct("order_id", "customer_id").is_duplicated(),
    ]
    tables = [
        pl.len().alias("rows"),
        c("amount").mean().alias("mean_amount"),
        c("price").max().alias("max_price"),
        (c("customer_id").null_count() / pl.len()).alias("null_fraction"),
        c("country").drop_nulls().n_unique().alias("countries"),
    ]
exprs = [f.fill_null(False).sum().alias(f"fail{i}") for i, f in enumerate(fails)] + tables
print(lf.select(exprs).collect(engine="streaming"))
