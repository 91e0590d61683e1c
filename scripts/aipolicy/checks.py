"""Row-level validation: Table Schema constraints turned into pandera checks, plus the rules.

Nothing here is written twice: the column checks are generated from each field's `type` and
`constraints`, the key checks from `primaryKey` and `foreignKeys`, and the cross-field and
cross-table rules come from `rules.py`. All of them become pandera checks that run on whole
columns; their failure cases are mapped back to `file:line:column` problems.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from . import fieldtypes
from .package import Package, Reference, Table
from .fastops import arrow_strings, isin
from .problems import Problem, quote


@dataclass
class Spec:
    """One check: `ok(frame)` is True where the row is fine (missing values count as fine)."""

    table: str
    column: str
    rule: str
    ok: Callable[[pd.DataFrame], pd.Series]
    message: Callable[[object], str]
    hint: str | None = None
    hint_for: Callable[[object], str] | None = None  # a hint that depends on the value


class Context:
    """The tables of a package for the checks, with parsed columns computed once."""

    def __init__(self, package: Package):
        self.package = package
        self._parsed: dict[tuple[str, str], tuple[pd.Series, pd.Series]] = {}

    def frame(self, name: str) -> pd.DataFrame | None:
        table = self.package.tables.get(name)
        return table.frame if table is not None else None

    def parsed(self, name: str, column: str) -> tuple[pd.Series, pd.Series]:
        key = (name, column)
        if key not in self._parsed:
            table = self.package.tables[name]
            self._parsed[key] = fieldtypes.parse(table.frame[column], table.fields[column])
        return self._parsed[key]

    def values(self, name: str, column: str):
        """The distinct non-missing values of a column, as an Arrow string array (empty when the
        table is unreadable)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        frame = self.frame(name)
        if frame is None or column not in frame:
            return pa.array([], type=pa.string())
        key = ("values", name, column)
        if key not in self._parsed:
            self._parsed[key] = pc.unique(pc.drop_null(arrow_strings(frame[column])))  # type: ignore[assignment]
        return self._parsed[key]  # type: ignore[return-value]


def schema_specs(table: Table, ctx: Context) -> list[Spec]:
    specs: list[Spec] = []
    for name, field in table.fields.items():
        specs.extend(_field_specs(table, ctx, name, field))
    if table.primary_key:
        specs.append(_primary_key_spec(table))
    for reference in table.references:
        spec = _foreign_key_spec(table, ctx, reference)
        if spec:
            specs.append(spec)
    return specs


def _field_specs(table: Table, ctx: Context, name: str, field: dict) -> list[Spec]:
    t = table.name
    kind = field.get("type", "string")
    c = field.get("constraints", {})
    specs: list[Spec] = []
    if c.get("required"):
        specs.append(Spec(t, name, "required", lambda df, n=name: df[n].notna(), lambda v, n=name: f"{n} is required but empty", f"fill in {name}: {field.get('description', '')}"))
    if kind != "string":
        bad_text = fieldtypes.FORMAT_HINT.get(kind, f"is not a valid {kind}")
        specs.append(Spec(t, name, "type", lambda df, n=name: ~ctx.parsed(t, n)[1], lambda v, n=name, b=bad_text: f"{n} {quote(v)} {b}"))
    if "enum" in c:
        allowed = list(c["enum"])
        shown = ", ".join(allowed) if len(allowed) <= 30 else ", ".join(allowed[:30]) + ", …"
        specs.append(Spec(t, name, "enum", lambda df, n=name, a=allowed: isin(df[n], a) | df[n].isna(), lambda v, n=name: f"{n} {quote(v)} is not one of the allowed values", f"use one of: {shown}"))
    if "pattern" in c:
        pattern = c["pattern"]
        specs.append(Spec(t, name, "pattern", lambda df, n=name, p=pattern: df[n].isna() | df[n].str.fullmatch(p).fillna(False).astype(bool), lambda v, n=name, p=pattern: f"{n} {quote(v)} does not match the pattern {p}", _pattern_hint(name, pattern)))
    for key, op, word in (("minLength", "ge", "shorter than"), ("maxLength", "le", "longer than")):
        if key in c:
            limit = c[key]
            specs.append(Spec(t, name, key, lambda df, n=name, l=limit, o=op: df[n].isna() | getattr(df[n].str.len(), o)(l).fillna(False).astype(bool),
                              lambda v, n=name, l=limit, w=word: f"{n} is {len(str(v))} characters long, {w} the limit of {l}: {quote(v, 60)}", "shorten the text"))
    for key, op, word in (("minimum", "ge", "below"), ("maximum", "le", "above")):
        if key in c:
            limit = c[key]
            specs.append(Spec(t, name, key, lambda df, n=name, l=limit, o=op: getattr(ctx.parsed(t, n)[0], o)(l).fillna(True).astype(bool),
                              lambda v, n=name, l=limit, w=word: f"{n} {quote(v)} is {w} the {key} {l}"))
    if c.get("unique"):
        specs.append(Spec(t, name, "unique", lambda df, n=name: ~df[n].duplicated() | df[n].isna(), lambda v, n=name: f"{n} {quote(v)} appears in an earlier row too", "values in this column must be unique"))
    return specs


