"""The one reader: `datapackage.json` and `schemas/` in, tables of strings out.

Everything downstream (validation, typed loading, releases, docs) starts here, so the
package is parsed one way only. Each table comes back as a Polars frame of strings (missing
values as null; `Table.data`), viewed as a pandas frame on demand (`Table.frame`), together
with the physical line of every row, which is what lets every later check point at
`file:line:column`.

Polars parses the file; the parse is then proved faithful by writing the rows back with
minimal quoting and comparing the bytes with the file (or, for a block without quotes, by
counting its commas: see `_parse_block`). Only a file that differs (stray or
unbalanced quotes, rows with too many or too few cells, blank lines, line breaks inside
cells, CR line ends, bytes that are not UTF-8, needless quoting) is walked again with
Python's `csv` module in strict mode, row by row, to say what is wrong where; no row is
lost without a message.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from .problems import PackageError, Problem, quote
from .schema import Field, fields_of

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
    _data: pl.DataFrame | None = field(default=None, repr=False)
    lines: list[int] | None = None  # the physical line of each row; None: row i is on line i + 2
    problems: list[Problem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    verbatim: bool = False  # the file is byte for byte the minimal-quoting serialisation of `data`
    loaded: bool = False  # whether the rows were read (successfully or not)
    _frame: object = field(default=None, repr=False)
    _key_order: tuple | None = field(default=None, repr=False)
    _fields: dict | None = field(default=None, repr=False)

    @property
    def data(self) -> pl.DataFrame | None:
        """The rows as a Polars frame of strings (null for empty cells); None when unreadable."""
        return self._data

    @data.setter
    def data(self, value: pl.DataFrame | None) -> None:
        self._data = value
        self._frame = None
        self._key_order = None

    @property
    def frame(self):
        """The rows as a pandas frame of strings (NA for empty cells); None when unreadable."""
        if self._frame is None and self.data is not None:
            self._frame = self.data.to_arrow().to_pandas()
        return self._frame

    def line(self, row: int) -> int:
        return int(self.lines[row]) if self.lines is not None else row + 2

    @property
    def field_names(self) -> list[str]:
        return list(self.fields)

    @property
    def fields(self) -> dict[str, Field]:
        """The schema's fields, by name, in order (the schema model, read once per table)."""
        if self._fields is None:
            self._fields = fields_of(self.schema)
        return self._fields

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
    def first_out_of_order(self) -> int | None:
        """The first row that sorting by primary key would move (None: in order, or no key)."""
        if self._key_order is None:
            from .csvtext import first_out_of_order

            keys = self.primary_key
            self._key_order = (first_out_of_order(self.data, keys) if keys and self.data is not None and all(k in self.data.columns for k in keys) else None,)
        return self._key_order[0]

    @property
    def number_fields(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.type == "number"]

    def column_number(self, name: str) -> int | None:
        names = self.header or self.field_names
        return names.index(name) + 1 if name in names else None

    def problem(self, row: int | None, column: str | None, message: str, rule: str, hint: str | None = None) -> Problem:
        line = self.line(row) if row is not None else None
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


def read_package(path: str | Path | None = None, *, strict: bool = True, tables: list[str] | None = None, rows: bool = True) -> Package:
    """Read the descriptor, the schemas and the tables (all, or those named; with `rows=False`
    the rows are left unread, for `read_rows` to read one table at a time)."""
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
    package = Package(root, descriptor, out, problems)
    if rows:
        for table in out.values():
            read_rows(package, table, strict=strict)
    return package


