"""The 20 checks of bench/checks.toml (bench/checks_lineitem.toml for TPC-H lineitem) as Great Expectations (1.x) expectations on a
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
suite = gx.ExpectationSuite(name="checks")
shipmodes = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]
lineitem = [
    gxe.ExpectColumnValuesToNotBeNull(column="l_orderkey"),
    gxe.ExpectColumnValuesToNotBeNull(column="l_partkey"),
    gxe.ExpectColumnValuesToNotBeNull(column="l_comment"),
    gxe.ExpectColumnValuesToBeBetween(column="l_quantity", min_value=1, max_value=50),
    gxe.ExpectColumnValuesToBeBetween(column="l_discount", min_value=0, max_value=0.1),
    gxe.ExpectColumnValuesToBeBetween(column="l_tax", min_value=0, max_value=0.08),
    gxe.ExpectColumnValuesToBeInSet(column="l_returnflag", value_set=["A", "N", "R"]),
    gxe.ExpectColumnValuesToBeInSet(column="l_linestatus", value_set=["O", "F"]),
    gxe.ExpectColumnValuesToBeInSet(column="l_shipmode", value_set=shipmodes),
    gxe.ExpectColumnValuesToMatchRegex(column="l_comment", regex=r"^(?:[a-z ,.;:!?'-]+)$", mostly=0.95),
    gxe.ExpectColumnValuesToMatchRegex(column="l_shipinstruct", regex=r"^(?:[A-Z ]+)$"),
    gxe.ExpectColumnValueLengthsToBeBetween(column="l_returnflag", min_value=1, max_value=1),
    gxe.ExpectColumnValueLengthsToBeBetween(column="l_comment", min_value=10, max_value=44),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="l_receiptdate", column_B="l_shipdate", or_equal=True),
    gxe.ExpectCompoundColumnsToBeUnique(column_list=["l_orderkey", "l_linenumber"]),
    gxe.ExpectTableRowCountToBeBetween(min_value=1),
    gxe.ExpectColumnMeanToBeBetween(column="l_quantity", min_value=20, max_value=30),
    gxe.ExpectColumnMaxToBeBetween(column="l_extendedprice", max_value=110000),
    gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="l_comment", min_value=0.99),
    gxe.ExpectColumnUniqueValueCountToBeBetween(column="l_shipmode", max_value=7),
]
orders = [
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
]
for e in lineitem if "lineitem" in path else orders:
    suite.add_expectation(e)
result = batch.validate(suite)
print(sum(not r.success for r in result.results), "of", len(result.results), "expectations failed")
