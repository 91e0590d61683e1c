"""`aipolicy build`: every release artifact, from one validated load, byte-reproducible.

All artifacts are written into a fresh temporary folder that replaces `dist/` only when
everything has been written: a failed build leaves the previous `dist/` as it was.
Timestamps inside the zip come from the release date in CITATION.cff, entries are sorted,
and SQLite rows are inserted in canonical order, so the same commit gives the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from . import bibtex

from . import cite

from . import money
from ..reading.canonical import canonical_bytes, canonical_frame, canonical_order
from .loader import typed_frame
from ..reading.package import Package, PackageError, Table, read_package
from ..reading.problems import Refused

# requirements.lock records the exact environment that built the release.
PACKAGE_FILES = ["README.md", "LICENSE", "LICENSE-DATA", "CITATION.cff", "CHANGELOG.md", "requirements.lock"]
SQL_TYPES = {"string": "TEXT", "date": "TEXT", "number": "REAL", "integer": "INTEGER", "boolean": "INTEGER"}


class BuildRefused(Refused):
    """The build declined: the data do not validate."""


def artifact_name(descriptor: dict, version: str) -> str:
    """The stem of every artifact's name: the data package's name and the version."""
    return f"{descriptor.get('name') or 'dataset'}-{version}"


def build(root: str | Path | None = None, dist: str | Path | None = None) -> Path:
    from ..checking.validate import validate_package

    package = read_package(root, strict=True)
    problems = validate_package(package)
    if problems:
        raise BuildRefused(f"the data do not validate ({len(problems)} problems); nothing was built", problems)
    dist = Path(dist) if dist else package.root / "dist"
    dist.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dist-", dir=dist.parent))
    try:
        write_artifacts(package, tmp)
        old = dist.with_name(dist.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if dist.exists():
            dist.rename(old)
        tmp.rename(dist)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dist


def write_artifacts(package: Package, out: Path) -> None:
    meta = cite.dataset_meta(package.root, package.descriptor)
    name = artifact_name(package.descriptor, meta.version)
    stamp = _zip_time(meta.date_released)
    (out / f"{name}.bib").write_text(bibliography(package, meta, biblatex=False), encoding="utf-8")
    (out / f"{name}.biblatex.bib").write_text(bibliography(package, meta, biblatex=True), encoding="utf-8")
    # Each table's canonical bytes and typed rows are computed once and shared by the artifacts.
    csv_files = {table.path: canonical_bytes(table) for table in package.tables.values()}
    write_zip(package, out / f"{name}.zip", name, stamp, (out / f"{name}.bib").read_bytes(), csv_files)
    rows = {table.name: _canonical_rows(table) for table in package.tables.values()}
    write_sqlite(package, out / f"{name}.sqlite", rows)
    for table in package.tables.values():
        write_parquet(rows[table.name][1], out / f"{name}.{table.name}.parquet", table, package.descriptor)
    (out / f"{name}.entries-flat.csv").write_bytes(flat_csv(package))
    converted = money.converted_figures(package["figures"].frame)
    (out / f"{name}.figures-usd-eur.csv").write_bytes(_csv_bytes(list(money.CONVERTED_COLUMNS), converted))
    write_converted_parquet(converted, out / f"{name}.figures_usd_eur.parquet", package.descriptor)
    (out / f"{name}.datasette.json").write_text(json.dumps(datasette_metadata(package, meta, name), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sums = "".join(f"{_sha256(p.read_bytes())}  {p.name}\n" for p in sorted(out.iterdir()) if p.is_file())
    (out / "SHA256SUMS").write_text(sums, encoding="utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip_time(date: str) -> tuple:
    try:
        day = dt.date.fromisoformat(str(date))
    except ValueError:
        day = dt.date(1980, 1, 1)
    return (max(day.year, 1980), day.month, day.day, 0, 0, 0)


def bibliography(package: Package, meta: cite.DatasetMeta, biblatex: bool) -> str:
    entries = [(meta.key, *cite.dataset_fields(meta, biblatex))]
    sources = canonical_frame(package["sources"])
    for row in sources.to_dict("records"):
        row = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        entries.append((row["source_id"], *bibtex.source_entry(row, biblatex, package["sources"].fields["date"].precision or "")))
    return bibtex.write_bib(entries)


def descriptor_with_hashes(package: Package, csv_files: dict[str, bytes]) -> dict:
    descriptor = json.loads(json.dumps(package.descriptor))
    for resource in descriptor["resources"]:
        data = csv_files[package[resource["name"]].path]
        resource["bytes"] = len(data)
        resource["hash"] = f"sha256:{_sha256(data)}"
    return descriptor


def write_zip(package: Package, path: Path, name: str, stamp: tuple, bib: bytes, csv_files: dict[str, bytes]) -> None:
    files: dict[str, bytes] = {"datapackage.json": (json.dumps(descriptor_with_hashes(package, csv_files), ensure_ascii=False, indent=2) + "\n").encode("utf-8")}
    for table in package.tables.values():
        files[table.path] = csv_files[table.path]
        schema_path = next(r["schema"] for r in package.descriptor["resources"] if r["name"] == table.name)
        if isinstance(schema_path, str):
            files[schema_path] = (package.root / schema_path).read_bytes()
    for extra in PACKAGE_FILES:
        if (package.root / extra).is_file():
            files[extra] = (package.root / extra).read_bytes()
    files["README.md"] = zip_readme(package, name).encode("utf-8")
    files[f"{name}.bib"] = bib
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for member in sorted(files):
            info = zipfile.ZipInfo(f"{name}/{member}", date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, files[member], compresslevel=9)


def zip_readme(package: Package, name: str) -> str:
    """The README inside the zip: what each file is and how to use it with the tools in it."""
    meta = cite.dataset_meta(package.root, package.descriptor)
    template = (Path(__file__).with_name("zip_readme.md")).read_text(encoding="utf-8")
    return template.format(title=meta.title, version=meta.version, name=name, description=package.descriptor.get("description", ""),
                           citation=cite.cite(meta, "text").strip())


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: Table) -> str:
    cols = []
    for name, field in table.fields.items():
        col = f"{_quote_ident(name)} {SQL_TYPES.get(field.type, 'TEXT')}"
        if field.required:
            col += " NOT NULL"
        if field.enum is not None:
            allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in field.enum)
            col += f" CHECK ({_quote_ident(name)} IN ({allowed}))"
        cols.append(col)
    if table.primary_key:
        cols.append(f"PRIMARY KEY ({', '.join(map(_quote_ident, table.primary_key))})")
    for ref in table.references:
        cols.append(f"FOREIGN KEY ({', '.join(map(_quote_ident, ref.fields))}) REFERENCES {_quote_ident(ref.resource)} ({', '.join(map(_quote_ident, ref.ref_fields))})")
    return f"CREATE TABLE {_quote_ident(table.name)} (\n  " + ",\n  ".join(cols) + "\n)"


def _canonical_rows(table: Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows in canonical order, as text and typed (same order, fresh index)."""
    frame = canonical_frame(table)
    typed = typed_frame(table)
    order = canonical_order(table)
    if order is not None:
        typed = typed.iloc[order.to_numpy()]
    return frame.reset_index(drop=True), typed.reset_index(drop=True)


