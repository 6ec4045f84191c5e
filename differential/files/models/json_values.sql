-- JSON built and read in SQL, no files: a view
select
    to_json({'k': 1, 'v': [1, 2]}) as built,
    json_valid('{"a": 1}') as valid,
    '{"a": {"b": [1, 2, 3]}}'::json -> '$.a.b' as arr,
    json_keys('{"x": 1, "y": 2}') as keys,
    json_type('[1]') as kind
