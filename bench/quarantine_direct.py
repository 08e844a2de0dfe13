"""bench/quarantine.toml's split written by hand in Polars: each row tagged with the
checks it fails (a null amount, an amount outside 0..10000, a duplicated (order_id,
customer_id) key), the passing rows to one Parquet file and the failing ones, with their
tags, to another; both sinks in one collect_all, so the scan is shared.

    python3 bench/quarantine_direct.py DATA VALID BAD
"""
import sys

import polars as pl

path, valid, bad = sys.argv[1:4]
lf = pl.scan_csv(path, try_parse_dates=True, infer_schema_length=10000) if path.endswith(".csv") else pl.scan_parquet(path)
c = pl.col
tags = [
    pl.when(c("amount").is_null()).then(pl.lit("not_null_amount")),
    pl.when(~c("amount").is_between(0, 10000)).then(pl.lit("between_amount")),
    pl.when(pl.struct("order_id", "customer_id").is_duplicated()).then(pl.lit("unique_order_id_customer_id")),
]
tagged = lf.with_columns(pl.concat_list(tags).list.drop_nulls().alias("failed_checks"))
failing = c("failed_checks").list.len() > 0
pl.collect_all(
    [
        tagged.filter(~failing).drop("failed_checks").sink_parquet(valid, lazy=True),
        tagged.filter(failing).sink_parquet(bad, lazy=True),
    ],
    engine="streaming",
)
