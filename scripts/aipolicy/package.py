"""The one reader: `datapackage.json` and `schemas/` in, tables of strings out.

Everything downstream (validation, typed loading, releases, docs) starts here, so the
package is parsed one way only. Tables come back as pandas frames of strings (missing
values as NA) together with the physical line number of every row, which is what lets every
later check point at `file:line:column`.

With `strict=True` (what `validate` and `fmt` use) each file is first walked with Python's
`csv` module in strict mode, which finds what a fast parser forgives: stray or unbalanced
quotes, rows with too many or too few cells, blank lines and line breaks inside cells.
The fast path (pyarrow) then reads the values; only a file with such problems is read by
the slow path, row by row, so that no row is lost without a message.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .fastops import csv_matches
from .problems import PackageError, Problem, quote

DESCRIPTOR = "datapackage.json"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Reference:
    """One foreign key, with its field lists normalised (Table Schema allows a string or a list)."""

    fields: list[str]
    resource: str
    ref_fields: list[str]


def _as_list(value) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


@dataclass
class Table:
    name: str
    path: str  # relative to the package root, with forward slashes
    schema: dict
    frame: pd.DataFrame | None = None  # strings, NA for empty cells; None when unreadable
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    problems: list[Problem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    verbatim: bool = False  # the file is byte for byte the minimal-quoting serialisation of `frame`

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.schema.get("fields", [])]

    @property
    def fields(self) -> dict[str, dict]:
        return {f["name"]: f for f in self.schema.get("fields", [])}

    @property
    def primary_key(self) -> list[str]:
        pk = self.schema.get("primaryKey", [])
        return [pk] if isinstance(pk, str) else list(pk)

    @property
    def foreign_keys(self) -> list[dict]:
        return self.schema.get("foreignKeys", [])

    @property
    def references(self) -> list[Reference]:
        """The foreign keys; a reference without a resource points at this table itself."""
        return [Reference(_as_list(fk["fields"]), fk["reference"].get("resource") or self.name, _as_list(fk["reference"]["fields"]))
                for fk in self.foreign_keys]

    @property
    def number_fields(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.get("type") == "number"]

    @property
    def readable(self) -> bool:
        """True when the rows could be mapped onto the schema's fields."""
        return self.frame is not None

    def column_number(self, name: str) -> int | None:
        names = self.header or self.field_names
        return names.index(name) + 1 if name in names else None

    def problem(self, row: int | None, column: str | None, message: str, rule: str, hint: str | None = None) -> Problem:
        line = int(self.lines[row]) if row is not None else None
        col = self.column_number(column) if column else None
        return Problem(self.path, line, col, message, rule, hint, column)


@dataclass
class Package:
    root: Path
    descriptor: dict
    tables: dict[str, Table]
    problems: list[Problem] = field(default_factory=list)  # descriptor-level problems

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", ""))

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]


def find_root(path: str | Path | None = None) -> Path:
    """The folder holding `datapackage.json`: `path` itself, or the nearest parent of the cwd."""
    if path is not None:
        p = Path(path)
        if p.is_file() and p.name == DESCRIPTOR:
            p = p.parent
        if not (p / DESCRIPTOR).is_file():
            raise PackageError(f"{p / DESCRIPTOR}: no data package descriptor here (expected {DESCRIPTOR})")
        return p
    here = Path.cwd()
    for candidate in [here, *here.parents]:
        if (candidate / DESCRIPTOR).is_file():
            return candidate
    raise PackageError(f"no {DESCRIPTOR} in {here} or any parent folder; run the command inside the dataset, or pass its path")


