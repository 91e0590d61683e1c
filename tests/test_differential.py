"""Differential test: our validator and Frictionless find the same errors where both check.

Errors of every constraint class both validators implement are injected at known cells;
each must be reported by both at the same (file, row, field, kind). Our own rules
(future dates, lifecycles, codes, formulas...) go beyond Table Schema and are not compared.
"""
from __future__ import annotations

import json

from aipolicy.checking.validate import validate
from conftest import make_package

# (table, data line, field, bad value, our rule, Frictionless error type)
INJECTED = [
    ("entries", 2, "date", "2017-13-01", "type", "type-error"),
    ("entries", 3, "kind", "masterplan", "enum", "constraint-error"),
    ("entries", 2, "title", "", "required", "constraint-error"),
    ("entries", 3, "language", "EN_gb", "pattern", "constraint-error"),
    ("entries", 3, "summary", "x" * 601, "maxLength", "constraint-error"),
    ("figures", 2, "value", "-5", "minimum", "constraint-error"),
    ("figures", 3, "value", "12,5", "type", "type-error"),
    ("entry_topics", 2, "topic_id", "no-such-topic", "foreign-key", "foreign-key"),
    ("sources", 2, "url", "not a url", "pattern", "constraint-error"),
]
FRICTIONLESS_ROW_ERRORS = {"type-error", "constraint-error", "foreign-key", "primary-key", "unique-error"}
OUR_RULES = {"type", "required", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "unique", "primary-key", "foreign-key"}


def test_both_validators_find_the_same_errors(tmp_path):
    from frictionless import Package

    pkg = make_package(tmp_path / "pkg")
    for table, line, field, value, _, _ in INJECTED:
        pkg.set_cell(table, line, field, value)
    line = pkg.find_line("topics", "industrial-policy")
    duplicate = pkg.append("topics", pkg.lines("topics")[line - 1])  # a primary key used twice
    expected = {(f"data/{t}.csv", line, field, kind) for t, line, field, _, _, kind in INJECTED} | {("data/topics.csv", duplicate, "topic_id", "primary-key")}

    ours = {(p.path, p.line, p.field_name, _kind(p.rule)) for p in validate(pkg.root) if p.rule in OUR_RULES}
    report = Package(str(pkg.root / "datapackage.json")).validate()
    first_key = {f"data/{p.stem.split('.')[0]}.csv": json.loads(p.read_text())["primaryKey"][0] for p in (pkg.root / "schemas").glob("*.json")}
    theirs = set()
    for task in report.tasks:
        for error in task.errors:
            if error.type in FRICTIONLESS_ROW_ERRORS:
                # Frictionless names the key's fields for key errors, the cell's field otherwise.
                field = getattr(error, "field_name", None) or (getattr(error, "field_names", None) or [None])[0]
                if error.type == "primary-key":  # Frictionless names no field for a duplicate key: it is the key's
                    field = first_key[task.place]
                theirs.add((task.place, error.row_number, field, error.type))
    assert ours == expected, json.dumps(sorted(map(str, ours ^ expected)))
    assert theirs == expected, json.dumps(sorted(map(str, theirs ^ expected)))


def _kind(rule: str) -> str:
    return {"type": "type-error", "foreign-key": "foreign-key", "primary-key": "primary-key"}.get(rule, "constraint-error")
