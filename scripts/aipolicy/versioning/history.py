"""What each entry looked like in each release: computed from the registered releases, each read
from its release commit, and the working tree (labelled as unreleased changes).

For every entry: the release it first appeared in, and for each later release (and the
unreleased changes) the fields of its row that changed, old -> new. Used by the entry pages,
the static JSON API and the change feed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..reading.package import Package, PackageError, read_package

UNRELEASED = "unreleased"


@dataclass
class Step:
    version: str  # a release, or UNRELEASED
    date: str | None
    change: str  # added, changed or removed
    fields: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"version": self.version, "date": self.date, "change": self.change,
                "fields": {k: {"old": a, "new": b} for k, (a, b) in self.fields.items()}}


def _rows(package: Package) -> dict[str, dict]:
    table = package.tables.get("entries")
    if table is None or table.data is None:
        return {}
    return {r["entry_id"]: r for r in table.data.to_dicts()}


def versions(package: Package) -> list[tuple[str, str | None, dict[str, dict]]]:
    """(version, date, entry rows) for every registered release whose commit this clone has,
    oldest first, then the working tree when it differs from the latest release."""
    from ..reading.trees import tree_at_commit
    from .registry import VersionError, commit_of, in_git, registry, unreleased_changes

    out = []
    root = package.root
    if in_git(root):
        for release in registry(root).values():
            try:
                old = read_package(tree_at_commit(root, commit_of(root, release)), strict=False, tables=["entries"])
            except (VersionError, PackageError):
                continue
            out.append((release.version, release.date, _rows(old)))
    if not out or unreleased_changes(root) is not None:
        out.append((UNRELEASED, None, _rows(package)))
    return out


def entry_history(package: Package) -> tuple[dict[str, list[Step]], list[tuple[str, str | None]]]:
    """Each entry's steps, and the (version, date) list they refer to."""
    history: dict[str, list[Step]] = {}
    previous: dict[str, dict] = {}
    listed = []
    for version, date, rows in versions(package):
        listed.append((version, date))
        for entry_id, row in rows.items():
            before = previous.get(entry_id)
            if before is None:
                history.setdefault(entry_id, []).append(Step(version, date, "added"))
                continue
            # A column that one version does not have is a change of the schema, not of the entry.
            changed = {k: (before[k], row[k]) for k in sorted(set(before) & set(row)) if before[k] != row[k]}
            if changed:
                history.setdefault(entry_id, []).append(Step(version, date, "changed", changed))
        for entry_id in set(previous) - set(rows):
            history.setdefault(entry_id, []).append(Step(version, date, "removed"))
        previous = rows
    return history, listed
