"""Shared fixtures: a tiny valid package built in a temporary folder for each test.

The package uses the project's real descriptor, schemas, CITATION.cff and CHANGELOG.md,
and a handful of rows kept in `tests/fixtures/valid/data/`, so that a schema change is
tested as it is, and no test depends on the live data unless it is about the live data.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Validation keeps verdicts in a cache (AIPOLICY_CACHE): the tests use one of their own, so
# that they neither read nor fill the user's (the subprocesses they start inherit it).
os.environ["AIPOLICY_CACHE"] = tempfile.mkdtemp(prefix="aipolicy-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PACKAGE_FILES = ["datapackage.json", "CITATION.cff", "CHANGELOG.md", "README.md", "LICENSE", "LICENSE-DATA", "requirements.lock"]


class Pkg:
    """A package on disk with small helpers to break it on purpose."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str | bytes) -> None:
        p = self.path(rel)
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    def lines(self, table: str) -> list[str]:
        return self.read(f"data/{table}.csv").split("\n")

    def set_line(self, table: str, number: int, text: str) -> None:
        lines = self.lines(table)
        lines[number - 1] = text
        self.write(f"data/{table}.csv", "\n".join(lines))

    def append(self, table: str, row: str) -> int:
        """Append a row; returns its line number."""
        text = self.read(f"data/{table}.csv")
        self.write(f"data/{table}.csv", text + row + "\n")
        return text.count("\n") + 1

    def set_cell(self, table: str, line: int, column: str, value: str) -> int:
        """Set one cell (by header name) on a line; returns the column number."""
        import csv
        import io

        lines = self.lines(table)
        header = next(csv.reader([lines[0]]))
        row = next(csv.reader([lines[line - 1]]))
        index = header.index(column)
        row[index] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(row)
        self.set_line(table, line, out.getvalue())
        return index + 1

    def delete_lines(self, table: str, startswith: str) -> int:
        """Delete every row that starts with `startswith`; returns how many went."""
        lines = self.lines(table)
        kept = [lines[0]] + [line for line in lines[1:] if not line.startswith(startswith)]
        self.write(f"data/{table}.csv", "\n".join(kept))
        return len(lines) - len(kept)

    def find_line(self, table: str, startswith: str) -> int:
        for number, line in enumerate(self.lines(table), start=1):
            if line.startswith(startswith):
                return number
        raise AssertionError(f"no line starting with {startswith!r} in {table}")


def make_package(dest: Path, data: Path | None = None) -> Pkg:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    shutil.copytree(data or FIXTURES / "valid" / "data", dest / "data")
    return Pkg(dest)


@pytest.fixture
def pkg(tmp_path) -> Pkg:
    return make_package(tmp_path / "pkg")


@pytest.fixture(scope="session")
def built_package(tmp_path_factory):
    """The fixture package and its release artifacts, built once per test process; read only."""
    from aipolicy.outputs.build import build

    pkg = make_package(tmp_path_factory.mktemp("built") / "pkg")
    return pkg, build(pkg.root)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The documentation site of the fixture package, with hostile text in one summary, built
    once per test process; read only."""
    from aipolicy.outputs.site import build_site
    from test_docs import HOSTILE, docs_package

    pkg = docs_package(tmp_path_factory.mktemp("docs") / "pkg")
    pkg.set_cell("entries", pkg.find_line("entries", "cn-2017-new-generation"), "summary", "A plan. " + HOSTILE)
    count, folder = build_site(pkg.root)
    return pkg, folder, count


@pytest.fixture(scope="session")
def _released_template(tmp_path_factory):
    """`repo` with release 1.0.0 made by `first_release`, once per test process."""
    from test_release import first_release, new_repo, use_identity

    with pytest.MonkeyPatch.context() as env:
        use_identity(env)
        pkg = new_repo(tmp_path_factory.mktemp("released") / "repo")
        first_release(pkg)
    return pkg.root


@pytest.fixture
def released(_released_template, tmp_path, monkeypatch):
    """A copy of a repository in which release 1.0.0 has just been made, as `first_release`
    leaves it (its commit, tag, registry and dist/): the same state, without building it again."""
    from test_release import use_identity

    use_identity(monkeypatch)
    shutil.copytree(_released_template, tmp_path / "repo", symlinks=True)
    return Pkg(tmp_path / "repo")


class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread, for the tests that download or check links.
    It looks for a shutdown request every 20 ms (the standard library's default is 0.5 s,
    which every test that stops a server would wait)."""

    def __init__(self, handler):
        import http.server
        import threading

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the command's own entry point, `aipolicy.cli.main`, in this process: the same
    parser, dispatch and error handling as `aipolicy ARGS`, with its stdout, stderr and exit
    status captured, but without a new interpreter's start-up for each call. A test about the
    process itself (a terminal, the console script) uses `run_cli_process`."""
    import contextlib
    import io

    from aipolicy.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            saved_stdin, sys.stdin = sys.stdin, io.StringIO()  # never a terminal, as under capture_output
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors and --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            finally:
                sys.stdin = saved_stdin
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["aipolicy", *args], code or 0, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real command in a child process, as a user would."""
    return subprocess.run([sys.executable, "-m", "aipolicy", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


IN_CI = bool(os.environ.get("CI"))  # CI installs every tool the tests run: nothing is skipped there


def needs(*programs: str, tex: tuple[str, ...] = (), r: tuple[str, ...] = (), reason: str) -> pytest.MarkDecorator:
    """Skip a test on a contributor's machine that lacks a tool it runs (`tools_ready`); never
    in CI, where nothing is looked up at all, so that collecting the tests starts no program."""
    return pytest.mark.skipif(not IN_CI and not tools_ready(*programs, tex=tex, r=r), reason=reason)


def tools_ready(*programs: str, tex: tuple[str, ...] = (), r: tuple[str, ...] = ()) -> bool:
    """Whether everything a test needs is installed: the programs, the TeX files (found by
    kpsewhich) and the R packages. A binary without what it needs counts as missing, so such
    a test skips on a contributor's machine instead of failing; in CI nothing skips."""
    return (all(shutil.which(p) is not None for p in programs) and all(_tex_file(f) for f in tex)
            and (not r or _r_packages(tuple(r))))


@functools.lru_cache(maxsize=None)
def _tex_file(name: str) -> bool:
    return shutil.which("kpsewhich") is not None and bool(subprocess.run(["kpsewhich", name], capture_output=True, text=True).stdout.strip())


@functools.lru_cache(maxsize=None)
def _r_packages(names: tuple[str, ...]) -> bool:
    return shutil.which("Rscript") is not None and subprocess.run(["Rscript", "-e", "; ".join(f"library({p})" for p in names)], capture_output=True).returncode == 0


# The longest tests start first, so that the workers finish together (xdist hands out tests in
# collection order); the list names them by the time they take, not by what they test.
LONGEST_FIRST = (
    "test_the_live_bibliography_compiles_without_warnings",
    "test_thirty_concurrent_pull_requests_merge_without_a_conflict",
    "test_load_and_diff_return_tables_or_a_clear_error",
    "test_validate_and_fmt_succeed_or_refuse_with_a_location",
    "test_the_live_data_pass_a_dry_run_of_the_next_release",
    "test_the_site_in_a_real_browser",
    "test_rebuild_offline_reproduces_the_registry_and_the_loader_reads_it",
    "test_the_explorer_filters_in_a_real_browser",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.originalname, len(rank)))  # stable: the rest keep their order
