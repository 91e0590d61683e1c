"""The `aipolicy` command. Each subcommand is a thin layer over a library function."""
from __future__ import annotations

import argparse
import sys

from .reading.problems import PackageError, report

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


# Polars allocates with jemalloc, which by default keeps four arenas per core, each with the
# pages its threads freed. Validation frees a block's memory in one thread (the checks) that
# another allocated (the reader): with one arena, the next block reuses those pages, and
# a million entries peak at 443 MB instead of 512 MB, at the same speed. jemalloc reads
# this once, when Polars is loaded; a setting of the user's own is kept.
ALLOCATOR = ("_RJEM_MALLOC_CONF", "narenas:1")


def cmd_validate(args) -> int:
    import gc
    import os

    if "polars" not in sys.modules:
        os.environ.setdefault(*ALLOCATOR)
    from .checking.validate import validate

    # The cyclic garbage collector stays off while a run imports Polars and its checks: the
    # imports make thousands of objects and no garbage, and collecting over them again and
    # again is a tenth of a run on the real package. A run makes next to no reference cycles.
    gc.disable()
    try:
        problems = validate(args.path, parallel=True)
    finally:
        gc.enable()
    print(report(problems, args.format))
    return EXIT_INVALID if problems else EXIT_OK


def cmd_fmt(args) -> int:
    from .reading.canonical import rewrite
    from .reading.package import read_package

    changed, problems = rewrite(read_package(args.path, strict=True))
    if problems:
        print(report(problems, "text"), file=sys.stderr)
        print("fmt: nothing was rewritten; fix the problems above first", file=sys.stderr)
        return EXIT_INVALID
    for path in changed:
        print(f"rewrote {path}")
    if not changed:
        print("all tables already canonical")
    return EXIT_OK


