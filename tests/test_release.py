"""`aipolicy diff` and `aipolicy release` in temporary Git repositories."""
from __future__ import annotations

import json
import subprocess

import pytest

from aipolicy.reading.canonical import rewrite
from aipolicy.reading.package import read_package
from aipolicy.releasing.release import ReleaseRefused, release, set_version
from conftest import make_package, run_cli


IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**IDENTITY, "PATH": "/usr/bin:/bin", "HOME": str(root)})


def use_identity(env) -> None:
    """Set the Git identity on `env` (a MonkeyPatch): `release` makes the release commit itself."""
    for name, value in IDENTITY.items():
        env.setenv(name, value)


def new_repo(dest):
    """The fixture package in a new Git repository, at a version before every release made here."""
    pkg = make_package(dest)
    set_version(pkg.root, "0.1.0", "2026-01-01", "Start of the test history.")  # a version before every release made here
    (pkg.root / ".gitignore").write_text("dist/\n")
    git(pkg.root, "init", "-q", "-b", "main")
    git(pkg.root, "add", "-A")
    git(pkg.root, "commit", "-qm", "start")
    return pkg


@pytest.fixture
def repo(tmp_path, monkeypatch):
    use_identity(monkeypatch)
    return new_repo(tmp_path / "repo")


def commit(pkg, message="change"):
    changed, problems = rewrite(read_package(pkg.root))
    assert not problems
    git(pkg.root, "add", "-A")
    git(pkg.root, "commit", "-qm", message)


def first_release(pkg):
    release(pkg.root, "1.0.0")
    commit(pkg, "Release 1.0.0")
    git(pkg.root, "tag", "v1.0.0")