def read_rows(package: Package, table: Table, *, strict: bool = True) -> None:
    """Read the rows of one table of `package` (nothing when its schema could not be read)."""
    if table.schema:
        _read_rows(package.root, table, strict=strict)


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
    """Read one table into `table` (rows, lines, problems). With `strict`, every way in which
    the file departs from well-formed CSV is reported; without, the rows are still read
    faithfully (a malformed file is walked by the csv module), but nothing is reported."""
    path = root / table.path
    table.loaded = True
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
            size = fh.seek(0, 2)
    except FileNotFoundError:
        table.problems.append(Problem(table.path, None, None, f"data file of resource {quote(table.name)} is missing", "missing-file", f"create {table.path} with the header {','.join(table.field_names)}"))
        return
    except OSError as exc:
        raise PackageError(f"{table.path}: cannot be read ({exc.strerror})") from None
    problems = table.problems if strict else []
    if size == 0 or (size < 4096 and path.read_bytes().isspace()):
        table.problems.append(Problem(table.path, 1, None, "the file is empty", "empty-file", f"the first line must be the header {','.join(table.field_names)}"))
        return
    bom = first.startswith(BOM)
    if bom:
        problems.append(Problem(table.path, 1, 1, "the file starts with a UTF-8 byte order mark", "bom", "run `aipolicy fmt` (or save as UTF-8 without BOM)"))
        first = first[len(BOM):]
    try:
        first_line = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        table.problems.append(Problem(table.path, 1, exc.start + 1, f"byte {first[exc.start]:#04x} is not valid UTF-8", "encoding", "save the file as UTF-8"))
        return
    try:
        table.header = next(csv.reader([first_line], strict=True))
    except (csv.Error, StopIteration):
        table.header = first_line.split(",")
    if not _check_header(table):
        return
    header_end = len(first)
    data = None
    if not bom and not first.endswith(b"\r\n"):
        data = _read_proved(path, header_end, table.header)
    table.verbatim = data is not None
    lines = None
    if not table.verbatim:
        raw = path.read_bytes()
        if b"\r" in raw:
            line = raw.count(b"\n", 0, raw.index(b"\r")) + 1
            problems.append(Problem(table.path, line, None, "line ends with CR (Windows or old Mac line ending)", "line-ending", "run `aipolicy fmt` to use LF line ends"))
        body = raw[len(BOM):] if bom else raw  # offsets in the text after the byte order mark
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _byte_location(body, exc.start)
            table.problems.append(Problem(table.path, line, col, f"byte {body[exc.start]:#04x} is not valid UTF-8", "encoding", "save the file as UTF-8"))
            return
        import polars as pl

        rows, lines = _strict_pass(table, text, problems)
        data = _empty_as_null(pl.DataFrame(rows, schema={c: pl.String for c in table.header}, orient="row"))
    if len(data) == 0 and not table.schema.get("x-may-be-empty", False):
        table.problems.append(Problem(table.path, 1, None, "the file has a header but no rows", "no-rows", "add at least one row, or remove the resource"))
    table.data = data
    table.lines = lines


BLOCK = 1 << 23  # bytes of a file parsed, proved and checked at a time (8 MiB: on a million entries, less memory than 16 MiB at about the same speed)


class Unproved(Exception):
    """A block of the file is not the minimal-quoting serialisation of the rows parsed from it."""


def _read_proved(path: Path, header_end: int, header: list[str]) -> pl.DataFrame | None:
    """The rows after the header, parsed and proved a block at a time (`proved_blocks`); None
    when a block does not parse or differs (the strict walk then says where and why)."""
    import polars as pl

    try:
        parts = list(proved_blocks(path, header_end, header))
    except Unproved:
        return None
    if not parts:
        return pl.DataFrame(schema={c: pl.String for c in header})
    return pl.concat(parts, how="vertical", rechunk=False) if len(parts) > 1 else parts[0]


def proved_blocks(path: Path, header_end: int, header: list[str], count=None):
    """The rows after the header, a block of whole lines at a time, each block parsed by
    Polars and proved by writing its rows back with minimal quoting and comparing the bytes:
    then a strict parser reads exactly these rows from the file, one per line. Raises
    `Unproved` at the first block that does not parse or differs.

    Only one block of the file (and its serialisation) is in memory at a time. `count`: how
    the bytes of a block are counted (`byte_counter`), made beforehand by a caller that reads
    the blocks in another thread."""
    import polars as pl

    return _proved_blocks(path, header_end, {c: pl.String for c in header}, count or byte_counter(path))


COUNT_WITH_NUMPY = 1 << 26  # bytes of a file from which NumPy counts the bytes of its blocks (64 MiB)


def byte_counter(path: Path):
    """How often a byte occurs in a block: `bytes.count` counts a byte at a time (3 ms for
    8 MiB); NumPy compares 32 bytes at a time (0.85 ms), but its import (40 ms) pays off only
    on a large file, or once it is imported."""
    import sys

    try:
        large = path.stat().st_size >= COUNT_WITH_NUMPY
    except OSError:
        large = False
    if not large and "numpy" not in sys.modules:
        return bytes.count
    import numpy as np

    def count(block: bytes, byte: bytes) -> int:
        return int(np.count_nonzero(np.frombuffer(block, np.uint8) == byte[0]))

    return count


