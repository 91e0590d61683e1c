"""The repository itself: workflows, the live package, its metadata kept in one place."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT


@pytest.mark.parametrize("workflow", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_workflows_are_valid_github_workflows(workflow):
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_workflows_pin_actions_and_never_run_pull_request_target(workflow):
    text = workflow.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert "pull_request_target" not in (data.get(True) or data.get("on") or {})
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]
    assert "permissions" in data


def test_the_live_package_validates():
    from aipolicy.checking.validate import validate

    assert [p.text() for p in validate(ROOT)] == []


def test_frictionless_validates_the_live_package_on_its_own():
    result = subprocess.run([str(Path(sys.executable).parent / "frictionless"), "validate", "--json", "datapackage.json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["tasks"], indent=1)[:3000]


def test_homepage_is_kept_in_one_place():
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["url"] == descriptor["homepage"]
    assert descriptor["id"] == citation["repository"]
    assert citation["title"] == descriptor["title"]


def test_every_table_and_field_has_a_description():
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema.get("description"), path.name
        for field in schema["fields"]:
            assert field.get("description"), f"{path.name}: {field['name']}"


def test_one_name_has_one_meaning_across_tables():
    """A field name shared by several tables has the same type and constraints everywhere."""
    seen: dict[str, tuple] = {}
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        for field in json.loads(path.read_text(encoding="utf-8"))["fields"]:
            c = field.get("constraints", {})
            shape = (field["type"], c.get("pattern"), tuple(c.get("enum", [])))
            if field["name"] in {"entry_id", "source_id", "jurisdiction_id", "organization_id", "topic_id", "language", "url", "date_precision"}:
                seen.setdefault(field["name"], shape)
                assert seen[field["name"]][:2] == shape[:2], f"{path.name}: {field['name']}"


def test_descriptor_stays_within_what_frictionless_r_reads():
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        for field in schema["fields"]:
            assert "categories" not in field and "missingValues" not in field, f"{path.name}: {field['name']}"


@pytest.mark.parametrize("form", sorted((ROOT / ".github" / "ISSUE_TEMPLATE").glob("*.yml")), ids=lambda p: p.name)
def test_issue_forms_are_valid(form):
    schema = "vendor.github-issue-config" if form.name == "config.yml" else "vendor.github-issue-forms"
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema", schema, str(form)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_error_report_form_asks_for_the_entry_id_and_a_source():
    form = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / "report-error.yml").read_text(encoding="utf-8"))
    required = {item["id"] for item in form["body"] if item.get("validations", {}).get("required")}
    assert {"entry_id", "source"} <= required


def test_pre_commit_runs_fmt_and_validate_on_data_files():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert hooks["aipolicy-fmt"]["entry"].endswith("aipolicy fmt") and hooks["aipolicy-validate"]["entry"].endswith("aipolicy validate")
    import re

    assert re.search(hooks["aipolicy-validate"]["files"], "data/entries.csv")


def test_the_readme_lists_every_command_and_only_real_ones():
    """The README's command list is written by hand: it must agree with the argument parser."""
    from aipolicy.cli import build_parser

    parser = build_parser()
    commands = set(next(a for a in parser._actions if a.dest == "command").choices)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The `aipolicy` command", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    listed = set(re.findall(r"aipolicy ([a-z-]+)", block))
    assert listed <= commands, listed - commands
    missing = commands - listed
    assert not missing, f"README's command list lacks: {sorted(missing)}"


def _readme_commands() -> dict[str, set[str]]:
    """The commands in the README's command list, each with the flags it shows."""
    shown: dict[str, set[str]] = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\.venv/bin/aipolicy ([a-z-]+)(.*)$", line)
        if match:
            shown.setdefault(match.group(1), set()).update(re.findall(r"(--[a-z-]+)", match.group(2)))
    return shown


def test_the_readme_lists_every_command_with_flags_that_exist():
    """The README's command list and the argument parser agree: every command is listed, and
    every command and flag the list shows exists (as sqlite-utils checks its CLI reference)."""
    from aipolicy.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # the subcommand parsers
    shown = _readme_commands()
    assert sorted(shown) == sorted(commands)
    for name, flags in shown.items():
        known = {opt for action in commands[name]._actions for opt in action.option_strings}
        if name == "new":  # `new KIND`: the flags belong to each kind's parser
            kinds = next(a for a in commands[name]._actions if a.dest == "new_kind").choices
            known |= {opt for kind in kinds.values() for action in kind._actions for opt in action.option_strings}
        assert flags <= known, (name, flags - known)


def test_every_column_the_site_reads_is_in_the_schemas():
    """The site reads columns by name: each name it looks up (a subscript with a string) must be
    a table, a field or an enum value of the schemas, or one of the few values the site derives,
    so that renaming a field fails here, not halfway through a docs build."""
    import ast

    derived = {"conversion", "country", "value_usd", "value_eur"}  # money conversions and the map's country rows
    known = set(derived)
    for path in (ROOT / "schemas").glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        known.add(path.name.removesuffix(".schema.json"))
        for f in schema["fields"]:
            known.add(f["name"])
            known.update(str(v) for v in f.get("constraints", {}).get("enum", []))
    unknown = set()
    for path in (ROOT / "scripts" / "aipolicy" / "outputs" / "site").glob("*.py"):
        if path.name == "worldmap.py":  # reads the TopoJSON file, not the tables
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript):
                keys = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                unknown |= {f"{path.name}: {k.value}" for k in keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str) and not k.value.endswith(".md") and k.value not in known}
    assert unknown == set()
