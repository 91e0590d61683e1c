"""Row-level validation: Table Schema constraints turned into pandera checks, plus the rules.

Nothing here is written twice: the column checks are generated from each field's `type` and
`constraints`, the key checks from `primaryKey` and `foreignKeys`, and the cross-field and
cross-table rules come from `rules.py`. Each is a Polars expression that is True where a row
is fine; pandera (its Polars backend) runs them on whole columns, and their failure cases
are mapped back to `file:line:column` problems.
"""
from __future__ import annotations

import functools
import itertools
import sys
from dataclasses import dataclass
from typing import Callable

import polars as pl

from ..reading import fieldtypes
from ..reading.package import Package, Reference, Table
from ..reading.schema import Field
from ..reading.problems import Problem, quote


@dataclass
class Spec:
    """One check on one table: `ok` is True where the row is fine (a null result counts as fine).
    Problems point at `column`. `derive` may add helper columns (named with a leading `_`)
    that `ok` reads, keeping the rows and their order: a parsed date several tests compare,
    or the result of a grouping joined back to the rows (several derivations: a tuple, run in
    its order; one shared by several specs runs once); `reads` names the columns it reads."""

    table: str
    column: str
    rule: str
    ok: pl.Expr
    message: Callable[[object], str]
    hint: str | None = None
    hint_for: Callable[[object], str] | None = None  # a hint that depends on the value
    derive: Callable[[pl.LazyFrame], pl.LazyFrame] | tuple[Callable[[pl.LazyFrame], pl.LazyFrame], ...] | None = None  # kept as a tuple
    reads: tuple[str, ...] = ()
    message_at: Callable[[Table, pl.DataFrame, int], str] | None = None  # a message that needs the whole row and its table
    # What a check reads beyond its own row, for reading a table a block at a time (`stream.py`):
    distinct: tuple[str, ...] = ()  # `ok` says that these columns together hold no value of an earlier row...
    exempt: pl.Expr | None = None  # ...except in rows where this is True (one of them missing)
    group: str | None = None  # `ok` compares the rows that share a value of this column

    def __post_init__(self):
        self.derive = () if self.derive is None else self.derive if isinstance(self.derive, tuple) else (self.derive,)

    def columns(self) -> set[str]:
        """The table's columns that the check reads."""
        return {c for c in self.ok.meta.root_names() if not c.startswith("_")} | set(self.reads)


def distinct(table: str, columns: tuple[str, ...], exempt: pl.Expr, column: str, rule: str, message, hint: str, **more) -> Spec:
    """A check that no row repeats the values of an earlier row in `columns` (rows where
    `exempt` holds are left out): the `ok` of a whole table, and what a reader in blocks needs."""
    key = pl.col(columns[0]) if len(columns) == 1 else pl.struct(columns)
    ok = more.pop("ok", None)
    return Spec(table, column, rule, (key.is_first_distinct() | exempt) if ok is None else ok, message, hint,
                distinct=columns, exempt=exempt, **more)


class Context:
    """The tables of a package, as the checks see them: all, or only the one named `only`."""

    def __init__(self, package: Package, only: str | None = None):
        self.package = package
        self.only = only
        self._values: dict[tuple[str, str], pl.Series] = {}
        self.cited = None  # the sources no citation named, as the tables are read (`rules.CitedSources`)

    def data(self, name: str) -> pl.DataFrame | None:
        table = self.package.tables.get(name)
        if table is None or (self.only is not None and name != self.only):
            return None
        return table.data

    def values(self, name: str, column: str) -> pl.Series:
        """The non-missing values of a column (empty when the table is unreadable)."""
        key = (name, column)
        if key not in self._values:
            data = self.data(name)
            if data is None or column not in data.columns:
                self._values[key] = pl.Series(column, [], dtype=pl.String)
            else:
                values = data.get_column(column)
                values = values.drop_nulls() if values.null_count() else values  # no copy of a column without gaps
                if len(values) > FEW_KEYS and values.is_sorted():  # said once, not found again at every block (5 ms for a million keys)
                    values = values.set_sorted()
                self._values[key] = values
        return self._values[key]


_helpers = itertools.count()
FEW_KEYS = 1 << 14  # keys looked up with `is_in` in the checks' own query (see `among`)
ACROSS_ROWS = 1 << 18  # rows checked across tables at a time: what a check derives (joins, row numbers) stays small