def read_descriptor(root: Path) -> tuple[dict, list[Problem]]:
    path = root / DESCRIPTOR
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"{DESCRIPTOR}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
        descriptor = json.loads(text)
    except UnicodeDecodeError as exc:
        return {}, [Problem(DESCRIPTOR, *_byte_location(raw, exc.start), f"byte {raw[exc.start]:#04x} is not UTF-8", "encoding", "save the file as UTF-8")]
    except json.JSONDecodeError as exc:
        return {}, [Problem(DESCRIPTOR, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}", "json", "fix the JSON syntax at this place (a missing comma, quote or bracket)")]
    if not isinstance(descriptor, dict):
        return {}, [Problem(DESCRIPTOR, 1, 1, "the descriptor must be a JSON object", "json")]
    return descriptor, []


def read_package(path: str | Path | None = None, *, strict: bool = True, tables: list[str] | None = None) -> Package:
    """Read the descriptor, the schemas and the tables (all, or those named)."""
    root = find_root(path)
    descriptor, problems = read_descriptor(root)
    out: dict[str, Table] = {}
    resources = descriptor.get("resources", [])
    if not isinstance(resources, list):
        problems.append(Problem(DESCRIPTOR, None, None, "`resources` must be a list", "descriptor"))
        resources = []
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str) or not isinstance(resource.get("path"), str):
            problems.append(Problem(DESCRIPTOR, None, None, f"resource {quote(resource)} needs a `name` and a `path`", "descriptor"))
            continue
        if tables is not None and resource["name"] not in tables:
            continue
        schema, schema_problems = _read_schema(root, resource)
        problems.extend(schema_problems)
        out[resource["name"]] = Table(resource["name"], resource["path"], schema or {})
    # Tables are read in parallel: Arrow and Polars do the work outside the GIL.
    from concurrent.futures import ThreadPoolExecutor

    readable = [t for t in out.values() if t.schema]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in pool.map(lambda t: _read_rows(root, t, strict=strict), readable):
            pass
    return Package(root, descriptor, out, problems)


