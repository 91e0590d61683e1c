"""`aipolicy merge-table`: a Git merge driver that merges a table by primary key, three ways.

Git's line merge sees two rows added near the same place as a conflict, although they are
different rows. This driver reads the common ancestor (base), our version and their version
of one CSV table, and merges them row by row, keyed by the table's primary key:

- a row added on either side is kept; a row deleted on one side and untouched on the other is
  deleted; a row changed on one side only takes that change, column by column, so two sides
  that change different columns of one row both win;
- a real conflict (one cell changed to two different values, a row changed on one side and
  deleted on the other, one new key with two different contents) is written between Git's
  conflict markers, around that row only, and reported as `table: key: column: ours → theirs`;
- the result is in canonical form (header in schema order, rows sorted by key, minimal
  quoting, LF), so a clean merge validates without `fmt`. No value is rewritten.

A file that cannot be parsed as the table (a stray quote, a header that differs between the
two sides) is handed to Git's ordinary line merge (`git merge-file`), with a message.

Registered for `data/*.csv` in `.gitattributes`; `make` installs the driver into the local Git
configuration, or run once:
    git config merge.aipolicy-table.driver ".venv/bin/aipolicy merge-table %O %A %B %P"
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

Row = dict[str, str]


class Unmergeable(Exception):
    """The file cannot be merged by key; Git's line merge takes over."""


@dataclass(frozen=True)
class Conflict:
    table: str
    key: tuple[str, ...]
    column: str | None  # None: the whole row (changed against deleted, or two different new rows)
    ours: str | None
    theirs: str | None

    def __str__(self) -> str:
        where = f"{self.table}: {'/'.join(self.key)}"
        if self.column is None:
            return f"{where}: row: {_shown(self.ours)} → {_shown(self.theirs)}"
        return f"{where}: {self.column}: {_shown(self.ours)} → {_shown(self.theirs)}"


def _shown(value: str | None) -> str:
    return "(deleted)" if value is None else json.dumps(value, ensure_ascii=False)


def read_table(text: str, name: str) -> tuple[list[str], list[Row]]:
    """Header and rows of one version; Unmergeable when it is not a clean CSV table."""
    if "\r" in text:
        raise Unmergeable(f"{name} has carriage returns")
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise Unmergeable(f"{name} is not valid CSV ({exc})") from None
    if not rows:
        raise Unmergeable(f"{name} is empty")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise Unmergeable(f"{name}: line {number} has {len(row)} cells for {len(header)} columns")
    return header, [dict(zip(header, row)) for row in body]


def _keyed(rows: list[Row], key: list[str], name: str) -> dict[tuple[str, ...], Row]:
    out: dict[tuple[str, ...], Row] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k in out:
            raise Unmergeable(f"{name} has the key {'/'.join(k)} twice")
        out[k] = row
    return out


def merge_rows(table: str, key: list[str], header: list[str], base: list[Row], ours: list[Row], theirs: list[Row]
               ) -> tuple[list[tuple[Row | None, Row | None]], list[Conflict]]:
    """The merged rows in key order: (row, None) for a clean row, (ours, theirs) for a row in
    conflict (either side None when deleted there); and the conflicts found."""
    b, o, t = _keyed(base, key, "base"), _keyed(ours, key, "ours"), _keyed(theirs, key, "theirs")
    merged: list[tuple[Row | None, Row | None]] = []
    conflicts: list[Conflict] = []
    for k in sorted(set(b) | set(o) | set(t)):
        br, orow, trow = b.get(k), o.get(k), t.get(k)
        if orow == trow:  # the same on both sides (including deleted on both)
            if orow is not None:
                merged.append((orow, None))
        elif br is None:  # added on one side, or on both with different contents
            if orow is None or trow is None:
                merged.append((orow or trow, None))
            else:
                merged.append((orow, trow))
                conflicts.append(Conflict(table, k, None, _line(orow, header), _line(trow, header)))
        elif orow is None or trow is None:  # deleted on one side
            kept = trow if orow is None else orow
            if kept == br:
                continue  # deleted on one side, untouched on the other: deleted
            merged.append((orow, trow))
            conflicts.append(Conflict(table, k, None, None if orow is None else _line(orow, header), None if trow is None else _line(trow, header)))
        else:  # changed on one or both sides: column by column
            row, clash = {}, []
            for c in header:
                ov, tv, bv = orow.get(c, ""), trow.get(c, ""), br.get(c, "")
                if ov == tv or tv == bv:
                    row[c] = ov
                elif ov == bv:
                    row[c] = tv
                else:
                    row[c] = ov
                    clash.append(Conflict(table, k, c, ov, tv))
            if clash:
                merged.append((orow, trow))
                conflicts.extend(clash)
            else:
                merged.append((row, None))
    return merged, conflicts