def among(column: str, known: pl.Series) -> dict:
    """`ok`, `derive` and `reads` of a Spec that holds where `column` is one of `known` (or
    missing). For sets of keys with millions of values: the values that are not known come
    from an anti-join (hash join, in parallel), which is faster than `is_in`, and only when
    there are some are the rows that hold them looked for. Polars builds the hash table of a
    semi- or anti-join from its right side, so the known values are first narrowed to those
    among the rows' (a semi-join on the rows' distinct values) when they are more: a block
    of 200,000 rows met by a million keys then holds a table of its own size. When
    `known` is sorted (the keys of a table in key order), with only the known values between
    the least and the greatest value of the rows at hand: a block of rows in key order meets
    a block of keys, not all of them; when the rows' values are sorted as well (a foreign key
    that leads the primary key), they are looked for by binary search, with no hash table at
    all (`_unknown_sorted`). A small set of keys (a few thousand) is looked up in
    the query of the other checks instead: one more expression costs less than the queries
    of the anti-join."""
    known = known.drop_nulls() if known.null_count() else known
    if len(known) <= FEW_KEYS:
        return {"ok": member(pl.col(column), known), "reads": (column,)}
    ranged = known.is_sorted()
    verdict = f"_known_{next(_helpers)}"  # a helper column of its own: a table may run several of these checks at once

    def derive(frame: pl.LazyFrame) -> pl.LazyFrame:
        present = frame.select(column).filter(pl.col(column).is_not_null()).collect().get_column(column)
        if not len(present):
            return frame.with_columns(pl.lit(True).alias(verdict))
        unknown = _unknown_sorted(present, known) if ranged and present.is_sorted() else None
        if unknown is None:
            start, end = (known.search_sorted(present.min(), side="left"), known.search_sorted(present.max(), side="right")) if ranged else (0, len(known))
            target = known.slice(start, end - start).rename(column).to_frame()
            values = present.unique().to_frame()
            if len(target) > len(values):
                target = target.join(values, on=column, how="semi")
            unknown = values.join(target, on=column, how="anti").get_column(column)
        if not len(unknown):  # the usual case: every value is known
            return frame.with_columns(pl.lit(True).alias(verdict))
        return frame.with_columns((~pl.col(column).is_in(unknown.implode())).alias(verdict))

    derive.first = True  # it reads the rows as they are, not what other checks derive: see `verdicts`
    return {"ok": pl.col(verdict), "derive": derive, "reads": (column,)}


def _unknown_sorted(present: pl.Series, known: pl.Series) -> pl.Series:
    """The values of `present` that are not in `known`, both sorted (a foreign key that
    leads the primary key of a table in key order, against the keys of its parent): each
    distinct value is looked for by binary search in the known keys between the least and
    the greatest value, and when there are as many of those keys as distinct values, the
    two lists are simply compared (every entry has its dates, say)."""
    distinct = present.filter(present.ne_missing(present.shift(1)))
    start, end = known.search_sorted(distinct[0], side="left"), known.search_sorted(distinct[-1], side="right")
    target = known.slice(start, end - start)
    if len(target) == len(distinct) and (target == distinct).all():
        return distinct.clear()
    if not len(target):
        return distinct
    found = target.gather(target.search_sorted(distinct, side="left").clip(0, len(target) - 1))
    return distinct.filter(found.ne_missing(distinct))


def member(expr: pl.Expr, values) -> pl.Expr:
    """Whether each value is one of `values` (a Series or a list of strings); null stays null."""
    series = values if isinstance(values, pl.Series) else _strings(tuple(values))
    return expr.is_in(series.implode())


@functools.lru_cache(maxsize=256)
def _strings(values: tuple[str, ...]) -> pl.Series:
    """A Series of strings, made once for each list (an enum's values: the checks are made
    again for every block of a table)."""
    return pl.Series(values, dtype=pl.String)


