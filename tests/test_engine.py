"""How the validator runs: the same problems whichever way it is run, and nothing lost on the way.

The validator reads files in blocks, keeps only key columns for the checks across tables,
evaluates every check of a table in one query, runs the metadata checks in a second process
from the command line, and imports pandera without its pandas layer. Each of these is an
optimisation that must not change a single reported problem: these tests hold them to that.
"""
from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from aipolicy.checking import engine as checks
from aipolicy.reading import fieldtypes
from aipolicy.reading import package
from aipolicy.checking import rules
from aipolicy.reading.schema import Field
from aipolicy.checking.validate import validate
from conftest import Pkg, run_cli


def broken(pkg: Pkg) -> Pkg:
    """The fixture with one problem of each layer: descriptor, CITATION.cff, a cell, a foreign key, the order."""
    descriptor = json.loads(pkg.read("datapackage.json"))
    descriptor["licenses"] = "CC-BY-4.0"  # must be a list
    pkg.write("datapackage.json", json.dumps(descriptor, indent=2))
    pkg.write("CITATION.cff", pkg.read("CITATION.cff").replace("cff-version: 1.2.0", "cff-version: one"))
    line = pkg.find_line("entries", "cn-2017-new-generation")
    pkg.set_cell("entries", line, "date", "2017-02-30")
    pkg.append("entry_topics", "cn-2017-new-generation-ai-plan,no-such-topic")
    return pkg


def as_dicts(problems) -> list[dict]:
    return sorted(({"path": p.path, "line": p.line, "column": p.column, "rule": p.rule, "message": p.message} for p in problems),
                  key=lambda d: json.dumps(d, sort_keys=True))


def test_the_command_and_the_library_report_the_same(pkg):
    """The command runs the metadata checks in a second process; the library runs them in-process."""
    broken(pkg)
    here = as_dicts(validate(pkg.root))
    result = run_cli("validate", "--format", "json", str(pkg.root))
    there = as_dicts(_from_json(result.stdout))
    assert result.returncode == 1
    assert here == there
    rules_found = {d["rule"] for d in here}
    assert {"descriptor", "citation", "type", "foreign-key"} <= rules_found, rules_found


def _from_json(text: str):
    from aipolicy.reading.problems import Problem

    return [Problem(**{k: v for k, v in p.items()}) for p in json.loads(text)["problems"]]


@pytest.mark.parametrize("python", ["/nonexistent/python", "/bin/false"])
def test_a_failed_second_process_costs_no_problem(pkg, monkeypatch, python):
    """When the metadata process cannot start, or fails, its checks run in this process instead."""
    broken(pkg)
    expected = as_dicts(validate(pkg.root))
    monkeypatch.setattr(sys, "executable", python)
    assert as_dicts(validate(pkg.root, parallel=True)) == expected