def _read_schema(root: Path, resource: dict) -> tuple[dict | None, list[Problem]]:
    schema = resource.get("schema")
    if isinstance(schema, dict):
        return schema, []
    if not isinstance(schema, str):
        return None, [Problem(DESCRIPTOR, None, None, f"resource {quote(resource['name'])} has no schema", "descriptor", "add \"schema\": \"schemas/<name>.schema.json\"")]
    path = root / schema
    try:
        raw = path.read_bytes()
    except OSError:
        return None, [Problem(schema, None, None, f"schema file of resource {quote(resource['name'])} is missing", "missing-file")]
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, [Problem(schema, *_byte_location(raw, exc.start), "not UTF-8", "encoding")]
    except json.JSONDecodeError as exc:
        return None, [Problem(schema, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}", "json")]
    if not isinstance(parsed, dict) or not isinstance(parsed.get("fields"), list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in parsed["fields"]
    ):
        return None, [Problem(schema, None, None, "a Table Schema needs a list of `fields`, each with a `name`", "schema")]
    return parsed, []


def _byte_location(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", errors="replace")) + 1


def _read_rows(root: Path, table: Table, *, strict: bool) -> None:
    path = root / table.path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        table.problems.append(Problem(table.path, None, None, f"data file of resource {quote(table.name)} is missing", "missing-file", f"create {table.path} with the header {','.join(table.field_names)}"))
        return
    except OSError as exc:
        raise PackageError(f"{table.path}: cannot be read ({exc.strerror})") from None
    if not raw or raw.isspace():
        table.problems.append(Problem(table.path, 1, None, "the file is empty", "empty-file", f"the first line must be the header {','.join(table.field_names)}"))
        return
    if raw.startswith(BOM):
        table.problems.append(Problem(table.path, 1, 1, "the file starts with a UTF-8 byte order mark", "bom", "run `aipolicy fmt` (or save as UTF-8 without BOM)"))
        raw = raw[len(BOM):]
    if b"\r" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\r")) + 1
        table.problems.append(Problem(table.path, line, None, "line ends with CR (Windows or old Mac line ending)", "line-ending", "run `aipolicy fmt` to use LF line ends"))
    header_end = raw.find(b"\n") + 1 or len(raw)
    try:
        first_line = raw[:header_end].decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        table.problems.append(Problem(table.path, 1, exc.start + 1, f"byte {raw[exc.start]:#04x} is not valid UTF-8", "encoding", "save the file as UTF-8"))
        return
    try:
        table.header = next(csv.reader([first_line], strict=True))
    except (csv.Error, StopIteration):
        table.header = first_line.split(",")
    if not _check_header(table):
        return
    try:  # Arrow also checks that every byte is UTF-8
        arrow = _fast_arrow(raw, table.header)
    except Exception:  # the fast parser gave up; the strict walk below says why
        arrow = None
    # Fast proof of a well-formed file: write the parsed rows back with minimal quoting and
    # compare. Only a file that differs is walked row by row, to say what is wrong where.
    table.verbatim = strict and arrow is not None and not table.problems and csv_matches(arrow, memoryview(raw)[header_end:])
    lines = None
    frame = arrow.to_pandas() if arrow is not None else None
    del arrow
    if strict and not table.verbatim or frame is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _byte_location(raw, exc.start)
            table.problems.append(Problem(table.path, line, col, f"byte {raw[exc.start]:#04x} is not valid UTF-8", "encoding", "save the file as UTF-8"))
            return
        lines, clean = _strict_pass(table, text, table.problems if strict else [], None)
        if not clean or frame is None or len(frame) != len(lines):
            rows: list[list[str]] = []  # walk again, keeping the good rows, so that none is lost without a message
            lines, _ = _strict_pass(table, text, [], rows)
            frame = pd.DataFrame(rows, columns=table.header, dtype="str") if rows else pd.DataFrame({c: pd.Series([], dtype="str") for c in table.header})
            frame = frame.replace({"": None}) if len(frame) else frame
    if lines is None:
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame) == 0 and not table.schema.get("x-may-be-empty", False):
        table.problems.append(Problem(table.path, 1, None, "the file has a header but no rows", "no-rows", "add at least one row, or remove the resource"))
    table.frame = frame
    table.lines = np.asarray(lines, dtype=np.int64)


def _check_header(table: Table) -> bool:
    expected, got = table.field_names, table.header
    if got == expected:
        return True
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    for i, name in enumerate(got, start=1):
        if name in extra:
            closest = _closest(name, missing)
            hint = f"rename it to {quote(closest)}" if closest else "remove the column, or add the field to the schema first"
            table.problems.append(Problem(table.path, 1, i, f"header {quote(name)} is not a field of the schema", "header", hint))
    for name in missing:
        if not _closest(name, extra):
            table.problems.append(Problem(table.path, 1, None, f"header lacks the field {quote(name)}", "header", f"the header must be {','.join(expected)}"))
    dupes = {n for n in got if got.count(n) > 1}
    for name in sorted(dupes):
        table.problems.append(Problem(table.path, 1, len(got) - got[::-1].index(name), f"header {quote(name)} appears twice", "header"))
    if not missing and not extra and not dupes:  # same fields, other order: readable, and `fmt` repairs it
        table.problems.append(Problem(table.path, 1, None, f"header columns are out of order: {','.join(got)}", "header-order", f"the order must be {','.join(expected)}; run `aipolicy fmt`"))
        return True
    return False


def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return match[0] if match else None


def _strict_pass(table: Table, text: str, problems: list[Problem], rows: list[list[str]] | None):
    """Walk every row with the strict csv module: the line of each good row, and whether all were good.

    Rows are kept (in `rows`) only when asked, so that a clean large file costs no memory here.
    """
    width = len(table.header)
    reader = csv.reader(io.StringIO(text), strict=True)
    lines: list[int] = []
    clean = True
    prev = 0
    try:
        next(reader)
        prev = reader.line_num
        for row in reader:
            start, end = prev + 1, reader.line_num
            prev = end
            if not row:
                problems.append(Problem(table.path, start, None, "blank line", "blank-row", "delete the empty line"))
                clean = False
                continue
            if len(row) != width:
                clean = False
                if len(row) > width:
                    problems.append(Problem(table.path, start, width + 1, f"row has {len(row)} cells, the header has {width}; the extra value is {quote(row[width])}", "extra-cell", "quote a value that contains a comma, or remove the extra cell"))
                else:
                    problems.append(Problem(table.path, start, len(row) + 1, f"row has {len(row)} cells, the header has {width}: {quote(table.header[len(row)])} and after are missing", "missing-cell", "add the missing cells (empty ones still need their commas)"))
                continue
            if end != start:
                col = next((i for i, v in enumerate(row, 1) if "\n" in v or "\r" in v), None)
                problems.append(Problem(table.path, start, col, "a cell holds a line break", "line-break", "write the text on one line"))
            lines.append(start)
            if rows is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.append(Problem(table.path, prev + 1, None, f"malformed CSV: {exc}", "quote", "a quoted value must end with a quote followed by a comma or the line end; double any quote inside it (\"\")"))
        clean = False
    return lines, clean


def _fast_arrow(raw: bytes, header: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        pa.py_buffer(raw),
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=header, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=True),
    )

