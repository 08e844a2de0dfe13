"""The 20 checks of bench/checks.toml as Great Expectations (1.x) expectations on a
pandas DataFrame, with the same `mostly` thresholds.

    python3 bench/checks_ge.py DATA
"""
import sys

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

path = sys.argv[1]
df = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("orders")
    .add_dataframe_asset("orders")
    .add_batch_definition_whole_dataframe("all")
    .get_batch(batch_parameters={"dataframe": df})
)
statuses = ["pending", "shipped", "delivered", "returned", "cancelled"]
countries = ["BR", "CA", "DE", "ES", "FR", "GB", "IT", "JP", "NL", "PL", "US"]
suite = gx.ExpectationSuite(name="orders")
for e in [
    gxe.ExpectColumnValuesToNotBeNull(column="order_id"),
    gxe.ExpectColumnValuesToNotBeNull(column="customer_id", mostly=0.95),
    gxe.ExpectColumnValuesToNotBeNull(column="amount", mostly=0.99),
    gxe.ExpectColumnValuesToNotBeNull(column="email"),
    gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=10000, mostly=0.99),
    gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, max_value=1000),
    gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1, max_value=10),
    gxe.ExpectColumnValuesToBeInSet(column="status", value_set=statuses, mostly=0.95),
    gxe.ExpectColumnValuesToBeInSet(column="country", value_set=countries, mostly=0.95),
    gxe.ExpectColumnValuesToMatchRegex(column="email", regex=r"^(?:[^@ ]+@[^@ ]+\.[a-z]+)$", mostly=0.95),
    gxe.ExpectColumnValuesToMatchRegex(column="order_date", regex=r"^(?:\d{4}-\d{2}-\d{2})$", mostly=0.95),
    gxe.ExpectColumnValueLengthsToBeBetween(column="country", min_value=2, max_value=2),
    gxe.ExpectColumnValueLengthsToBeBetween(column="email", min_value=5, max_value=100),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="amount", column_B="price", or_equal=True, mostly=0.95),
    gxe.ExpectCompoundColumnsToBeUnique(column_list=["order_id", "customer_id"], mostly=0.99),
    gxe.ExpectTableRowCountToBeBetween(min_value=1),
    gxe.ExpectColumnMeanToBeBetween(column="amount", min_value=0, max_value=5000),
    gxe.ExpectColumnMaxToBeBetween(column="price", max_value=1000),
    gxe.ExpectColumnValuesToNotBeNull(column="customer_id", mostly=0.95),
    gxe.ExpectColumnUniqueValueCountToBeBetween(column="country", max_value=50),
]:
    suite.add_expectation(e)
result = batch.validate(suite)
print(sum(not r.success for r in result.results), "of", len(result.results), "expectations failed")