def test_validation_never_imports_pandas_and_still_finds_every_problem(pkg):
    """pandera is imported without its pandas layer; the checks work all the same."""
    broken(pkg)
    expected = as_dicts(validate(pkg.root))
    code = ("import json, sys; from aipolicy.checking.validate import validate; ps = validate(sys.argv[1], parallel=True); "
            "print(json.dumps({'pandas': 'pandas' in sys.modules, 'hypothesis': 'hypothesis' in sys.modules, "
            "'problems': [dict(path=p.path, line=p.line, column=p.column, rule=p.rule, message=p.message) for p in ps]}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code, str(pkg.root)], capture_output=True, text=True, check=True).stdout)
    assert not out["pandas"] and not out["hypothesis"]
    assert sorted(out["problems"], key=lambda d: json.dumps(d, sort_keys=True)) == expected


def test_small_blocks_read_the_same_rows_and_problems(pkg, monkeypatch):
    """A file read in blocks of a few bytes gives the same rows and problems as one block."""
    pkg.set_cell("sources", 2, "title", 'A "quoted", title')  # quotes and a comma inside a cell
    whole = as_dicts(validate(pkg.root))
    rows = package.read_package(pkg.root).tables["sources"].data
    monkeypatch.setattr(package, "BLOCK", 37)
    assert as_dicts(validate(pkg.root)) == whole
    assert package.read_package(pkg.root).tables["sources"].data.equals(rows)


def test_a_line_break_in_a_cell_is_found_across_block_boundaries(pkg, monkeypatch):
    row = pkg.find_line("topics", "industrial-policy")
    text = pkg.read("data/topics.csv").split("\n")
    text[row - 1] = text[row - 1].replace(",Industrial policy,", ',"Industrial\npolicy",', 1)
    pkg.write("data/topics.csv", "\n".join(text))
    for block in (1 << 24, 23, 64):
        monkeypatch.setattr(package, "BLOCK", block)
        hits = [p for p in validate(pkg.root) if p.rule == "line-break"]
        assert [(p.path, p.line, p.column) for p in hits] == [("data/topics.csv", row, 2)], block


def test_a_check_that_raises_is_reported_and_the_others_still_run(pkg, monkeypatch):
    def broken_rule(ctx):
        if ctx.data("topics") is not None:
            yield checks.Spec("topics", "label", "broken", pl.col("no_such_column").is_null(), lambda v: "never")

    monkeypatch.setattr(rules, "RULES", [*rules.RULES, broken_rule])
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_cell("topics", line, "label", "=Industrial policy")
    found = validate(pkg.root)
    assert any(p.rule == "internal" and p.path == "data/topics.csv" and "broken" in p.message for p in found)
    assert any(p.rule == "formula" and p.line == line for p in found)


def test_a_rule_across_tables_that_reads_a_non_key_column_is_an_internal_problem(pkg, monkeypatch):
    def wide_rule(ctx):
        if ctx.data("entries") is not None:
            yield checks.Spec("entries", "summary", "wide", pl.col("summary").is_not_null(), lambda v: "never")

    monkeypatch.setattr(rules, "ACROSS", [*rules.ACROSS, wide_rule])
    found = [p for p in validate(pkg.root) if p.rule == "internal"]
    assert found and "summary" in found[0].message


def test_many_failures_in_one_table_are_all_reported(pkg):
    """Every failing row of every failing check, not only the first of each."""
    lines = [pkg.append("topics", f"zz-topic-{i},=Zed {i},Text ,") for i in range(5)]
    found = validate(pkg.root)
    assert sorted(p.line for p in found if p.rule == "formula" and p.path == "data/topics.csv") == lines
    assert sorted(p.line for p in found if p.rule == "whitespace" and p.path == "data/topics.csv") == lines


@pytest.mark.parametrize("name", ["alpha2", "alpha3", "subdivisions", "currencies", "languages", "scripts", "alpha2to3"])
def test_iso_code_sets_read_from_the_databases_equal_pycountry(name, tmp_path, monkeypatch):
    """The codes read from pycountry's databases, and then from the cache, are pycountry's."""
    import pycountry

    expected = {
        "alpha2to3": {c.alpha_2: c.alpha_3 for c in pycountry.countries},
        "alpha2": {c.alpha_2 for c in pycountry.countries},
        "alpha3": {c.alpha_3 for c in pycountry.countries},
        "subdivisions": {s.code for s in pycountry.subdivisions},
        "currencies": {c.alpha_3 for c in pycountry.currencies},
        "languages": {getattr(l, "alpha_2", None) for l in pycountry.languages} - {None} | {l.alpha_3 for l in pycountry.languages},
        "scripts": {s.alpha_4 for s in pycountry.scripts},
    }[name]
    monkeypatch.setenv("AIPOLICY_CACHE", str(tmp_path))
    for source in ("databases", "cache"):
        rules._code_sets.cache_clear()
        rules._code_set.cache_clear()
        assert rules._code_set(name) == expected, source
        assert len(list((tmp_path / "iso-codes").glob("*.json"))) == 1
    rules._code_sets.cache_clear()
    rules._code_set.cache_clear()


CELLS = st.one_of(
    st.none(),
    st.text(alphabet="0123456789-+.eE: TtrueFalsfTRUEFALSE", max_size=12),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.text(max_size=6),
)


def python_reading(value: str, kind: str):
    """What a cell means, by Python's own parsers and the Table Schema type definitions;
    ValueError when it is not a value of the type."""
    import datetime as dt
    import re

    if kind == "date":
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    if kind == "number":
        if not re.fullmatch(fieldtypes.NUMBER, value):
            raise ValueError(value)
        return float(value)
    if kind == "integer":
        if not re.fullmatch(fieldtypes.INTEGER, value):
            raise ValueError(value)
        return int(value)
    if value in fieldtypes.TRUE_VALUES:
        return True
    if value in fieldtypes.FALSE_VALUES:
        return False
    raise ValueError(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(CELLS, min_size=1, max_size=20), st.sampled_from(["date", "number", "integer", "boolean"]))
def test_cells_are_read_as_python_reads_them(values, kind):
    """The one reading of types (validator and loader) agrees with Python's parsers on every cell."""
    field = Field.from_descriptor({"name": "x", "type": kind})
    data = pl.DataFrame({"x": values}, schema={"x": pl.String})
    bad = data.select(fieldtypes.bad_expr("x", field)).to_series().to_list()
    typed = data.select(fieldtypes.typed_expr("x", field)).to_series().to_list()
    for value, is_bad, got in zip(values, bad, typed):
        if value is None:
            assert not is_bad and got is None
            continue
        try:
            expected = python_reading(value, kind)
        except (ValueError, OverflowError):
            assert is_bad, (value, got)
            continue
        assert not is_bad, value
        if kind == "integer" and not -2**63 <= expected < 2**63:
            assert got is None  # beyond 64 bits: a valid integer that Int64 cannot hold
        else:
            assert got == expected, (value, got, expected)


def checks_beyond_one_row(pkg: Pkg) -> Pkg:
    """The fixture broken by every check that reads more than one row, with the file still in
    key order: a lifecycle out of order, a primary key twice and three times, a repeated title and address, an other name that is the title, a source cited by nothing (and one by a date only), foreign
    keys to nothing, a number not in shortest form."""
    pkg.set_cell("entry_dates", pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,signed"), "date", "2017-08-01")
    pkg.delete_lines("entry_sources", "cn-2017-new-generation-ai-development-plan,english-gov-cn-2017-ai-guideline,")  # cited by a date only
    pkg.delete_lines("entry_sources", "cn-2017-new-generation-ai-development-plan,nbd-2017-ai-plan-three-steps,")  # cited by nothing
    lines = pkg.lines("entry_sources")
    pkg.write("data/entry_sources.csv", "\n".join(lines[:2] + lines[1:]))  # the first row twice
    lines = pkg.lines("entry_topics")
    pkg.write("data/entry_topics.csv", "\n".join(lines[:3] + lines[2:3] * 2 + lines[3:]))  # the second row three times
    second = pkg.find_line("entries", "cn-bj-2018-mentougou-ai-park")
    pkg.set_cell("entries", second, "jurisdiction_id", "CN")
    pkg.set_cell("entries", second, "title", "New Generation Artificial Intelligence Development Plan")
    sources = pkg.lines("sources")
    pkg.set_cell("sources", 3, "url", next(__import__("csv").reader([sources[1]]))[12])
    pkg.append("entry_topics", "zz-no-such-entry,no-such-topic")
    pkg.set_cell("figures", 2, "value", "150000000000.0")
    pkg.set_cell("entry_names", 2, "name", "NEW GENERATION Artificial Intelligence Development Plan")  # the entry's title
    return pkg


def whole_table_problems(root) -> list[dict]:
    """The problems found with every table read whole first, as a build does."""
    from aipolicy.checking.validate import validate_package

    return as_dicts(validate_package(package.read_package(root, strict=True)))


@pytest.mark.parametrize("block, few_keys", [(1 << 24, None), (300, 0), (37, None), (37, 0)])
def test_reading_in_blocks_finds_what_reading_whole_tables_finds(pkg, monkeypatch, block, few_keys):
    """Checked a block at a time (foreign keys, repeated values and lifecycles across blocks
    included), a package gives the problems of the same package checked whole. Foreign keys
    are looked up both ways: in the checks' own query, and (`few_keys` 0, as for a table of
    millions of keys) by an anti-join against the keys in the block's range."""
    checks_beyond_one_row(pkg)
    whole = whole_table_problems(pkg.root)
    assert {"lifecycle-order", "primary-key", "duplicate-title", "source-url", "foreign-key", "canonical", "other-name", "source-cited"} <= {d["rule"] for d in whole}
    assert [d["message"] for d in whole if d["rule"] == "source-cited"] == ['source "nbd-2017-ai-plan-three-steps" is not cited by any entry, date, figure or organization']
    if few_keys is not None:
        monkeypatch.setattr(checks, "FEW_KEYS", few_keys)
        assert whole_table_problems(pkg.root) == whole
    monkeypatch.setattr(package, "BLOCK", block)
    assert as_dicts(validate(pkg.root)) == whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=40), st.lists(st.integers(0, 60), min_size=1, max_size=40))
