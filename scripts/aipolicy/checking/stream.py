"""Checking a table a block at a time, so that memory holds one block and the key columns,
never a whole table.

A file is read in blocks of whole lines (`package.proved_blocks`: parsed, and proved faithful
by writing the rows back and comparing the bytes), one block ahead in a second thread
(`Blocks`, `read_ahead`): the next block is parsed while this one is checked, the first block
of the next table while the last of this one is. Each block is checked as it comes:

- the checks of a row (types, constraints, the rules of one row) run on the block;
- a check that compares rows sharing a value (`Spec.group`: an entry's lifecycle) runs on
  blocks cut so that those rows are never apart: the rows of the block's last value wait
  for the next block;
- a foreign key to a table checked earlier runs on the block, against that table's keys;
- a check that no row repeats an earlier one (`Spec.distinct`: primary keys, unique columns)
  on the columns of the primary key compares each row with the one before, as the rows are
  in key order: the rows of a repeated key are neighbours, also across blocks;
- on other columns, it keeps a 64-bit hash of each row's values; when two hashes are
  equal, the rows that share them are read again to compare the values themselves, so a
  collision never reports a duplicate that is not one;
- the canonical form is checked on the way: rows in primary-key order, numbers in shortest form;
- the sources that the block cites are checked off (`rules.CitedSources`), so that its
  citations need not be kept for the check that every source is cited.

Only the columns that the checks across tables read are kept (`keep`). The findings are the
ones of the whole table at once, in the same words at the same lines: when a file cannot be
read this way (a block that does not prove, rows out of key order), `stream_problems` returns
None and the table is read and checked whole, which says what is wrong and where.
"""
from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

import polars as pl

from . import engine, rules
from ..reading import package as reading
from ..reading.canonical import _canonical_numbers, problem_at
from ..reading.csvtext import first_out_of_order
from ..reading.package import Package, Reference, Table
from ..reading.problems import Problem


class _Unordered(Exception):
    """The rows are not in primary-key order: the table is read whole."""


def stream_problems(package: Package, table: Table, keep: set[str], ctx: engine.Context, references: list[Reference],
                    blocks: "_TableBlocks") -> list[Problem] | None:
    """Check `table` a block at a time (its `blocks`, from `Blocks.of`), with its foreign keys
    in `references` (to tables that `ctx` holds, checked already); afterwards `table.data`
    holds the columns in `keep`. None when the table must be read whole instead (nothing is
    changed then)."""
    reader = _Reader(package, table, keep, ctx, references)
    try:
        for block in blocks:
            reader.add(block)
        problems = reader.finish()
    except (reading.Unproved, _Unordered):
        return None
    finally:
        blocks.close()  # a table read whole from here drops the rest of its blocks first
    return problems


_WHOLE = object()  # the file cannot be read a block at a time (`reading.streamable`): it is read whole
_NEXT = object()  # the next item of a table's blocks is still to be taken from the thread


class Blocks:
    """The blocks of several tables, in the order they are checked, read one ahead in a
    second thread (`read_ahead`) from one table on to the next: the first block of a table is
    parsed while the last of the table before is checked, not after."""

    def __init__(self, package: Package, tables: list[Table]):
        self.package, self.tables = package, tables
        self.skipped: set[str] = set()
        # What reading a file needs is made (and imported) here, not in the thread.
        self.counters = {table.name: reading.byte_counter(package.root / table.path) for table in tables}
        self.items = read_ahead(self._all())

    def _all(self) -> Iterator[tuple[str, object]]:
        for table in self.tables:
            start = reading.streamable(self.package.root, table)
            if start is None:
                yield table.name, _WHOLE
                continue
            try:
                for block in reading.proved_blocks(self.package.root / table.path, start, table.field_names, self.counters[table.name]):
                    if table.name in self.skipped:
                        break
                    yield table.name, block
            except reading.Unproved as exc:
                yield table.name, exc
                continue
            yield table.name, None  # the table's last block was read

    def of(self, table: Table) -> "_TableBlocks | None":
        """The blocks of `table`, the next of the tables; None when its file cannot be read a
        block at a time."""
        name, first = next(self.items)
        assert name == table.name, f"the blocks of {name} came where those of {table.name} were due"
        return None if first is _WHOLE else _TableBlocks(self, table.name, first)

    def close(self) -> None:
        self.items.close()


