"""`aipolicy release X.Y.Z`: check the bump against the diff, set the version everywhere, build.

The checklist around it (commit, tag, publish) is RELEASING.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from .diff import LEVELS, diff_packages, id_stability_problems, render
from .gitio import checkout, git
from .package import PackageError, read_package
from .repo import CHANGELOG, CITATION, SEMVER


# The registry of released artifacts, inside the Python package so that the loader ships with it.
REGISTRY_IN_REPO = Path("scripts") / "aipolicy" / "releases.json"


class ReleaseRefused(Exception):
    pass


def parse(version: str) -> tuple[int, int, int]:
    if not SEMVER.match(version):
        raise ReleaseRefused(f"{version!r} is not a SemVer version X.Y.Z (for example 1.2.0)")
    return tuple(int(x) for x in version.split("."))  # type: ignore[return-value]


def bump_level(old: str, new: str) -> str:
    a, b = parse(old), parse(new)
    if b <= a:
        raise ReleaseRefused(f"version {new} does not come after {old}; versions only go forward")
    if b[0] != a[0]:
        if b != (a[0] + 1, 0, 0):
            raise ReleaseRefused(f"after {old} the next major version is {a[0] + 1}.0.0, not {new}")
        return "major"
    if b[1] != a[1]:
        if b != (a[0], a[1] + 1, 0):
            raise ReleaseRefused(f"after {old} the next minor version is {a[0]}.{a[1] + 1}.0, not {new}")
        return "minor"
    if b != (a[0], a[1], a[2] + 1):
        raise ReleaseRefused(f"after {old} the next patch version is {a[0]}.{a[1]}.{a[2] + 1}, not {new}")
    return "patch"


def latest_tag(root: Path) -> str | None:
    tags = [t for t in git(root, "tag", "--list", "v*").split() if SEMVER.match(t[1:])]
    return max(tags, key=lambda t: parse(t[1:])) if tags else None


def release(root: str | Path | None, version: str, today: dt.date | None = None) -> dict:
    from .build import build
    from .validate import validate_package

    parse(version)
    package = read_package(root, strict=True)
    root = package.root
    if git(root, "status", "--porcelain").strip():
        raise ReleaseRefused("the working tree has uncommitted changes; commit or stash them first, so the release is built from a commit")
    current = package.version
    tag = latest_tag(root)
    summary = "First release."
    if tag is None:
        if parse(version) <= parse(current):
            raise ReleaseRefused(f"version {version} does not come after the current {current}")
    else:
        previous = read_package(checkout(root, tag), strict=False)
        level = bump_level(tag[1:], version)
        change = diff_packages(previous, package)
        if level != change.level:
            raise ReleaseRefused(f"the changes since {tag} need a {change.level} version bump, but {tag[1:]} -> {version} is a {level} bump"
                                 f" ({'; '.join(change.schema_breaking) or 'data values changed' if change.level != 'patch' else 'no CSV byte changed'})")
        stability = id_stability_problems(previous, package)
        if stability:
            raise ReleaseRefused("released IDs are not stable:\n  " + "\n  ".join(stability))
        summary = render(change, "markdown", tag, f"v{version}", limit=50).split("\n", 1)[1].strip()
    problems = validate_package(package)
    if problems:
        raise ReleaseRefused(f"the data do not validate ({len(problems)} problems); run `aipolicy validate` and fix them first")
    date = (today or dt.date.today()).isoformat()
    set_version(root, version, date, summary)
    dist = build(root)
    zip_path = dist / f"ai-policy-atlas-{version}.zip"
    record_release(root, version, date, zip_path)
    return {"version": version, "date": date, "dist": str(dist), "zip": zip_path.name}


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


def record_release(root: Path, version: str, date: str, zip_path: Path) -> None:
    """Add the release to the registry the loader uses to verify downloads."""
    from .cite import dataset_meta

    registry_path = root / REGISTRY_IN_REPO
    registry_path.parent.mkdir(parents=True, exist_ok=True)
    meta = dataset_meta(root, json.loads((root / "datapackage.json").read_text(encoding="utf-8")))
    registry = json.loads(registry_path.read_text(encoding="utf-8")) if registry_path.is_file() else {}
    base = (meta.repository or meta.homepage).rstrip("/")
    registry[version] = {"date": date, "zip": zip_path.name, "sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest(),
                         "url": f"{base}/releases/download/v{version}/{zip_path.name}"}
    registry_path.write_text(json.dumps(dict(sorted(registry.items(), key=lambda kv: parse(kv[0]))), indent=2) + "\n", encoding="utf-8")


__all__ = ["release", "ReleaseRefused", "LEVELS", "PackageError"]