def _line(row: Row, header: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([row.get(c, "") for c in header])
    return out.getvalue()


def render(header: list[str], merged: list[tuple[Row | None, Row | None]]) -> str:
    out = io.StringIO()
    out.write(_line(dict(zip(header, header)), header) + "\n")
    for first, second in merged:
        if second is None and first is not None:
            out.write(_line(first, header) + "\n")
            continue
        out.write("<<<<<<< ours\n")
        if first is not None:
            out.write(_line(first, header) + "\n")
        out.write("=======\n")
        if second is not None:
            out.write(_line(second, header) + "\n")
        out.write(">>>>>>> theirs\n")
    return out.getvalue()


def _schema(path: str) -> tuple[str, list[str], list[str]]:
    """(table name, primary key, fields in schema order) of the table at `path`, read by the
    package reader from the descriptor of the working directory's repository."""
    from .reading.package import PackageError, read_package

    try:
        package = read_package(None, strict=False, rows=False)
    except PackageError as exc:
        raise Unmergeable(str(exc)) from None
    table = next((t for t in package.tables.values() if t.path == path), None)
    if table is None or not table.field_names:
        raise Unmergeable(f"{path} is not a table of datapackage.json")
    if not table.primary_key:
        raise Unmergeable(f"{path}: the table has no primary key")
    return table.name, list(table.primary_key), list(table.field_names)


def merge_files(base: Path, ours: Path, theirs: Path, path: str) -> list[Conflict]:
    """Merge into `ours` (as Git expects); returns the conflicts (empty when clean)."""
    table, key, fields = _schema(path)
    texts = [p.read_text(encoding="utf-8") for p in (base, ours, theirs)]
    (bh, brows), (oh, orows), (th, trows) = (read_table(text, name) for text, name in zip(texts, ("base", "ours", "theirs")))
    if oh != th:
        raise Unmergeable(f"the two sides have different headers ({', '.join(oh)} / {', '.join(th)})")
    if sorted(oh) != sorted(fields) or any(c not in oh for c in key):
        raise Unmergeable("the header does not match the table's schema")
    header = fields
    merged, conflicts = merge_rows(table, key, header, brows, orows, trows)
    ours.write_text(render(header, merged), encoding="utf-8")
    return conflicts


def main(args) -> int:
    base, ours, theirs, path = Path(args.base), Path(args.ours), Path(args.theirs), args.path
    try:
        conflicts = merge_files(base, ours, theirs, path)
    except (Unmergeable, UnicodeDecodeError, OSError) as exc:
        print(f"aipolicy merge-table: {path}: {exc}; falling back to Git's line merge", file=sys.stderr)
        result = subprocess.run(["git", "merge-file", "-L", "ours", "-L", "base", "-L", "theirs", str(ours), str(base), str(theirs)])
        return 0 if result.returncode == 0 else 1
    for conflict in conflicts:
        print(f"aipolicy merge-table: conflict: {conflict}", file=sys.stderr)
    return 1 if conflicts else 0
