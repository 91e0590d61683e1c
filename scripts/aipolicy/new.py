"""`aipolicy new entry|organization|source|figure`: add rows without editing CSV by hand.

Every field of the table can be given as a flag (`--title`, `--jurisdiction-id`, ...); the
flags are generated from the schema, so a new column needs no change here. Where a flag is
missing and a terminal is attached, the command asks for the value, showing the field's
description. It proposes the ID, checks that every referenced ID exists (offering the
closest ones when not), adds the rows in canonical order, and validates the result in a
scratch copy of the package: nothing is written unless the whole package still validates.
"""
from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .reading.package import Package, PackageError, Table, read_package
from .reading.problems import Refused, report
from .reading.schema import Field, fields_of

KINDS = {"entry": "entries", "organization": "organizations", "source": "sources", "figure": "figures", "date": "entry_dates"}
# Link tables that `new entry` and `new source` fill from their own options.
STOP_WORDS = {"a", "an", "and", "the", "of", "on", "for", "in", "to", "by", "with", "its", "at"}


class NewRefused(Refused):
    """`aipolicy new` declined: the answers would not validate, or a reference is unknown."""


def slug(text: str, words: int = 6) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    parts = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    kept = [w for w in parts if w not in STOP_WORDS] or parts
    return "-".join(kept[:words])


# Organization kinds whose IDs start with their jurisdiction (`de-bmbf`): public bodies.
# Values of organizations.kind; a test holds them to the schema's enum.
PUBLIC_BODIES = frozenset({"government-body", "legislature", "court", "regulator", "party-body", "military", "advisory-body"})


def propose_id(kind: str, row: dict, package: Package) -> str | None:
    """An ID in the project's conventions, made unique by a numeric suffix if needed."""
    year = str(row.get("date") or row.get("as_of") or "")[:4]
    if kind == "entry" and row.get("title") and row.get("jurisdiction_id") and year:
        base = f"{row['jurisdiction_id'].lower()}-{year}-{slug(row['title'])}"
    elif kind == "source" and row.get("title"):
        who = slug(row.get("publisher") or row.get("container") or row.get("authors") or "source", 2)
        base = f"{who}-{year or 'nd'}-{slug(row['title'], 5)}"
    elif kind == "organization" and row.get("name"):
        name = slug(row.get("acronym") or row["name"], 5)
        public = row.get("kind") in PUBLIC_BODIES
        base = f"{row['jurisdiction_id'].lower()}-{name}" if public and row.get("jurisdiction_id") else name
    elif kind == "figure" and row.get("entry_id") and row.get("quantity"):
        base = f"{row['entry_id']}-{row['quantity']}"
    else:
        return None
    base = base.strip("-")[:72].strip("-")
    table = package[KINDS[kind]]
    key = table.primary_key[0]
    taken = set(table.data.get_column(key).drop_nulls().to_list()) if table.data is not None else set()
    retired = package.tables.get("retired")
    if retired is not None and retired.data is not None:
        taken |= {i for t, i in retired.data.select("table_name", "id").iter_rows() if t == table.name}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass
class Asker:
    """Asks for missing values on a terminal; never asks when none is attached."""

    interactive: bool
    out: object = field(default_factory=lambda: sys.stderr)

    def ask(self, name: str, spec: Field, default: str | None = None) -> str | None:
        if not self.interactive:
            return default
        need = "required" if spec.required else "optional, Enter to skip"
        choices = f" [{'/'.join(spec.enum)}]" if spec.enum is not None and len(spec.enum) <= 30 else ""
        shown = f" (default {default})" if default else ""
        print(f"{name} — {spec.description} ({need}){choices}{shown}", file=self.out)
        while True:
            try:
                value = input("> ").strip()
            except EOFError:
                return default
            value = value or default or ""
            wrong = answer_problem(name, value, spec)
            if wrong is None:
                return value or None
            print(f"{wrong}; please try again", file=self.out)  # checked as typed: nothing typed so far is lost