class _TableBlocks:
    """The blocks of one table from `Blocks`: each taken from the thread only when it is asked
    for; closed before the last (the table is read whole), the rest are dropped unread."""

    def __init__(self, blocks: Blocks, name: str, first):
        self.blocks, self.name, self.item = blocks, name, first

    def __iter__(self):
        return self

    def __next__(self) -> pl.DataFrame:
        if self.item is _NEXT:
            self.item = next(self.blocks.items)[1]
        item, self.item = self.item, _NEXT
        if item is None or isinstance(item, reading.Unproved):
            self.item = None
            if item is None:
                raise StopIteration
            raise item
        return item

    def close(self) -> None:
        if self.item is None:
            return
        self.blocks.skipped.add(self.name)
        while self.item is not None and not isinstance(self.item, reading.Unproved):
            self.item = next(self.blocks.items)[1]  # the table's blocks up to its end, which comes soon
        self.item = None


T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of `items`, each made in a second thread while the caller works on the one
    before: parsing and proving a block (mostly in Polars, which lets go of the interpreter)
    overlaps the checks of the block before, and one block waits at most. An exception in the
    thread is raised here, at the item it stopped; when the caller stops early, the thread
    stops after the item it is making, and `items` is closed."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def make() -> None:
        try:
            for item in items:
                handoff.put((item, None))
                if stop.is_set():
                    return
            handoff.put((end, None))
        except BaseException as exc:  # handed to the caller, which raises it
            handoff.put((end, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=make, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = handoff.get()
            if exc is not None:
                raise exc
            if item is end:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a thread waiting to hand over an item finish
            try:
                handoff.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


class _Reader:
    def __init__(self, package: Package, table: Table, keep: set[str], ctx: engine.Context, references: list[Reference]):
        self.package, self.table, self.ctx = package, table, ctx
        self.keep = rules.kept(table.name, table.field_names, keep)
        self.foreign = [spec for r in references if (spec := engine._foreign_key_spec(table, ctx, r))]
        self.problems: list[Problem] = []
        self.kept: list[pl.DataFrame] = []
        self.hashes: dict[int, list[pl.Series]] = {}
        self.distinct: list[engine.Spec] = []  # on other columns than the primary key's: by hash
        self.neighbours: list[engine.Spec] = []  # on the primary key's columns: by comparing neighbours
        self.repeats: list[pl.DataFrame] = []  # the rows of a key that repeats, with their row numbers
        self.group: str | None = None
        self.waiting: pl.DataFrame | None = None  # the rows of the last group, held for the next block
        self.last: pl.DataFrame | None = None  # the primary key of the last row checked
        self.offset = 0
        self.renumbered: int | None = None  # the first row whose number is not in shortest form
        self.started = False

    def specs(self, rows: pl.DataFrame) -> list[engine.Spec]:
        """The table's own checks as they apply to these rows (a rule may look at the values)."""
        view = dataclasses.replace(self.table, _data=rows, problems=[])
        package = Package(self.package.root, self.package.descriptor, {**self.package.tables, self.table.name: view})
        ctx = engine.Context(package, only=self.table.name)
        return engine.schema_specs(view, True) + [spec for rule in rules.RULES for spec in rule(ctx)]

    def add(self, block: pl.DataFrame) -> None:
        rows = block if self.waiting is None else pl.concat([self.waiting, block])
        self.waiting = None
        specs = self.specs(rows)  # they hold for any of these rows as well
        if not self.started:  # the first block: which checks need groups
            self.started = True
            groups = {spec.group for spec in specs if spec.group}
            if groups and groups != {self.table.primary_key[0] if self.table.primary_key else None}:
                raise _Unordered  # grouped by other than the key's first column: only the whole table keeps groups together
            self.group = groups.pop() if groups else None
            key = self.table.primary_key
            self.neighbours = [s for s in specs if s.distinct and list(s.distinct) == key]
            self.distinct = [s for s in specs if s.distinct and s not in self.neighbours]
        if self.group is not None:
            values = rows.get_column(self.group)
            other = values.ne_missing(values[-1]).arg_true()
            cut = int(other[-1]) + 1 if len(other) else 0
            rows, self.waiting = rows.head(cut), rows.slice(cut)
        if len(rows):
            self.check(rows, specs)

    def check(self, rows: pl.DataFrame, specs: list[engine.Spec]) -> None:
        table = self.table
        key = table.primary_key
        if key:  # in key order, from the last row of the block before
            keys = rows.select(key) if self.last is None else pl.concat([self.last, rows.select(key)])
            if first_out_of_order(keys, key) is not None:
                raise _Unordered
            if self.neighbours:
                self.note_repeats(keys, self.offset - (self.last is not None))
            self.last = rows.tail(1).select(key)
        local = [s for s in specs if not s.distinct]
        self.problems += engine.run(table, local + self.foreign, rows, self.offset)
        if self.distinct:
            hashed = rows.select(_hash(spec).alias(str(i)) for i, spec in enumerate(self.distinct))
            for i in range(len(self.distinct)):
                self.hashes.setdefault(i, []).append(hashed.get_column(str(i)))
        if table.number_fields and self.renumbered is None:
            numbers = table.number_fields
            changed = (_canonical_numbers(rows, table).select(numbers) != rows.select(numbers))
            first = changed.select(pl.any_horizontal(pl.all().fill_null(False)).arg_true().first()).item()
            if first is not None:
                self.renumbered = self.offset + first
        if self.ctx.cited is not None:
            self.ctx.cited.add(table, rows)
        self.kept.append(rows.select(self.keep))
        self.offset += len(rows)

    def note_repeats(self, keys: pl.DataFrame, first: int) -> None:
        """Keep the rows of `keys` (the first of them the table's row `first`) whose key is
        the key of the row before or after (a missing part of a key repeats nothing)."""
        same = keys.select(engine.same_as_row_before(keys.columns)).to_series()
        if same.any():
            self.repeats.append(keys.with_row_index("_row", offset=first).filter(same | same.shift(-1, fill_value=False)))

    def finish(self) -> list[Problem]:
        table = self.table
        if self.waiting is not None and len(self.waiting):
            self.check(self.waiting, self.specs(self.waiting))
        problems = self.problems
        if self.offset == 0 and not table.schema.get("x-may-be-empty", False):
            problems.append(Problem(table.path, 1, None, "the file has a header but no rows", "no-rows", "add at least one row, or remove the resource"))
        for i, spec in enumerate(self.distinct):
            problems += self.repeated(spec, pl.concat(self.hashes[i]))
        if self.repeats:
            rows = pl.concat(self.repeats).unique("_row", keep="first").sort("_row")
            for spec in self.neighbours:
                problems += self.reported(spec, rows)
        data = pl.concat(self.kept, rechunk=False) if self.kept else pl.DataFrame(schema={c: pl.String for c in table.field_names}).select(self.keep)
        table.header = list(table.field_names)
        table.verbatim, table.loaded, table.lines = True, True, None
        table.data = data
        if self.ctx.cited is not None:
            self.ctx.cited.read(table)
        if self.renumbered is not None:
            problems.append(problem_at(table, self.renumbered))
        return problems

    def repeated(self, spec: engine.Spec, hashes: pl.Series) -> list[Problem]:
        """The rows that repeat an earlier row's values: among the rows whose hash is not
        unique (usually none), read again, the values themselves are compared."""
        present = hashes.drop_nulls()
        if present.n_unique() == len(present):  # no hash twice: no repeat (the usual case)
            return []
        suspects = (hashes.is_duplicated() & hashes.is_not_null()).arg_true()
        columns = list(dict.fromkeys([*spec.distinct, spec.column]))
        whole = reading._empty_as_null(pl.read_csv(self.package.root / self.table.path, columns=columns, infer_schema=False, quote_char='"', null_values=None))
        return self.reported(spec, whole.with_row_index("_row").select(pl.all().gather(suspects)))

    def reported(self, spec: engine.Spec, rows: pl.DataFrame) -> list[Problem]:
        """The problems of the rows (with their row numbers in `_row`, in the table's order)
        whose values in `spec.distinct` are those of an earlier row."""
        key = pl.col(spec.distinct[0]) if len(spec.distinct) == 1 else pl.struct(spec.distinct)
        again = rows.select(~key.is_first_distinct()).to_series().arg_true()
        problems = []
        for i in again.to_list():
            row = int(rows.get_column("_row")[i])
            value = rows.get_column(spec.column)[i]
            message = spec.message_at(self.table, rows, i) if spec.message_at else spec.message(value)
            problems.append(self.table.problem(row, spec.column, message, spec.rule, spec.hint_for(value) if spec.hint_for else spec.hint))
        return problems


def _hash(spec: engine.Spec) -> pl.Expr:
    """A hash of the values `spec.distinct` compares; missing where the row is exempt."""
    key = pl.col(spec.distinct[0]) if len(spec.distinct) == 1 else pl.struct(spec.distinct)
    return pl.when(spec.exempt.fill_null(False)).then(None).otherwise(key.hash())
