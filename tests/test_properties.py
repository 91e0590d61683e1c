"""Property-based tests: any mutation of a valid package is either valid or refused with a
located message; the tools never crash, hang, lose a value, or leave half-written files.

Hypothesis draws mutations of the CSV and descriptor bytes (bytes flipped, cells swapped,
rows duplicated, deleted or truncated, columns shuffled, encodings changed, JSON keys
removed or retyped) and every command is run on the result. The example budget is fixed
so that CI time is bounded; failures hypothesis found are kept below as @example cases.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aipolicy.cli import main
from aipolicy.reading.package import PackageError
from conftest import FIXTURES, ROOT, make_package

SETTINGS = settings(max_examples=int(__import__("os").environ.get("AIPOLICY_PROPERTY_EXAMPLES", "30")), deadline=60_000,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], derandomize=True)
TABLES = sorted(p.stem for p in (FIXTURES / "valid" / "data").glob("*.csv"))


def run(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def data_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "data").glob("*.csv"))} | {"datapackage.json": (root / "datapackage.json").read_bytes()}


# --- mutations ---------------------------------------------------------------------------------

def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _write_rows(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@st.composite
def csv_mutation(draw, raw: bytes):
    kind = draw(st.sampled_from(["flip", "swap-cells", "duplicate-row", "delete-row", "truncate", "shuffle-columns", "shuffle-header", "encoding"]))
    if kind == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return kind, bytes(data)
    if kind == "truncate":
        return kind, raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "encoding":
        codec = draw(st.sampled_from(["utf-16", "latin-1", "cp1252", "utf-8-sig", "gb18030"]))
        return kind, raw.decode("utf-8").encode(codec, errors="replace")
    rows = _rows(raw.decode("utf-8"))
    header, body = rows[0], rows[1:]
    if not body:
        return kind, raw
    if kind == "swap-cells":
        i, j = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, len(body) - 1))
        a, b = draw(st.integers(0, len(header) - 1)), draw(st.integers(0, len(header) - 1))
        body[i][a], body[j][b] = body[j][b], body[i][a]
    elif kind == "duplicate-row":
        i = draw(st.integers(0, len(body) - 1))
        body.insert(draw(st.integers(0, len(body))), list(body[i]))
    elif kind == "delete-row":
        del body[draw(st.integers(0, len(body) - 1))]
    elif kind == "shuffle-columns":
        order = draw(st.permutations(range(len(header))))
        header = [header[k] for k in order]
        body = [[r[k] for k in order] for r in body]
    elif kind == "shuffle-header":
        header = list(draw(st.permutations(header)))
    return kind, _write_rows([header] + body).encode("utf-8")


@st.composite
def json_mutation(draw, raw: bytes):
    doc = json.loads(raw)
    kind = draw(st.sampled_from(["remove-key", "retype", "flip"]))
    if kind == "flip":
        data = bytearray(raw)
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(32, 126))
        return kind, bytes(data)
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append(path + [i])
                walk(v, path + [i])

    walk(doc, [])
    path = draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if kind == "remove-key":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.sampled_from([0, 1.5, None, True, "text", [], {}, ["a"], {"k": "v"}]))
    return kind, json.dumps(doc).encode("utf-8")


@st.composite
def package_mutation(draw):
    target = draw(st.sampled_from(TABLES + ["datapackage.json"]))
    path = "datapackage.json" if target == "datapackage.json" else f"data/{target}.csv"
    raw = (ROOT / "datapackage.json").read_bytes() if target == "datapackage.json" else (FIXTURES / "valid" / "data" / f"{target}.csv").read_bytes()
    kind, mutated = draw(json_mutation(raw) if target == "datapackage.json" else csv_mutation(raw))
    return path, kind, mutated


# --- the properties ----------------------------------------------------------------------------

def _located(output: str) -> bool:
    """Every problem line names a file (and the message is not a traceback or an internal error)."""
    if "Traceback" in output or "internal error" in output:
        return False
    lines = [l for l in output.splitlines() if l.strip()]
    return bool(lines) and any(l.split(":", 1)[0].endswith((".csv", ".json", ".cff", ".md")) or l.startswith("aipolicy ") or l.startswith("build refused") or l.startswith("fmt:")
                               for l in lines)


def _mutated_package(tmp_path_factory, mutation) -> Path:
    path, _, mutated = mutation
    root = make_package(tmp_path_factory.mktemp("prop") / "pkg").root
    (root / path).write_bytes(mutated)
    return root


@SETTINGS
@given(mutation=package_mutation())
@example(mutation=("data/topics.csv", "truncate", b""))
@example(mutation=("data/entries.csv", "encoding", (FIXTURES / "valid" / "data" / "entries.csv").read_bytes().decode().encode("utf-16")))
def test_validate_and_fmt_succeed_or_refuse_with_a_location(tmp_path_factory, mutation):
    root = _mutated_package(tmp_path_factory, mutation)
    code, output = run("validate", str(root))
    assert code in (0, 1, 2), output
    assert "Traceback" not in output and "internal error" not in output, output
    if code:
        assert _located(output), output
    before = data_bytes(root)
    code, output = run("fmt", str(root))
    assert "Traceback" not in output and "internal error" not in output, output
    if code:
        assert data_bytes(root) == before, "fmt refused but rewrote a file"
        assert _located(output), output
    else:
        after = data_bytes(root)
        code2, _ = run("fmt", str(root))
        assert code2 == 0 and data_bytes(root) == after, "fmt is not idempotent"
        _assert_same_values(before, after)


def _number_fields(table: str) -> set[str]:
    path = ROOT / "schemas" / f"{table}.schema.json"
    return {f["name"] for f in json.loads(path.read_text())["fields"] if f.get("type") == "number"} if path.is_file() else set()


def _as_number(text: str):
    try:
        return repr(float(text))
    except ValueError:
        return text


def _assert_same_values(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """fmt reorders rows and requotes cells, but every value survives."""
    for name, old in before.items():
        if not name.endswith(".csv"):
            continue
        text_old = old.decode("utf-8-sig").replace("\r\n", "\n")
        a = _rows(text_old)
        b = _rows(after[name].decode("utf-8"))
        header_b = b[0]
        index = [a[0].index(h) for h in header_b]
        numbers = _number_fields(name[:-4])

        def norm(row, header):  # fmt writes numbers in shortest form: compare them as numbers
            return tuple(_as_number(v) if h in numbers else v for h, v in zip(header, row))

        rows_a = sorted(norm(tuple(r[i] for i in index), header_b) for r in a[1:])
        assert rows_a == sorted(norm(tuple(r), header_b) for r in b[1:]), name


@settings(SETTINGS, max_examples=max(5, SETTINGS.max_examples // 3))
@given(mutation=package_mutation())
def test_build_is_complete_or_absent(tmp_path_factory, mutation):
    root = _mutated_package(tmp_path_factory, mutation)
    code, output = run("build", str(root))
    assert "Traceback" not in output and "internal error" not in output, output
    dist = root / "dist"
    if code:
        assert not dist.exists(), "a refused build left files in dist/"
        assert _located(output), output
    else:
        sums = (dist / "SHA256SUMS").read_text().splitlines()
        for line in sums:
            digest, name = line.split("  ")
            assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest
        assert len(sums) == len(list(dist.iterdir())) - 1
    assert not [p for p in root.iterdir() if p.name.startswith(".dist-")], "a temporary build folder was left behind"


def _swap_header(table: str, a: str, b: str) -> bytes:
    raw = (FIXTURES / "valid" / "data" / f"{table}.csv").read_bytes()
    header, rest = raw.split(b"\n", 1)
    names = header.decode().split(",")
    i, j = names.index(a), names.index(b)
    names[i], names[j] = names[j], names[i]
    return ",".join(names).encode() + b"\n" + rest


@SETTINGS
@given(mutation=package_mutation())
# Found by hypothesis: a reordered header put empty cells in the key column, and diff crashed.
@example(mutation=("data/entries.csv", "shuffle-header", _swap_header("entries", "entry_id", "document_number")))
def test_load_and_diff_return_tables_or_a_clear_error(tmp_path_factory, mutation):
    import aipolicy

    root = _mutated_package(tmp_path_factory, mutation)
    try:
        tables = aipolicy.load(path=root)
        assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    except PackageError as exc:
        assert str(exc)
    original = _original_zip(tmp_path_factory)
    code, output = run("diff", str(original), "--path", str(root))
    assert code in (0, 2), output
    assert "Traceback" not in output and "internal error" not in output, output


@settings(SETTINGS, max_examples=max(5, SETTINGS.max_examples // 3))
@given(mutation=package_mutation())
def test_reading_in_blocks_finds_what_reading_whole_tables_finds(tmp_path_factory, mutation):
    """Whatever the damage, the validator reading tables in blocks of 512 bytes (falling back
    to the whole table where a file cannot be read so) reports exactly the problems found
    with every table read whole first, as a build does."""
    from aipolicy.checking.validate import validate, validate_package
    from aipolicy.reading import package as reading

    root = _mutated_package(tmp_path_factory, mutation)

    def whole():
        return validate_package(reading.read_package(root, strict=True))

    def in_blocks():
        saved, reading.BLOCK = reading.BLOCK, 512
        try:
            return validate(root)
        finally:
            reading.BLOCK = saved

    found = []
    for check in (whole, in_blocks):
        try:
            found.append(sorted(p.text() for p in check()))
        except PackageError as exc:
            found.append(["refused: " + str(exc)])
    assert found[0] == found[1]


_ZIP: list[Path] = []


def _original_zip(tmp_path_factory) -> Path:
    if not _ZIP:
        from aipolicy.outputs.build import build

        root = make_package(tmp_path_factory.mktemp("orig") / "pkg").root
        dist = build(root)
        _ZIP.append(next(dist.glob("*.zip")))
    return _ZIP[0]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="{}\\'ea \"", max_size=24) | st.just("{" * 101 + "}" * 101))
def test_the_bibtex_brace_check_agrees_with_pybtex(value):
    """The writer's quick brace check refuses exactly the values pybtex's own check refuses."""
    from pybtex.database.output.bibtex import Writer
    from pybtex.scanner import PybtexError

    from aipolicy.outputs.bibtex import _Writer

    def verdict(writer):
        try:
            writer.check_braces(value)
        except PybtexError as exc:
            return str(exc)
        return None

    assert verdict(_Writer()) == verdict(Writer())