def _proved_blocks(path: Path, header_end: int, schema: dict, count):
    with open(path, "rb") as fh:
        fh.seek(header_end)
        while True:
            block = fh.read(BLOCK)
            if not block:
                break
            while not block.endswith(b"\n") and b"\n" not in block[-BLOCK:]:  # a line longer than a block
                more = fh.read(BLOCK)
                if not more:
                    break
                block += more
            cut = block.rfind(b"\n") + 1  # end the block after its last whole line; the rest is read next
            if 0 < cut < len(block):
                fh.seek(cut - len(block), 1)
                block = block[:cut]
            part = _parse_block(block, schema, count)
            if part is None:
                raise Unproved(path)
            yield part


def streamable(root: Path, table: Table) -> int | None:
    """Where the rows of a table's file begin, when the file can be read block by block
    without a look at the whole: it exists, starts without a byte order mark, and its first
    line is exactly the schema's header, ending in LF. None otherwise: the whole read says
    what is wrong."""
    try:
        with open(root / table.path, "rb") as fh:
            first = fh.readline()
    except OSError:
        return None
    if not first.endswith(b"\n") or first.endswith(b"\r\n") or first.startswith(BOM):
        return None
    try:
        header = next(csv.reader([first[:-1].decode("utf-8")], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    return len(first) if header == table.field_names else None


def _parse_block(block: bytes, schema: dict, count=bytes.count) -> pl.DataFrame | None:
    import polars as pl

    if b"\r" in block:
        return None  # CR line ends, or a CR inside a cell: the strict walk reports them
    quoted = b'"' in block
    try:  # Polars also checks that every byte is UTF-8
        part = pl.read_csv(block, has_header=False, schema=schema, raise_if_empty=False, quote_char='"', null_values=None)
        part = _empty_as_null(part) if quoted else part  # an empty string is a quoted empty cell
    except Exception:  # the fast parser gave up; the strict walk says why
        return None
    if count(block, b"\n") != len(part):
        return None  # a line break inside a cell (which the checks refuse), or a line without its line end
    if not quoted:
        # Without a quote, a line is its cells joined by commas, and so is its minimal-quoting
        # serialisation (only a comma, quote or line break is quoted): the rows are proved when
        # every line holds one comma fewer than the header has cells. Polars refuses a line with
        # more, so a line with fewer (a short or blank line) leaves the count short.
        return part if count(block, b",") == len(part) * (len(schema) - 1) else None
    from .csvtext import csv_body  # the serialisation `fmt` writes: the proof compares against it

    return part if csv_body(part) == block else None


def _empty_as_null(data: pl.DataFrame) -> pl.DataFrame:
    """A quoted empty cell (\"\") reads as an empty string: make it missing, as an empty cell is."""
    import polars as pl

    if not len(data):
        return data
    empty = data.select((pl.col(c).str.len_bytes() == 0).any() for c in data.columns).row(0)
    fix = [c for c, e in zip(data.columns, empty) if e]
    return data.with_columns(pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)) for c in fix) if fix else data


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


def _strict_pass(table: Table, text: str, problems: list[Problem]) -> tuple[list[list[str]], list[int]]:
    """Walk every row with the strict csv module: the rows it can read and the line of each.
    Every other row is a problem, so that none is lost without a message."""
    width = len(table.header)
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    prev = 0
    try:
        next(reader)
        prev = reader.line_num
        for row in reader:
            start, end = prev + 1, reader.line_num
            prev = end
            if not row:
                problems.append(Problem(table.path, start, None, "blank line", "blank-row", "delete the empty line"))
                continue
            if len(row) != width:
                if len(row) > width:
                    problems.append(Problem(table.path, start, width + 1, f"row has {len(row)} cells, the header has {width}; the extra value is {quote(row[width])}", "extra-cell", "quote a value that contains a comma, or remove the extra cell"))
                else:
                    problems.append(Problem(table.path, start, len(row) + 1, f"row has {len(row)} cells, the header has {width}: {quote(table.header[len(row)])} and after are missing", "missing-cell", "add the missing cells (empty ones still need their commas)"))
                continue
            if end != start:
                col = next((i for i, v in enumerate(row, 1) if "\n" in v or "\r" in v), None)
                problems.append(Problem(table.path, start, col, "a cell holds a line break", "line-break", "write the text on one line"))
            lines.append(start)
            rows.append(row)
    except csv.Error as exc:
        problems.append(Problem(table.path, prev + 1, None, f"malformed CSV: {exc}", "quote", "a quoted value must end with a quote followed by a comma or the line end; double any quote inside it (\"\")"))
    return rows, lines
