"""`aipolicy validate`: every bad input gives one located problem naming its rule."""
from __future__ import annotations

import json

import pytest

from aipolicy.checking.validate import validate
from conftest import Pkg, run_cli, run_cli_process


def problems_of(pkg: Pkg):
    return validate(pkg.root)


def assert_problem(pkg: Pkg, path: str, line, column, rule: str, contains: str | None = None):
    problems = problems_of(pkg)
    hits = [p for p in problems if p.path == path and p.line == line and p.column == column and p.rule == rule]
    assert hits, f"expected {path}:{line}:{column} [{rule}], got:\n" + "\n".join(p.text() for p in problems)
    if contains:
        assert any(contains in p.message for p in hits), [p.message for p in hits]
    return hits[0]


def test_the_fixture_package_is_valid(pkg):
    assert [p.text() for p in problems_of(pkg)] == []


def test_the_cli_exits_0_and_says_valid(pkg):
    result = run_cli_process("validate", str(pkg.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid: no problems found" in result.stdout


# --- the bytes and the structure of a file -------------------------------------------------

def test_unbalanced_quote_is_located(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    pkg.set_line("entries", line, pkg.lines("entries")[line - 1].replace(",plan,", ',"plan,', 1))
    assert_problem(pkg, "data/entries.csv", line, None, "quote")


def test_stray_quote_inside_a_quoted_value_is_located(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_line("topics", line, 'industrial-policy,"Industrial"x,Plans.,')
    assert_problem(pkg, "data/topics.csv", line, None, "quote")


def test_row_with_too_many_cells(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_line("topics", line, pkg.lines("topics")[line - 1] + ",surplus")
    assert_problem(pkg, "data/topics.csv", line, 5, "extra-cell", "surplus")


def test_row_with_too_few_cells(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_line("topics", line, "industrial-policy,Industrial policy")
    assert_problem(pkg, "data/topics.csv", line, 3, "missing-cell")


def test_rows_after_a_broken_row_are_still_checked(pkg):
    bad = pkg.find_line("topics", "industrial-policy")
    pkg.set_line("topics", bad, "industrial-policy,Industrial policy")
    later = pkg.append("topics", "zz-topic,Zed,=SUM(A1),")
    assert_problem(pkg, "data/topics.csv", later, 3, "formula")


def test_blank_line(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_line("topics", line, "\n" + pkg.lines("topics")[line - 1])
    assert_problem(pkg, "data/topics.csv", line, None, "blank-row")


@pytest.mark.parametrize("change, column, text", [
    (lambda h: h.replace(",label,", ",lable,"), 2, "lable"),                       # renamed
    (lambda h: h + ",extra", 5, "extra"),                                          # extra
])
def test_header_with_an_unknown_column(pkg, change, column, text):
    lines = pkg.lines("topics")
    pkg.set_line("topics", 1, change(lines[0]))
    hit = assert_problem(pkg, "data/topics.csv", 1, column, "header", text)
    assert hit.hint


def test_header_with_a_missing_column(pkg):
    pkg.write("data/topics.csv", "topic_id,label,description\nhealth,Health,Medicine.\n")
    assert_problem(pkg, "data/topics.csv", 1, None, "header", "parent_id")


def test_header_out_of_order(pkg):
    pkg.write("data/topics.csv", "label,topic_id,description,parent_id\nHealth,health,Medicine.,\n")
    assert_problem(pkg, "data/topics.csv", 1, None, "header-order")


def test_bom(pkg):
    pkg.write("data/topics.csv", b"\xef\xbb\xbf" + pkg.path("data/topics.csv").read_bytes())
    assert_problem(pkg, "data/topics.csv", 1, 1, "bom")


def test_crlf_line_ends(pkg):
    pkg.write("data/topics.csv", pkg.read("data/topics.csv").replace("\n", "\r\n"))
    assert_problem(pkg, "data/topics.csv", 1, None, "line-ending")


def test_bytes_that_are_not_utf8(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    raw = pkg.path("data/topics.csv").read_bytes().split(b"\n")
    raw[line - 1] = b"industrial-policy,Industri\xe9l policy,Plans.,"
    pkg.write("data/topics.csv", b"\n".join(raw))
    assert_problem(pkg, "data/topics.csv", line, 27, "encoding")


def test_bytes_that_are_not_utf8_after_a_bom(pkg):
    """The byte order mark does not shift where a bad byte is reported."""
    line = pkg.find_line("topics", "industrial-policy")
    raw = pkg.path("data/topics.csv").read_bytes().split(b"\n")
    raw[line - 1] = b"industrial-policy,Industri\xe9l policy,Plans.,"
    pkg.write("data/topics.csv", b"\xef\xbb\xbf" + b"\n".join(raw))
    hit = assert_problem(pkg, "data/topics.csv", line, 27, "encoding")
    assert "0xe9" in hit.message


def test_empty_file(pkg):
    pkg.write("data/topics.csv", "")
    assert_problem(pkg, "data/topics.csv", 1, None, "empty-file")


def test_header_only_file(pkg):
    pkg.write("data/topics.csv", pkg.lines("topics")[0] + "\n")
    assert_problem(pkg, "data/topics.csv", 1, None, "no-rows")


def test_missing_csv(pkg):
    pkg.path("data/topics.csv").unlink()
    assert_problem(pkg, "data/topics.csv", None, None, "missing-file")


def test_malformed_descriptor_is_located(pkg):
    text = pkg.read("datapackage.json")
    pkg.write("datapackage.json", text.replace('"name": "ai-policy-atlas",', '"name": "ai-policy-atlas"', 1))
    problems = problems_of(pkg)
    assert any(p.path == "datapackage.json" and p.rule == "json" and p.line == 4 for p in problems), [p.text() for p in problems]


def test_descriptor_checked_by_frictionless(pkg):
    descriptor = json.loads(pkg.read("datapackage.json"))
    descriptor["version"] = 1
    pkg.write("datapackage.json", json.dumps(descriptor))
    problems = problems_of(pkg)
    assert any(p.path == "datapackage.json" and p.rule == "descriptor" and "version" in p.message for p in problems)


# --- values ---------------------------------------------------------------------------------

def test_invalid_date(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "date", "2017-13-01")
    hit = assert_problem(pkg, "data/entries.csv", line, col, "type", '"2017-13-01" is not a valid date (YYYY-MM-DD)')
    assert hit.text().startswith(f"data/entries.csv:{line}:{col}: date \"2017-13-01\" is not a valid date")


def test_invalid_number(pkg):
    col = pkg.set_cell("figures", 2, "value", "13,8 billion")
    assert_problem(pkg, "data/figures.csv", 2, col, "type", "not a number")


def test_a_type_error_is_reported_once(pkg):
    col = pkg.set_cell("figures", 2, "value", "-abc")
    hits = [p for p in problems_of(pkg) if p.line == 2 and p.column == col]
    assert [p.rule for p in hits] == ["type"]


def test_enum_violation(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "kind", "masterplan")
    hit = assert_problem(pkg, "data/entries.csv", line, col, "enum", "masterplan")
    assert "strategy" in hit.hint


def test_pattern_violation(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    col = pkg.set_cell("topics", line, "topic_id", "Health Care")
    assert_problem(pkg, "data/topics.csv", line, col, "pattern")


def test_range_violation(pkg):
    col = pkg.set_cell("figures", 2, "value", "-5")
    assert_problem(pkg, "data/figures.csv", 2, col, "minimum")


def test_length_violation(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "summary", "A" * 601)
    assert_problem(pkg, "data/entries.csv", line, col, "maxLength", "601 characters")


def test_missing_required_value(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "title", "")
    assert_problem(pkg, "data/entries.csv", line, col, "required")


def test_duplicate_primary_key(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    new = pkg.append("topics", pkg.lines("topics")[line - 1])
    assert_problem(pkg, "data/topics.csv", new, 1, "primary-key")


def test_a_page_cited_twice_is_one_source(pkg):
    line = pkg.find_line("sources", "ce-2019-mentougou-ai-park")
    other = pkg.find_line("sources", "caixin-2017-ai-world-leader-2025")
    url = next(__import__("csv").DictReader(pkg.lines("sources")[:1] + [pkg.lines("sources")[other - 1]]))["url"]
    col = pkg.set_cell("sources", line, "url", url)
    hit = assert_problem(pkg, "data/sources.csv", max(line, other), col, "source-url")
    assert hit.message.startswith('url "' + url[:40]) and "earlier source" in hit.message
    assert "source_id" in hit.hint


def test_dangling_foreign_key_suggests_the_closest_id(pkg):
    line = pkg.find_line("entry_topics", "cn-2017-new-generation")
    col = pkg.set_cell("entry_topics", line, "topic_id", "industrial-policyy")
    hit = assert_problem(pkg, "data/entry_topics.csv", line, col, "foreign-key")
    assert "industrial-policy" in hit.hint


# --- the rules of DESIGN.md -----------------------------------------------------------------

def test_entry_without_source(pkg):
    assert pkg.delete_lines("entry_sources", "cn-bj-2018-mentougou") > 0
    line = pkg.find_line("entries", "cn-bj-2018-mentougou")
    assert_problem(pkg, "data/entries.csv", line, 1, "entry-has-source")


def test_source_never_cited(pkg):
    line = pkg.append("sources", "zz-2020-uncited,web-page,A page,,,,,,,,2020-01-01,day,https://example.org/a,,,en,2026-11-25")
    assert_problem(pkg, "data/sources.csv", line, 1, "source-cited")


def test_date_in_the_future(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "date", "2999-01-01")
    pkg.set_cell("entries", line, "date_precision", "year")
    assert_problem(pkg, "data/entries.csv", line, col, "future-date")


def test_target_dates_may_lie_in_the_future(pkg):
    pkg.set_cell("figures", 2, "target_date", "2999-01-01")
    pkg.set_cell("figures", 2, "target_date_precision", "year")
    pkg.set_cell("figures", 2, "basis", "target")
    assert not [p.text() for p in problems_of(pkg) if p.line == 2]


def test_as_of_may_not_lie_in_the_future(pkg):
    col = pkg.set_cell("figures", 2, "as_of", "2999-01-01")
    pkg.set_cell("figures", 2, "as_of_precision", "year")
    assert_problem(pkg, "data/figures.csv", 2, col, "future-date")


def test_only_targets_have_target_dates(pkg):
    col = pkg.set_cell("figures", 2, "target_date", "2020-01-01")
    pkg.set_cell("figures", 2, "target_date_precision", "year")
    pkg.set_cell("figures", 2, "basis", "actual")
    assert_problem(pkg, "data/figures.csv", 2, col, "target-date")


def test_date_that_disagrees_with_its_precision(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "date_precision", "month")
    assert_problem(pkg, "data/entries.csv", line, col - 1, "date-precision")


def test_lifecycle_out_of_order(pkg):
    line = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,signed")
    col = pkg.set_cell("entry_dates", line, "date", "2017-07-30")
    published = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,published")
    assert_problem(pkg, "data/entry_dates.csv", published, col, "lifecycle-order")


def test_lifecycle_out_of_order_when_an_entrys_dates_are_apart(pkg):
    """Out of key order, an entry's dates are compared all the same (they are not one run)."""
    line = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,signed")
    col = pkg.set_cell("entry_dates", line, "date", "2017-07-30")
    lines = [text for text in pkg.lines("entry_dates") if text]
    pkg.write("data/entry_dates.csv", "\n".join(lines[:line - 1] + lines[line:] + lines[line - 1:line]) + "\n")  # the signed row last
    published = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,published")
    problems = problems_of(pkg)
    assert [(p.line, p.column) for p in problems if p.rule == "lifecycle-order"] == [(published, col)]
    assert any(p.rule == "canonical" for p in problems)


def test_lifecycle_compares_periods_not_first_days(pkg):
    line = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,published")
    pkg.set_cell("entry_dates", line, "date", "2017-01-01")
    pkg.set_cell("entry_dates", line, "date_precision", "year")
    assert not [p for p in problems_of(pkg) if p.rule == "lifecycle-order"]


def test_invalid_currency(pkg):
    col = pkg.set_cell("figures", 2, "unit", "XYZ")
    assert_problem(pkg, "data/figures.csv", 2, col, "currency")


def test_invalid_language(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "language", "xx-Qqqq")
    assert_problem(pkg, "data/entries.csv", line, col, "language")


def test_invalid_country_code(pkg):
    line = pkg.append("jurisdictions", "XQ,Nowhere,country,,XQQ")
    assert_problem(pkg, "data/jurisdictions.csv", line, 1, "jurisdiction-code")


def test_invalid_subdivision_code(pkg):
    line = pkg.append("jurisdictions", "CN-QQ,Nowhere,subdivision,CN,")
    assert_problem(pkg, "data/jurisdictions.csv", line, 1, "jurisdiction-code")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_like_text(pkg, start):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "summary", start + "cmd|' /C calc'!A0")
    assert_problem(pkg, "data/entries.csv", line, col, "formula")


def test_surrounding_whitespace(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "title", " Padded title ")
    assert_problem(pkg, "data/entries.csv", line, col, "whitespace")


def test_duplicate_title_in_one_jurisdiction(pkg):
    line = pkg.find_line("entries", "cn-bj-2018-mentougou")
    other = pkg.find_line("entries", "cn-2017-new-generation")
    title = pkg.lines("entries")[other - 1]
    import csv

    pkg.set_cell("entries", line, "jurisdiction_id", "CN")
    col = pkg.set_cell("entries", line, "title", next(csv.reader([title]))[1])
    first, second = sorted([line, other])
    assert_problem(pkg, "data/entries.csv", second, col, "duplicate-title")


# --- the repository ---------------------------------------------------------------------------

def test_versions_that_disagree(pkg):
    pkg.write("CITATION.cff", pkg.read("CITATION.cff").replace("\nversion: ", "\nversion: 9.9.9\nx-old-version: "))
    hit = assert_problem(pkg, "CITATION.cff", pkg.read("CITATION.cff").split("\n").index("version: 9.9.9") + 1, None, "version")
    assert "datapackage.json" in hit.message


def test_changelog_that_lags_the_descriptor(pkg):
    descriptor = json.loads(pkg.read("datapackage.json"))
    descriptor["version"] = "9.9.9"
    pkg.write("datapackage.json", json.dumps(descriptor, indent=2))
    problems = problems_of(pkg)
    assert any(p.path == "CHANGELOG.md" and p.rule == "version" and p.line for p in problems)


def test_invalid_citation_cff(pkg):
    pkg.write("CITATION.cff", pkg.read("CITATION.cff").replace("cff-version: 1.2.0", "cff-version: one"))
    assert_problem(pkg, "CITATION.cff", 1, None, "citation")


# --- reports and exit codes -------------------------------------------------------------------

def test_github_format_prints_annotations(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_cell("topics", line, "topic_id", "Bad Id")
    result = run_cli("validate", "--format", "github", str(pkg.root))
    assert result.returncode == 1
    assert f"::error file=data/topics.csv,line={line},col=1,title=pattern::" in result.stdout


def test_json_format_is_machine_readable(pkg):
    line = pkg.find_line("topics", "industrial-policy")
    pkg.set_cell("topics", line, "topic_id", "Bad Id")
    result = run_cli("validate", "--format", "json", str(pkg.root))
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["valid"] is False
    assert any({"path": "data/topics.csv", "line": line, "column": 1, "rule": "pattern"}.items() <= p.items() for p in report["problems"])


def test_invalid_data_exits_1_without_traceback(pkg):
    pkg.write("data/topics.csv", b"\xff\xfe broken")
    result = run_cli_process("validate", str(pkg.root))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_descriptor_exits_2_with_a_message(tmp_path):
    result = run_cli_process("validate", str(tmp_path))
    assert result.returncode == 2
    assert "datapackage.json" in result.stderr and "Traceback" not in result.stderr


def test_an_event_may_repeat_on_different_dates(pkg):
    line = pkg.find_line("entry_dates", "cn-2017-new-generation-ai-development-plan,published")
    row = pkg.lines("entry_dates")[line - 1]
    pkg.append("entry_dates", row.replace("2017-07-20", "2017-07-21"))
    from aipolicy.reading.canonical import rewrite
    from aipolicy.reading.package import read_package

    rewrite(read_package(pkg.root))
    assert [p.text() for p in problems_of(pkg)] == []
    pkg.append("entry_dates", row)
    rewrite(read_package(pkg.root))
    assert any(p.rule == "primary-key" for p in problems_of(pkg))


def test_fast_serialisation_matches_the_csv_module():
    """The canonical writer (Polars) quotes exactly as Python's csv module with QUOTE_MINIMAL."""
    import csv
    import io

    import pandas as pd

    from aipolicy.reading.csvtext import csv_body

    rows = [["plain", "with, comma", 'with "quote"', " spaced ", "", "中文, é", "x" * 300, "'single'", "a;b", "#hash"],
            ["", "", "", "", "", "", "", "", "", "end"]]
    frame = pd.DataFrame(rows, dtype="str").replace({"": None})
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows(rows)
    assert csv_body(frame) == expected.getvalue().encode("utf-8")


def test_key_order_check_agrees_with_sorting():
    """The neighbour comparison finds exactly the first row that a stable sort moves."""
    import itertools

    import polars as pl

    from aipolicy.reading.csvtext import first_out_of_order

    rows = [("a", "x", "2"), ("a", "x", "10"), ("a", "y", "1"), ("b", "a", "1"), ("b", "a", "1"), (None, "z", "1"), ("a", None, "3")]

    def key(i_row, width=3):  # text order, a missing value first, as the canonical order has it
        return tuple((value is not None, value or "") for value in i_row[1][:width])

    for perm in dict.fromkeys(itertools.permutations(rows, 5)):  # each distinct order once: two of the rows are equal
        data = pl.DataFrame({name: [row[j] for row in perm] for j, name in enumerate(["k1", "k2", "k3"])}, schema={n: pl.String for n in ["k1", "k2", "k3"]})
        for columns in (["k1", "k2", "k3"], ["k1"]):  # a key of one column is checked in one pass
            order = [i for i, _ in sorted(enumerate(perm), key=lambda r: key(r, len(columns)))]  # Python's sort is stable
            moved = [i for i, r in enumerate(order) if i != r]
            assert first_out_of_order(data, columns) == (moved[0] if moved else None), (perm, columns)


def test_metadata_verdicts_are_kept_until_one_of_their_files_changes(pkg, monkeypatch):
    """The metadata checks run in a second process the first time; while the descriptor, the
    schemas, CITATION.cff and CHANGELOG.md are unchanged, their verdict comes from the cache,
    problems included; an edit to one of those files checks them again."""
    from aipolicy.checking import validate as validate_module

    pkg.write("CITATION.cff", pkg.read("CITATION.cff").replace("cff-version: 1.2.0", "cff-version: 9.9.9"))
    first = sorted(p.text() for p in validate_module.validate(pkg.root, parallel=True))
    assert any("CITATION.cff" in t for t in first)

    started = []
    real_start = validate_module._start_metadata_check
    monkeypatch.setattr(validate_module, "_start_metadata_check", lambda root: started.append(root) or real_start(root))
    assert sorted(p.text() for p in validate_module.validate(pkg.root, parallel=True)) == first
    assert started == []  # from the cache

    fixed = pkg.read("CITATION.cff").replace("cff-version: 9.9.9", "cff-version: 1.2.0")
    pkg.write("CITATION.cff", fixed + f"# {pkg.root}\n")  # content no other test writes, so no other test's verdict applies
    assert not any("CITATION.cff" in p.text() for p in validate_module.validate(pkg.root, parallel=True))
    assert len(started) == 1  # checked again


def test_validation_in_one_process_keeps_and_reuses_the_metadata_verdict(pkg, monkeypatch):
    """Without a second process, the metadata checks run in-process once and are kept: the
    next validation of the same files reuses the verdict, problems included."""
    from aipolicy.checking import validate as validate_module

    pkg.write("CITATION.cff", pkg.read("CITATION.cff").replace("cff-version: 1.2.0", "cff-version: 9.9.9") + f"# {pkg.root}\n")
    calls = []
    real = validate_module.metadata_problems
    monkeypatch.setattr(validate_module, "metadata_problems", lambda package: calls.append(1) or real(package))
    first = sorted(p.text() for p in validate_module.validate(pkg.root))
    assert any("CITATION.cff" in t for t in first) and calls == [1]
    assert sorted(p.text() for p in validate_module.validate(pkg.root)) == first
    assert calls == [1]  # the second verdict came from the cache


@pytest.mark.parametrize("damage, column, rule", [
    (lambda row: row.rsplit(",", 1)[0], 2, "missing-cell"),  # a short row
    (lambda row: row + ",surplus", 3, "extra-cell"),
    (lambda row: "\n" + row, None, "blank-row"),
    (lambda row: row + ",", 3, "extra-cell"),  # one comma too many, and an empty cell
])
def test_a_file_without_quotes_is_proved_by_its_commas(pkg, damage, column, rule):
    """A block without quotes is proved by counting its commas instead of writing it back:
    a short, long or blank line is still found where it is."""
    assert '"' not in pkg.read("data/entry_topics.csv")
    line = 3
    pkg.set_line("entry_topics", line, damage(pkg.lines("entry_topics")[line - 1]))
    assert_problem(pkg, "data/entry_topics.csv", line, column, rule)
