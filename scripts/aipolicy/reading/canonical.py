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

import polars as pl

from .csvtext import write_csv
from .fieldtypes import NUMBER, format_number, fullmatch
from .package import Package, Table
from .problems import Problem

# What `fmt` may repair on its own; anything else must be fixed by hand first.
REPAIRABLE = {"bom", "line-ending", "canonical", "header-order"}


PLAIN_INTEGER = r"0|-?[1-9][0-9]{0,14}"


def _canonical_numbers(data: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Number cells in their shortest form (`format_number`); a cell that does not parse is
    left alone (validation reports it). Each distinct value is formatted once, but an integer
    of up to 15 digits without a leading zero or sign, which is its own shortest form (a float
    holds it exactly, and Python writes it without an exponent below 1e16)."""
    for name in table.number_fields:
        values = data.get_column(name)
        distinct = values.drop_nulls().unique()
        shaped = distinct.to_frame().select(fullmatch(pl.col(name), NUMBER) & ~fullmatch(pl.col(name), PLAIN_INTEGER)).to_series()
        texts = distinct.filter(shaped).to_list()
        mapping = {t: format_number(float(t)) for t in texts}
        changed = {k: v for k, v in mapping.items() if k != v}
        if changed:
            data = data.with_columns(pl.col(name).replace(changed))
    return data


def canonical_order(table: Table) -> pl.Series | None:
    """The row of `table.data` that each row of the canonical form comes from: primary-key
    order, a stable sort with missing values first (None: the rows keep their order)."""
    if not table.primary_key or not len(table.data):
        return None
    return table.data.select(pl.int_range(pl.len()).alias("_row"), *table.primary_key).sort(
        table.primary_key, maintain_order=True, nulls_last=False).get_column("_row")


def canonical_data(table: Table) -> pl.DataFrame:
    """The table as `fmt` writes it: fields in schema order, numbers in shortest form, rows in
    `canonical_order`."""
    data = _canonical_numbers(table.data.select(table.field_names), table)
    order = canonical_order(table)
    return data if order is None else data.select(pl.all().gather(order))


def canonical_frame(table: Table):
    """`canonical_data` as a pandas frame of strings."""
    return canonical_data(table).to_arrow().to_pandas()


def canonical_bytes(table: Table) -> bytes:
    out = io.BytesIO()
    out.write(_header_line(table.field_names).encode("utf-8"))
    data = canonical_data(table)
    if data.height:
        write_csv(data, out)
    return out.getvalue()


def _header_line(names: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    return buffer.getvalue()


def canonical_problem(root: Path, table: Table) -> Problem | None:
    """Whether the file is byte for byte what `fmt` would write, and if not, from which line."""
    if table.data is None or table.problems:
        return None
    if table.verbatim and table.field_names == table.header:
        # The file is exactly the minimal-quoting serialisation of its rows, so it is canonical
        # if and only if its numbers are in shortest form and its rows in primary-key order.
        first = table.first_out_of_order
        if table.number_fields:
            renumbered = (_canonical_numbers(table.data, table).select(table.number_fields) != table.data.select(table.number_fields))
            changed = renumbered.select(pl.any_horizontal(pl.all().fill_null(False)).arg_true().first()).item()
            if changed is not None:
                first = changed if first is None else min(first, changed)
        return None if first is None else problem_at(table, first)
    current = (root / table.path).read_bytes()
    wanted = canonical_bytes(table)
    if current == wanted:
        return None
    return _problem(table.path, _first_difference(current, wanted))


def problem_at(table: Table, row: int) -> Problem:
    """The file is not in canonical form from this row on."""
    return _problem(table.path, table.line(row))


def _problem(path: str, line: int) -> Problem:
    return Problem(path, line, None, "the file is not in canonical form (rows sorted by primary key, numbers in shortest form, minimal quoting, LF line ends)",
                   "canonical", "run `aipolicy fmt` to rewrite it; no value changes")


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


def rewrite(package: Package) -> tuple[list[str], list[Problem]]:
    """Rewrite every table in canonical form; refuse (and write nothing) when a table cannot be read safely."""
    blocking = [p for t in package.tables.values() for p in t.problems if p.rule not in REPAIRABLE]
    blocking += package.problems
    if blocking:
        return [], blocking
    changed = []
    for table in package.tables.values():
        if table.data is None:
            continue
        path = package.root / table.path
        wanted = canonical_bytes(table)
        if path.read_bytes() != wanted:
            changed.append(table.path)
            write_atomic(path, wanted)
    return changed, []