def test_sorted_values_are_looked_up_in_sorted_keys_as_a_set_would_be(keys, values):
    """A foreign key that leads a table in key order, against the sorted keys of its parent:
    the unknown values are those a set difference gives, whether the keys in the values'
    range are as many as the distinct values, more, or none."""
    known = pl.Series("k", sorted({f"k{k:02d}" for k in keys}), dtype=pl.String).set_sorted()
    present = pl.Series("k", sorted(f"k{v:02d}" for v in values))
    unknown = checks._unknown_sorted(present, known)
    assert unknown.to_list() == sorted(set(present) - set(known))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**17, 10**17).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                          st.sampled_from(["+5", "05", "-0", "1.50", "1e3", "12,5", "0.0", "-0.0"])), min_size=1, max_size=30))
def test_numbers_are_put_in_shortest_form_as_python_writes_them(texts):
    """Every number cell is rewritten as `format_number` writes it, plain integers included
    (left alone without a call: they are their own shortest form); a cell that is not a
    number is left as it is."""
    from aipolicy.reading.canonical import _canonical_numbers

    table = package.Table("figures", "data/figures.csv", {"fields": [{"name": "value", "type": "number"}]})
    got = _canonical_numbers(pl.DataFrame({"value": texts}), table).get_column("value").to_list()
    shaped = [fieldtypes.fullmatch(pl.lit(t), fieldtypes.NUMBER) for t in texts]
    expected = [fieldtypes.format_number(float(t)) if pl.select(e).item() else t for t, e in zip(texts, shaped)]
    assert got == expected


