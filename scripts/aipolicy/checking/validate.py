"""`aipolicy validate`: every check, one pass, one report.

1. the metadata (`metadata.py`): Frictionless checks the descriptor and each Table Schema
   (the reference semantics); CITATION.cff must be valid and the versions must agree;
2. the reader checks each file's bytes and structure (encoding, quoting, header, cells);
3. pandera runs the checks generated from the schemas and the rules of `rules.py` on whole
   columns (Polars);
4. each table must be in the canonical form that `aipolicy fmt` writes;
5. foreign keys and the rules that read several tables run on the key columns;
6. the IDs of the latest registered release (read from its commit) must still be there, or be retired.

Tables are read and checked one at a time, parents first, and a block of rows at a time
where the file allows (`stream.py`: then the foreign keys to the tables already read are
checked block by block). Once a table's own checks are done, only the columns that the
checks across tables read are kept, so memory holds one block (or one whole table that must
be read whole) and those columns, never the package.
"""
from __future__ import annotations

from pathlib import Path

from .metadata import metadata_problems
from ..reading.package import Package, PackageError, Reference, Table, find_root, read_package, read_rows
from ..reading.problems import Problem

# Polars, pandera and the checks are imported where they are used, so that `validate` can
# start the metadata check in its second process before paying for them.


def latest_release(package: Package) -> tuple[str, Package] | Problem | None:
    """The latest registered release of the package, read from its release commit in Git.
    None when nothing was released or the package is not in a Git clone (an unpacked zip);
    a Problem when the release's commit cannot be read (a shallow clone): never a silent skip."""
    from ..versioning.registry import VersionError, commit_of, in_git, latest, registry

    try:
        last = latest(registry(package.root))
        if last is None or not in_git(package.root):
            return None
        return f"release {last.version}", released_ids(package.root, commit_of(package.root, last))
    except VersionError as exc:
        return Problem("releases.json", None, None, f"released IDs cannot be checked: {exc}", "released-id")
    except PackageError as exc:
        return Problem("releases.json", None, None, f"released IDs cannot be checked: {exc}", "released-id")


RELEASED_IDS_FORMAT = 1  # bump when what is kept of a release changes


