"""The checks that need no rows: Frictionless on the descriptor and on every Table Schema
(the reference semantics), and the repository's CITATION.cff and version numbers.

Kept apart from the row checks so that `aipolicy validate` can run them in a second process
(`report`), beside the table checks, without importing Polars or pandera there.
"""
from __future__ import annotations

from ..reading.package import DESCRIPTOR, Package, read_package
from ..reading.problems import Problem
from ..versioning.releasefiles import repository_problems


def metadata_problems(package: Package) -> list[Problem]:
    return descriptor_problems(package) + repository_problems(package.root, package.descriptor)


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


def report(root: str) -> None:
    """Print `metadata_problems` of the package at `root` as JSON (run in a second process)."""
    import json
    from dataclasses import asdict

    print(json.dumps([asdict(p) for p in metadata_problems(read_package(root, rows=False))]))