def test_the_bytes_of_a_large_file_are_counted_as_python_counts_them(pkg, monkeypatch):
    """From a file size on, NumPy counts the commas and line ends of a block: the same counts,
    the same problems."""
    checks_beyond_one_row(pkg)
    whole = whole_table_problems(pkg.root)
    monkeypatch.setattr(package, "COUNT_WITH_NUMPY", 0)
    monkeypatch.setattr(package, "BLOCK", 300)
    text = (pkg.root / "data" / "entries.csv").read_bytes()
    count = package.byte_counter(pkg.root / "data" / "entries.csv")
    assert count is not bytes.count
    assert [count(text, b) for b in (b",", b"\n", b'"', b"\xe2")] == [text.count(b) for b in (b",", b"\n", b'"', b"\xe2")]
    assert as_dicts(validate(pkg.root)) == whole


def test_a_hash_collision_never_reports_a_repeat(pkg, monkeypatch):
    """Repeated values, and other names that repeat a title (whose titles are kept as hashes),
    are found by hash and confirmed by value: with every hash equal, only the rows that do
    repeat are reported."""
    from aipolicy.checking import stream

    checks_beyond_one_row(pkg)
    expected = as_dicts(validate(pkg.root))
    assert "other-name" in {d["rule"] for d in expected}
    monkeypatch.setattr(stream, "_hash", lambda spec: pl.when(spec.exempt.fill_null(False)).then(None).otherwise(pl.lit(7, dtype=pl.UInt64)))
    monkeypatch.setitem(rules.KEPT_DERIVED, "entries", {"_title_key": pl.lit(7, dtype=pl.UInt64)})
    monkeypatch.setattr(rules, "_title_key", lambda entry, title: pl.lit(7, dtype=pl.UInt64))
    assert as_dicts(validate(pkg.root)) == expected