@functools.lru_cache(maxsize=1024)
def typed(name: str, field: Field) -> tuple[pl.Expr, Callable[[pl.LazyFrame], pl.LazyFrame]]:
    """Column `name` read as its field's type (`fieldtypes.typed_expr`), as a helper column:
    the expression that reads it, and the `derive` that adds it. The checks that read a typed
    column share one derive, so the column is parsed once per query: Polars parses an equal
    expression again wherever it occurs (the three checks of a date took 22 ms on 188,508
    rows, against 8 ms with the date parsed once)."""
    helper = f"_typed_{name}"
    expr = fieldtypes.typed_expr(name, field)

    def derive(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns(expr.alias(helper))

    derive.first = True  # it reads the rows as they are
    return pl.col(helper), derive


def schema_specs(table: Table, keys_in_order: bool = False) -> list[Spec]:
    """The checks of one table that its Table Schema implies, its foreign keys excepted.
    `keys_in_order`: the rows are known to be sorted by primary key (as `fmt` writes them)."""
    specs: list[Spec] = []
    for name, field in table.fields.items():
        specs.extend(_field_specs(table, name, field))
    if table.primary_key:
        specs.append(_primary_key_spec(table, keys_in_order))
    return specs


def foreign_key_specs(table: Table, ctx: Context, skip=()) -> list[Spec]:
    """The foreign-key checks of a table, but those of the references in `skip`."""
    return [spec for reference in table.references if reference not in skip and (spec := _foreign_key_spec(table, ctx, reference))]


def _field_specs(table: Table, name: str, field: Field) -> list[Spec]:
    t = table.name
    kind = field.type
    c = field.constraints
    col = pl.col(name)
    specs: list[Spec] = []
    if field.required:
        specs.append(Spec(t, name, "required", col.is_not_null(), lambda v, n=name: f"{n} is required but empty", f"fill in {name}: {field.description}"))
    if kind != "string":
        bad_text = fieldtypes.FORMAT_HINT.get(kind, f"is not a valid {kind}")
        value, derive = typed(name, field) if kind in fieldtypes.PARSED else (None, None)  # the parse, which other checks of the column read too
        specs.append(Spec(t, name, "type", ~fieldtypes.bad_expr(name, field, value), lambda v, n=name, b=bad_text: f"{n} {quote(v)} {b}",
                          derive=derive, reads=(name,)))
    if field.enum is not None:
        allowed = field.enum
        shown = ", ".join(allowed) if len(allowed) <= 30 else ", ".join(allowed[:30]) + ", …"
        specs.append(Spec(t, name, "enum", member(col, allowed), lambda v, n=name: f"{n} {quote(v)} is not one of the allowed values", f"use one of: {shown}"))
    if field.pattern is not None:
        pattern = field.pattern
        specs.append(Spec(t, name, "pattern", fieldtypes.fullmatch(col, pattern), lambda v, n=name, p=pattern: f"{n} {quote(v)} does not match the pattern {p}", pattern_hint(name, pattern)))
    for key, test, word in (("minLength", "ge", "shorter than"), ("maxLength", "le", "longer than")):
        if key in c:
            limit = c[key]
            specs.append(Spec(t, name, key, getattr(col.str.len_chars(), test)(limit),
                              lambda v, n=name, l=limit, w=word: f"{n} is {len(str(v))} characters long, {w} the limit of {l}: {quote(v, 60)}", "shorten the text"))
    for key, test, word in (("minimum", "ge", "below"), ("maximum", "le", "above")):
        if key in c:
            limit = fieldtypes.typed_literal(c[key], field)
            value, derive = typed(name, field)
            specs.append(Spec(t, name, key, getattr(value, test)(limit),
                              lambda v, n=name, l=c[key], w=word, k=key: f"{n} {quote(v)} is {w} the {k} {l}", derive=derive, reads=(name,)))
    if field.unique:
        specs.append(distinct(t, (name,), col.is_null(), name, "unique", lambda v, n=name: f"{n} {quote(v)} appears in an earlier row too", "values in this column must be unique"))
    return specs


def pattern_hint(name: str, pattern: str) -> str:
    if pattern.startswith("^[a-z0-9]+(-[a-z0-9]+)*"):
        return "IDs are lower-case letters and digits joined by single hyphens, like cn-2017-new-generation-ai-plan"
    if "https?" in pattern:
        return "write the full address starting with http:// or https://, without spaces"
    return f"the value must match {pattern}"


def same_as_row_before(columns: list[str]) -> pl.Expr:
    """True where a row holds the values of the row before in every one of `columns` (a
    missing value equals nothing): in key order, the rows that repeat a key."""
    return pl.all_horizontal(pl.col(c) == pl.col(c).shift(1) for c in columns).fill_null(False)


def _primary_key_spec(table: Table, keys_in_order: bool) -> Spec:
    pk = table.primary_key
    label = ", ".join(pk)
    if keys_in_order:  # equal keys are neighbours: a key is used before when the row above has it
        repeated = same_as_row_before(pk)
    else:
        repeated = ~(pl.col(pk[0]) if len(pk) == 1 else pl.struct(pk)).is_first_distinct()
    missing = pl.any_horizontal(pl.col(c).is_null() for c in pk)

    def message_at(table: Table, data: pl.DataFrame, row: int) -> str:
        """`data` holds the rows of the table, or some of them with their row numbers in `_row`."""
        key = [data.get_column(c)[row] for c in pk]
        rows = data.get_column("_row") if "_row" in data.columns else pl.int_range(data.height, eager=True)
        same = rows.filter(data.select(pl.all_horizontal(pl.col(c) == v for c, v in zip(pk, key))).to_series())
        earlier = table.line(int(same[0])) if len(same) and int(same[0]) < int(rows[row]) else None
        shown = ", ".join(quote(v) for v in key)
        return f"primary key ({label}) = ({shown}) is already used by the row on line {earlier}" if earlier else f"primary key ({label}) = ({shown}) is already used by an earlier row"

    return distinct(table.name, tuple(pk), missing, pk[0], "primary-key", lambda v: f"primary key ({label}) {quote(v)} is already used by an earlier row",
                    "each row needs its own key: change the ID, or merge the two rows", ok=~repeated | missing, message_at=message_at)


# Tables whose rows are a controlled list, kept by the maintainers: a missing value is chosen
# from the list, not added by a contributor.
CONTROLLED = {"topics": "topics are a controlled taxonomy; choose one of: {listed} (to propose a new topic, open an issue)"}


def reference_hint(value: str, known: list[str], table: str, path: str) -> str:
    """How to fix a reference to an ID that does not exist: the same ID in other capitals, the
    closest IDs, the list of a controlled table, or where to add it."""
    import difflib

    folded = [k for k in known if k.casefold() == value.casefold()]
    if folded:
        return f"did you mean {folded[0]}? IDs are case-sensitive"
    if table in CONTROLLED:
        return CONTROLLED[table].format(listed=", ".join(known))
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.75 if table == "sources" else 0.6)
    if close:
        return f"did you mean {', '.join(close)}?"
    return f"add it to {path} first, or correct the ID"