def released_ids(root: Path, commit: str) -> Package:
    """The keys of every table of the package at a release commit, as a package of key columns.
    A commit never changes, so they are read from Git once and kept in the cache."""
    import json

    import polars as pl

    from ..reading import trees
    from .metadata import cache_dir, keep

    file = f"{commit}-{RELEASED_IDS_FORMAT}.json"
    try:
        keys = json.loads((cache_dir("released-ids") / file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = read_package(trees.tree_at_commit(root, commit), strict=False)
        keys = {name: {"key": t.primary_key[0], "ids": t.data.get_column(t.primary_key[0]).drop_nulls().to_list()}
                for name, t in old.tables.items() if len(t.primary_key) == 1 and t.data is not None and t.primary_key[0] in t.data.columns}
        keep("released-ids", file, json.dumps(keys))
    tables = {name: Table(name, f"data/{name}.csv", {"fields": [{"name": k["key"]}], "primaryKey": k["key"]},
                          _data=pl.DataFrame({k["key"]: k["ids"]}, schema={k["key"]: pl.String}), loaded=True)
              for name, k in keys.items()}
    return Package(root, {}, tables)


def released_id_problems(package: Package, release: tuple[str, Package] | Problem | None) -> list[Problem]:
    """IDs of the latest release that vanished without a `retired` row, or came back."""
    from ..versioning.diff import id_stability_problems

    if release is None:
        return []
    if isinstance(release, Problem):
        return [release]
    label, previous = release
    out = []
    for change in id_stability_problems(previous, package):
        path = package.tables[change.table].path if change.table in package.tables else "data/retired.csv"
        out.append(Problem(path, None, None, f"{change} (compared with {label})", "released-id"))
    return out


def kept_columns(package: Package, table: Table, checked=(), cited=None) -> set[str]:
    """The columns of `table` that the checks across tables read: the keys that foreign keys
    point at, the columns of its foreign keys (but those `checked` already), the columns of
    `rules.across_columns`, and its citations of sources unless `cited` (`rules.CitedSources`)
    takes them as the table is read."""
    from .rules import CitedSources, across_columns

    keep = set(across_columns(package).get(table.name, set()))
    if cited is None or not cited.ready():
        keep.update(CitedSources.columns(table))
    for other in package.tables.values():
        for reference in other.references:
            if reference.resource == table.name:
                keep.update(reference.ref_fields)
    for reference in table.references:
        if reference not in checked:
            keep.update(reference.fields)
    return keep


def in_check_order(package: Package) -> list[Table]:
    """The tables, each after the tables its foreign keys point at (as far as the references
    allow; otherwise in the descriptor's order), so that those keys can be checked with it."""
    done: dict[str, Table] = {}
    waiting = list(package.tables.values())
    while waiting:
        ready = [t for t in waiting if all(r.resource in done or r.resource == t.name or r.resource not in package.tables for r in t.references)]
        for table in ready or waiting[:1]:
            done[table.name] = table
            waiting.remove(table)
    return list(done.values())


def table_problems(package: Package, table: Table) -> list[Problem]:
    """Read one table (unless read already) and run every check that needs no other table."""
    from . import engine
    from . import rules
    from ..reading.canonical import canonical_problem

    if not table.loaded:
        read_rows(package, table, strict=True)
    problems = list(table.problems)
    if table.data is None:
        return problems
    ctx = engine.Context(package, only=table.name)
    in_order = bool(table.primary_key) and table.first_out_of_order is None
    specs = engine.schema_specs(table, in_order) + [spec for rule in rules.RULES for spec in rule(ctx)]
    problems += engine.run(table, specs)
    found = canonical_problem(package.root, table)
    return problems + ([found] if found else [])


def across_problems(package: Package, checked=(), cited=None) -> list[Problem]:
    """Foreign keys (but those `checked` already) and the rules that read several tables, on
    the key columns (and what `cited` took of the citations as the tables were read)."""
    from . import engine
    from . import rules

    ctx = engine.Context(package)
    ctx.cited = cited
    specs: dict[str, list[engine.Spec]] = {name: [] for name in package.tables}
    for table in package.tables.values():
        if table.data is not None:
            specs[table.name].extend(engine.foreign_key_specs(table, ctx, [r for t, r in checked if t == table.name]))
    for rule in rules.ACROSS:
        for spec in rule(ctx):
            specs[spec.table].append(spec)
    problems = []
    for name, found in specs.items():
        table = package.tables[name]
        missing = {c for spec in found for c in spec.columns()} - set(table.data.columns if table.data is not None else [])
        if missing:  # a rule across tables reads a column that `kept_columns` does not keep
            problems.append(Problem(table.path, None, None, f"a check across tables reads {', '.join(sorted(missing))}, which is not a key column", "internal"))
        elif found and table.data is not None:  # a slice of rows at a time: what a check derives (joins, row numbers) stays small
            for start in range(0, len(table.data), engine.ACROSS_ROWS):
                problems += engine.run(table, found, table.data.slice(start, engine.ACROSS_ROWS), start)
    return problems


def validate_package(package: Package, *, parallel: bool = False, child=None) -> list[Problem]:
    """Validate a package. Tables whose rows are read already (for a build) are left whole;
    the others (`read_package(..., rows=False)`) are read here one at a time, and keep only
    their key columns once their own checks are done.

    With `parallel`, work that needs no rows runs beside the table checks: the metadata checks
    (Frictionless on the descriptor, CITATION.cff; importing Frictionless alone takes 0.2 s)
    in a second Python process, and the reading of the latest release from Git in a thread
    (mostly waiting on git)."""
    if parallel and child is None:
        child = _start_metadata_check(package.root)
    # Everything the thread and the checks need is imported here, in this thread, before the
    # thread starts: imports are not something to race.
    from ..reading import canonical, trees  # noqa: F401  (canonical: the thread's cache writes)
    from ..versioning import diff, registry  # noqa: F401
    from . import engine, stream  # noqa: F401  (pandera itself only when a check fails: see engine.run)

    import polars as pl

    # The checks run hundreds of small queries on frames held in memory: Polars' in-memory
    # engine starts each one in half the time of its default choice.
    try:
        with pl.Config(engine_affinity="in-memory"):
            return _validate_package(package, parallel=parallel, child=child)
    finally:
        if child is not None and child.poll() is None:  # an error on the way: the child's work is moot
            child.kill()
            child.wait()


def _validate_package(package: Package, *, parallel: bool, child) -> list[Problem]:
    from concurrent.futures import ThreadPoolExecutor

    from . import engine, rules, stream

    with ThreadPoolExecutor(max_workers=1) as pool:
        released = pool.submit(latest_release, package) if parallel else None
        problems = list(package.problems)
        checked: list[tuple[str, Reference]] = []  # the foreign keys checked with their table
        ctx = engine.Context(package)  # the tables checked so far, as the foreign keys see them
        ctx.cited = rules.CitedSources(ctx)
        order = in_check_order(package)
        unread = [table for table in order if not table.loaded and table.schema]  # read here: a block at a time if the file allows
        blocks = stream.Blocks(package, unread) if unread else None
        reading_here = {table.name for table in unread}
        try:
            for table in order:
                table_blocks = blocks.of(table) if table.name in reading_here else None
                if table_blocks is not None:
                    references = [r for r in table.references if r.resource != table.name and ctx.data(r.resource) is not None]
                    keep = kept_columns(package, table, references, ctx.cited)
                    found = stream.stream_problems(package, table, keep, ctx, references, table_blocks)
                    if found is not None:
                        checked += [(table.name, r) for r in references]
                        problems += found
                        continue
                fresh = not table.loaded
                problems += table_problems(package, table)
                if fresh and table.data is not None:  # from here on, only the key columns are needed
                    ctx.cited.add(table, table.data)
                    ctx.cited.read(table)
                    table.data = table.data.select(rules.kept(table.name, table.data.columns, kept_columns(package, table, cited=ctx.cited)))
        finally:
            if blocks is not None:
                blocks.close()
        problems += across_problems(package, checked, ctx.cited)
        problems += released_id_problems(package, released.result() if released else latest_release(package))
    found = _finish_metadata_check(child)
    if found is None:
        from .metadata import remember

        found = metadata_problems(package)
        remember(package.root, found)
    problems += found
    return sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.column or 0, p.rule))