@pytest.mark.parametrize("damage", ["order", "quoting"])
def test_a_file_that_cannot_be_read_in_blocks_is_read_whole(pkg, monkeypatch, damage):
    """Rows out of key order, or a file that is not what its rows serialise to, are checked
    whole: the problems are the same, the canonical-form problem at the same line."""
    from aipolicy.checking import stream

    checks_beyond_one_row(pkg)
    if damage == "order":
        lines = pkg.lines("organizations")
        lines[1], lines[2] = lines[2], lines[1]
        pkg.write("data/organizations.csv", "\n".join(lines))
    else:
        pkg.set_line("topics", 2, pkg.lines("topics")[1].replace(",", ',"', 1).replace(",", '",', 2).replace('",', ",", 1))
    whole = whole_table_problems(pkg.root)
    assert "canonical" in {d["rule"] for d in whole}
    monkeypatch.setattr(package, "BLOCK", 37)
    streamed = []
    original = stream.stream_problems
    monkeypatch.setattr(stream, "stream_problems", lambda p, t, *a: streamed.append((t.name, r := original(p, t, *a))) or r)
    assert as_dicts(validate(pkg.root)) == whole
    assert [name for name, r in streamed if r is None] == ["organizations" if damage == "order" else "topics"]


def test_the_blocks_of_one_table_after_another_come_to_each_table_whole_or_not_at_all(pkg, monkeypatch):
    """Read one ahead from one table on to the next: each table gets its own blocks in order;
    one left before its end (read whole instead) lets the next still start at its first row;
    a file that cannot be read in blocks gets None, and one that does not prove raises at the
    block that does not."""
    import threading

    from aipolicy.checking.stream import Blocks

    monkeypatch.setattr(package, "BLOCK", 64)
    pkg.write("data/topics.csv", "not,the,header\n" + "\n".join(pkg.lines("topics")[1:]))  # read whole
    lines = pkg.lines("organizations")
    pkg.set_line("organizations", 3, lines[2].replace(",", ',"', 1).replace(",", '",', 2).replace('",', ",", 1))  # needless quotes
    data = package.read_package(pkg.root, strict=True, rows=False)
    names = ["entries", "topics", "organizations", "entry_dates", "sources"]
    whole = {name: package.read_package(pkg.root, strict=False, tables=[name]).tables[name].data for name in ["entry_dates", "sources"]}
    before = threading.active_count()
    blocks = Blocks(data, [data.tables[name] for name in names])
    entries = blocks.of(data.tables["entries"])
    assert len(next(entries)) >= 1
    entries.close()  # read whole from here: the rest of its blocks are dropped
    assert blocks.of(data.tables["topics"]) is None
    organizations = blocks.of(data.tables["organizations"])
    assert len(next(organizations)) == 1  # the first row proves, the second does not
    with pytest.raises(package.Unproved):
        list(organizations)
    for name in ["entry_dates", "sources"]:
        parts = list(blocks.of(data.tables[name]))
        assert len(parts) > 1 and pl.concat(parts).equals(whole[name])
    blocks.close()
    assert threading.active_count() == before


def test_reading_ahead_keeps_the_order_raises_where_the_source_failed_and_stops_with_the_caller():
    """Blocks are made one ahead in a second thread: the caller gets them in order, then the
    source's exception at the place it was raised; a caller that stops early closes the source
    and leaves no thread behind."""
    import threading

    from aipolicy.checking.stream import read_ahead

    def failing():
        yield from range(3)
        raise ValueError("block 3 does not parse")

    got = []
    with pytest.raises(ValueError, match="block 3 does not parse"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [0, 1, 2]

    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    ahead = read_ahead(endless())
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert closed.is_set() and threading.active_count() == before
    assert list(read_ahead(iter([]))) == []
