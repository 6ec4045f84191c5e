-- A function that raises inside try_or_compiler_error fails the node with
-- the message (at run time here; while parsing it would stop the load).
select {% if execute %}'{{ try_or_compiler_error("month 13 is no month", modules.datetime.date, 2020, 13, 1) }}'{% else %}null{% endif %} as d