def _start_metadata_check(root: Path):
    import subprocess
    import sys

    code = "import sys; from aipolicy.checking.metadata import report; report(sys.argv[1])"
    try:
        return subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None


class _Known:
    """The metadata verdict from the cache, in the place of a second process."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def poll(self) -> int:
        return 0

    def kill(self) -> None:
        pass

    def wait(self) -> int:
        return 0


def _finish_metadata_check(child) -> list[Problem] | None:
    """The child's problems, or None when it did not finish cleanly (then they are found here)."""
    import json

    if child is None:
        return None
    if isinstance(child, _Known):
        return child.problems
    out, _ = child.communicate()
    if child.returncode != 0:
        return None
    try:
        return [Problem(**p) for p in json.loads(out)]
    except (ValueError, TypeError):
        return None


def validate(path: str | Path | None = None, *, parallel: bool = False) -> list[Problem]:
    """Validate the package at `path`. The metadata checks come from the cache when their files
    are unchanged; otherwise, with `parallel`, they run in a second process beside the rest."""
    from .metadata import cached

    root = find_root(path)
    known = cached(root)
    child = _Known(known) if known is not None else (_start_metadata_check(root) if parallel else None)
    try:
        package = read_package(path, strict=True, rows=False)
    except BaseException:
        if child is not None:
            child.kill()
            child.wait()
        raise
    return validate_package(package, parallel=parallel, child=child)
