"""`aipolicy merge-table`: tables merge by primary key, three ways, in real Git merges."""
from __future__ import annotations

import shutil
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from aipolicy.reading.canonical import rewrite
from aipolicy.mergetable import merge_rows
from aipolicy.reading.package import read_package
from aipolicy.checking.validate import validate
from conftest import Pkg, make_package
from test_release import IDENTITY

ENV = {**IDENTITY, "PATH": "/usr/bin:/bin"}


def git(root, *args, check=True):
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env={**ENV, "HOME": str(root)}, check=check)


def repo_with_driver(tmp_path, driver=True):
    pkg = make_package(tmp_path / "repo")
    git(pkg.root, "init", "-q", "-b", "main")
    (pkg.root / ".gitattributes").write_text("data/*.csv -text merge=aipolicy-table\n")
    if driver:
        git(pkg.root, "config", "merge.aipolicy-table.driver", f"{sys.executable} -m aipolicy merge-table %O %A %B %P")
    git(pkg.root, "add", "-A")
    git(pkg.root, "commit", "-qm", "base")
    return pkg


def add_entry(pkg, n: int) -> None:
    """One contributor's pull request: an entry, its source and the citation."""
    jur = ["CN", "CN-BJ"][n % 2]
    entry = f"{jur.lower()}-20{10 + n % 15}-policy-{n:02d}"
    source = f"outlet{n % 7}-20{10 + n % 15}-report-{n:02d}"
    pkg.append("entries", f"{entry},Policy number {n},,official,,en,plan,{jur},20{10 + n % 15}-01-01,year,published,,A plan added by pull request {n}.,")
    pkg.append("sources", f"{source},news-article,Report {n},,,Outlet {n % 7},,,,,,,https://example.org/{n},,,en,2026-11-25")
    pkg.append("entry_sources", f"{entry},{source},")
    changed, problems = rewrite(read_package(pkg.root))
    assert not problems


def thirty_pull_requests(tmp_path, driver: bool):
    pkg = repo_with_driver(tmp_path, driver)
    for n in range(30):
        git(pkg.root, "switch", "-q", "-c", f"pr-{n}", "main")  # each branch starts from main, not from the one before
        add_entry(pkg, n)
        git(pkg.root, "commit", "-qam", f"entry {n}")
    git(pkg.root, "switch", "-q", "main")
    return pkg


def merge_thirty(pkg, until_a_conflict: bool = False) -> tuple[int, object]:
    """Merge the thirty pull-request branches into main, one after another; count conflicts
    (or stop at the first one)."""
    conflicts = 0
    for n in range(30):
        result = git(pkg.root, "merge", "--no-edit", "-q", f"pr-{n}", check=False)
        if result.returncode != 0:
            conflicts += 1
            if until_a_conflict:
                break
            git(pkg.root, "merge", "--abort")
    return conflicts, pkg


def test_thirty_concurrent_pull_requests_merge_without_a_conflict(tmp_path):
    history = thirty_pull_requests(tmp_path / "driver", driver=True)
    lines = Pkg(tmp_path / "lines" / "repo")
    shutil.copytree(history.root, lines.root, symlinks=True)  # the same history, for Git's own line merge
    git(lines.root, "config", "--unset", "merge.aipolicy-table.driver")
    conflicts, pkg = merge_thirty(history)
    assert conflicts == 0
    entries = pkg.read("data/entries.csv")
    assert all(f"-policy-{n:02d}," in entries for n in range(30))
    assert [p.text() for p in validate(pkg.root)] == []  # canonical without fmt
    baseline, _ = merge_thirty(lines, until_a_conflict=True)
    assert baseline > 0  # Git's line merge conflicts on the same history


def _branch_edit(pkg, name, edit):
    git(pkg.root, "switch", "-q", "-c", name, "main")
    edit()
    git(pkg.root, "commit", "-qam", name)
    git(pkg.root, "switch", "-q", "main")


def test_a_row_deleted_on_one_side_and_untouched_on_the_other_stays_deleted(tmp_path):
    pkg = repo_with_driver(tmp_path)
    _branch_edit(pkg, "delete", lambda: pkg.delete_lines("topics", "ethics-and-governance,"))
    _branch_edit(pkg, "other", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "label", "Money"))
    assert git(pkg.root, "merge", "--no-edit", "-q", "delete", check=False).returncode == 0
    assert git(pkg.root, "merge", "--no-edit", "-q", "other", check=False).returncode == 0
    topics = pkg.read("data/topics.csv")
    assert "\nethics-and-governance," not in topics and "research-and-talent,Money," in topics