def _foreign_key_spec(table: Table, ctx: Context, reference: Reference) -> Spec | None:
    fields, ref_fields, ref_table = reference.fields, reference.ref_fields, reference.resource
    target = ctx.package.tables.get(ref_table)
    if target is None or target.data is None or len(fields) != 1 or any(f not in target.field_names for f in ref_fields):
        return None  # the referenced table has its own problems, reported where they are
    column, ref_column = fields[0], ref_fields[0]
    known = ctx.values(ref_table, ref_column)

    def message(value: object) -> str:
        return f"{column} {quote(value)} is not a {ref_column} in {target.path}"

    candidates: list[str] = []  # the distinct known values, listed once, when the first hint is asked for

    def hint_for(value: object) -> str:
        if not candidates:
            candidates.extend(known.unique().sort().to_list())
        return reference_hint(str(value), candidates, ref_table, target.path)

    return Spec(table.name, column, "foreign-key", message=message, hint_for=hint_for, **among(column, known))


def pandera_polars():
    """`pandera.polars`, imported without pandera's pandas layer when pandas is not loaded yet.

    pandera imports its pandas API (and so pandas, about 0.4 s) whenever pandas is installed,
    and hypothesis (0.1 s) for data synthesis when that is installed: on `import pandera`, and
    again when it registers its check backends at the first validation. The validator uses
    neither, so both are hidden during the import and a first validation of one cell, which
    is pandera's own path for an installation without them.
    """
    if "pandera.polars" in sys.modules or "pandas" in sys.modules:
        import pandera.polars as pa

        return pa

    class _Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pandas", "hypothesis"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    hider = _Hide()
    sys.meta_path.insert(0, hider)
    try:
        import pandera.polars as pa

        pa.DataFrameSchema({"x": pa.Column(checks=[pa.Check(lambda d: d.lazyframe.select(pl.col("x").is_not_null()))])}).validate(pl.DataFrame({"x": ["x"]}))
    except ImportError:  # some other pandera: import it the ordinary way
        sys.meta_path.remove(hider)
        for module in [m for m in sys.modules if m == "pandera" or m.startswith("pandera.")]:
            del sys.modules[module]
        import pandera.polars as pa
    finally:
        if hider in sys.meta_path:
            sys.meta_path.remove(hider)
    return pa


