"""`aipolicy release X.Y.Z`: check the bump against the diff, set the version everywhere, build.

The checklist around it (commit, tag, publish) is RELEASING.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from ..reading.package import PackageError, read_package
from ..reading.problems import Refused
from ..reading.trees import git, tree_at_commit
from ..versioning.diff import LEVELS, diff_packages, id_stability_problems, render
from ..versioning.registry import (Artifact, Release, VersionError, bump_level, commit_of, latest, parse, registry, registry_file,
                                   write_registry)
from ..versioning.releasefiles import CHANGELOG, CITATION


class ReleaseRefused(Refused):
    """The release declined: wrong bump, unstable IDs, invalid data, a dirty tree."""


def release(root: str | Path | None, version: str, today: dt.date | None = None, dry_run: bool = False, commit: bool = True) -> dict:
    """Check the bump against the latest registered release, set the version everywhere, make
    the release commit, build from it, and record the commit and every artifact in the
    registry (left for the caller to commit). `dry_run` runs every check and writes nothing."""
    from ..outputs.build import build
    from ..checking.validate import validate_package

    try:
        parse(version)
    except VersionError as exc:
        raise ReleaseRefused(str(exc)) from None
    package = read_package(root, strict=True)
    root = package.root
    if git(root, "status", "--porcelain").strip():
        raise ReleaseRefused("the working tree has uncommitted changes; commit or stash them first, so the release is built from a commit")
    current = package.version
    known = registry(root)
    previous_release = latest(known)
    summary = "First release."
    level = None
    if previous_release is None:
        if parse(version) <= parse(current):
            raise ReleaseRefused(f"version {version} does not come after the current {current}")
    else:
        try:
            level = bump_level(previous_release.version, version)
            previous = read_package(tree_at_commit(root, commit_of(root, previous_release)), strict=False)
        except (VersionError, PackageError) as exc:
            raise ReleaseRefused(str(exc)) from None
        change = diff_packages(previous, package)
        old = previous_release.version
        if level != change.level:
            raise ReleaseRefused(f"the changes since {old} need a {change.level} version bump, but {old} -> {version} is a {level} bump"
                                 f" ({'; '.join(change.schema_breaking) or 'data values changed' if change.level != 'patch' else 'no CSV byte changed'})")
        stability = id_stability_problems(previous, package)
        if stability:
            raise ReleaseRefused("released IDs are not stable:\n  " + "\n  ".join(str(s) for s in stability))
        summary = render(change, "markdown", f"v{old}", f"v{version}", limit=50).split("\n", 1)[1].strip()
    problems = validate_package(package)
    if problems:
        raise ReleaseRefused(f"the data do not validate ({len(problems)} problems); run `aipolicy validate` and fix them first")
    date = (today or dt.date.today()).isoformat()
    plan = {"version": version, "date": date, "level": level or "first", "previous": previous_release.version if previous_release else None}
    if dry_run:
        return {**plan, "dry_run": True}
    set_version(root, version, date, summary)
    release_commit = None
    if commit:
        git(root, "add", "--", "datapackage.json", CITATION, CHANGELOG)
        git(root, "commit", "-q", "-m", f"Release {version}")
        release_commit = git(root, "rev-parse", "HEAD").strip()
    dist = build(root)
    from ..outputs.build import artifact_name

    zip_path = dist / f"{artifact_name(package.descriptor, version)}.zip"
    record_release(root, version, date, release_commit, dist, zip_path.name)
    return {**plan, "dist": str(dist), "zip": zip_path.name, "commit": release_commit}


def set_version(root: Path, version: str, date: str, summary: str) -> None:
    descriptor_path = root / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["version"] = version
    descriptor_path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    cff = (root / CITATION).read_text(encoding="utf-8")
    cff = re.sub(r"(?m)^version: .*$", f"version: {version}", cff)
    cff = re.sub(r"(?m)^date-released: .*$", f"date-released: {date}", cff)
    (root / CITATION).write_text(cff, encoding="utf-8")
    log = (root / CHANGELOG).read_text(encoding="utf-8")
    if "## [Unreleased]" not in log:
        raise ReleaseRefused("CHANGELOG.md has no '## [Unreleased]' section to turn into the release")
    head, rest = log.split("## [Unreleased]", 1)
    notes, sep, older = rest.partition("\n## [")
    notes = notes.strip()
    section = f"## [Unreleased]\n\n## [{version}] - {date}\n\n" + (f"{notes}\n\n" if notes else "") + f"### Data changes\n\n{summary}\n"
    (root / CHANGELOG).write_text(head + section + ("\n## [" + older if sep else ""), encoding="utf-8")


def record_release(root: Path, version: str, date: str, commit: str | None, dist: Path, zip_name: str) -> None:
    """Add the release to the registry: its commit, and the name, size and sha256 of every artifact."""
    from ..outputs.cite import dataset_meta

    path = registry_file(root)
    meta = dataset_meta(root, json.loads((root / "datapackage.json").read_text(encoding="utf-8")))
    known = registry(root)
    artifacts = tuple(Artifact(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(dist.iterdir()) if p.is_file())
    zip_sha = next(a.sha256 for a in artifacts if a.name == zip_name)
    base = (meta.repository or meta.homepage).rstrip("/")
    known[version] = Release(version, date, commit, f"{base}/releases/download/v{version}/{zip_name}", artifacts, zip_name, zip_sha)
    write_registry(path, known)


__all__ = ["release", "ReleaseRefused", "LEVELS", "PackageError", "bump_level", "parse"]