def answer_problem(name: str, value: str, spec: Field) -> str | None:
    """What is wrong with one typed value, by the field's schema; None when it is fine. The
    same rules as the validator, for one cell, so that a contributor hears of a mistake at once."""
    import datetime as dt

    c = spec.constraints
    if not value:
        return f"{name} is required" if spec.required else None
    if spec.enum is not None and value not in spec.enum:
        close = difflib.get_close_matches(value, spec.enum, n=1)
        return f"{name} {value!r} is not one of the allowed values" + (f" (did you mean {close[0]}?)" if close else "")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        from .checking.engine import pattern_hint

        return f"{name} {value!r} does not have the right form: {pattern_hint(name, spec.pattern)}"
    kind = spec.type
    try:
        if kind == "date":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            dt.date.fromisoformat(value)
        elif kind == "number":
            float(value)
        elif kind == "integer":
            int(value)
    except ValueError:
        return f"{name} {value!r} is not a valid {kind}" + (" (YYYY-MM-DD)" if kind == "date" else "")
    if "maxLength" in c and len(value) > c["maxLength"]:
        return f"{name} is {len(value)} characters long, longer than the limit of {c['maxLength']}"
    if name == "language" or name.endswith("_language"):
        from .checking.rules import bcp47_valid

        if not bcp47_valid(value):
            return f"{name} {value!r} is not a valid BCP 47 tag (like en, zh, zh-Hans or pt-BR)"
    return None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, root: Path | None = None) -> None:
    """One flag per field of each table, taken from the schemas."""
    from .reading.package import find_root

    try:
        schemas = find_root(root) / "schemas"
    except PackageError:
        schemas = Path(__file__).resolve().parents[2] / "schemas"
    sub = parser.add_subparsers(dest="new_kind", required=True, metavar="KIND")
    for kind, table in KINDS.items():
        p = sub.add_parser(kind, help=f"add a row to data/{table}.csv")
        for f in fields_for(table, schemas):
            p.add_argument(_flag(f.name), dest=f.name, default=None, help=f.description)
        if kind == "entry":
            p.add_argument("--source", dest="link_source", default=None, help="source_id of the source this entry cites (an existing one, or the new one described by --source-* flags)")
            for f in fields_for("sources", schemas):
                if f.name != "source_id":
                    p.add_argument("--source-" + f.name.replace("_", "-"), dest="source__" + f.name, default=None, help=f"for a new source: {f.description}")
            p.add_argument("--locator", dest="link_locator", default=None, help="where in the source (page, section)")
            p.add_argument("--topic", dest="link_topics", action="append", default=[], help="a topic_id (repeatable)")
            p.add_argument("--organization", dest="link_orgs", action="append", default=[], help="ORGANIZATION_ID:ROLE (repeatable)")
            p.add_argument("--other-name", dest="link_names", action="append", default=[],
                           help="KIND:LANGUAGE:NAME, another name the entry is known by, such as popular-name:en:Colorado AI Act (repeatable)")
            p.add_argument("--identifier", dest="link_identifiers", action="append", default=[],
                           help="SCHEME:IDENTIFIER in another system, such as celex:32024R1689 (repeatable)")
        if kind == "source":
            p.add_argument("--cite-from", dest="link_entry", default=None, help="entry_id of the entry that cites this source")
            p.add_argument("--locator", dest="link_locator", default=None, help="where in the source (page, section)")
        p.add_argument("--path", dest="package_path", default=None, help="the package folder")
        p.add_argument("--yes", action="store_true", help="never prompt, even on a terminal")


def fields_for(table: str, schemas: Path) -> list[Field]:
    """A table's fields, for the command's flags (read before the package is: the flags come first)."""
    import json

    path = schemas / f"{table}.schema.json"
    return list(fields_of(json.loads(path.read_text(encoding="utf-8"))).values()) if path.is_file() else []


def _fill(table: Table, given: dict, asker: Asker, kind: str, package: Package, id_field: str) -> dict:
    row: dict[str, str | None] = {}
    order = [n for n in table.field_names if n != id_field] + ([id_field] if id_field else [])
    dated = {f.precision: n for n, f in table.fields.items() if f.precision}  # precision column -> its date
    referring = {r.fields[0] for r in table.references if len(r.fields) == 1 and r.fields != [id_field]}  # single-column foreign keys
    for name in order:
        spec = table.fields[name]
        value = given.get(name)
        if value is None and name == id_field:
            proposed = propose_id(kind, row, package)
            value = asker.ask(name, spec, proposed) if asker.interactive else proposed
        elif value is None:
            default = "day" if name in dated and row.get(dated[name]) else None
            if name == "accessed":
                import datetime as dt

                default = dt.date.today().isoformat()
            if spec.required or asker.interactive:
                value = asker.ask(name, spec, default) if asker.interactive else default
            else:
                value = default
        row[name] = value or None
        if name in referring and row[name]:
            row[name] = _checked_reference(package, table, name, row[name], asker, spec)
    return row


