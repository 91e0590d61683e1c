"""The rules that no single column can express: one function per rule.

Each function takes the check context and yields `Spec`s (a table, the column to point at,
and a Polars expression that is True where a row is fine). `validate` runs them as pandera
checks together with the checks generated from the schemas. To add a rule, add a function
here and decorate it with `@rule`, or with `@rule(across=True)` when it reads other tables
than the one it checks: those run last, on the key columns of every table.
"""
from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Callable, Iterator

import polars as pl

from .engine import ACROSS_ROWS, Context, Spec, among, distinct, member, typed
from ..reading.fieldtypes import fullmatch
from ..reading.problems import quote

RULES: list[Callable[[Context], Iterator[Spec]]] = []  # rules within one table
ACROSS: list[Callable[[Context], Iterator[Spec]]] = []  # rules that read other tables

# Events of an entry's lifecycle that must come in this order when both are present.
LIFECYCLE_ORDER = [
    ("proposed", "adopted"), ("proposed", "in-force"), ("adopted", "in-force"), ("signed", "published"),
    ("signed", "in-force"), ("published", "in-force"), ("promulgated", "in-force"), ("in-force", "repealed"),
    ("adopted", "repealed"), ("published", "repealed"), ("published-online", "published-print"),
    ("in-force", "applies"), ("adopted", "applies"), ("started", "ended"), ("launched", "ended"), ("filed", "accepted"), ("filed", "ruled"), ("accepted", "ruled"),
    ("introduced", "passed-chamber"), ("introduced", "adopted"), ("passed-chamber", "adopted"), ("introduced", "vetoed"),
    ("passed-chamber", "vetoed"), ("introduced", "lapsed"),
]
# Dates that may lie in the future: the date a target is to be reached.
FUTURE_ALLOWED = {"target_date"}
FORMULA_START = ("=", "+", "-", "@")
# What Python's str.strip() removes: Unicode White_Space and the separators U+001C..U+001F.
WHITESPACE = r"[\s\x1c-\x1f]"


def rule(fn=None, *, across: bool = False):
    def register(f):
        (ACROSS if across else RULES).append(f)
        return f

    return register(fn) if fn is not None else register


def today() -> _dt.date:
    return _dt.date.today()


def _readable(ctx: Context, *names: str) -> bool:
    return all(ctx.data(n) is not None for n in names)


def _tables(ctx: Context):
    """The readable tables in view, with their Table objects."""
    for name, table in ctx.package.tables.items():
        if ctx.data(name) is not None:
            yield name, table


def _sorted_strings(values) -> pl.Series:
    return pl.Series(sorted(v for v in values if v is not None), dtype=pl.String)