def _texts(values: pd.Series) -> list[str | None]:
    """A column as Python text, None where missing (one pass, no per-cell pandas call)."""
    return [None if missing else str(v) for v, missing in zip(values.tolist(), values.isna().tolist())]


def _sql_values(table: Table, frame: pd.DataFrame, typed: pd.DataFrame) -> list[tuple]:
    columns = []
    for name, field in table.fields.items():
        kind = field.type
        if kind in ("number", "integer", "boolean"):
            values = typed[name].astype(object).where(typed[name].notna(), None)
            columns.append([None if v is None else (int(v) if kind != "number" else float(v)) for v in values])
        else:
            columns.append(_texts(frame[name]))
    return list(zip(*columns))


def write_sqlite(package: Package, path: Path, rows: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("BEGIN")
        con.execute("PRAGMA defer_foreign_keys = ON")  # rows may point at later rows of their own table
        for table in package.tables.values():
            con.execute(create_table_sql(table))
        for table in _dependency_order(package):
            marks = ", ".join("?" for _ in table.fields)
            con.executemany(f"INSERT INTO {_quote_ident(table.name)} VALUES ({marks})", _sql_values(table, *rows[table.name]))
        _write_derived(package, con)
        _write_converted(package, con)
        con.execute("COMMIT")
        bad = con.execute("PRAGMA foreign_key_check").fetchall()
        if bad:
            raise PackageError(f"SQLite foreign key check failed: {bad[:5]}")
    finally:
        con.close()


def _write_derived(package: Package, con: sqlite3.Connection) -> None:
    """What the release adds to the tables: an index on every foreign key, each jurisdiction's
    UN M49 region, and a full-text index of entries (titles, other names, summaries and the
    titles of their sources; trigram tokens, so that words of any script are found)."""
    from .regions import region_of

    for table in package.tables.values():
        for ref in table.references:
            if list(ref.fields) != list(table.primary_key[: len(ref.fields)]):
                cols = ", ".join(map(_quote_ident, ref.fields))
                con.execute(f"CREATE INDEX {_quote_ident('idx_' + table.name + '_' + '_'.join(ref.fields))} ON {_quote_ident(table.name)} ({cols})")
    con.execute('CREATE TABLE "jurisdiction_regions" ("jurisdiction_id" TEXT NOT NULL PRIMARY KEY REFERENCES "jurisdictions" ("jurisdiction_id"), '
                '"region" TEXT, "subregion" TEXT)')
    jur = package["jurisdictions"].frame
    con.executemany('INSERT INTO "jurisdiction_regions" VALUES (?, ?, ?)',
                    [(j, *region_of(j, level)) for j, level in sorted(zip(jur["jurisdiction_id"], jur["level"]))])
    con.execute("CREATE VIRTUAL TABLE entries_fts USING fts5(entry_id UNINDEXED, title, title_local, other_names, summary, source_titles, tokenize='trigram')")
    con.execute("""INSERT INTO entries_fts (rowid, entry_id, title, title_local, other_names, summary, source_titles)
        SELECT e.rowid, e.entry_id, e.title, coalesce(e.title_local, ''),
               coalesce((SELECT group_concat(name, ' | ') FROM (SELECT name FROM entry_names n WHERE n.entry_id = e.entry_id ORDER BY name)), ''),
               e.summary,
               coalesce((SELECT group_concat(title, ' | ') FROM (SELECT s.title FROM entry_sources es JOIN sources s USING (source_id)
                         WHERE es.entry_id = e.entry_id ORDER BY s.source_id)), '')
        FROM entries e ORDER BY e.entry_id""")


def _write_converted(package: Package, con: sqlite3.Connection) -> None:
    from .regions import source_version as regions_source

    cols = list(money.CONVERTED_COLUMNS)
    types = {"value": "REAL", "value_usd": "REAL", "value_eur": "REAL"}
    con.execute('CREATE TABLE "figures_usd_eur" (' + ", ".join(f'"{c}" {types.get(c, "TEXT")}' + (' NOT NULL PRIMARY KEY REFERENCES "figures" ("figure_id")' if c == "figure_id" else "") for c in cols) + ")")
    con.executemany(f'INSERT INTO "figures_usd_eur" VALUES ({", ".join("?" for _ in cols)})',
                    [tuple(r[c] for c in cols) for r in money.converted_figures(package["figures"].frame)])
    con.execute('CREATE TABLE "release_info" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)')
    con.executemany('INSERT INTO "release_info" VALUES (?, ?)', [("currency_rates", money.source_version()), ("regions", f"UN M49, from {regions_source()}")])


def _csv_bytes(columns: list[str], rows: list[dict]) -> bytes:
    from ..reading.fieldtypes import format_number

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else (format_number(row[c]) if isinstance(row[c], float) else row[c]) for c in columns])
    return out.getvalue().encode("utf-8")


