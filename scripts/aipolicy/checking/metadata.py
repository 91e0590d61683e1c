"""The checks that need no rows: Frictionless on the descriptor and on every Table Schema
(the reference semantics), and the repository's CITATION.cff and version numbers.

Kept apart from the row checks so that `aipolicy validate` can run them in a second process
(`report`), beside the table checks, without importing Polars or pandera there. Their result
depends only on a few small files (the descriptor, the schemas, CITATION.cff, CHANGELOG.md),
the code that checks them and the versions of the libraries it uses: it is kept in a cache
under that fingerprint (`cached`), so that a validation after editing the data, the usual
case, reuses it instead of paying 0.3 s for Frictionless again.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from ..reading.package import DESCRIPTOR, Package, read_package
from ..reading.problems import Problem
from ..versioning.releasefiles import CHANGELOG, CITATION, repository_problems

LIBRARIES = ("frictionless", "jsonschema", "check-jsonschema", "pyyaml")


def cache_dir(kind: str = "metadata") -> Path:
    """`AIPOLICY_CACHE`, else the user's cache folder (XDG): where validation keeps what it
    need not work out twice (`metadata` verdicts, `released-ids` of release commits)."""
    base = os.environ.get("AIPOLICY_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "aipolicy")
    return Path(base) / kind


def fingerprint(root: Path) -> str:
    """Everything the metadata checks read or run: the files, their code, the library versions."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "big") + data)

    here = Path(__file__).resolve().parent
    for code in (here / "metadata.py", here.parent / "versioning" / "releasefiles.py"):
        add(code.name, code.read_bytes())
    installed = _installed()
    for name in LIBRARIES:
        add(name, installed.get(_normal(name), "").encode())
    try:  # the schema files the descriptor names (wherever they are), and those in schemas/
        named = [r["schema"] for r in json.loads((root / DESCRIPTOR).read_bytes()).get("resources", []) if isinstance(r.get("schema"), str)]
    except (OSError, ValueError, TypeError, AttributeError):
        named = []
    schemas = sorted({*named, *(str(p.relative_to(root)) for p in (root / "schemas").glob("*.json"))})
    for rel in [DESCRIPTOR, CITATION, CHANGELOG, *schemas]:
        path = root / rel
        add(rel, path.read_bytes() if path.is_file() else b"\0missing")
    return digest.hexdigest()


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _installed() -> dict[str, str]:
    """The installed distributions on the import path, each with the name of its metadata
    folder, which carries its version (`frictionless-5.18.1.dist-info`): what
    `importlib.metadata.version` reads, found without importing it (0.02 s at each start)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for item in names:
            if item.endswith((".dist-info", ".egg-info")):
                found.setdefault(_normal(item.rsplit(".", 1)[0].split("-")[0]), item)
    return found


def keep(kind: str, name: str, text: str) -> None:
    """Write one file of the cache, whole or not at all; a cache that cannot be written is skipped."""
    from ..reading.canonical import write_atomic

    try:
        folder = cache_dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / name, text.encode("utf-8"))
    except OSError:
        pass


def cached(root: Path) -> list[Problem] | None:
    """The problems found for exactly these files before, or None."""
    try:
        raw = (cache_dir() / f"{fingerprint(root)}.json").read_text(encoding="utf-8")
        return [Problem(**p) for p in json.loads(raw)]
    except (OSError, ValueError, TypeError):
        return None


def remember(root: Path, problems: list[Problem]) -> None:
    """Keep the verdict under the fingerprint of what it was found for."""
    from dataclasses import asdict

    keep("metadata", f"{fingerprint(root)}.json", json.dumps([asdict(p) for p in problems]))


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
    """Print `metadata_problems` of the package at `root` as JSON (run in a second process),
    and keep them in the cache."""
    from dataclasses import asdict

    package = read_package(root, rows=False)
    problems = metadata_problems(package)
    remember(package.root, problems)
    print(json.dumps([asdict(p) for p in problems]))