def _checked_reference(package: Package, table: Table, column: str, value: str, asker: Asker, spec: Field) -> str:
    from .checking.engine import reference_hint

    for reference in table.references:
        if reference.fields == [column]:
            target = package.tables.get(reference.resource)
            ref = reference.ref_fields[0]
            if target is None or target.data is None:
                return value
            known = sorted(target.data.get_column(ref).drop_nulls().to_list())
            while value not in known:
                hint = reference_hint(value, known, reference.resource, target.path)
                if reference.resource == "sources" and not hint.startswith("did you mean"):
                    hint = ("to cite a new source, describe it with --source-kind, --source-title, --source-url, --source-language "
                            "(and --source-publisher, --source-date); or give the source_id of an existing source")
                if not asker.interactive:
                    raise NewRefused(f"{column} {value!r} is not a {ref} in {target.path}; {hint}")
                print(f"{column} {value!r} does not exist; {hint}", file=asker.out)
                close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
                value = asker.ask(column, spec, close[0] if close else None) or ""
    return value


def _append(package: Package, name: str, rows: list[dict]) -> None:
    table = package[name]
    import polars as pl

    extra = pl.DataFrame([[r.get(k) for k in table.field_names] for r in rows], schema={k: pl.String for k in table.field_names}, orient="row")
    table.data = pl.concat([table.data, extra]) if table.data is not None and len(table.data) else extra


