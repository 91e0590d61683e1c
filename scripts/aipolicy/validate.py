"""`aipolicy validate`: every check, one pass, one report.

1. Frictionless checks the descriptor and each Table Schema (the reference semantics);
2. the reader checks each file's bytes and structure (encoding, quoting, header, cells);
3. pandera runs the checks generated from the schemas and the rules of `rules.py`
   on whole columns;
4. the repository is checked for a valid CITATION.cff and versions that agree;
5. each table must be in the canonical form that `aipolicy fmt` writes.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import checks, rules
from .canonical import canonical_problems
from .package import DESCRIPTOR, Package, PackageError, read_package
from .problems import Problem
from .repo import repository_problems


def descriptor_problems(package: Package) -> list[Problem]:
    """Frictionless on the descriptor and on every Table Schema."""
    from frictionless import FrictionlessException, Package as FPackage, Schema

    problems = []
    if not package.descriptor:
        return problems
    try:
        for error in FPackage.metadata_validate(package.descriptor):
            problems.append(Problem(DESCRIPTOR, None, None, error.message, "descriptor"))
    except FrictionlessException as exc:
        problems.append(Problem(DESCRIPTOR, None, None, exc.error.message, "descriptor"))
    for resource in package.descriptor.get("resources", []):
        table = package.tables.get(resource.get("name")) if isinstance(resource, dict) else None
        if table is None or not table.schema:
            continue
        where = resource["schema"] if isinstance(resource.get("schema"), str) else DESCRIPTOR
        try:
            for error in Schema.metadata_validate(table.schema):
                problems.append(Problem(where, None, None, error.message, "schema"))
        except FrictionlessException as exc:
            problems.append(Problem(where, None, None, exc.error.message, "schema"))
    return problems


def released_id_problems(package: Package) -> list[Problem]:
    """IDs of the latest release (tag vX.Y.Z) that vanished without a `retired` row, or came back."""
    import subprocess

    from .diff import id_stability_problems
    from .gitio import checkout
    from .release import latest_tag

    try:
        inside = subprocess.run(["git", "-C", str(package.root), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []  # no git: nothing was released from here
    if inside.returncode != 0:
        return []
    try:
        tag = latest_tag(package.root)
        if tag is None:
            return []
        previous = read_package(checkout(package.root, tag), strict=False)
    except PackageError:
        return []
    out = []
    for message in id_stability_problems(previous, package):
        table = message.split(":", 1)[0]
        path = package.tables[table].path if table in package.tables else "data/retired.csv"
        out.append(Problem(path, None, None, f"{message} (compared with {tag})", "released-id"))
    return out


def row_problems(package: Package) -> list[Problem]:
    ctx = checks.Context(package)
    specs: dict[str, list[checks.Spec]] = {name: [] for name in package.tables}
    for name, table in package.tables.items():
        if table.frame is not None:
            specs[name].extend(checks.schema_specs(table, ctx))
    for rule in rules.RULES:
        for spec in rule(ctx):
            specs[spec.table].append(spec)
    from concurrent.futures import ThreadPoolExecutor

    # Tables are checked in parallel: most of the work is in Arrow kernels that release the GIL.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(lambda name: checks.run(package.tables[name], specs[name]), list(package.tables))
        return [p for found in results for p in found]


def validate_package(package: Package) -> list[Problem]:
    problems = list(package.problems)
    problems += descriptor_problems(package)
    for table in package.tables.values():
        problems += table.problems
    problems += row_problems(package)
    problems += canonical_problems(package)
    problems += repository_problems(package.root, package.descriptor)
    problems += released_id_problems(package)
    return sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.column or 0, p.rule))


def validate(path: str | Path | None = None) -> list[Problem]:
    import gc

    problems = validate_package(read_package(path, strict=True))
    gc.collect()  # the tables are large and held in reference cycles by the checks: free them now
    return problems
