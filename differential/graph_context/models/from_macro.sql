select '{% if execute %}{{ model_names() }}{% endif %}' as names
