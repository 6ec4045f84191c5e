def model(dbt, session):
    dbt.config(materialized="table", tags=["python"])
    # Set in the property file; the second argument is the default.
    threshold = dbt.config.get("threshold", 10)
    missing = dbt.config.get("not_set_anywhere", "fallback")
    orders = dbt.ref("py_orders")
    # A DuckDB relation, returned as such.
    return orders.filter(f"amount > {threshold}").aggregate(
        f"country, count(*) as n, sum(amount) as total, '{missing}' as missing", "country"
    )
