"""Validates runner's target/manifest.json and target/run_results.json with
dbt-artifacts-parser (the published dbt schemas as pydantic models, extra
fields forbidden), as the tools that read dbt's artifacts do.

Usage: validate-artifacts.py <target dir>. Prints one line per problem
(file, field path, pydantic's message) and exits 1 if there is any.
"""
import json
import sys

from dbt_artifacts_parser.parsers.manifest import manifest_v12
from dbt_artifacts_parser.parsers.run_results import run_results_v6
from pydantic import ValidationError

CLASSES = [getattr(manifest_v12, n) for n in dir(manifest_v12) if n.startswith(("Nodes", "Sources", "Macros"))]


def classes_for(resource_type):
    for cls in CLASSES:
        field = getattr(cls, "model_fields", {}).get("resource_type")
        if field is not None and f"'{resource_type}'" in str(field.annotation):
            yield cls


def node_problems(section, entry):
    """The problems of the closest node class (a union's first member says little)."""
    best = None
    for cls in classes_for(entry.get("resource_type")):
        try:
            cls.model_validate(entry)
            return []
        except ValidationError as e:
            found = [f"{section}/{entry['resource_type']}: {'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()]
            if best is None or len(found) < len(best):
                best = found
    return best if best is not None else [f"{section}: no schema class for resource_type {entry.get('resource_type')!r}"]


def main(target):
    problems = set()
    manifest = json.load(open(f"{target}/manifest.json"))
    for section in ("nodes", "sources", "macros"):
        for entry in manifest.get(section, {}).values():
            problems.update(node_problems(section, entry))
    try:
        manifest_v12.ManifestV12.model_validate(manifest)
    except ValidationError as e:
        for x in e.errors():
            if x["loc"][0] not in ("nodes", "sources", "macros"):
                problems.add(f"manifest: {'.'.join(map(str, x['loc']))}: {x['msg']}")
    try:
        run_results_v6.RunResultsV6.model_validate(json.load(open(f"{target}/run_results.json")))
    except ValidationError as e:
        for x in e.errors():
            loc = ".".join(str(p) for p in x["loc"] if not isinstance(p, int))
            problems.add(f"run_results: {loc}: {x['msg']}")
    for p in sorted(problems):
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
