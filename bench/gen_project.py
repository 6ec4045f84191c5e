#!/usr/bin/env python3
"""Writes a synthetic dbt project for the benchmarks (issue #6) into a directory.

The same project is given to dbt-core + dbt-duckdb and to `runner`, so it uses only
what both read: dbt_project.yml, profiles.yml (threads 1, a relative database path),
dags/bench.yml, seeds/*.csv, models in chains, fan-outs and diamonds, and one
schema.yml per model folder with 3 data tests per model.

    python3 bench/gen_project.py OUT --models 1000            # mixed views and tables
    python3 bench/gen_project.py OUT --models 1000 --trivial   # P4: trivial views, no seeds, no tests

Deterministic: the same arguments always write the same files. Standard library only.
"""

import argparse
import os
import shutil

# Model shapes, cycled in this order; each is a list of (suffix, parents within the group).
# A group's roots read from a seed or from a model of an earlier group, so the whole
# project is one connected graph with long paths as well as wide levels.
CHAIN = [("c0", []), ("c1", ["c0"]), ("c2", ["c1"]), ("c3", ["c2"]), ("c4", ["c3"])]
FAN_OUT = [("f0", []), ("f1", ["f0"]), ("f2", ["f0"]), ("f3", ["f0"]), ("f4", ["f0"])]
DIAMOND = [("d0", []), ("d1", ["d0"]), ("d2", ["d0"]), ("d3", ["d1", "d2"])]
SHAPES = [CHAIN, FAN_OUT, DIAMOND]
MODELS_PER_FOLDER = 100
KINDS = ["a", "b", "c"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def plan_models(n):
    """(name, parents by name, is the last of its group) for n models, in creation order."""
    models = []
    group = 0
    while len(models) < n:
        shape = SHAPES[group % len(SHAPES)]
        # The group's root reads the model `group` positions back when there is
        # one, so groups chain into each other; early groups read seeds instead.
        upstream = models[len(models) - 1 - (group * 7) % max(1, len(models))][0] if group >= 3 else None
        names = {}
        for i, (suffix, parents) in enumerate(shape):
            if len(models) == n:
                break
            name = f"m{group:05d}_{suffix}"
            names[suffix] = name
            refs = [names[p] for p in parents]
            if not refs and upstream:
                refs = [upstream]
            models.append((name, refs, i == len(shape) - 1))
        group += 1
    return models


def model_sql(refs, seed, table, trivial):
    mat = "table" if table else "view"
    head = f"{{{{ config(materialized='{mat}') }}}}\n"
    if trivial:
        if not refs:
            return head + "select 1 as id\n"
        return head + f"select id + 1 as id from {{{{ ref('{refs[0]}') }}}}\n"
    if not refs:
        return head + f"select id, kind, amount, created_at\nfrom {{{{ ref('{seed}') }}}}\n"
    if len(refs) == 1:
        return head + (
            "select id, kind, amount + 1 as amount, created_at\n"
            f"from {{{{ ref('{refs[0]}') }}}}\nwhere amount >= 0\n"
        )
    return head + (
        "select l.id, l.kind, greatest(l.amount, r.amount) as amount, l.created_at\n"
        f"from {{{{ ref('{refs[0]}') }}}} as l\n"
        f"join {{{{ ref('{refs[1]}') }}}} as r on r.id = l.id\n"
    )


def schema_entry(name, refs, index):
    """Three tests per model: unique and not_null on `id`, then accepted_values on
    `kind` or (every other model with a parent) relationships to the parent."""
    lines = [f"  - name: {name}", "    columns:", "      - name: id", "        data_tests:", "          - unique",
             "          - not_null"]
    if refs and index % 2 == 1:
        lines += ["          - relationships:", "              arguments:", f"                to: ref('{refs[0]}')",
                  "                field: id"]
    else:
        lines += ["      - name: kind", "        data_tests:", "          - accepted_values:",
                  "              arguments:", f"                values: {KINDS}"]
    return "\n".join(lines) + "\n"


def generate(out, n_models, n_seeds, rows, trivial, tests):
    if os.path.exists(out):
        shutil.rmtree(out)
    write(os.path.join(out, "dbt_project.yml"),
          "name: bench\nprofile: bench\nversion: '1.0.0'\nconfig-version: 2\n")
    write(os.path.join(out, "profiles.yml"),
          "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
          "      path: bench.duckdb\n      schema: main\n      threads: 1\n")
    write(os.path.join(out, "dags", "bench.yml"),
          "dag_id: bench\nschedule: null\nstart_date: 2025-01-01\nprofile: bench\n"
          "select: [\"*\"]\ntest_behavior: after_all\n")
    seeds = [f"raw_{i:03d}" for i in range(n_seeds)]
    for i, s in enumerate(seeds):
        body = "".join(
            f"{r},{KINDS[(r + i) % 3]},{(r * 37 + i) % 1000},2025-01-{1 + r % 28:02d}\n" for r in range(1, rows + 1))
        write(os.path.join(out, "seeds", f"{s}.csv"), "id,kind,amount,created_at\n" + body)
    models = plan_models(n_models)
    folders = {}
    for index, (name, refs, last) in enumerate(models):
        folder = f"g{index // MODELS_PER_FOLDER:04d}"
        seed = seeds[index % len(seeds)] if seeds else None
        sql = model_sql(refs, seed, last and not trivial, trivial or not seeds)
        write(os.path.join(out, "models", folder, f"{name}.sql"), sql)
        if tests:
            folders.setdefault(folder, []).append(schema_entry(name, refs, index))
    for folder, entries in folders.items():
        write(os.path.join(out, "models", folder, "schema.yml"), "version: 2\nmodels:\n" + "".join(entries))
    return len(models), len(seeds), 3 * len(models) if tests else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="directory to write (replaced if it exists)")
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--seeds", type=int, default=None, help="default: between 1 and 20, one per 50 models")
    ap.add_argument("--rows", type=int, default=100, help="rows per seed")
    ap.add_argument("--trivial", action="store_true", help="trivial views only: no seeds, no tests")
    args = ap.parse_args()
    seeds = 0 if args.trivial else (args.seeds if args.seeds is not None else max(1, min(20, args.models // 50)))
    m, s, t = generate(args.out, args.models, seeds, args.rows, args.trivial, not args.trivial)
    print(f"{args.out}: {m} models, {s} seeds, {t} tests")


if __name__ == "__main__":
    main()
