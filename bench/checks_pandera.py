"""The 20 checks of bench/checks.toml with pandera's Polars backend (pandera.polars),
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
