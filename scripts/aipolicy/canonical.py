"""The canonical form of a table: what `fmt` writes and what `validate` expects.

Header in schema order, rows sorted by primary key, UTF-8 without BOM, LF line ends,
minimal quoting, numbers in their shortest form. Values are never changed: text cells are
written back exactly as read, and a number only in another spelling of the same value.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .fastops import csv_body, non_decreasing
from .fieldtypes import canonical_text
from .package import Package, Table
from .problems import Problem

# What `fmt` may repair on its own; anything else must be fixed by hand first.
REPAIRABLE = {"bom", "line-ending", "canonical", "header-order"}


def canonical_frame(table: Table) -> pd.DataFrame:
    frame = table.frame[table.field_names]
    if table.number_fields:
        frame = frame.assign(**{n: canonical_text(frame[n], table.fields[n]) for n in table.number_fields})
    if table.primary_key and len(frame):
        frame = frame.sort_values(table.primary_key, kind="stable", na_position="first")
    return frame


def canonical_bytes(table: Table) -> bytes:
    return _header_line(table.field_names).encode("utf-8") + csv_body(canonical_frame(table))


def _header_line(names: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    return buffer.getvalue()


def canonical_problems(package: Package) -> list[Problem]:
    problems = []
    for table in package.tables.values():
        if table.frame is None or table.problems:
            continue
        if table.verbatim and table.field_names == table.header:
            # The file is exactly the minimal-quoting serialisation of its rows, so it is
            # canonical if and only if the rows are in primary-key order.
            keys = table.frame[table.primary_key] if table.primary_key else None
            if keys is not None and not table.number_fields and not keys.isna().any().any():
                if non_decreasing(table.frame, table.primary_key):  # what a stable sort leaves in place
                    continue
            canon = canonical_frame(table)
            order = canon.index
            unsorted = order != pd.RangeIndex(len(order))
            renumbered = np.zeros(len(order), dtype=bool)
            for n in table.number_fields:
                renumbered |= (canon[n].sort_index() != table.frame[n]).fillna(False).to_numpy(dtype=bool)
            if not unsorted.any() and not renumbered.any():
                continue
            line = int(table.lines[int(np.argmax(unsorted | renumbered))])
        else:
            current = (package.root / table.path).read_bytes()
            wanted = canonical_bytes(table)
            if current == wanted:
                continue
            line = _first_difference(current, wanted)
        problems.append(Problem(table.path, line, None, "the file is not in canonical form (rows sorted by primary key, numbers in shortest form, minimal quoting, LF line ends)",
                                "canonical", "run `aipolicy fmt` to rewrite it; no value changes"))
    return problems


def _first_difference(a: bytes, b: bytes) -> int:
    for number, (x, y) in enumerate(zip(a.split(b"\n"), b.split(b"\n")), start=1):
        if x != y:
            return number
    return min(a.count(b"\n"), b.count(b"\n")) + 1


def write_atomic(path: Path, data: bytes) -> None:
    """Write the whole file or nothing: a crash never leaves half a table behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fmt(package: Package) -> tuple[list[str], list[Problem]]:
    """Rewrite every table in canonical form; refuse (and write nothing) when a table cannot be read safely."""
    blocking = [p for t in package.tables.values() for p in t.problems if p.rule not in REPAIRABLE]
    blocking += package.problems
    if blocking:
        return [], blocking
    changed = []
    for table in package.tables.values():
        if table.frame is None:
            continue
        path = package.root / table.path
        wanted = canonical_bytes(table)
        if path.read_bytes() != wanted:
            changed.append(table.path)
            write_atomic(path, wanted)
    return changed, []
