"""The 20 checks of bench/checks.toml (bench/checks_lineitem.toml for TPC-H lineitem) with pandera's Polars backend (pandera.polars),
reading the data with Polars and validating lazily (all failures collected).

    python3 bench/checks_pandera.py DATA
"""
import sys

import pandera.polars as pa
import polars as pl

path = sys.argv[1]
df = pl.read_csv(path, try_parse_dates=True, infer_schema_length=10000) if path.endswith(".csv") else pl.read_parquet(path)
C = pa.Check


def frame_check(expr, name):
    """A table-level check: one boolean from a Polars expression."""
    return C(lambda data: data.lazyframe.select(expr), name=name)


if "lineitem" in path:
    shipmodes = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]
    schema = pa.DataFrameSchema(
        {
            "l_orderkey": pa.Column(pl.Int64, nullable=False),
            "l_partkey": pa.Column(pl.Int64, nullable=False),
            "l_comment": pa.Column(pl.String, [C.str_length(10, 44)], nullable=False),
            "l_quantity": pa.Column(pl.Int64, C.in_range(1, 50)),
            "l_discount": pa.Column(pl.Float64, C.in_range(0, 0.1)),
            "l_tax": pa.Column(pl.Float64, C.in_range(0, 0.08)),
            "l_returnflag": pa.Column(pl.String, [C.isin(["A", "N", "R"]), C.str_length(1, 1)]),
            "l_linestatus": pa.Column(pl.String, C.isin(["O", "F"])),
            "l_shipmode": pa.Column(pl.String, C.isin(shipmodes)),
            "l_shipinstruct": pa.Column(pl.String, C.str_matches(r"^(?:[A-Z ]+)$")),
            "l_extendedprice": pa.Column(pl.Float64, C.le(110000)),
        },
        checks=[
            # pandera has no `mostly`: the comment regex is a table check of the fraction.
            frame_check(pl.col("l_comment").str.contains(r"^(?:[a-z ,.;:!?'-]+)$").mean() >= 0.95, "comment_regex"),
            C(lambda data: data.lazyframe.select(pl.col("l_receiptdate") >= pl.col("l_shipdate")), name="receipt_after_ship"),
            frame_check(pl.len() >= 1, "row_count"),
            frame_check(pl.col("l_quantity").mean().is_between(20, 30), "mean_quantity"),
            frame_check(pl.col("l_comment").null_count() / pl.len() <= 0.01, "null_fraction"),
            frame_check(pl.col("l_shipmode").drop_nulls().n_unique() <= 7, "distinct_shipmode"),
        ],
        unique=["l_orderkey", "l_linenumber"],
    )
else:
    schema = pa.DataFrameSchema(
        {
            "order_id": pa.Column(pl.Int64, nullable=False),
            "customer_id": pa.Column(pl.Int64, nullable=True),
            "amount": pa.Column(pl.Float64, C.in_range(0, 10000), nullable=True),
            "email": pa.Column(pl.String, [C.str_matches(r"^(?:[^@ ]+@[^@ ]+\.[a-z]+)$"), C.str_length(5, 100)], nullable=False),
            "price": pa.Column(pl.Float64, [C.in_range(0, 1000), C.le(1000)]),
            "quantity": pa.Column(pl.Int64, C.in_range(1, 10)),
            "status": pa.Column(pl.String, C.isin(["pending", "shipped", "delivered", "returned", "cancelled"])),
            "country": pa.Column(
                pl.String,
                [C.isin(["BR", "CA", "DE", "ES", "FR", "GB", "IT", "JP", "NL", "PL", "US"]), C.str_length(2, 2)],
                nullable=True,
            ),
            "order_date": pa.Column(checks=C(lambda data: data.lazyframe.select(
                pl.col(data.key).cast(pl.String).str.contains(r"^(?:\d{4}-\d{2}-\d{2})$")
            ), name="date_regex")),
        },
        checks=[
            C(lambda data: data.lazyframe.select(pl.col("amount") >= pl.col("price")), name="amount_ge_price"),
            frame_check(pl.len() >= 1, "row_count"),
            frame_check(pl.col("amount").mean().is_between(0, 5000), "mean_amount"),
            frame_check(pl.col("customer_id").null_count() / pl.len() <= 0.05, "null_fraction"),
            frame_check(pl.col("country").drop_nulls().n_unique() <= 50, "distinct_country"),
        ],
        unique=["order_id", "customer_id"],
    )
try:
    schema.validate(df, lazy=True)
    print("all checks passed")
except pa.errors.SchemaErrors as e:
    print(f"{len(e.failure_cases)} failure cases")
