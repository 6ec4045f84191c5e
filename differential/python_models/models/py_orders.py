import pandas as pd


def model(dbt, session):
    # A table (the default for Python models) from a ref and a source,
    # returned as a pandas DataFrame.
    customers = dbt.ref("stg_customers").df()
    orders = dbt.source("raw", "orders").df()
    joined = orders.merge(customers, left_on="customer_id", right_on="id", suffixes=("", "_customer"))
    joined["amount_x2"] = joined["amount"] * 2
    joined["is_big"] = joined["amount"] > 50
    joined["materialized"] = dbt.config.get("materialized")
    joined["this"] = str(dbt.this)
    return joined[["id", "name", "country", "amount", "amount_x2", "is_big", "ordered_at", "materialized", "this"]]
