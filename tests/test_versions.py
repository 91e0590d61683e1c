"""Versions resolve through the release registry, never through Git tags: a clone without
tags can diff, cite, check released IDs, dry-run a release and rebuild any release offline."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from test_release import commit

REGISTRY = json.loads((ROOT / "releases.json").read_text(encoding="utf-8"))
LATEST = max(REGISTRY, key=lambda v: tuple(int(x) for x in v.split(".")))


def clone(src: Path, dest: Path, *flags: str) -> Path:
    subprocess.run(["git", "clone", "-q", *flags, f"file://{src}", str(dest)], check=True, capture_output=True)
    for tag in subprocess.run(["git", "-C", str(dest), "tag"], capture_output=True, text=True, check=True).stdout.split():
        subprocess.run(["git", "-C", str(dest), "tag", "-d", tag], check=True, capture_output=True)
    return dest


@pytest.fixture(scope="session")
def tagless(tmp_path_factory):
    """A clone of the repository without its tags, once per test process; a test that
    changes a file in it puts it back."""
    dest = clone(ROOT, tmp_path_factory.mktemp("clone") / "atlas")
    assert subprocess.run(["git", "-C", str(dest), "tag"], capture_output=True, text=True).stdout == ""
    return dest


def test_every_release_records_its_commit_and_artifacts():
    for version, rel in REGISTRY.items():
        assert len(rel["commit"]) == 40 and rel["artifacts"], version
        names = {a["name"] for a in rel["artifacts"]}
        assert rel["zip"] in names and "SHA256SUMS" in names and f"ai-policy-atlas-{version}.sqlite" in names
        subject = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%s", rel["commit"]], capture_output=True, text=True)
        assert subject.returncode == 0, f"{version}: commit {rel['commit']} is not in the history"
        assert subject.stdout.strip() == f"Release {version}"


def test_diff_between_releases_without_tags(tagless):
    result = run_cli("diff", "1.0.0", "v2.0.0", "--path", str(tagless), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["level"] == "major" and len(report["tables"]["entries"]["added"]) == 360


def test_cite_a_release_without_tags(tagless):
    result = run_cli("cite", str(tagless), "--version", "1.0.0", "--entry", "cn-2017-new-generation-ai-development-plan", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "(Version 1.0.0) [Data set], entry cn-2017-new-generation-ai-development-plan" in result.stdout


def test_an_entry_from_a_later_release_is_not_cited_at_an_earlier_one(tagless):
    result = run_cli("cite", str(tagless), "--version", "1.0.0", "--entry", "eu-2024-ai-act")
    assert result.returncode == 2 and result.stdout == ""
    assert "entry 'eu-2024-ai-act' is not in release 1.0.0: it was added after that release" in result.stderr


def test_validate_checks_released_ids_without_tags(tagless):
    released = subprocess.run(["git", "-C", str(tagless), "show", f"{REGISTRY[LATEST]['commit']}:data/topics.csv"], capture_output=True, text=True, check=True).stdout
    first_topic = released.splitlines()[1].split(",")[0]
    topics = tagless / "data" / "topics.csv"
    original = topics.read_text(encoding="utf-8")
    try:
        topics.write_text("\n".join(line for line in original.split("\n") if not line.startswith(first_topic + ",")), encoding="utf-8")
        result = run_cli("validate", str(tagless))
        assert f"topics: ID '{first_topic}' was released but is missing" in result.stdout and f"(compared with release {LATEST})" in result.stdout
    finally:
        topics.write_text(original, encoding="utf-8")


def test_a_dry_run_release_checks_against_the_latest_registered_release(released, tmp_path):
    repo = released
    repo.set_cell("topics", repo.find_line("topics", "industrial-policy"), "label", "Industry policy")
    commit(repo)
    tagless = clone(repo.root, tmp_path / "tagless")
    result = run_cli("release", "1.0.1", "--dry-run", "--path", str(tagless))
    assert result.returncode == 1 and "the changes since 1.0.0 need a minor version bump, but 1.0.0 -> 1.0.1 is a patch bump" in result.stderr
    result = run_cli("release", "1.1.0", "--dry-run", "--path", str(tagless))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "dry run: 1.1.0 would be a minor release after 1.0.0; every check passed and nothing was written\n"
    status = subprocess.run(["git", "-C", str(tagless), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert status == ""


def test_the_live_data_pass_a_dry_run_of_the_next_release(tagless):
    """The bump the live data need since the latest release is checked, and nothing is written."""
    major, minor, patch = (int(x) for x in LATEST.split("."))
    candidates = [f"{major + 1}.0.0", f"{major}.{minor + 1}.0", f"{major}.{minor}.{patch + 1}"]
    results = [run_cli("release", v, "--dry-run", "--path", str(tagless)) for v in candidates]
    assert sum(r.returncode == 0 for r in results) <= 1  # exactly the bump the diff needs passes (none when nothing changed)
    assert all("nothing was written" in r.stdout for r in results if r.returncode == 0)
    assert subprocess.run(["git", "-C", str(tagless), "status", "--porcelain"], capture_output=True, text=True).stdout == ""


def test_a_shallow_clone_gets_a_clear_error(tmp_path):
    shallow = clone(ROOT, tmp_path / "shallow", "--depth", "1")
    result = run_cli("validate", str(shallow))
    assert result.returncode == 1
    assert (f"released IDs cannot be checked: release {LATEST} was made at commit {REGISTRY[LATEST]['commit'][:12]}, but this clone is shallow; "
            "run `git fetch --unshallow`") in result.stdout
    result = run_cli("cite", str(shallow), "--version", "1.0.0")
    assert result.returncode == 2 and "this clone is shallow; run `git fetch --unshallow`" in result.stderr


def test_an_unreleased_tree_is_labelled(released):
    repo = released
    repo.append("topics", "zz-new,New topic,A topic added after the release.,")
    commit(repo)
    result = run_cli("cite", str(repo.root), "--format", "text")
    assert "(Version 1.0.0+unreleased)" in result.stdout and "changed since release 1.0.0" in result.stderr
    result = run_cli("cite", str(repo.root), "--version", "1.0.0", "--format", "text")
    assert "(Version 1.0.0)" in result.stdout and result.stderr == ""


def test_an_entry_added_after_the_latest_release_cannot_be_cited_at_it(released):
    repo = released
    source = repo.lines("entry_sources")[1].split(",")[1]
    repo.append("entries", "zz-2024-later-entry,A later entry,,official,,en,plan,CN,2024-01-01,year,published,,Added after 1.0.0.,")
    repo.append("entry_sources", f"zz-2024-later-entry,{source},")
    commit(repo)
    result = run_cli("cite", str(repo.root), "--version", "1.0.0", "--entry", "zz-2024-later-entry")
    assert result.returncode == 2
    assert result.stderr.strip() == ("aipolicy cite: entry 'zz-2024-later-entry' is not in release 1.0.0: it was added after that release, "
                                     "so it cannot be cited at 1.0.0; cite it in a later release, or without --version as unreleased data")
    assert run_cli("cite", str(repo.root), "--entry", "zz-2024-later-entry").returncode == 0


def test_release_records_the_release_commit(released):
    repo = released
    registry = json.loads(repo.read("releases.json"))
    subject = subprocess.run(["git", "-C", str(repo.root), "log", "-1", "--format=%s", registry["1.0.0"]["commit"]], capture_output=True, text=True)
    assert subject.stdout.strip() == "Release 1.0.0"
    sums = {line.split("  ")[1]: line.split("  ")[0] for line in (repo.root / "dist" / "SHA256SUMS").read_text().splitlines()}
    listed = {a["name"]: a["sha256"] for a in registry["1.0.0"]["artifacts"]}
    assert {n: h for n, h in listed.items() if n != "SHA256SUMS"} == sums


@pytest.mark.parametrize("version", sorted(REGISTRY))
def test_rebuild_offline_reproduces_the_registry_and_the_loader_reads_it(tagless, tmp_path, monkeypatch, version):
    import aipolicy

    cache = tmp_path / "cache"
    result = run_cli("rebuild", version, "--path", str(tagless), "--cache", str(cache))
    assert result.returncode == 0, result.stderr
    for artifact in REGISTRY[version]["artifacts"]:
        assert f"verified {artifact['name']} {artifact['sha256']}" in result.stdout

    def refuse(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)  # the loader must find the release in the cache
    monkeypatch.setattr(socket, "create_connection", refuse)
    tables = aipolicy.load(version=version, cache=cache)
    expected = len(subprocess.run(["git", "-C", str(tagless), "show", f"{REGISTRY[version]['commit']}:data/entries.csv"],
                                  capture_output=True, text=True, check=True).stdout.splitlines()) - 1
    assert len(tables["entries"]) == expected


def test_a_failed_download_names_the_rebuild_command(tmp_path, monkeypatch):
    import aipolicy.outputs.loader as loader

    registry = tmp_path / "releases.json"
    registry.write_text(json.dumps({"9.9.9": {"date": "2026-01-01", "zip": "ai-policy-atlas-9.9.9.zip", "sha256": "0" * 64,
                                              "url": "http://127.0.0.1:9/ai-policy-atlas-9.9.9.zip"}}))
    monkeypatch.setattr(loader, "REGISTRY", registry)
    with pytest.raises(loader.PackageError, match=r"rebuild it from a clone of the repository with `aipolicy rebuild 9\.9\.9`"):
        loader.load(version="9.9.9", cache=tmp_path / "cache")


def test_versions_import_no_cycle():
    code = "import aipolicy.checking.validate, aipolicy.releasing.release, aipolicy.outputs.build, aipolicy.versioning.registry"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    source = (ROOT / "scripts" / "aipolicy" / "checking" / "validate.py").read_text(encoding="utf-8")
    assert "from .release" not in source and "import release" not in source


LAYERS = ["reading", "versioning", "checking", "outputs", "releasing", ""]  # bottom to top; "" is the package's top


def test_every_module_imports_only_its_own_layer_or_those_below():
    """The layout shows the layers: a module may import from its own layer and the layers
    below it, never from one above (the CLI and the commands on top may import anything)."""
    import ast

    package = ROOT / "scripts" / "aipolicy"

    def layer(module: list[str]) -> str:  # ["aipolicy", "outputs", "site", "data"] -> "outputs"
        return module[1] if len(module) > 2 and module[1] in LAYERS else ""

    upward = []
    for path in sorted(package.rglob("*.py")):
        parts = ["aipolicy", *path.relative_to(package).with_suffix("").parts]
        here = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here[: len(here) - (node.level - 1)]
                targets = [base + (node.module or "").split(".")] if node.module else [base + [a.name] for a in node.names]
                for target in targets:
                    target = [t for t in target if t]
                    if LAYERS.index(layer(target + ["x"])) > LAYERS.index(layer(parts)):
                        upward.append(f"{path.relative_to(package)} imports {'.'.join(target)}")
    assert upward == []


def test_a_copy_of_the_package_inside_a_clone_is_not_compared_with_its_releases(tmp_path):
    """A copy in an ignored folder of the clone is not in the repository's history: nothing to compare."""
    import shutil

    clone_dir = clone(ROOT, tmp_path / "clone")
    (clone_dir / ".git" / "info" / "exclude").write_text("scratch/\n")
    copy = clone_dir / "scratch" / "pkg"
    shutil.copytree(clone_dir, copy, ignore=shutil.ignore_patterns(".git", "scratch"))
    result = run_cli("validate", str(copy))
    assert "released IDs cannot be checked" not in result.stdout, result.stdout
