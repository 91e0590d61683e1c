"""Table Schema field types on whole columns: parse strings, find the cells that do not parse.

The validator and the loader read them with the same Polars expressions (`bad_expr`,
`typed_expr`), so a value is read the same way everywhere; the tests hold them to Python's
own reading of each type.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import Field

NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
INTEGER = r"[+-]?[0-9]+"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
PARSED = ("date", "boolean")  # the types whose cells are good where they parse (`bad_expr`)
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]

FORMAT_HINT = {
    "date": "is not a valid date (YYYY-MM-DD)",
    "number": "is not a number (digits with an optional decimal point, no thousands separators)",
    "integer": "is not a whole number",
    "boolean": "is not true or false",
}


def fullmatch(expr, pattern: str):
    """Whether the whole text matches `pattern` (Table Schema patterns are anchored at both ends)."""
    return expr.str.contains(f"^(?:{pattern})$")


def typed_expr(name: str, field: Field):
    """The column as its Table Schema type, null where missing or not parseable."""
    import polars as pl

    col = pl.col(name)
    kind = field.type
    if kind == "date":
        # No cache of parsed strings: dates are mostly distinct, and its upkeep took 40% of the parse.
        return pl.when(fullmatch(col, DATE)).then(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False, cache=False)
    if kind == "number":
        return pl.when(fullmatch(col, NUMBER)).then(col).cast(pl.Float64, strict=False)
    if kind == "integer":
        return pl.when(fullmatch(col, INTEGER)).then(col).cast(pl.Int64, strict=False)
    if kind == "boolean":
        return pl.when(col.is_in(TRUE_VALUES)).then(True).when(col.is_in(FALSE_VALUES)).then(False).otherwise(None)
    return col


def bad_expr(name: str, field: Field, typed=None):
    """True where a cell is present but does not parse as the field's type. `typed`: the
    column read as its type already (`typed_expr`), where the caller has it."""
    import polars as pl

    col = pl.col(name)
    kind = field.type
    if kind in ("number", "integer"):  # shape decides: an integer too large for 64 bits is still an integer
        return col.is_not_null() & ~fullmatch(col, NUMBER if kind == "number" else INTEGER)
    if kind in PARSED:
        return col.is_not_null() & (typed_expr(name, field) if typed is None else typed).is_null()
    return pl.lit(False)


def typed_literal(value, field: Field):
    """A constraint's value (a minimum, a maximum) in the field's type."""
    import datetime as dt

    if field.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def pandas_dtype(field: Field):
    """The pandas dtype a loaded column gets: categories for enums, nullable types otherwise."""
    import pandas as pd

    kind = field.type
    if field.enum and kind == "string":
        return pd.CategoricalDtype(categories=field.enum, ordered=field.ordered)
    return {"string": "string", "number": "Float64", "integer": "Int64", "boolean": "boolean", "date": "datetime64[s]"}.get(kind, "string")


def format_number(value: float) -> str:
    """The canonical text of a number: the shortest that reads back as the same float
    (Python's repr), without a trailing `.0` (13800000000, 54.87, 1e+26)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