def cmd_build(args) -> int:
    from .outputs.build import BuildRefused, build

    try:
        dist = build(args.path, args.dist)
    except BuildRefused as exc:
        if exc.problems:
            print(report(exc.problems, "text"), file=sys.stderr)
        print(f"build refused: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for path in sorted(dist.iterdir()):
        print(f"{path.stat().st_size:>10}  {path.relative_to(dist.parent)}")
    from .reading.package import find_root

    _warn_if_not_the_release(dist, find_root(args.path))
    return EXIT_OK


def _warn_if_not_the_release(dist, root) -> None:
    """A build of changes made after a release still carries that release's number: say so."""
    import hashlib

    from .versioning.registry import registry

    known = registry(root)  # the package's registry, wherever --dist put the artifacts
    for zip_path in dist.glob("*.zip"):
        version = zip_path.stem.rsplit("-", 1)[-1]
        rel = known.get(version)
        if rel and hashlib.sha256(zip_path.read_bytes()).hexdigest() != rel.sha256:
            print(f"note: these artifacts differ from the released {version} (sha256 {rel.sha256[:12]}...): the tree has "
                  f"changes since that release; cite the released files, or release a new version", file=sys.stderr)


def cmd_cite(args) -> int:
    from .outputs import cite
    from .reading.package import find_root, read_package

    root = find_root(args.path)
    if args.version:
        from .versioning.registry import commit_of, find, registry

        rel = find(registry(root), args.version)
        package = _package_at(root, commit_of(root, rel), ["entries"])
        meta = cite.dataset_meta(package.root, package.descriptor, version=rel.version, date=rel.date)
    else:
        package = read_package(root, strict=False, tables=["entries"])
        meta = cite.working_meta(package.root, package.descriptor)
        if meta.unreleased:
            print(f"note: the data have changed since release {meta.version}; this cites the unreleased changes "
                  f"({meta.label}); for a stable reference cite a release with --version", file=sys.stderr)
    entry = None
    if args.entry:
        entries = package["entries"].data  # the reader's Polars frame: citing needs no pandas
        if entries is None:
            raise PackageError("data/entries.csv cannot be read")
        if args.version and args.entry not in set(entries.get_column("entry_id").to_list()):
            working = read_package(root, strict=False, tables=["entries"])["entries"].data
            if working is not None and args.entry in set(working.get_column("entry_id").to_list()):
                raise PackageError(f"entry {args.entry!r} is not in release {meta.version}: it was added after that release, so it "
                                   f"cannot be cited at {meta.version}; cite it in a later release, or without --version as unreleased data")
        entry = cite.find_entry(entries, args.entry)
    sys.stdout.write(cite.cite(meta, args.format, entry))
    return EXIT_OK


def _package_at(root, ref: str, tables=None):
    from .reading.trees import tree
    from .reading.package import read_package

    return read_package(tree(root, ref), strict=False, tables=tables)


def cmd_diff(args) -> int:
    from .versioning.diff import diff_packages, render
    from .reading.trees import tree
    from .reading.package import find_root, read_package
    from .versioning.registry import resolve

    root = find_root(args.path)
    old = read_package(tree(root, resolve(root, args.old)), strict=False)
    new = read_package(root if args.new == "WORKTREE" else tree(root, resolve(root, args.new)), strict=False)
    sys.stdout.write(render(diff_packages(old, new), args.format, args.old, args.new))
    return EXIT_OK


def cmd_release(args) -> int:
    from .reading.trees import git
    from .reading.package import find_root
    from .releasing.release import ReleaseRefused, release

    try:
        result = release(args.path, args.version, dry_run=args.dry_run)
    except ReleaseRefused as exc:
        print(f"release refused: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.dry_run:
        after = f"after {result['previous']}" if result["previous"] else "as the first release"
        print(f"dry run: {result['version']} would be a {result['level']} release {after}; every check passed and nothing was written")
        return EXIT_OK
    root = find_root(args.path)
    git(root, "tag", f"v{result['version']}", result["commit"])
    print(f"released {result['version']} ({result['date']}) at commit {result['commit']} (tag v{result['version']}): artifacts in {result['dist']}")
    print(f"next: git commit -am 'Register release {result['version']}' && git push origin main (see RELEASING.md)")
    return EXIT_OK


def cmd_rebuild(args) -> int:
    from .reading.package import find_root
    from .releasing.rebuild import rebuild

    root = find_root(args.path)
    result = rebuild(root, args.version, cache=args.cache, out=args.out)
    for line in result["verified"]:
        print(f"verified {line}")
    print(f"rebuilt {result['version']} from commit {result['commit']}: every sha256 matches the registry")
    for place in result["placed"]:
        print(f"placed {place}")
    return EXIT_OK


def cmd_check_links(args) -> int:
    from pathlib import Path

    from .links import check_links, render_json, render_text
    from .reading.package import read_package

    package = read_package(args.path, strict=False, tables=["sources", "entries", "organizations"])
    results = check_links(package, timeout=args.timeout, retries=args.retries, per_host=args.per_host, limit=args.limit)
    text = render_text(results)
    if args.json:
        Path(args.json).write_text(render_json(results), encoding="utf-8")
    if args.text:
        Path(args.text).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return EXIT_INVALID if any(not r.ok for r in results) else EXIT_OK


def cmd_docs(args) -> int:
    from .outputs.site import build_site

    count, site = build_site(args.path)
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"built {count} generated pages into {site} ({size / 1e6:.1f} MB)")
    return EXIT_OK


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand. Given the `command` about to run, the options of the
    others that need an import of their own (`new`) are left out, so that a command such as
    the merge driver, which Git starts once per file, does not import them."""
    parser = argparse.ArgumentParser(prog="aipolicy", description="Validate, format, release, cite and load the AI Policy Atlas.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check the data package and report every problem with its location")
    p.add_argument("path", nargs="?", default=None, help="the package folder (default: the one holding the working directory)")
    p.add_argument("--format", choices=["text", "github", "json"], default="text", help="text for people, github for Actions annotations, json for machines")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="validate, then write every release artifact to dist/")
    p.add_argument("path", nargs="?", default=None)
    p.add_argument("--dist", default=None, help="output folder (default: dist/ beside datapackage.json)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("cite", help="print the citation of the dataset, or of one entry, at a version")
    p.add_argument("path", nargs="?", default=None)
    p.add_argument("--version", default=None, help="a released version X.Y.Z or vX.Y.Z, read from its release commit (default: the data as they are)")
    p.add_argument("--entry", default=None, help="an entry_id, to cite that entry")
    p.add_argument("--format", choices=["bibtex", "biblatex", "text", "cff"], default="bibtex")
    p.set_defaults(func=cmd_cite)

    p = sub.add_parser("diff", help="rows added, removed and changed between two versions (releases, git refs or release zips)")
    p.add_argument("old", help="a released version (1.0.0), a git ref (main, a commit) or a release zip")
    p.add_argument("new", nargs="?", default="WORKTREE", help="a released version, git ref or release zip (default: the working tree)")
    p.add_argument("--path", default=None, help="the package folder (default: the one holding the working directory)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("release", help="check the bump against the latest release, set the version, commit, build and register")
    p.add_argument("version", help="the new version X.Y.Z")
    p.add_argument("--path", default=None)
    p.add_argument("--dry-run", action="store_true", help="run every check against the latest registered release and write nothing")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("rebuild", help="rebuild a registered release offline from its commit, verify every sha256, and cache it for the loaders")
    p.add_argument("version", help="a registered version X.Y.Z or vX.Y.Z")
    p.add_argument("--path", default=None, help="the repository (default: the one holding the working directory)")
    p.add_argument("--cache", default=None, help="put the verified zip here instead of the loaders' default caches")
    p.add_argument("--out", default=None, help="also copy every verified artifact into this folder")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("docs", help="generate the data pages and build the documentation site with mkdocs --strict")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("new", help="add an entry, organization, source or figure, with prompts for what is missing")
    if command in (None, "new") or command.startswith("-"):
        from . import new as new_module

        new_module.add_arguments(p)
        p.set_defaults(func=lambda args: new_module.main(args))

    p = sub.add_parser("check-links", help="check that every cited address answers; write a report (never changes the data)")
    p.add_argument("path", nargs="?", default=None)
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for one answer (default 15)")
    p.add_argument("--retries", type=int, default=2, help="retries after a timeout, a refused connection or a server error (default 2)")
    p.add_argument("--per-host", type=int, default=2, help="requests at once to one host (default 2)")
    p.add_argument("--limit", type=int, default=None, help="check only the first N addresses")
    p.add_argument("--json", default=None, help="also write the report as JSON to this file")
    p.add_argument("--text", default=None, help="also write the text report to this file")
    p.set_defaults(func=cmd_check_links)

    p = sub.add_parser("merge-table", help="Git merge driver: merge a table by primary key, three ways (see .gitattributes)")
    p.add_argument("base", help="the common ancestor's version (%%O)")
    p.add_argument("ours", help="our version, which receives the result (%%A)")
    p.add_argument("theirs", help="their version (%%B)")
    p.add_argument("path", help="the table's path in the repository, such as data/entries.csv (%%P)")
    p.set_defaults(func=lambda args: __import__("aipolicy.mergetable", fromlist=["main"]).main(args))

    p = sub.add_parser("fmt", help="rewrite every table in canonical form (never changes a value)")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(func=cmd_fmt)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PackageError as exc:
        print(f"aipolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line, never with a traceback
        print(f"aipolicy {args.command}: internal error: {type(exc).__name__}: {exc}; please report it with the command you ran", file=sys.stderr)
        return EXIT_ERROR


def entry() -> None:
    """The `aipolicy` command of a shell: `main`, then exit without the collector's last pass
    over every object still alive (with Polars loaded, 40 ms that change nothing: the
    objects go with the process)."""
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