def test_two_edits_of_one_cell_give_one_marked_conflict(tmp_path):
    pkg = repo_with_driver(tmp_path)
    _branch_edit(pkg, "a", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "label", "Money"))
    _branch_edit(pkg, "b", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "label", "Banking"))
    git(pkg.root, "merge", "--no-edit", "-q", "a")
    result = git(pkg.root, "merge", "--no-edit", "b", check=False)
    assert result.returncode != 0
    assert 'aipolicy merge-table: conflict: topics: research-and-talent: label: "Money" → "Banking"' in result.stderr
    text = pkg.read("data/topics.csv")
    assert text.count("<<<<<<< ours") == 1 and text.count(">>>>>>> theirs") == 1
    block = text.split("<<<<<<< ours\n")[1].split(">>>>>>> theirs")[0]
    assert block.startswith("research-and-talent,Money,") and "=======\nresearch-and-talent,Banking," in block


def test_edits_of_different_columns_of_one_row_both_win(tmp_path):
    pkg = repo_with_driver(tmp_path)
    _branch_edit(pkg, "a", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "label", "Money"))
    _branch_edit(pkg, "b", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "description", "Credit and payments."))
    git(pkg.root, "merge", "--no-edit", "-q", "a")
    assert git(pkg.root, "merge", "--no-edit", "-q", "b", check=False).returncode == 0
    assert "research-and-talent,Money,Credit and payments.," in pkg.read("data/topics.csv")


def test_an_unparseable_side_falls_back_to_the_line_merge_with_a_message(tmp_path):
    pkg = repo_with_driver(tmp_path)
    _branch_edit(pkg, "a", lambda: pkg.write("data/topics.csv", pkg.read("data/topics.csv") + 'zz,"broken,,\n'))
    _branch_edit(pkg, "b", lambda: pkg.set_cell("topics", pkg.find_line("topics", "research-and-talent,"), "label", "Money"))
    git(pkg.root, "merge", "--no-edit", "-q", "a")
    result = git(pkg.root, "merge", "--no-edit", "b", check=False)
    assert "aipolicy merge-table: data/topics.csv: ours is not valid CSV" in result.stderr and "falling back to Git's line merge" in result.stderr


HEADER = ["id", "a", "b"]
keys = st.sampled_from([f"k{i:02d}" for i in range(12)])
values = st.sampled_from(["x", "y", "z"])
edit = st.one_of(st.tuples(st.just("add"), keys, values, values), st.tuples(st.just("delete"), keys),
                 st.tuples(st.just("set"), keys, st.sampled_from(["a", "b"]), values))


def apply(rows: dict, script) -> dict:
    rows = {k: dict(v) for k, v in rows.items()}
    for step in script:
        if step[0] == "add" and step[1] not in rows:
            rows[step[1]] = {"id": step[1], "a": step[2], "b": step[3]}
        elif step[0] == "delete":
            rows.pop(step[1], None)
        elif step[0] == "set" and step[1] in rows:
            rows[step[1]][step[2]] = step[3]
    return rows


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, st.tuples(values, values), max_size=8), st.lists(edit, max_size=8), st.lists(edit, max_size=8))
def test_no_row_is_lost_or_duplicated(base_pairs, ours_script, theirs_script):
    base = {k: {"id": k, "a": a, "b": b} for k, (a, b) in base_pairs.items()}
    ours, theirs = apply(base, ours_script), apply(base, theirs_script)
    merged, conflicts = merge_rows("t", ["id"], HEADER, list(base.values()), list(ours.values()), list(theirs.values()))
    keys_out = [(first or second)["id"] for first, second in merged]
    assert len(keys_out) == len(set(keys_out)) and keys_out == sorted(keys_out)  # one place per key, in key order
    conflicted = {c.key[0] for c in conflicts}
    for k in set(base) | set(ours) | set(theirs):
        b, o, t = base.get(k), ours.get(k), theirs.get(k)
        if k in conflicted:
            assert k in keys_out
        elif o is None and t is None:
            assert k not in keys_out
        elif (o is None and t == b) or (t is None and o == b):
            assert k not in keys_out  # deleted on one side, untouched on the other
        else:
            row = next(first for first, second in merged if (first or second)["id"] == k)
            for c in HEADER:
                expected = o[c] if o and (t is None or o[c] == t[c] or (b and t[c] == b[c])) else t[c]
                assert row[c] == expected


def test_the_merge_driver_does_not_import_what_only_new_needs():
    """Git starts the driver once per conflicting table: the parser leaves `new` out unless it runs."""
    code = ("import sys; from aipolicy.cli import build_parser; "
            "args = build_parser('merge-table').parse_args(['merge-table', 'o', 'a', 'b', 'data/topics.csv']); "
            "assert 'aipolicy.new' not in sys.modules, 'imported'; "
            "build_parser('new').parse_args(['new', '--help'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: aipolicy new" in result.stdout, result.stderr