def new(kind: str, args: dict, interactive: bool) -> tuple[list[str], dict]:
    """Add the rows; returns the files written and the main row. Raises Refused when invalid."""
    from .checking.validate import validate

    package = read_package(args.get("package_path"), strict=False)
    if any(t.data is None for t in package.tables.values()):
        raise NewRefused("the package cannot be read; run `aipolicy validate` first")
    asker = Asker(interactive)
    name = KINDS[kind]
    table = package[name]
    id_field = table.primary_key[0] if len(table.primary_key) == 1 else None  # a lifecycle date has no ID of its own
    row = _fill(table, {k: v for k, v in args.items() if k in table.fields}, asker, kind, package, id_field)
    changes: dict[str, list[dict]] = {name: [row]}
    if kind == "entry":
        source_id = args.get("link_source")
        source_fields = {k[len("source__"):]: v for k, v in args.items() if k.startswith("source__") and v is not None}
        if source_fields:  # a new source, described inline
            src_table = package["sources"]
            src = _fill(src_table, {**source_fields, "source_id": source_id}, asker, "source", package, "source_id")
            changes["sources"] = [src]
            source_id = src["source_id"]
        elif source_id is None and interactive:
            source_id = asker.ask("source", Field("source", description="source_id of an existing source that supports this entry", constraints={"required": True}))
        if not source_id:
            raise NewRefused("an entry needs at least one source: give --source SOURCE_ID for a source the atlas has, or describe a new "
                          "one with --source-kind, --source-title, --source-url and --source-language")
        if source_id:
            if "sources" not in changes:
                source_id = _checked_reference(package, package["entry_sources"], "source_id", source_id, asker, {"description": "source"})
            changes["entry_sources"] = [{"entry_id": row["entry_id"], "source_id": source_id, "locator": args.get("link_locator")}]
        topics = list(args.get("link_topics") or [])
        if not topics and interactive:
            known = ", ".join(sorted(package["topics"].data.get_column("topic_id").to_list()))
            typed = asker.ask("topics", Field("topics", description=f"topic_ids, separated by commas, from: {known}"))
            topics = [t.strip() for t in (typed or "").split(",") if t.strip()]
        changes["entry_topics"] = [{"entry_id": row["entry_id"], "topic_id": _checked_reference(package, package["entry_topics"], "topic_id", t, asker, {})}
                                   for t in topics]
        org_items = list(args.get("link_orgs") or [])
        if not org_items and interactive:
            typed = asker.ask("organizations", Field("organizations", description="ORGANIZATION_ID:ROLE pairs, separated by commas (roles: issuer, author, funder, ...)"))
            org_items = [t.strip() for t in (typed or "").split(",") if t.strip()]
        orgs = []
        for item in org_items:
            org, _, role = item.partition(":")
            orgs.append({"entry_id": row["entry_id"], "organization_id": _checked_reference(package, package["entry_organizations"], "organization_id", org, asker, {}), "role": role or None})
        changes["entry_organizations"] = orgs
        dates = []
        if interactive and source_id:
            typed = asker.ask("lifecycle", Field("lifecycle", description="dated events as EVENT:YYYY-MM-DD, separated by commas (introduced, adopted, signed, published, in-force, ...), each sourced by the entry's source"))
            for item in [t.strip() for t in (typed or "").split(",") if t.strip()]:
                event, _, day = item.partition(":")
                dates.append({"entry_id": row["entry_id"], "event": event, "date": day, "date_precision": "day", "source_id": source_id})
        changes["entry_dates"] = dates
        names = []
        for item in args.get("link_names") or []:
            kind_, _, rest = item.partition(":")
            language, _, text = rest.partition(":")
            if not text:
                raise NewRefused(f"--other-name {item!r} is not KIND:LANGUAGE:NAME (for example popular-name:en:Colorado AI Act)")
            names.append({"entry_id": row["entry_id"], "name": text, "kind": kind_, "language": language})
        changes["entry_names"] = names
        idents = []
        for item in args.get("link_identifiers") or []:
            scheme, _, value = item.partition(":")
            if not value:
                raise NewRefused(f"--identifier {item!r} is not SCHEME:IDENTIFIER (for example celex:32024R1689)")
            idents.append({"entry_id": row["entry_id"], "scheme": scheme, "identifier": value})
        changes["identifiers"] = idents
    if kind == "source" and args.get("link_entry"):
        entry = _checked_reference(package, package["entry_sources"], "entry_id", args["link_entry"], asker, {})
        changes["entry_sources"] = [{"entry_id": entry, "source_id": row["source_id"], "locator": args.get("link_locator")}]
    for target, rows in changes.items():
        if rows:
            _append(package, target, rows)
    from .reading.canonical import canonical_bytes, write_atomic

    written = [package[t].path for t, rows in changes.items() if rows]
    # Validate the whole package as it would be, in a scratch copy; write only if it is valid.
    with tempfile.TemporaryDirectory(prefix="aipolicy-new-") as tmp:
        scratch = Path(tmp)
        for item in ["datapackage.json", "CITATION.cff", "CHANGELOG.md"]:
            if (package.root / item).is_file():
                shutil.copy(package.root / item, scratch / item)
        shutil.copytree(package.root / "schemas", scratch / "schemas")
        shutil.copytree(package.root / "data", scratch / "data")
        for t, rows in changes.items():
            if rows:
                (scratch / package[t].path).write_bytes(canonical_bytes(package[t]))
        problems = validate(scratch)
    if problems:
        raise NewRefused("nothing was written: the new rows would not validate", problems)
    for t, rows in changes.items():
        if rows:
            write_atomic(package.root / package[t].path, canonical_bytes(package[t]))
    return written, row


def main(args: argparse.Namespace) -> int:
    values = {k: v for k, v in vars(args).items() if k not in {"func", "command", "new_kind", "yes"}}
    interactive = sys.stdin.isatty() and not args.yes
    kind = args.new_kind
    try:
        written, row = new(kind, values, interactive)
    except NewRefused as exc:
        if exc.problems:
            print(report(exc.problems, "text"), file=sys.stderr)
        print(f"aipolicy new {kind}: {exc}", file=sys.stderr)
        return 1
    ident = row.get({"entry": "entry_id", "organization": "organization_id", "source": "source_id", "figure": "figure_id", "date": "entry_id"}[kind])
    if kind == "date":
        ident = f"{row.get('event')} {row.get('date')} of {ident}"
    print(f"added {kind} {ident}; wrote {', '.join(written)}")
    return 0
