"""Whole-table operations kept in Polars: the canonical CSV serialisation and the key-order test.

Both run in Rust on whole columns, so that validation and `fmt` scale to millions of rows.
"""
from __future__ import annotations

import io

import polars as pl


def as_polars(frame) -> pl.DataFrame:
    """A Polars frame of strings from a Polars, Arrow or pandas frame (missing values as null)."""
    if isinstance(frame, pl.DataFrame):
        data = frame
    else:
        import pyarrow as pa

        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        data = pl.from_arrow(table)
    return data.with_columns(pl.all().cast(pl.String))


WRITE_BATCH = 1 << 16


def write_csv(data: pl.DataFrame, out) -> None:
    """Write the rows (no header) with minimal quoting, LF line ends and missing values as empty cells."""
    # Rows are written to `out` a batch at a time, each batch a call into Python: batches
    # of 65,536 rows instead of Polars' 1,024 take 10% less time.
    data.write_csv(out, include_header=False, quote_style="necessary", line_terminator="\n", null_value="", batch_size=WRITE_BATCH)


def csv_body(frame) -> bytes:
    """The rows of `frame` (no header) as CSV with minimal quoting, LF line ends and missing
    values as empty cells: byte-identical to Python's csv module with QUOTE_MINIMAL (the
    tests hold it to that)."""
    data = as_polars(frame)
    if data.height == 0:
        return b""
    out = io.BytesIO()
    write_csv(data, out)
    return out.getvalue()


def first_out_of_order(data: pl.DataFrame, columns: list[str]) -> int | None:
    """The first row that a stable sort by `columns` (missing values first) would move, or
    None when the rows are already in that order: comparisons of each row with the next."""
    if data.height < 2:
        return None
    if len(columns) == 1 and data.get_column(columns[0]).is_sorted(nulls_last=False):  # one pass, without the comparisons below
        return None
    ahead = pl.lit(False)  # the row is strictly before the next one in an earlier column
    tied = pl.lit(True)  # all earlier columns equal so far
    for column in columns:
        a, b = pl.col(column), pl.col(column).shift(-1)
        less = (a.is_null() & b.is_not_null()) | (a < b).fill_null(False)
        equal = (a.is_null() & b.is_null()) | (a == b).fill_null(False)
        ahead = ahead | (tied & less)
        tied = tied & equal
    fine = data.select((ahead | tied).head(data.height - 1).alias("fine")).get_column("fine")
    if fine.all():
        return None
    order = data.select(columns).with_row_index("row").sort(columns, maintain_order=True, nulls_last=False).get_column("row")
    moved = (order != pl.Series(range(len(order)), dtype=order.dtype)).arg_true()
    return int(moved[0])
