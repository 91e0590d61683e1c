"""Table Schema field types on whole columns: parse strings, find the cells that do not parse.

Shared by the validator (which reports the cells that fail) and the loader (which returns
the typed values), so a value is read the same way everywhere. Only pandas is imported here.
"""
from __future__ import annotations

import pandas as pd

NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
INTEGER = r"[+-]?\d+"
DATE = r"\d{4}-\d{2}-\d{2}"
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]

FORMAT_HINT = {
    "date": "is not a valid date (YYYY-MM-DD)",
    "number": "is not a number (digits with an optional decimal point, no thousands separators)",
    "integer": "is not a whole number",
    "boolean": "is not true or false",
}


def parse(values: pd.Series, field: dict) -> tuple[pd.Series, pd.Series]:
    """Typed values and a mask of cells that are present but do not parse as the field's type."""
    kind = field.get("type", "string")
    present = values.notna()
    if kind == "date":
        shaped = values.str.fullmatch(DATE).fillna(False).astype(bool)
        typed = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
        return typed, present & typed.isna()
    if kind in ("number", "integer"):
        shaped = values.str.fullmatch(NUMBER if kind == "number" else INTEGER).fillna(False).astype(bool)
        typed = pd.to_numeric(values.where(shaped), errors="coerce")
        typed = typed.astype("Float64" if kind == "number" else "Int64")
        return typed, present & ~shaped
    if kind == "boolean":
        typed = values.map(lambda v: True if v in TRUE_VALUES else False if v in FALSE_VALUES else None, na_action="ignore").astype("boolean")
        return typed, present & typed.isna()
    return values, pd.Series(False, index=values.index)


def pandas_dtype(field: dict):
    """The pandas dtype a loaded column gets: categories for enums, nullable types otherwise."""
    kind = field.get("type", "string")
    enum = field.get("constraints", {}).get("enum")
    if enum and kind == "string":
        return pd.CategoricalDtype(categories=enum, ordered=bool(field.get("x-ordered", False)))
    return {"string": "string", "number": "Float64", "integer": "Int64", "boolean": "boolean", "date": "datetime64[s]"}.get(kind, "string")


def cast(typed: pd.Series, field: dict) -> pd.Series:
    """Parsed values in the dtype the loader gives them."""
    return typed.astype(pandas_dtype(field))



def format_number(value: float) -> str:
    """The canonical text of a number: the shortest that reads back as the same float
    (Python's repr), without a trailing `.0` (13800000000, 54.87, 1e+26)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def canonical_text(values: pd.Series, field: dict) -> pd.Series:
    """Cells in canonical form: numbers rewritten by `format_number`, everything else as is.
    A cell that does not parse is left alone (validation reports it)."""
    if field.get("type") != "number":
        return values
    typed, bad = parse(values, field)
    out = values.copy()
    ok = typed.notna() & ~bad
    out[ok] = [format_number(v) for v in typed[ok].astype(float)]
    return out


def to_text(typed: pd.Series, field: dict) -> pd.Series:
    """Typed values back to the text of the canonical CSV (the inverse of loading)."""
    kind = field.get("type", "string")
    if kind == "date":
        return typed.dt.strftime("%Y-%m-%d").astype("str")
    if kind == "number":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else format_number(v)).astype("str")
    if kind == "integer":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else str(int(v))).astype("str")
    if kind == "boolean":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else ("true" if v else "false")).astype("str")
    return typed.astype(object).where(typed.notna(), None).astype("str")