def test_diff_lists_exactly_the_changed_rows_and_cells(repo):
    line = repo.find_line("topics", "industrial-policy")
    repo.set_cell("topics", line, "label", "Industry policy")
    repo.append("topics", "zz-new,New topic,A topic added for the test.,")
    gone = repo.find_line("entry_topics", "cn-bj-2018-mentougou-ai-park,digital")
    lines = repo.lines("entry_topics"); removed = lines.pop(gone - 1)
    repo.write("data/entry_topics.csv", "\n".join(lines))
    commit(repo)
    result = run_cli("diff", "HEAD~1", "HEAD", "--path", str(repo.root), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["level"] == "minor"
    assert report["tables"]["topics"] == {"added": ["zz-new"], "removed": [],
                                          "changed": [{"key": "industrial-policy", "column": "label", "old": "Industrial policy", "new": "Industry policy"}]}
    assert report["tables"]["entry_topics"] == {"added": [], "removed": ["/".join(removed.split(","))], "changed": []}
    assert set(report["tables"]) == {"topics", "entry_topics"}


def test_table_diff_by_key_with_missing_cells_and_repeated_keys():
    """Rows are matched by their key (missing parts as empty strings; the first row of a
    repeated key); a cell that becomes empty, or stops being empty, is a change."""
    import polars as pl

    from aipolicy.reading.package import Table
    from aipolicy.versioning.diff import table_diff

    schema = {"fields": [{"name": "a"}, {"name": "b"}, {"name": "v"}, {"name": "w"}], "primaryKey": ["a", "b"]}

    def table(rows):
        return Table("t", "data/t.csv", schema, _data=pl.DataFrame(rows, schema={c: pl.String for c in "abvw"}, orient="row"), loaded=True)

    old = table([("x", None, "1", None), ("x", "y", "2", "p"), ("x", "y", "9", "q"), ("z", "1", "3", "r"), ("gone", "1", None, None)])
    new = table([("z", "1", None, "r"), ("x", None, "1", "s"), ("x", "y", "2", "p"), ("new", "2", "4", None)])
    found = table_diff("t", old, new)
    assert found.added == ["new/2"] and found.removed == ["gone/1"]
    assert found.changed == [("x/", "w", None, "s"), ("z/1", "v", "3", None)]
    assert table_diff("t", None, new).added == ["new/2", "x/", "x/y", "z/1"]
    assert table_diff("t", old, None).removed == ["gone/1", "x/", "x/y", "z/1"]


def test_diff_markdown_for_a_pull_request(repo):
    line = repo.find_line("topics", "industrial-policy")
    repo.set_cell("topics", line, "label", "Industry `policy` | <b>")
    commit(repo)
    result = run_cli("diff", "HEAD~1", "--path", str(repo.root), "--format", "markdown")
    assert "| `topics` | 0 | 0 | 1 |" in result.stdout
    assert "`industrial-policy` label: `Industrial policy` → `Industry 'policy' \\| <b>`" in result.stdout


def test_first_release_sets_the_version_everywhere_and_builds(repo):
    first_release(repo)
    assert json.loads(repo.read("datapackage.json"))["version"] == "1.0.0"
    assert "version: 1.0.0" in repo.read("CITATION.cff")
    assert "## [1.0.0] - " in repo.read("CHANGELOG.md") and "## [Unreleased]" in repo.read("CHANGELOG.md")
    registry = json.loads(repo.read("releases.json"))
    assert registry["1.0.0"]["zip"] == "ai-policy-atlas-1.0.0.zip" and len(registry["1.0.0"]["sha256"]) == 64
    assert run_cli("validate", str(repo.root)).returncode == 0


def test_release_refuses_a_dirty_tree(repo):
    repo.write("notes.txt", "uncommitted")
    with pytest.raises(ReleaseRefused, match="uncommitted"):
        release(repo.root, "1.0.0")


@pytest.mark.parametrize("version, reason", [("1.0", "not a SemVer"), ("v1.0.0", "not a SemVer"), ("0.0.9", "does not come after")])
def test_release_refuses_bad_versions(repo, version, reason):
    with pytest.raises(ReleaseRefused, match=reason):
        release(repo.root, version)


def test_release_refuses_a_bump_that_does_not_match_the_diff(released):
    repo = released
    line = repo.find_line("topics", "industrial-policy")
    repo.set_cell("topics", line, "label", "Industry policy")
    commit(repo)
    with pytest.raises(ReleaseRefused, match="need a minor version bump"):
        release(repo.root, "1.0.1")
    result = run_cli("release", "2.0.0", "--path", str(repo.root))
    assert result.returncode == 1 and "need a minor version bump" in result.stderr
    release(repo.root, "1.1.0")


def test_patch_release_only_when_every_csv_is_unchanged(released):
    repo = released
    repo.write("README.md", repo.read("README.md") + "\nMore documentation.\n")
    commit(repo)
    with pytest.raises(ReleaseRefused, match="need a patch"):
        release(repo.root, "1.1.0")
    release(repo.root, "1.0.1")


def test_release_refuses_a_released_id_that_vanished(repo):
    repo.append("topics", "zz-temporary,Temporary,A topic that will be withdrawn.,")
    commit(repo)
    first_release(repo)
    assert repo.delete_lines("topics", "zz-temporary,") == 1
    commit(repo)
    with pytest.raises(ReleaseRefused, match="'zz-temporary' was released but is missing"):
        release(repo.root, "1.1.0")
    repo.append("retired", "topics,zz-temporary,1.1.0,Withdrawn for the test.,")
    commit(repo)
    release(repo.root, "1.1.0")


def test_release_refuses_a_retired_id_that_came_back(repo):
    repo.append("retired", "topics,old-topic,0.1.0,Withdrawn before the test.,")
    commit(repo)
    first_release(repo)
    repo.append("topics", "old-topic,Old topic,Back again.,")
    commit(repo)
    with pytest.raises(ReleaseRefused, match="'old-topic' is retired but present again"):
        release(repo.root, "1.1.0")


def test_validate_reports_a_released_id_that_vanished_and_one_that_came_back(repo):
    repo.append("topics", "zz-temporary,Temporary,A topic that will be withdrawn.,")
    repo.append("retired", "topics,old-topic,0.1.0,Withdrawn before the test.,")
    commit(repo)
    first_release(repo)
    assert repo.delete_lines("topics", "zz-temporary,") == 1
    repo.append("topics", "old-topic,Old topic,Back again.,")
    rewrite(read_package(repo.root))
    result = run_cli("validate", str(repo.root))
    assert result.returncode == 1
    assert "data/topics.csv: topics: ID 'zz-temporary' was released but is missing" in result.stdout
    assert "ID 'old-topic' is retired but present again" in result.stdout and "[released-id]" in result.stdout


def test_validate_reads_a_release_from_git_once_and_then_from_the_cache(repo, monkeypatch):
    """A release commit never changes: its keys are read from Git the first time and kept,
    and what validate reports about released IDs is the same either way."""
    from aipolicy.checking import validate as validate_module
    from aipolicy.checking.validate import validate

    repo.append("topics", "zz-temporary,Temporary,A topic that will be withdrawn.,")
    commit(repo)
    first_release(repo)
    assert repo.delete_lines("topics", "zz-temporary,") == 1
    rewrite(read_package(repo.root))
    first = [p.text() for p in validate(repo.root, parallel=True) if p.rule == "released-id"]
    assert first and "'zz-temporary' was released but is missing" in first[0]

    def no_git(*args, **kwargs):
        raise AssertionError("the release was read from Git again")

    monkeypatch.setattr("aipolicy.reading.trees.tree_at_commit", no_git)
    assert [p.text() for p in validate(repo.root, parallel=True) if p.rule == "released-id"] == first
    assert validate_module.RELEASED_IDS_FORMAT == 1
