"""The P2/P4 floor through the `duckdb` Python module (an optimized release build of
the same DuckDB version as the crate): `python floor.py <database> <list of .sql files>`.

Same work as examples/bench_floor.rs: open the file, run every listed file in order to
completion (results fetched), close. Informational: it shows what DuckDB's own build
flags cost, since the crate in the dev profile is not built the same way.
"""

import sys
import duckdb


def main(db, listing):
    con = duckdb.connect(db)
    with open(listing) as f:
        paths = [line.strip() for line in f if line.strip()]
    for path in paths:
        with open(path) as f:
            con.execute(f.read())
        if con.description is not None:
            con.fetchall()
    con.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
