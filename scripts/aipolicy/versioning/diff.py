"""`aipolicy diff`: what changed between two versions of the package, table by table, by key.

Also the two judgements a release needs: which SemVer level the change requires, and
whether every released ID is still there (or retired).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..reading.package import Package

LEVELS = ["patch", "minor", "major"]


@dataclass
class TableDiff:
    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)  # key, column, old, new

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass
class PackageDiff:
    tables: dict[str, TableDiff]
    schema_breaking: list[str]
    schema_additive: list[str]
    bytes_changed: list[str]

    @property
    def level(self) -> str:
        """The SemVer level this change needs: major, minor or patch."""
        if self.schema_breaking:
            return "major"
        if self.schema_additive or any(not t.empty for t in self.tables.values()) or self.bytes_changed:
            return "minor"
        return "patch"


def _key(frame: pd.DataFrame, pk: list[str]) -> pd.Series:
    import pandas as pd

    if not len(frame):
        return pd.Series([], dtype=str)
    parts = [frame[c].fillna("").astype(str) for c in pk]  # a missing key part is an empty string, not NaN
    key = parts[0]
    for part in parts[1:]:  # column by column, not row by row: a row-wise join took most of a diff
        key = key + "/" + part
    return key


def table_diff(name: str, old, new) -> TableDiff:
    import pandas as pd

    out = TableDiff(name)
    old_ok = old is not None and old.frame is not None
    new_ok = new is not None and new.frame is not None
    if not (old_ok and new_ok):  # a table that is missing or unreadable on one side counts as empty there
        if new_ok:
            out.added = sorted(_key(new.frame, new.primary_key or new.field_names))
        if old_ok:
            out.removed = sorted(_key(old.frame, old.primary_key or old.field_names))
        return out
    pk = new.primary_key or new.field_names
    a = old.frame.set_index(_key(old.frame, pk))
    b = new.frame.set_index(_key(new.frame, pk))
    a = a[~a.index.duplicated()]
    b = b[~b.index.duplicated()]
    out.added = sorted(set(b.index) - set(a.index))
    out.removed = sorted(set(a.index) - set(b.index))
    common = sorted(set(a.index) & set(b.index))
    columns = [c for c in new.field_names if c in a.columns and c in b.columns]
    a, b = a.loc[common, columns], b.loc[common, columns]  # the shared rows, looked up once
    for column in columns:
        x = a[column]
        y = b[column]
        differ = ~((x == y) | (x.isna() & y.isna())).fillna(False).astype(bool)
        for key in x.index[differ]:
            old_value, new_value = x[key], y[key]
            out.changed.append((key, column, None if pd.isna(old_value) else str(old_value), None if pd.isna(new_value) else str(new_value)))
    out.changed.sort()
    return out


def schema_changes(old: Package, new: Package) -> tuple[list[str], list[str]]:
    """(breaking, additive) schema changes between two packages."""
    breaking, additive = [], []
    for name in sorted(set(old.tables) | set(new.tables)):
        if name not in new.tables:
            breaking.append(f"table {name} removed")
            continue
        if name not in old.tables:
            additive.append(f"table {name} added")
            continue
        a, b = old.tables[name], new.tables[name]
        if a.primary_key != b.primary_key:
            breaking.append(f"{name}: primary key changed from {a.primary_key} to {b.primary_key}")
        if json.dumps(a.foreign_keys, sort_keys=True) != json.dumps(b.foreign_keys, sort_keys=True):
            breaking.append(f"{name}: foreign keys changed")
        fa, fb = a.fields, b.fields
        for col in fa:
            if col not in fb:
                breaking.append(f"{name}.{col} removed or renamed")
        for col in fb:
            if col not in fa:
                additive.append(f"{name}.{col} added")
                continue
            if fa[col].type != fb[col].type:
                breaking.append(f"{name}.{col}: type {fa[col].type} -> {fb[col].type}")
            tightened = _tightened(fa[col].constraints, fb[col].constraints)
            for what in tightened:
                breaking.append(f"{name}.{col}: {what}")
            if fa[col].constraints != fb[col].constraints and not tightened:
                additive.append(f"{name}.{col}: constraints loosened")
        if [c for c in a.field_names if c in fb] != [c for c in b.field_names if c in fa]:
            breaking.append(f"{name}: columns reordered")
    return breaking, additive


def _tightened(a: dict, b: dict) -> list[str]:
    out = []
    if b.get("required") and not a.get("required"):
        out.append("now required")
    if b.get("unique") and not a.get("unique"):
        out.append("now unique")
    if "enum" in b and ("enum" not in a or not set(b["enum"]) >= set(a["enum"])):
        out.append("enum values removed")
    if "pattern" in b and b.get("pattern") != a.get("pattern"):
        out.append("pattern changed")
    for key, stricter in (("maxLength", lambda x, y: y < x), ("maximum", lambda x, y: y < x), ("minLength", lambda x, y: y > x), ("minimum", lambda x, y: y > x)):
        if key in b and (key not in a or stricter(a[key], b[key])):
            out.append(f"{key} tightened")
    return out


def diff_packages(old: Package, new: Package) -> PackageDiff:
    tables = {name: table_diff(name, old.tables.get(name), new.tables.get(name)) for name in sorted(set(old.tables) | set(new.tables))}
    breaking, additive = schema_changes(old, new)
    bytes_changed = sorted(t.path for n, t in new.tables.items() if _bytes(new, n) != _bytes(old, n))
    return PackageDiff(tables, breaking, additive, bytes_changed)


def _bytes(package: Package, name: str) -> bytes | None:
    table = package.tables.get(name)
    path = package.root / table.path if table is not None else None
    return path.read_bytes() if path is not None and path.is_file() else None


@dataclass(frozen=True)
class IdChange:
    """A released ID that vanished without a `retired` row (`missing`), or a retired ID that is
    present again (`reused`)."""

    table: str
    id: str
    what: str

    def __str__(self) -> str:
        if self.what == "missing":
            return f"{self.table}: ID {self.id!r} was released but is missing; restore it, or add a row to data/retired.csv saying why it was withdrawn"
        return f"{self.table}: ID {self.id!r} is retired but present again; IDs are never reused, choose a new one"


def id_stability_problems(old: Package, new: Package) -> list[IdChange]:
    """Released IDs that vanished without a `retired` row, and retired IDs that came back."""
    problems = []
    retired = new.tables.get("retired")
    retired_keys = set()
    if retired is not None and retired.data is not None:
        retired_keys = set(retired.data.select("table_name", "id").iter_rows())
    for name, table in new.tables.items():
        if name == "retired" or len(table.primary_key) != 1 or name not in old.tables or old.tables[name].data is None or table.data is None:
            continue
        pk = table.primary_key[0]
        before = set(old.tables[name].data.get_column(pk).drop_nulls().to_list())
        now = set(table.data.get_column(pk).drop_nulls().to_list())
        problems += [IdChange(name, gone, "missing") for gone in sorted(before - now) if (name, gone) not in retired_keys]
        problems += [IdChange(name, back, "reused") for back in sorted(now & {i for t, i in retired_keys if t == name})]
    return problems


def render(diff: PackageDiff, form: str = "text", old_label: str = "old", new_label: str = "new", limit: int | None = None) -> str:
    """The diff as text, Markdown or JSON; with `limit`, rows are listed only when there are
    at most that many changes (a changelog wants the counts of a large change, not every row)."""
    if form == "json":
        return json.dumps({"level": diff.level, "schema_breaking": diff.schema_breaking, "schema_additive": diff.schema_additive,
                           "tables": {n: {"added": t.added, "removed": t.removed,
                                          "changed": [dict(zip(["key", "column", "old", "new"], c)) for c in t.changed]}
                                      for n, t in diff.tables.items() if not t.empty}}, ensure_ascii=False, indent=2)
    md = form == "markdown"
    lines = [f"## Data changes from {old_label} to {new_label}" if md else f"changes from {old_label} to {new_label} (needs a {diff.level} version bump)"]
    if md:
        lines += ["", f"This change needs a **{diff.level}** version bump.", ""]
    for item in diff.schema_breaking:
        lines.append(f"- breaking schema change: {item}" if md else f"schema (breaking): {item}")
    for item in diff.schema_additive:
        lines.append(f"- schema addition: {item}" if md else f"schema: {item}")
    if md and (diff.schema_breaking or diff.schema_additive):
        lines.append("")
    if md:
        lines += ["| table | added | retired or removed | changed cells |", "| --- | ---: | ---: | ---: |"]
        for name, t in diff.tables.items():
            if not t.empty:
                lines.append(f"| `{name}` | {len(t.added)} | {len(t.removed)} | {len(t.changed)} |")
    total = sum(len(t.added) + len(t.removed) + len(t.changed) for t in diff.tables.values())
    for name, t in diff.tables.items():
        if t.empty or (limit is not None and total > limit):
            continue
        if md:
            lines += ["", f"### `{name}`", ""]
        for key in t.added:
            lines.append(f"- added `{_md(key)}`" if md else f"{name}: + {key}")
        for key in t.removed:
            lines.append(f"- removed `{_md(key)}`" if md else f"{name}: - {key}")
        for key, column, old, new in t.changed:
            lines.append(f"- `{_md(key)}` {column}: {_md_value(old)} → {_md_value(new)}" if md else f"{name}: ~ {key} {column}: {old!r} -> {new!r}")
    if all(t.empty for t in diff.tables.values()) and not diff.schema_breaking and not diff.schema_additive:
        lines.append("No data changes." if md else "no changes")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("`", "'").replace("|", "\\|")


def _md_value(value: str | None) -> str:
    if value is None:
        return "(empty)"
    shown = value if len(value) <= 120 else value[:119] + "…"
    return "`" + _md(shown).replace("\n", " ") + "`"