def write_converted_parquet(rows: list[dict], path: Path, descriptor: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"value": pa.float64(), "value_usd": pa.float64(), "value_eur": pa.float64(), "as_of": pa.date32(), "rate_date": pa.date32()}
    fields = [pa.field(c, types.get(c, pa.string()), nullable=c not in ("figure_id", "entry_id", "value", "unit", "as_of"), metadata={"description": d})
              for c, d in money.CONVERTED_COLUMNS.items()]
    schema = pa.schema(fields, metadata={"dataset": str(descriptor.get("name", "")), "version": str(descriptor.get("version", "")),
                                         "table": "figures_usd_eur", "rates": money.source_version()})
    columns = {c: [r[c] for r in rows] for c in money.CONVERTED_COLUMNS}
    for c in ("as_of", "rate_date"):
        columns[c] = [None if v is None else dt.date.fromisoformat(v) for v in columns[c]]
    pq.write_table(pa.table(columns, schema=schema), path, compression="zstd")


def _dependency_order(package: Package) -> list[Table]:
    """Referenced tables first, so that rows are inserted with foreign keys enforced."""
    done: list[str] = []

    def visit(name: str, seen: tuple = ()) -> None:
        if name in done or name in seen:
            return
        for ref in package[name].references:
            if ref.resource != name:
                visit(ref.resource, seen + (name,))
        done.append(name)

    for name in package.tables:
        visit(name)
    return [package[n] for n in done]


