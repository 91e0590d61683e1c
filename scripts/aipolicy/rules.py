"""The rules that no single column can express: one function per rule.

Each function takes the check context and yields `Spec`s (a table, the column to point at,
and a vectorised test that is True where a row is fine). `validate` runs them as pandera
checks together with the checks generated from the schemas. To add a rule, add a function
here and decorate it with `@rule`.
"""
from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Callable, Iterator

import pandas as pd

from .checks import Context, Spec
from .fastops import isin
from .problems import quote

RULES: list[Callable[[Context], Iterator[Spec]]] = []

# Events of an entry's lifecycle that must come in this order when both are present.
LIFECYCLE_ORDER = [
    ("proposed", "adopted"), ("proposed", "in-force"), ("adopted", "in-force"), ("signed", "published"),
    ("signed", "in-force"), ("published", "in-force"), ("promulgated", "in-force"), ("in-force", "repealed"),
    ("adopted", "repealed"), ("published", "repealed"), ("published-online", "published-print"),
    ("in-force", "applies"), ("adopted", "applies"), ("started", "ended"), ("launched", "ended"), ("filed", "accepted"), ("filed", "ruled"), ("accepted", "ruled"),
]
# Dates that may lie in the future: the date a target is to be reached.
FUTURE_ALLOWED = {"target_date"}
FORMULA_START = ("=", "+", "-", "@")


def rule(fn):
    RULES.append(fn)
    return fn


def today() -> pd.Timestamp:
    return pd.Timestamp(_dt.date.today())


def _readable(ctx: Context, *names: str) -> bool:
    return all(ctx.frame(n) is not None for n in names)