def verdicts(specs: list[Spec], frame: pl.LazyFrame, every: bool = False) -> pl.LazyFrame:
    """One boolean column per spec (named by its position): True where the row is fine; with
    `every`, one row: True where the spec holds on every row. The derivations that read the
    rows as they are come first, so that they do not run the others' (a group-by and a join)
    again."""
    derived = dict.fromkeys(d for spec in specs for d in spec.derive)  # a derivation that several specs share runs once
    for derive in sorted(derived, key=lambda d: not getattr(d, "first", False)):
        frame = derive(frame)
    oks = (spec.ok.fill_null(True) for spec in specs)
    return frame.select((ok.all() if every else ok).alias(str(i)) for i, ok in enumerate(oks))


def run(table: Table, specs: list[Spec], data: pl.DataFrame | None = None, offset: int = 0) -> list[Problem]:
    """Run the specs of one table as one pandera check and map its failures to problems.

    The specs are evaluated together, in one Polars query (each Polars query costs a fixed
    0.2 to 0.5 ms, and a table has up to 45 specs), which says of each spec only whether it
    holds on every row: a column of verdicts is never built (188,508 dates: 21 ms against
    26 ms for the verdicts and a second query over them). Where every spec holds on every
    row (the usual case), that query is the whole run, and pandera is not even imported;
    otherwise the verdicts are made, pandera reports the rows where any spec fails, and the
    verdicts of the specs at those rows say which failed where. `data` may be some of the
    table's rows, the first of them its row `offset`."""
    data = table.data if data is None else data
    if data is None or not specs or len(data) == 0 or hold(specs, data):
        return []
    return failures(table, specs, data, offset)


def hold(specs: list[Spec], data: pl.DataFrame) -> bool:
    """Whether every spec holds on every row, in one query (False when a spec cannot be
    evaluated: `failures` says which and why)."""
    try:
        return all(verdicts(specs, data.lazy(), every=True).collect().row(0))
    except Exception:
        return False


def failures(table: Table, specs: list[Spec], data: pl.DataFrame, offset: int = 0) -> list[Problem]:
    """The problems of rows where a spec fails (or of a spec that cannot be evaluated), by pandera."""
    kept: dict[str, pl.DataFrame] = {}
    try:  # a spec that cannot be evaluated is found and named by the run below
        kept["verdicts"] = verdicts(specs, data.lazy()).collect()
    except Exception:
        kept.clear()
    pa = pandera_polars()
    from pandera.errors import SchemaErrors

    def check(d) -> pl.LazyFrame:
        if "verdicts" not in kept:  # evaluated here, where pandera catches the error of a spec that raises
            kept["verdicts"] = verdicts(specs, d.lazyframe).collect()  # kept, to say which spec failed
        return kept["verdicts"].lazy()

    schema = pa.DataFrameSchema({data.columns[0]: pa.Column(checks=[pa.Check(check, name=f"{table.name}: {len(specs)} checks")], nullable=True)})
    try:
        schema.validate(data, lazy=True)  # a DataFrame: pandera runs data checks on it, not on a LazyFrame
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except Exception as exc:
        cases = pl.DataFrame({"index": [None], "failure_case": [str(exc)]})
    broken = cases.filter(pl.col("index").is_null())  # a spec that raised: pandera's failure case holds the error
    if len(broken) or "verdicts" not in kept:
        if len(specs) > 1:  # find which, and run the others all the same
            return [p for spec in specs for p in run(table, [spec], data, offset)]
        error = broken["failure_case"][0] if len(broken) else "no verdicts"
        return [Problem(table.path, None, None, f"a check could not run ({specs[0].rule} on {specs[0].column}): {error}", "internal")]
    rows = cases.get_column("index").unique().cast(pl.UInt32)
    found = kept["verdicts"].with_row_index("_i").filter(pl.col("_i").is_in(rows.implode()))
    problems = []
    for i, spec in enumerate(specs):
        bad = found.filter(~pl.col(str(i))).get_column("_i")
        values = data.get_column(spec.column).gather(bad).to_list() if spec.column in data.columns else [None] * len(bad)
        for row, value in zip(bad.to_list(), values):
            hint = spec.hint_for(value) if spec.hint_for else spec.hint
            message = spec.message_at(table, data, row) if spec.message_at else spec.message(value)
            problems.append(table.problem(row + offset, spec.column, message, spec.rule, hint))
    return problems
