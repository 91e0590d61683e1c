"""Column operations that pandas does slowly on Arrow-backed strings, done by Arrow or Polars.

`Series.isin` on Arrow strings goes through Python lists, and `DataFrame.to_csv` through the
csv module, row by row; these helpers keep both in C++/Rust so that validation and `fmt`
scale to millions of rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


SMALL_TABLE = 20_000  # rows below which Python's csv module writes faster than Polars starts


def arrow_strings(values) :
    """A pandas Series (or list, set, Arrow array) as an Arrow string array, without copying
    Arrow-backed data through Python objects."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string()) if values.type != pa.string() else values
    if isinstance(values, pd.Series):
        data = values.array
        if hasattr(data, "__arrow_array__"):
            return pa.array(data, type=pa.string())
        return pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def isin(values: pd.Series, allowed) -> pd.Series:
    """Like `values.isin(allowed)`, with missing values False, computed by Arrow."""
    import pyarrow.compute as pc

    value_set = pc.unique(pc.drop_null(arrow_strings(allowed)))
    if hasattr(value_set, "combine_chunks"):
        value_set = value_set.combine_chunks()
    result = pc.fill_null(pc.is_in(arrow_strings(values), value_set=value_set), False)
    return pd.Series(np.asarray(result.to_numpy(zero_copy_only=False), dtype=bool), index=values.index)


def csv_body(frame) -> bytes:
    """The rows of `frame` (a pandas DataFrame or an Arrow table; no header) as CSV with
    minimal quoting, LF line ends and missing values as empty cells.

    Byte-identical to Python's csv module with QUOTE_MINIMAL (the tests hold it to that).
    """
    import io

    import pyarrow as pa

    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    if table.num_rows == 0:
        return b""
    table = table.cast(pa.schema([pa.field(name, pa.string()) for name in table.column_names]))
    if table.num_rows < SMALL_TABLE:  # the csv module itself: no Polars import for a small package
        import csv

        text = io.StringIO()
        columns = [c.to_pylist() for c in table.columns]
        csv.writer(text, lineterminator="\n").writerows(zip(*[["" if v is None else v for v in col] for col in columns]))
        return text.getvalue().encode("utf-8")
    import polars as pl

    out = io.BytesIO()
    pl.from_arrow(table).write_csv(out, include_header=False, quote_style="necessary", line_terminator="\n", null_value="")
    return out.getvalue()


def csv_matches(table, body: memoryview, chunk_rows: int = 100_000) -> bool:
    """Whether `body` is exactly `csv_body(table)`, compared a slice of rows at a time so that
    the serialisation of a large table never sits in memory whole."""
    offset = 0
    for start in range(0, max(table.num_rows, 1), chunk_rows):
        part = csv_body(table.slice(start, chunk_rows))
        if body[offset:offset + len(part)] != part:
            return False
        offset += len(part)
    return offset == len(body)


def non_decreasing(frame: pd.DataFrame, columns: list[str]) -> bool:
    """Whether the rows are in lexicographic order of `columns` (ties allowed), by Arrow
    comparisons of each row with the next: the order a stable sort would leave in place."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(frame) < 2:
        return True
    before = pa.array([True] * (len(frame) - 1))  # "all earlier key parts equal so far"
    ok = pa.array([False] * (len(frame) - 1))
    for column in columns:
        values = pa.array(frame[column].array if hasattr(frame[column].array, "__arrow_array__") else frame[column].astype("str"), type=pa.string())
        a, b = values.slice(0, len(values) - 1), values.slice(1)
        ok = pc.or_(ok, pc.and_(before, pc.less(a, b)))
        before = pc.and_(before, pc.equal(a, b))
    return bool(pc.all(pc.or_(ok, before)).as_py())