def _date_pairs(ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(table, date column, precision column) for every date with a precision companion."""
    for name, table in ctx.package.tables.items():
        if table.frame is None:
            continue
        for column, field in table.fields.items():
            if field.get("type") == "date" and f"{column}_precision" in table.fields:
                yield name, column, f"{column}_precision"
            elif field.get("type") == "date" and column == "date" and "date_precision" in table.fields:
                yield name, column, "date_precision"


@rule
def every_entry_has_a_source(ctx: Context):
    if not _readable(ctx, "entries", "entry_sources"):
        return
    cited = ctx.values("entry_sources", "entry_id")
    yield Spec("entries", "entry_id", "entry-has-source", lambda df: isin(df["entry_id"], cited) | df["entry_id"].isna(),
               lambda v: f"entry {quote(v)} cites no source", "add a row for it to data/entry_sources.csv")


@rule
def every_source_is_cited(ctx: Context):
    if not _readable(ctx, "sources"):
        return
    citing = [("entry_sources", "source_id"), ("entry_dates", "source_id"), ("figures", "source_id"), ("organizations", "source_id")]
    import pyarrow as pa

    cited = pa.chunked_array([ctx.values(t, c) for t, c in citing if ctx.frame(t) is not None], type=pa.string())
    yield Spec("sources", "source_id", "source-cited", lambda df: isin(df["source_id"], cited) | df["source_id"].isna(),
               lambda v: f"source {quote(v)} is not cited by any entry, date, figure or organization",
               "cite it in data/entry_sources.csv, or remove it")


@rule
def dates_are_not_in_the_future(ctx: Context):
    now = today()
    for name, table in ctx.package.tables.items():
        if table.frame is None:
            continue
        for column, field in table.fields.items():
            if field.get("type") != "date" or column in FUTURE_ALLOWED:
                continue

            def ok(df, n=name, c=column):
                values = ctx.parsed(n, c)[0]
                return (values <= now) | values.isna()

            yield Spec(name, column, "future-date", ok, lambda v, c=column: f"{c} {quote(v)} is in the future",
                       "record only what has happened; a planned date belongs in the summary or a target figure")


@rule
def dates_agree_with_their_precision(ctx: Context):
    for name, column, precision in _date_pairs(ctx):
        def ok(df, n=name, c=column, p=precision):
            values = ctx.parsed(n, c)[0]
            prec = df[p]
            known = values.notna()
            bad_month = known & (prec == "month") & (values.dt.day != 1)
            bad_year = known & (prec == "year") & ((values.dt.day != 1) | (values.dt.month != 1))
            return ~(bad_month | bad_year).fillna(False).astype(bool)

        yield Spec(name, column, "date-precision", ok, lambda v, c=column, p=precision: f"{c} {quote(v)} disagrees with its precision in {p}",
                   "a month-precision date is written YYYY-MM-01 and a year-precision date YYYY-01-01")

        def both_or_neither(df, c=column, p=precision):
            return df[c].notna() == df[p].notna()

        yield Spec(name, precision, "date-precision", both_or_neither, lambda v, c=column, p=precision: f"{c} and {p} must be given together",
                   f"fill in both {column} and {precision}, or neither")


def _period_end(values: pd.Series, precision: pd.Series) -> pd.Series:
    end = values.copy()
    month = precision == "month"
    year = precision == "year"
    end[month] = values[month] + pd.offsets.MonthEnd(0)
    end[year] = values[year] + pd.offsets.YearEnd(0)
    return end


@rule
def lifecycles_are_in_order(ctx: Context):
    if not _readable(ctx, "entry_dates"):
        return

    def ok(df):
        start = ctx.parsed("entry_dates", "date")[0]
        end = _period_end(start, df["date_precision"])
        fine = pd.Series(True, index=df.index)
        frame = pd.DataFrame({"entry": df["entry_id"], "event": df["event"], "start": start, "end": end})
        first = frame.dropna().groupby(["entry", "event"])["start"].min()  # an event may occur on several dates
        for before, after in LIFECYCLE_ORDER:  # the later event is the one flagged
            later = frame["event"] == after
            if not later.any():
                continue
            keys = pd.MultiIndex.from_arrays([frame.loc[later, "entry"], pd.Series(before, index=frame.index[later])])
            earlier_start = pd.Series(first.reindex(keys).to_numpy(), index=frame.index[later])
            fine.loc[later] &= ~(earlier_start > frame.loc[later, "end"]).fillna(False).astype(bool)
        return fine

    yield Spec("entry_dates", "date", "lifecycle-order", ok, lambda v: f"date {quote(v)} comes before an event that must precede it in the lifecycle",
               "check both dates against the source: proposed <= adopted <= in-force <= repealed, signed <= published <= in-force")


@lru_cache(maxsize=1)
def _codes() -> dict[str, set[str]]:
    import pycountry

    return {
        "alpha2": {c.alpha_2 for c in pycountry.countries},
        "alpha3": {c.alpha_3 for c in pycountry.countries},
        "alpha2to3": {c.alpha_2: c.alpha_3 for c in pycountry.countries},
        "subdivisions": {s.code for s in pycountry.subdivisions},
        "currencies": {c.alpha_3 for c in pycountry.currencies},
        "languages": {getattr(l, "alpha_2", None) for l in pycountry.languages} | {l.alpha_3 for l in pycountry.languages},
        "scripts": {s.alpha_4 for s in pycountry.scripts},
    }


@rule
def currency_units_are_iso_4217(ctx: Context):
    if not _readable(ctx, "figures"):
        return
    currencies = _codes()["currencies"]

    def ok(df):
        unit = df["unit"]
        code = unit.str.fullmatch(r"[A-Z]{3}").fillna(False).astype(bool)
        return ~code | isin(unit, currencies)

    yield Spec("figures", "unit", "currency", ok, lambda v: f"unit {quote(v)} is not an ISO 4217 currency code",
               "use a code such as CNY, USD, EUR, GBP or JPY")


def bcp47_valid(tag: str) -> bool:
    codes = _codes()
    parts = tag.split("-")
    if parts[0].lower() != parts[0] or parts[0] not in codes["languages"]:
        return False
    for sub in parts[1:]:
        if len(sub) == 4 and sub.isalpha():
            if sub.title() not in codes["scripts"] or sub != sub.title():
                return False
        elif len(sub) == 2 and sub.isalpha():
            if sub.upper() not in codes["alpha2"] or sub != sub.upper():
                return False
        elif len(sub) == 3 and sub.isdigit():
            continue
        elif not (5 <= len(sub) <= 8 and sub.isalnum()):
            return False
    return True


@rule
def languages_are_bcp47(ctx: Context):
    for name, table in ctx.package.tables.items():
        if table.frame is None or "language" not in table.fields:
            continue

        def ok(df):
            values = df["language"]
            verdict = {v: bcp47_valid(v) for v in values.dropna().unique()}
            return values.map(verdict).fillna(True).astype(bool)

        yield Spec(name, "language", "language", ok, lambda v: f"language {quote(v)} is not a valid BCP 47 tag",
                   "use an ISO 639 language code with optional script and region, like en, zh, zh-Hans or pt-BR")


@rule
def jurisdiction_codes_are_iso(ctx: Context):
    if not _readable(ctx, "jurisdictions"):
        return
    codes = _codes()

    def ok(df):
        jid, level = df["jurisdiction_id"], df["level"]
        country = (level == "country") & ~isin(jid, codes["alpha2"])
        subdivision = (level == "subdivision") & ~isin(jid, codes["subdivisions"])
        other = isin(level, ["supranational", "international"]) & isin(jid, codes["alpha2"])
        return ~(country | subdivision | other).fillna(False).astype(bool)

    yield Spec("jurisdictions", "jurisdiction_id", "jurisdiction-code", ok,
               lambda v: f"jurisdiction_id {quote(v)} is not a valid ISO code for its level",
               "countries use ISO 3166-1 alpha-2 (CN), subdivisions ISO 3166-2 (CN-BJ); a supranational ID must not be a country code")

    def iso3_ok(df):
        expected = df["jurisdiction_id"].map(codes["alpha2to3"])
        return (df["iso3"] == expected).fillna(False).astype(bool) | (df["level"] != "country") & df["iso3"].isna()

    yield Spec("jurisdictions", "iso3", "jurisdiction-code", iso3_ok, lambda v: f"iso3 {quote(v)} does not match the country's ISO 3166-1 alpha-3 code",
               "countries need their alpha-3 code (CN -> CHN); other levels leave it empty")

    def parent_ok(df):
        sub = df["level"] == "subdivision"
        return ~sub | (df["parent_id"] == df["jurisdiction_id"].str.split("-").str[0]).fillna(False).astype(bool)

    yield Spec("jurisdictions", "parent_id", "jurisdiction-code", parent_ok, lambda v: f"parent_id {quote(v)} is not the country of this subdivision",
               "a subdivision's parent is the country in the first part of its code (CN-BJ -> CN)")


def _free_text_fields(ctx: Context) -> Iterator[tuple[str, str]]:
    """String fields without a pattern or enum: the ones a person types freely."""
    for name, table in ctx.package.tables.items():
        if table.frame is None:
            continue
        for column, field in table.fields.items():
            c = field.get("constraints", {})
            if field.get("type", "string") == "string" and "pattern" not in c and "enum" not in c:
                yield name, column


@rule
def no_formula_like_text(ctx: Context):
    for name, column in _free_text_fields(ctx):
        yield Spec(name, column, "formula", lambda df, c=column: ~df[c].str.startswith(FORMULA_START).fillna(False).astype(bool),
                   lambda v, c=column: f"{c} {quote(v)} starts with a character that spreadsheets run as a formula",
                   "reword the text so that it does not start with =, +, - or @")


@rule
def no_surrounding_whitespace(ctx: Context):
    for name, column in _free_text_fields(ctx):
        yield Spec(name, column, "whitespace", lambda df, c=column: df[c].isna() | (df[c].str.strip() == df[c]).fillna(False).astype(bool),
                   lambda v, c=column: f"{c} {quote(v)} has leading or trailing whitespace", "remove the spaces at the start and end of the cell")


@rule
def titles_are_unique_per_jurisdiction(ctx: Context):
    if not _readable(ctx, "entries"):
        return
    yield Spec("entries", "title", "duplicate-title",
               lambda df: ~df.duplicated(subset=["jurisdiction_id", "title"], keep="first") | df["title"].isna(),
               lambda v: f"title {quote(v)} is already used by another entry of the same jurisdiction",
               "make the titles distinct (add the year or the issuer), or merge the entries")


@rule
def only_targets_have_target_dates(ctx: Context):
    if not _readable(ctx, "figures"):
        return
    yield Spec("figures", "target_date", "target-date", lambda df: df["target_date"].isna() | isin(df["basis"], ["target", "planned"]),
               lambda v: f"target_date {quote(v)} is given for a figure whose basis is not target or planned",
               "set basis to target or planned, or move the date to as_of")


@rule
def founding_dates_have_a_source(ctx: Context):
    if not _readable(ctx, "organizations"):
        return
    yield Spec("organizations", "source_id", "founded-source", lambda df: df["founded"].isna() | df["source_id"].notna(),
               lambda v: "founded is given but source_id is empty", "name the source that gives the founding date in source_id")


@rule
def nothing_points_at_itself(ctx: Context):
    for table, a, b in (("relations", "entry_id", "related_entry_id"), ("organizations", "organization_id", "parent_id"),
                        ("topics", "topic_id", "parent_id"), ("jurisdictions", "jurisdiction_id", "parent_id")):
        if ctx.frame(table) is None:
            continue
        yield Spec(table, b, "self-reference", lambda df, a=a, b=b: df[b].isna() | (df[a] != df[b]).fillna(True).astype(bool),
                   lambda v, b=b: f"{b} {quote(v)} points at the row itself", "point at another row, or leave it empty")