def _pattern_hint(name: str, pattern: str) -> str:
    if pattern.startswith("^[a-z0-9]+(-[a-z0-9]+)*"):
        return "IDs are lower-case letters and digits joined by single hyphens, like cn-2017-new-generation-ai-plan"
    if "https?" in pattern:
        return "write the full address starting with http:// or https://, without spaces"
    return f"the value must match {pattern}"


def _primary_key_spec(table: Table) -> Spec:
    pk = table.primary_key
    label = ", ".join(pk)

    def ok(df: pd.DataFrame) -> pd.Series:
        return ~df.duplicated(subset=pk, keep="first") | df[pk].isna().any(axis=1)

    return Spec(table.name, pk[0], "primary-key", ok,
                lambda v: f"primary key ({label}) {quote(v)} is already used by an earlier row",
                "each row needs its own key: change the ID, or merge the two rows")


def _foreign_key_spec(table: Table, ctx: Context, reference: Reference) -> Spec | None:
    fields, ref_fields, ref_table = reference.fields, reference.ref_fields, reference.resource
    target = ctx.package.tables.get(ref_table)
    if target is None or target.frame is None or len(fields) != 1 or any(f not in target.field_names for f in ref_fields):
        return None  # the referenced table has its own problems, reported where they are
    column, ref_column = fields[0], ref_fields[0]
    known = ctx.values(ref_table, ref_column)

    def ok(df: pd.DataFrame) -> pd.Series:
        return isin(df[column], known) | df[column].isna()

    def message(value: object) -> str:
        return f"{column} {quote(value)} is not a {ref_column} in {target.path}"

    def hint_for(value: object) -> str:
        import difflib

        close = difflib.get_close_matches(str(value), known.to_pylist(), n=3, cutoff=0.6)
        return f"did you mean {', '.join(close)}?" if close else f"add it to {target.path} first, or correct the ID"

    return Spec(table.name, column, "foreign-key", ok, message, hint_for=hint_for)


def run(table: Table, specs: list[Spec]) -> list[Problem]:
    """Run the specs of one table as one lazy pandera validation and map failures to problems."""
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    frame = table.frame
    if frame is None or not specs or len(frame) == 0:
        return []
    by_name = {f"{i}|{s.rule}": s for i, s in enumerate(specs)}
    frame_checks = [pa.Check(lambda df, s=spec: _as_bool(s.ok(df), df.index), name=name) for name, spec in by_name.items()]
    schema = pa.DataFrameSchema({n: pa.Column(nullable=True) for n in frame.columns}, checks=frame_checks)
    try:
        # A shallow view, validated in place: no deep copy of a large table, and pandera's
        # registry entry for it goes away with the view as soon as this returns.
        schema.validate(frame.copy(deep=False), lazy=True, inplace=True)
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except Exception as exc:  # a check that itself failed must not hide the others
        return [Problem(table.path, None, None, f"a check could not run: {exc}", "internal")]
    problems = []
    cases = cases[cases["check"].isin(by_name.keys())].drop_duplicates(subset=["check", "index"])
    for check, index in zip(cases["check"].tolist(), cases["index"].tolist()):
        if index is None or pd.isna(index):
            continue
        spec = by_name[check]
        row = frame.index.get_loc(int(index))
        value = frame[spec.column].iloc[row] if spec.column in frame else None
        hint = spec.hint_for(value) if spec.hint_for else spec.hint
        problems.append(table.problem(row, spec.column, spec.message(value), spec.rule, hint))
    return problems


def _as_bool(result: pd.Series, index: pd.Index) -> pd.Series:
    return pd.Series(result, index=index).fillna(True).astype(bool)