def parquet_schema(table: Table, descriptor: dict):
    """The Arrow schema a table's Parquet file has: types from the Table Schema (dates as
    date32, enumerations as dictionaries in schema order), required fields non-null, each
    field's description, and the dataset's name, version and licence in the file metadata."""
    import pyarrow as pa

    types = {"string": pa.string(), "date": pa.date32(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
    fields = []
    for name, field in table.fields.items():
        enum = field.enum
        kind = pa.dictionary(pa.int8() if len(enum) < 128 else pa.int32(), pa.string()) if enum is not None else types.get(field.type, pa.string())
        meta = {"description": field.description}
        fields.append(pa.field(name, kind, nullable=not field.required, metadata=meta))
    licenses = "; ".join(str(x.get("name", "")) for x in descriptor.get("licenses", []))
    meta = {"dataset": str(descriptor.get("name", "")), "version": str(descriptor.get("version", "")), "table": table.name,
            "title": str(descriptor.get("title", "")), "license": licenses}
    return pa.schema(fields, metadata=meta)


def write_parquet(frame: pd.DataFrame, path: Path, table: Table, descriptor: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(table, descriptor)
    columns = []
    for field in schema:
        values = frame[field.name]
        if pa.types.is_dictionary(field.type):
            enum = table.fields[field.name].enum
            codes = pd.Categorical(values.astype(object).where(values.notna(), None), categories=enum).codes
            indices = pa.array(codes, type=field.type.index_type, mask=codes < 0)
            columns.append(pa.DictionaryArray.from_arrays(indices, pa.array(enum, type=pa.string())))
        elif pa.types.is_date32(field.type):
            columns.append(pa.array([None if pd.isna(v) else v.date() for v in values], type=pa.date32()))
        elif pa.types.is_string(field.type):
            columns.append(pa.array(_texts(values), type=pa.string()))
        else:
            columns.append(pa.array(values.astype(object).where(values.notna(), None).tolist(), type=field.type))
    pq.write_table(pa.Table.from_arrays(columns, schema=schema), path, compression="zstd")


def datasette_metadata(package: Package, meta: cite.DatasetMeta, name: str) -> dict:
    """Datasette's metadata for the SQLite file: title, licence, source, and the description of
    every table and column from the schemas; the entries table searches its full-text index."""
    licence = next(iter(package.descriptor.get("licenses", [])), {})
    tables: dict = {}
    for table in package.tables.values():
        resource = next(r for r in package.descriptor["resources"] if r["name"] == table.name)
        tables[table.name] = {"description": resource.get("description", ""),
                              "columns": {n: f.description for n, f in table.fields.items()}}
    tables["entries"].update(fts_table="entries_fts", fts_pk="rowid", searchmode="raw")
    tables["jurisdiction_regions"] = {"description": "The UN M49 region and sub-region of each jurisdiction, derived at build time.",
                                      "columns": {"jurisdiction_id": "The jurisdiction.", "region": "UN M49 region.", "subregion": "UN M49 sub-region or intermediate region."}}
    tables["entries_fts"] = {"hidden": True}
    tables["figures_usd_eur"] = {"description": "Monetary figures in USD and EUR at ECB reference rates, derived at build time.", "columns": money.CONVERTED_COLUMNS}
    tables["release_info"] = {"description": "Where the derived tables come from.", "columns": {"key": "What is described.", "value": "Its source and version."}}
    return {"title": f"{meta.title} {meta.version}", "description": package.descriptor.get("description", ""),
            "license": licence.get("name", ""), "license_url": licence.get("path", ""),
            "source": meta.title, "source_url": meta.homepage,
            "databases": {name: {"tables": tables}}}


def flat_csv(package: Package) -> bytes:
    """One row per entry, with its jurisdiction's name, organizations and roles, topics and first source."""
    entries = canonical_frame(package["entries"])
    jur = package["jurisdictions"].frame.set_index("jurisdiction_id")["name"]
    orgs = package["organizations"].frame.set_index("organization_id")["name"]
    eo = canonical_frame(package["entry_organizations"])
    roles = (eo.assign(label=eo["organization_id"].map(orgs).fillna(eo["organization_id"]) + " (" + eo["role"] + ")")
             .groupby("entry_id")["label"].agg("; ".join))
    topics = canonical_frame(package["entry_topics"]).groupby("entry_id")["topic_id"].agg("; ".join)
    es = canonical_frame(package["entry_sources"])
    sources = package["sources"].frame.set_index("source_id")
    first = es.groupby("entry_id")["source_id"].first()
    from .regions import region_of

    jurisdictions = package["jurisdictions"].frame
    regions = {j: region_of(j, level) for j, level in zip(jurisdictions["jurisdiction_id"], jurisdictions["level"])}
    names = (canonical_frame(package["entry_names"]).groupby("entry_id")["name"].agg("; ".join) if "entry_names" in package.tables else pd.Series(dtype=str))
    idents = canonical_frame(package["identifiers"]) if "identifiers" in package.tables else None
    idents = (idents.assign(label=idents["scheme"] + ":" + idents["identifier"]).groupby("entry_id")["label"].agg("; ".join) if idents is not None else pd.Series(dtype=str))
    first_source = entries["entry_id"].map(first)
    # Each entry's own columns, as the schema lists them, with the joined ones after the column they explain.
    joined = {
        "title_provenance": {"other_names": entries["entry_id"].map(names)},
        "jurisdiction_id": {"jurisdiction_name": entries["jurisdiction_id"].map(jur),
                            "region": entries["jurisdiction_id"].map(lambda j: regions.get(j, (None, None))[0]),
                            "subregion": entries["jurisdiction_id"].map(lambda j: regions.get(j, (None, None))[1])},
        "document_number": {"organizations": entries["entry_id"].map(roles), "topics": entries["entry_id"].map(topics),
                            "first_source_id": first_source, "first_source_title": first_source.map(sources["title"]),
                            "first_source_url": first_source.map(sources["url"]), "identifiers": entries["entry_id"].map(idents)},
    }
    columns: dict[str, pd.Series] = {}
    for name in package["entries"].field_names:
        columns[name] = entries[name]
        columns.update(joined.get(name, {}))
    flat = pd.DataFrame(columns)
    buffer = io.StringIO()
    flat.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL, na_rep="")
    return buffer.getvalue().encode("utf-8")
