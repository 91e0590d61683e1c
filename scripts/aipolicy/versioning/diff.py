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


KEY = "\0key"  # the joined primary key of a row, in a column no table can have


def _keyed(table, pk: list[str]):
    """The table's rows with their key (its parts joined by "/", a missing part as an empty
    string), the first row of each key only."""
    import polars as pl

    data = table.data
    parts = [pl.col(c).fill_null("") if c in data.columns else pl.lit("") for c in pk]
    return data.with_columns(pl.concat_str(parts, separator="/").alias(KEY)).unique(subset=KEY, keep="first", maintain_order=True)


def _keys(table, pk: list[str]) -> list[str]:
    return sorted(_keyed(table, pk).get_column(KEY).to_list())


def table_diff(name: str, old, new) -> TableDiff:
    """The rows added and removed, and the cells changed, between two versions of a table,
    by key (compared in Polars, column by column: a diff of a million rows takes seconds)."""
    import polars as pl

    out = TableDiff(name)
    old_ok = old is not None and old.data is not None
    new_ok = new is not None and new.data is not None
    if not (old_ok and new_ok):  # a table that is missing or unreadable on one side counts as empty there
        if new_ok:
            out.added = _keys(new, new.primary_key or new.field_names)
        if old_ok:
            out.removed = _keys(old, old.primary_key or old.field_names)
        return out
    pk = new.primary_key or new.field_names
    a, b = _keyed(old, pk), _keyed(new, pk)
    out.added = sorted(b.join(a.select(KEY), on=KEY, how="anti").get_column(KEY).to_list())
    out.removed = sorted(a.join(b.select(KEY), on=KEY, how="anti").get_column(KEY).to_list())
    columns = [c for c in new.field_names if c in a.columns and c in b.columns]
    after = {c: f"{c}\0new" for c in columns}
    both = a.select(KEY, *columns).join(b.select(KEY, *(pl.col(c).alias(after[c]) for c in columns)), on=KEY, how="inner")
    for column in columns:
        differ = both.filter(~pl.col(column).eq_missing(pl.col(after[column])))
        out.changed += [(key, column, x, y) for key, x, y in differ.select(KEY, column, after[column]).iter_rows()]
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
