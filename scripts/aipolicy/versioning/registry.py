"""Versions: the release registry, SemVer, and the way from a version to its release commit.

The registry (`releases.json`, at the root of the repository beside the data) is the source of truth for releases: each
version records its date, the full id of its release commit, and every artifact's name, size
and sha256. Git tags `vX.Y.Z` are a convenience that `aipolicy release` creates; nothing reads
them, because clones, mirrors and archives often lack them. Every command that takes a
version (`diff`, `cite`, `release`, `rebuild`, validate's check of released IDs) resolves it
here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..reading.trees import git
from ..reading.package import PackageError

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# Where the registry lives, relative to the repository root. It is data about the dataset's
# releases, kept with the data and edited by `aipolicy release`, never inside the code.
REGISTRY_PATH = Path("releases.json")


def shipped_registry() -> Path:
    """The registry the loader reads: the repository's, when the package runs from a clone
    (an editable install), else the copy a built wheel carries inside the package."""
    package = Path(__file__).resolve().parents[1]
    clone = package.parents[1]
    if (clone / "datapackage.json").is_file() and (clone / REGISTRY_PATH).is_file():
        return clone / REGISTRY_PATH
    return package / REGISTRY_PATH.name


class VersionError(PackageError):
    """A version that cannot be used: not SemVer, not registered, or its commit is missing."""


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    commit: str | None
    url: str
    artifacts: tuple[Artifact, ...] = field(default=())
    zip: str = ""
    sha256: str = ""

    def to_json(self) -> dict:
        out: dict = {"date": self.date, "commit": self.commit, "zip": self.zip, "sha256": self.sha256, "url": self.url}
        if self.artifacts:
            out["artifacts"] = [{"name": a.name, "size": a.size, "sha256": a.sha256} for a in self.artifacts]
        return out


def parse(version: str) -> tuple[int, int, int]:
    if not SEMVER.match(version):
        raise VersionError(f"{version!r} is not a SemVer version X.Y.Z (for example 1.2.0)")
    return tuple(int(x) for x in version.split("."))  # type: ignore[return-value]


def normalize(name: str) -> str | None:
    """`1.2.0` or `v1.2.0` as `1.2.0`; None for anything that is not a version."""
    bare = name[1:] if name.startswith("v") else name
    return bare if SEMVER.match(bare) else None


def registry_file(root: Path | None = None) -> Path:
    """The registry of the package at `root` (which has no releases when the file is absent),
    or, without a root, the one the loader reads."""
    return Path(root) / REGISTRY_PATH if root is not None else shipped_registry()


def read_registry(path: Path) -> dict[str, Release]:
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise VersionError(f"{path}: the release registry cannot be read ({exc})") from None
    out = {}
    for version, r in raw.items():
        artifacts = tuple(Artifact(a["name"], int(a["size"]), a["sha256"]) for a in r.get("artifacts", []))
        out[version] = Release(version, r["date"], r.get("commit"), r.get("url", ""), artifacts, r.get("zip", ""), r.get("sha256", ""))
    return dict(sorted(out.items(), key=lambda kv: parse(kv[0])))


def registry(root: Path | None = None) -> dict[str, Release]:
    return read_registry(registry_file(root))


def write_registry(path: Path, releases: dict[str, Release]) -> None:
    ordered = sorted(releases.values(), key=lambda r: parse(r.version))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({r.version: r.to_json() for r in ordered}, indent=2) + "\n", encoding="utf-8")


def latest(releases: dict[str, Release]) -> Release | None:
    return max(releases.values(), key=lambda r: parse(r.version)) if releases else None


def bump_level(old: str, new: str) -> str:
    a, b = parse(old), parse(new)
    if b <= a:
        raise VersionError(f"version {new} does not come after {old}; versions only go forward")
    if b[0] != a[0]:
        if b != (a[0] + 1, 0, 0):
            raise VersionError(f"after {old} the next major version is {a[0] + 1}.0.0, not {new}")
        return "major"
    if b[1] != a[1]:
        if b != (a[0], a[1] + 1, 0):
            raise VersionError(f"after {old} the next minor version is {a[0]}.{a[1] + 1}.0, not {new}")
        return "minor"
    if b != (a[0], a[1], a[2] + 1):
        raise VersionError(f"after {old} the next patch version is {a[0]}.{a[1]}.{a[2] + 1}, not {new}")
    return "patch"


def find(releases: dict[str, Release], name: str) -> Release:
    version = normalize(name)
    if version is None or version not in releases:
        listed = ", ".join(releases) or "none yet"
        raise VersionError(f"version {name!r} is not released: the registry has no such release (released: {listed})")
    return releases[version]


def in_git(root: Path) -> bool:
    """Whether the package at `root` is in a Git clone's history: inside a work tree, with its
    descriptor tracked (a copy of the package in an ignored folder of a clone is not)."""
    try:
        if git(root, "rev-parse", "--is-inside-work-tree").strip() != "true":
            return False
        git(root, "ls-files", "--error-unmatch", "datapackage.json")
        return True
    except PackageError:
        return False


def commit_of(root: Path, release: Release) -> str:
    """The release commit of `release`, checked to be in this clone's history."""
    if not release.commit:
        raise VersionError(f"release {release.version} has no commit in the registry; record it with `aipolicy release` (see RELEASING.md)")
    if not in_git(root):
        raise VersionError(f"{root} is not a Git clone: release {release.version} (commit {release.commit[:12]}) can only be read from the repository's history")
    try:
        git(root, "cat-file", "-e", f"{release.commit}^{{commit}}")
    except PackageError:
        shallow = git(root, "rev-parse", "--is-shallow-repository").strip() == "true"
        why = "this clone is shallow" if shallow else "this clone's history does not have it"
        raise VersionError(f"release {release.version} was made at commit {release.commit[:12]}, but {why}; "
                           f"run `git fetch --unshallow` (or clone without --depth) and try again") from None
    return release.commit


def resolve(root: Path, name: str) -> str:
    """A version (`1.2.0`, `v1.2.0`) as its release commit; any other name is returned as it is
    (a Git ref, a commit or a release zip)."""
    if normalize(name) is None:
        return name
    return commit_of(root, find(registry(root), name))


def unreleased_changes(root: Path, releases: dict[str, Release] | None = None) -> Release | None:
    """The latest release, when the data at `root` differ from it (tables, schemas or
    descriptor); None when they are the release's or nothing can be compared."""
    releases = registry(root) if releases is None else releases
    last = latest(releases)
    if last is None or not last.commit or not in_git(root):
        return None
    try:
        commit = commit_of(root, last)
        changed = git(root, "diff", "--name-only", commit, "--", "data", "schemas", "datapackage.json").strip()
        untracked = git(root, "ls-files", "--others", "--exclude-standard", "--", "data", "schemas").strip()
    except PackageError:
        return None
    return last if (changed or untracked) else None