def _date_pairs(ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(table, date column, precision column) for every date with a precision companion."""
    for name, table in _tables(ctx):
        for column, field in table.fields.items():
            if field.precision is not None:
                yield name, column, field.precision


@rule(across=True)
def every_entry_has_a_source(ctx: Context):
    if not _readable(ctx, "entries", "entry_sources"):
        return
    cited = ctx.values("entry_sources", "entry_id")
    yield Spec("entries", "entry_id", "entry-has-source", message=lambda v: f"entry {quote(v)} cites no source",
               hint="add a row for it to data/entry_sources.csv", **among("entry_id", cited))


@rule(across=True)
def every_source_is_cited(ctx: Context):
    if not _readable(ctx, "sources"):
        return
    cited = ctx.cited if ctx.cited is not None else CitedSources(ctx)
    for table in ctx.package.tables.values():  # the citations not narrowed as their table was read
        if ctx.data(table.name) is not None and table.name not in cited.done:
            cited.add(table, ctx.data(table.name))
    yield Spec("sources", "source_id", "source-cited", ~member(pl.col("source_id"), cited.uncited()),
               lambda v: f"source {quote(v)} is not cited by any entry, date, figure or organization", "cite it in data/entry_sources.csv, or remove it")


class CitedSources:
    """The sources that no citation names, narrowed by each citing column (from the schemas'
    foreign keys) as its table is read, a block at a time: the citing columns need not be
    kept (two million dates' citations: 32 MB) once the sources' IDs are known.

    A column is narrowed by a slice at a time (the hash set holds a slice, not millions of
    citations; a slice's missing values are dropped from the slice, not from a copy of the
    whole column); usually no source is left after the first table. `is_in` makes only the
    narrowed list; an anti-join also hashes the list at every slice (a million sources:
    +17 MB against +42 MB)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.left: pl.Series | None = None
        self.done: set[str] = set()  # the tables whose every row narrowed the list

    @staticmethod
    def columns(table) -> list[str]:
        return [r.fields[0] for r in table.references if r.resource == "sources" and len(r.fields) == 1]

    def ready(self) -> bool:
        """Whether the sources' IDs are known (the sources were read before)."""
        sources = self.ctx.data("sources")
        return sources is not None and "source_id" in sources.columns

    def add(self, table, rows: pl.DataFrame) -> None:
        """Narrow the list by the citations in `rows`, some or all of the rows of `table`."""
        if not self.ready():
            return
        for column in (c for c in self.columns(table) if c in rows.columns):
            values = rows.get_column(column)
            for start in range(0, len(values), ACROSS_ROWS):
                if not len(self.uncited()):
                    break
                self.left = self.left.filter(~member(self.left, values.slice(start, ACROSS_ROWS).drop_nulls()))

    def read(self, table) -> None:
        """Every row of `table` was added: its citing columns need not be kept."""
        if self.ready():
            self.done.add(table.name)

    def uncited(self) -> pl.Series:
        if self.left is None:
            self.left = self.ctx.values("sources", "source_id")
        return self.left


@rule
def dates_are_not_in_the_future(ctx: Context):
    now = today()
    for name, table in _tables(ctx):
        for column, field in table.fields.items():
            if field.type != "date" or column in FUTURE_ALLOWED:
                continue
            value, derive = typed(column, field)
            yield Spec(name, column, "future-date", value <= now, lambda v, c=column: f"{c} {quote(v)} is in the future",
                       "record only what has happened; a planned date belongs in the summary or a target figure", derive=derive, reads=(column,))


@rule
def dates_agree_with_their_precision(ctx: Context):
    for name, column, precision in _date_pairs(ctx):
        value, derive = typed(column, ctx.package.tables[name].fields[column])  # the type check reads it too
        valid = value.is_not_null()
        prec, text = pl.col(precision), pl.col(column)
        # A valid date is YYYY-MM-DD: its day is 1 when it ends in -01 (and so on), read from the text.
        bad_month = (prec == "month") & ~text.str.ends_with("-01")
        bad_year = (prec == "year") & ~text.str.ends_with("-01-01")
        yield Spec(name, column, "date-precision", ~((bad_month | bad_year) & valid), lambda v, c=column, p=precision: f"{c} {quote(v)} disagrees with its precision in {p}",
                   "a month-precision date is written YYYY-MM-01 and a year-precision date YYYY-01-01", derive=derive, reads=(column, precision))
        yield Spec(name, precision, "date-precision", pl.col(column).is_not_null() == prec.is_not_null(),
                   lambda v, c=column, p=precision: f"{c} and {p} must be given together", f"fill in both {column} and {precision}, or neither")


@rule
def lifecycles_are_in_order(ctx: Context):
    if not _readable(ctx, "entry_dates"):
        return
    events = set(ctx.values("entry_dates", "event").unique().to_list())
    order = [(before, after) for before, after in LIFECYCLE_ORDER if before in events and after in events]  # the pairs that can occur
    start, parse = typed("date", ctx.package.tables["entry_dates"].fields["date"])  # the date, parsed once for every check of it
    precision, event = pl.col("date_precision"), pl.col("event")
    befores = sorted({before for before, _ in order})

    def derive(frame: pl.LazyFrame) -> pl.LazyFrame:
        # The last day a date can mean: a month-precision date may be any day of its month.
        end = (pl.when(precision == "month").then(start.dt.month_end())
               .when(precision == "year").then(pl.date(start.dt.year(), 12, 31)).otherwise(start))
        # Per entry, the earliest date of each event that must come first (an event may occur on
        # several dates): a window over the entry's rows, which adds one column each, where a
        # join back to the rows would copy all of them. In key order, an entry's rows are one
        # run, and the runs are numbered instead of hashing the IDs (188,508 dates: 7 against 11 ms).
        ids = frame.select("entry_id").collect().get_column("entry_id")
        entry = pl.col("entry_id").rle_id() if ids.is_sorted(nulls_last=False) else pl.col("entry_id")
        return frame.with_columns(end.alias("_end"), *(pl.when(event == before).then(start).min().over(entry).alias(f"_first_{before}") for before in befores))

    fine = pl.lit(True)
    for before, after in order:  # the later event is the one flagged
        fine = fine & ~((event == after) & (pl.col(f"_first_{before}") > pl.col("_end"))).fill_null(False)
    yield Spec("entry_dates", "date", "lifecycle-order", fine, lambda v: f"date {quote(v)} comes before an event that must precede it in the lifecycle",
               "check both dates against the source: proposed <= adopted <= in-force <= repealed, signed <= published <= in-force",
               derive=(parse, derive) if order else None, reads=("entry_id", "event", "date", "date_precision"), group="entry_id")


CODE_SETS = {"alpha2": ("3166-1", ["alpha_2"]), "alpha3": ("3166-1", ["alpha_3"]), "subdivisions": ("3166-2", ["code"]),
             "currencies": ("4217", ["alpha_3"]), "languages": ("639-3", ["alpha_2", "alpha_3"]), "scripts": ("15924", ["alpha_4"])}


@lru_cache(maxsize=None)
def _code_sets() -> dict[str, list]:
    """The ISO codes the rules look up, from pycountry's JSON databases (read directly:
    building pycountry's objects for all 5,000 subdivisions takes 0.1 s, and the package is
    found without importing it). Parsing two of the files takes 15 ms, so the codes are kept
    in the cache under the files' sizes and times."""
    import hashlib
    import importlib.util
    import json
    import os

    from .metadata import cache_dir, keep

    folder = os.path.join(importlib.util.find_spec("pycountry").submodule_search_locations[0], "databases")
    paths = {standard: os.path.join(folder, f"iso{standard}.json") for standard, _ in CODE_SETS.values()}
    stamp = hashlib.sha256(repr(sorted((p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths.values())).encode()).hexdigest()[:32]
    try:
        return json.loads((cache_dir("iso-codes") / f"{stamp}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    records = {}
    for standard, path in paths.items():
        with open(path, encoding="utf-8") as fh:
            records[standard] = json.load(fh)[standard]
    sets = {name: sorted({r[k] for r in records[standard] for k in keys if k in r}) for name, (standard, keys) in CODE_SETS.items()}
    sets["alpha2to3"] = {c["alpha_2"]: c["alpha_3"] for c in records["3166-1"]}
    keep("iso-codes", f"{stamp}.json", json.dumps(sets))
    return sets


@lru_cache(maxsize=None)
def _code_set(name: str):
    codes = _code_sets()[name]
    return codes if isinstance(codes, dict) else set(codes)


@lru_cache(maxsize=None)
def _code_series(name: str) -> pl.Series:
    """The codes of a set as a sorted Series, made once (the checks are made again for every block)."""
    return _sorted_strings(_code_set(name))


@rule
def currency_units_are_iso_4217(ctx: Context):
    if not _readable(ctx, "figures"):
        return
    unit = pl.col("unit")
    yield Spec("figures", "unit", "currency", ~unit.str.contains("^[A-Z]{3}$") | member(unit, _code_series("currencies")),
               lambda v: f"unit {quote(v)} is not an ISO 4217 currency code", "use a code such as CNY, USD, EUR, GBP or JPY")


def bcp47_valid(tag: str) -> bool:
    parts = tag.split("-")
    if parts[0].lower() != parts[0] or parts[0] not in _code_set("languages"):
        return False
    for sub in parts[1:]:
        if len(sub) == 4 and sub.isalpha():
            if sub.title() not in _code_set("scripts") or sub != sub.title():
                return False
        elif len(sub) == 2 and sub.isalpha():
            if sub.upper() not in _code_set("alpha2") or sub != sub.upper():
                return False
        elif len(sub) == 3 and sub.isdigit():
            continue
        elif not (5 <= len(sub) <= 8 and sub.isalnum()):
            return False
    return True


@rule
def languages_are_bcp47(ctx: Context):
    for name, table in _tables(ctx):
        if "language" not in table.fields:
            continue
        valid = _sorted_strings(v for v in ctx.values(name, "language").unique().to_list() if bcp47_valid(v))  # each distinct tag judged once
        pattern = table.fields["language"].pattern
        shaped = fullmatch(pl.col("language"), pattern) if pattern else pl.lit(True)  # a tag of the wrong shape is reported once, by [pattern]
        yield Spec(name, "language", "language", member(pl.col("language"), valid) | ~shaped, lambda v: f"language {quote(v)} is not a valid BCP 47 tag",
                   "use an ISO 639 language code with optional script and region, like en, zh, zh-Hans or pt-BR")


@rule
def jurisdiction_codes_are_iso(ctx: Context):
    if not _readable(ctx, "jurisdictions"):
        return
    jid, level, iso3 = pl.col("jurisdiction_id"), pl.col("level"), pl.col("iso3")
    alpha2 = _code_series("alpha2")
    country = (level == "country") & ~member(jid, alpha2)
    subdivision = (level == "subdivision") & ~member(jid, _code_series("subdivisions"))
    other = level.is_in(["supranational", "international"]) & member(jid, alpha2)
    yield Spec("jurisdictions", "jurisdiction_id", "jurisdiction-code", ~(country | subdivision | other).fill_null(False),
               lambda v: f"jurisdiction_id {quote(v)} is not a valid ISO code for its level",
               "countries use ISO 3166-1 alpha-2 (CN), subdivisions ISO 3166-2 (CN-BJ); a supranational ID must not be a country code")
    expected = jid.replace_strict(_code_set("alpha2to3"), default=None, return_dtype=pl.String)
    yield Spec("jurisdictions", "iso3", "jurisdiction-code", (iso3 == expected).fill_null(False) | ((level != "country") & iso3.is_null()),
               lambda v: f"iso3 {quote(v)} does not match the country's ISO 3166-1 alpha-3 code",
               "countries need their alpha-3 code (CN -> CHN); other levels leave it empty")
    yield Spec("jurisdictions", "parent_id", "jurisdiction-code",
               (level != "subdivision") | (pl.col("parent_id") == jid.str.split("-").list.first()).fill_null(False),
               lambda v: f"parent_id {quote(v)} is not the country of this subdivision",
               "a subdivision's parent is the country in the first part of its code (CN-BJ -> CN)")


def _free_text_fields(ctx: Context) -> Iterator[tuple[str, str]]:
    """String fields without a pattern or enum: the ones a person types freely."""
    for name, table in _tables(ctx):
        for column, field in table.fields.items():
            if field.type == "string" and field.pattern is None and field.enum is None:
                yield name, column


@rule
def no_formula_like_text(ctx: Context):
    starts = "^[" + "".join("\\" + c for c in FORMULA_START) + "]"
    for name, column in _free_text_fields(ctx):
        yield Spec(name, column, "formula", ~pl.col(column).str.contains(starts),
                   lambda v, c=column: f"{c} {quote(v)} starts with a character that spreadsheets run as a formula",
                   "reword the text so that it does not start with =, +, - or @")


@rule
def no_surrounding_whitespace(ctx: Context):
    for name, column in _free_text_fields(ctx):
        # Two anchored searches: one pattern with both anchors would scan every character.
        yield Spec(name, column, "whitespace", ~(pl.col(column).str.contains(f"^{WHITESPACE}") | pl.col(column).str.contains(f"{WHITESPACE}$")),
                   lambda v, c=column: f"{c} {quote(v)} has leading or trailing whitespace", "remove the spaces at the start and end of the cell")


@rule
def titles_are_unique_per_jurisdiction(ctx: Context):
    if not _readable(ctx, "entries"):
        return
    yield distinct("entries", ("jurisdiction_id", "title"), pl.col("title").is_null(), "title", "duplicate-title",
                   lambda v: f"title {quote(v)} is already used by another entry of the same jurisdiction",
                   "make the titles distinct (add the year or the issuer), or merge the entries")


@rule
def one_source_a_page(ctx: Context):
    """A page is one source: a second citation of the same address reuses its source_id, so
    that a correction to the page's record reaches every entry that cites it."""
    if not _readable(ctx, "sources"):
        return
    yield distinct("sources", ("url",), pl.col("url").is_null(), "url", "source-url",
                   lambda v: f"url {quote(v)} is already the address of an earlier source",
                   "cite the earlier source's source_id (search data/sources.csv for the address) and remove this row")


@rule
def only_targets_have_target_dates(ctx: Context):
    if not _readable(ctx, "figures"):
        return
    yield Spec("figures", "target_date", "target-date", pl.col("target_date").is_null() | pl.col("basis").is_in(["target", "planned"]).fill_null(False),
               lambda v: f"target_date {quote(v)} is given for a figure whose basis is not target or planned",
               "set basis to target or planned, or move the date to as_of")


@rule
def founding_dates_have_a_source(ctx: Context):
    if not _readable(ctx, "organizations"):
        return
    yield Spec("organizations", "source_id", "founded-source", pl.col("founded").is_null() | pl.col("source_id").is_not_null(),
               lambda v: "founded is given but source_id is empty", "name the source that gives the founding date in source_id")


@rule
def nothing_points_at_itself(ctx: Context):
    for table, a, b in (("relations", "entry_id", "related_entry_id"), ("organizations", "organization_id", "parent_id"),
                        ("topics", "topic_id", "parent_id"), ("jurisdictions", "jurisdiction_id", "parent_id")):
        if ctx.data(table) is None:
            continue
        yield Spec(table, b, "self-reference", pl.col(b).is_null() | (pl.col(a) != pl.col(b)).fill_null(True),
                   lambda v, b=b: f"{b} {quote(v)} points at the row itself", "point at another row, or leave it empty")


# Kinds of entry that are documents: they have a title of their own, never a description.
DOCUMENT_KINDS = ("strategy", "plan", "law", "regulation", "executive-order", "guideline", "standard", "recommendation",
                  "declaration", "resolution", "treaty", "report", "white-paper", "research-paper", "commentary")
# Columns that the rules across tables read besides the keys that foreign keys point at (kept
# after each table's own checks): the IDs that released IDs are compared with, the citations of
# every entry and source, the titles other names must differ from (as hashes: `KEPT_DERIVED`),
# the checklist's rows.
ACROSS_COLUMNS = {"entries": {"entry_id", "_title_key", "title_source_id"}, "jurisdictions": {"jurisdiction_id", "level"},
                  "entry_sources": {"entry_id", "source_id"}, "entry_names": {"entry_id", "name"}, "checklist": {"jurisdiction_id", "item"},
                  "retired": {"table_name", "id"}}


def across_columns(package) -> dict[str, set[str]]:
    """`ACROSS_COLUMNS`, and the IDs of every table with a one-column primary key (released IDs
    are compared with them). The columns that cite a source are kept only when the sources
    are not read yet (`CitedSources`)."""
    out = {name: set(columns) for name, columns in ACROSS_COLUMNS.items()}
    for name, table in package.tables.items():
        if len(table.primary_key) == 1:
            out.setdefault(name, set()).add(table.primary_key[0])
    return out
# The form of an identifier in each scheme of data/identifiers.csv.
IDENTIFIER_FORMS = {
    "celex": (r"^[0-9CE][0-9]{4}[A-Z]{1,2}[0-9]{4}([A-Z0-9()_-]*)$", "a CELEX number such as 32024R1689 or 52021PC0206"),
    "eli": (r"^https?://[^\s]+/eli/[^\s]+$", "a full ELI address such as http://data.europa.eu/eli/reg/2024/1689/oj"),
    "federal-register": (r"^(E[0-9]-)?[0-9]{2,4}-[0-9]{4,5}$", "a Federal Register document number such as 2023-24283"),
    "congress-bill": (r"^[0-9]{2,3}-(hr|s|hres|sres|hjres|sjres|hconres|sconres)-[0-9]+$", "congress, bill type and number in lower case, such as 118-hr-4763 or 119-s-146"),
    "wikidata": (r"^Q[1-9][0-9]*$", "a Wikidata item such as Q42"),
    "oecd-ai": (r"^https://oecd\.ai/[^\s]+$", "an OECD.AI address starting https://oecd.ai/"),
    "agora": (r"^https://agora\.eto\.tech/instrument/[0-9]+$", "an AGORA address such as https://agora.eto.tech/instrument/1234"),
}


def _pair(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Two key columns as one string, to look pairs up in another table's pairs."""
    return pl.concat_str([a, b], separator="\x1f")


def _title_key(entry: pl.Expr, title: pl.Expr) -> pl.Expr:
    """A 64-bit hash of an entry and a title in lower case: what is kept of the titles
    (a million titles: 8 MB instead of 50 MB), to find the other names that may repeat one."""
    return _pair(entry, title.str.to_lowercase()).hash()


def _reread(ctx: Context, name: str, columns: list[str]) -> pl.DataFrame:
    """Columns of a table that were not kept, read again (when a hash says they may matter)."""
    from ..reading.package import read_package

    data = read_package(ctx.package.root, strict=False, tables=[name]).tables[name].data
    return data.select(columns) if data is not None else pl.DataFrame(schema={c: pl.String for c in columns})


# Kept columns that are made from a table's columns (named with a leading `_`).
KEPT_DERIVED = {"entries": {"_title_key": _title_key(pl.col("entry_id"), pl.col("title"))}}


def kept(name: str, columns: list[str], keep: set[str]) -> list[pl.Expr]:
    """What is kept of a table's columns: those in `keep`, in their order, and the derived ones."""
    return [pl.col(c) for c in columns if c in keep] + [expr.alias(n) for n, expr in KEPT_DERIVED.get(name, {}).items()
                                                        if n in keep and set(expr.meta.root_names()) <= set(columns)]


def _is_english(language: pl.Expr) -> pl.Expr:
    return (language == "en") | language.str.starts_with("en-")


# What a curator adds to a title to say a document's stage or edition, always in lower case:
# "(draft)", "(withdrawn)", ", preliminary draft". `status` and the dates say that. An issuer
# that prints it in its own title capitalises it ("... (Draft)"), which is left alone.
EDITORIAL_QUALIFIER = (r"(\((draft|draft guidance|proposal|proposed|proposed rules?|withdrawn|reintroduced|vetoed|lapsed|repealed"
                       r"|superseded|revoked|special audit|first edition|second edition)\)|, (preliminary |public )?draft)$")


@rule
def titles_say_where_they_come_from(ctx: Context):
    if not _readable(ctx, "entries"):
        return
    prov, source = pl.col("title_provenance"), pl.col("title_source_id")
    translations = ["official-translation", "third-party-translation", "own-translation"]
    translated = prov.is_in(translations)
    yield Spec("entries", "title_provenance", "title-provenance", ~(_is_english(pl.col("language")) & translated).fill_null(False),
               lambda v: f"title_provenance {quote(v)} is a translation, but the entry's language is English",
               "an English-language entry's title is the issuer's own: use official (composed when the official title was not seen; description for an event without a title)")
    yield Spec("entries", "title_source_id", "title-provenance", ((prov == "third-party-translation") == source.is_not_null()).fill_null(True),
               lambda v: "title_source_id must be given exactly when title_provenance is third-party-translation",
               "name the cited source whose translation the title is in title_source_id, or set title_provenance to what the title is")
    yield Spec("entries", "title_provenance", "title-provenance", ~((prov == "description") & pl.col("kind").is_in(DOCUMENT_KINDS)).fill_null(False),
               lambda v: "a document has a description instead of a title (title_provenance \"description\")",
               "give the document's title (official, or a translation with its provenance); description is for events and institutions without a title")
    titled = prov.is_in(["official", *translations])  # a title, not the atlas's own words
    yield Spec("entries", "title", "title-provenance", ~(titled & pl.col("title").str.contains(EDITORIAL_QUALIFIER)).fill_null(False),
               lambda v: f"title {quote(v)} ends in a qualifier of the atlas's own, which is not part of the document's title",
               "drop the qualifier (the stage is in status, the edition in the dates), or set title_provenance to composed if the document's title was not seen")


@rule(across=True)
def title_translations_are_cited(ctx: Context):
    if not _readable(ctx, "entries", "entry_sources"):
        return
    named = ctx.data("entries").get_column("entry_id").filter(ctx.data("entries").get_column("title_source_id").is_not_null())
    cited = (ctx.data("entry_sources").filter(member(pl.col("entry_id"), named))  # the citations of the entries that name one
             .select(_pair(pl.col("entry_id"), pl.col("source_id")).alias("pair")).get_column("pair"))
    yield Spec("entries", "title_source_id", "title-source-cited",
               pl.col("title_source_id").is_null() | member(_pair(pl.col("entry_id"), pl.col("title_source_id")), cited),
               lambda v: f"title_source_id {quote(v)} is not one of the entry's cited sources",
               "cite that source for the entry in data/entry_sources.csv, or name one of its cited sources")


@rule(across=True)
def other_names_differ_from_the_title(ctx: Context):
    if not _readable(ctx, "entries", "entry_names"):
        return
    entries = ctx.data("entries")
    named = ctx.values("entry_names", "entry_id").unique()
    if "title" not in entries.columns:  # the titles were kept as hashes: the entries whose hash a name has are read again
        keys = entries.filter(member(pl.col("entry_id"), named)).get_column("_title_key")
        suspects = ctx.data("entry_names").filter(member(_title_key(pl.col("entry_id"), pl.col("name")), keys)).get_column("entry_id")
        entries = _reread(ctx, "entries", ["entry_id", "title"]) if len(suspects) else pl.DataFrame(schema={"entry_id": pl.String, "title": pl.String})
        named = suspects.unique()
    titles = (entries.filter(member(pl.col("entry_id"), named))  # the titles of the entries that have other names
              .select(_pair(pl.col("entry_id"), pl.col("title").str.to_lowercase()).alias("t")).get_column("t"))
    yield Spec("entry_names", "name", "other-name", ~member(_pair(pl.col("entry_id"), pl.col("name").str.to_lowercase()), titles).fill_null(False),
               lambda v: f"name {quote(v)} repeats the entry's title", "list only names other than the title; remove this row")


@rule
def identifiers_have_their_scheme_form(ctx: Context):
    if not _readable(ctx, "identifiers"):
        return
    scheme, value = pl.col("scheme"), pl.col("identifier")
    fine = pl.lit(True)
    for name, (pattern, _) in IDENTIFIER_FORMS.items():
        fine = fine & ~((scheme == name) & ~value.str.contains(pattern)).fill_null(False)
    forms = "; ".join(f"{name}: {text}" for name, (_, text) in IDENTIFIER_FORMS.items())
    yield Spec("identifiers", "identifier", "identifier-form", fine, lambda v: f"identifier {quote(v)} is not in the form of its scheme",
               f"write it as its scheme does ({forms})")


@rule
def checklist_items_name_their_entry(ctx: Context):
    if not _readable(ctx, "checklist"):
        return
    yield Spec("checklist", "entry_id", "checklist-entry", ((pl.col("status") == "present") == pl.col("entry_id").is_not_null()).fill_null(True),
               lambda v: "entry_id must be given exactly when status is present",
               "for present, name the entry that fulfils the item; for none-known or not-yet-checked, leave entry_id empty")


@rule(across=True)
def every_country_has_its_checklist(ctx: Context):
    """Every country and supranational body has a checklist row for each core item."""
    if not _readable(ctx, "jurisdictions", "checklist"):
        return
    items = ctx.package.tables["checklist"].fields["item"].enum
    have = ctx.data("checklist").select(_pair(pl.col("jurisdiction_id"), pl.col("item")).alias("k")).get_column("k")
    listed = ", ".join(items)

    def missing(jid: str) -> list[str]:
        present = set(have.filter(have.str.starts_with(jid + "\x1f")).str.split("\x1f").list.last().to_list())
        return [i for i in items if i not in present]

    complete = pl.lit(True)
    for item in items:
        complete = complete & member(_pair(pl.col("jurisdiction_id"), pl.lit(item)), have)
    yield Spec("jurisdictions", "jurisdiction_id", "checklist-complete", complete | (pl.col("level") == "subdivision"),
               lambda v: f"jurisdiction {quote(v)} lacks checklist rows for {', '.join(missing(str(v)))}",
               f"add a row to data/checklist.csv for each of {listed} (status not-yet-checked until someone reviews it)")


@rule
def local_titles_are_titles_in_another_language(ctx: Context):
    """`title_local` is the official title in the original language: never for an English
    original, and never a copy of the English title."""
    if not _readable(ctx, "entries"):
        return
    local = pl.col("title_local")
    yield Spec("entries", "title_local", "title-local", (local.is_null() | ~_is_english(pl.col("language"))).fill_null(True),
               lambda v: f"title_local {quote(v)} is given for an entry whose original language is English",
               "leave title_local empty: the English title is the official one (set title_provenance to official)")
    yield Spec("entries", "title_local", "title-local", (local.is_null() | (local != pl.col("title"))).fill_null(True),
               lambda v: f"title_local {quote(v)} repeats the English title",
               "put the title as officially published in the original language and script, or leave title_local empty")



@rule
def source_titles_are_titles_as_published(ctx: Context):
    """A source's title is the page's own title, as published. A curator's description in
    square brackets ("[Report on ...]") says what the page is, not what it is called: when a
    page's title cannot be read, `title_basis` says what `title` holds instead, and the
    brackets are for citations to add. A title that only begins with a bracketed label
    ("[IP Alert] How ...") is the publisher's own and is fine."""
    if not _readable(ctx, "sources"):
        return
    yield Spec("sources", "title", "source-title", ~pl.col("title").str.contains(r"^\[.*\]$").fill_null(False),
               lambda v: f"source title {quote(v)} is a description in brackets, not the title as published",
               "copy the page's title as published (its headline, in its language); if the page shows none, cite another page "
               "that does, or write the description without brackets and set title_basis to description")
