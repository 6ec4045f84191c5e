def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="id")
    rows = dbt.ref("orders_until_day")
    if dbt.is_incremental:
        # `dbt.this` names the existing table inside the session.
        seen = session.sql(f"select max(id) from {dbt.this}").fetchall()[0][0]
        rows = rows.filter(f"id > {seen}")
    df = rows.df()
    df["loaded_incrementally"] = dbt.is_incremental
    return df[["id", "customer_id", "amount", "day", "loaded_incrementally"]]
