"""The `aipolicy` command. Each subcommand is a thin layer over a library function."""
from __future__ import annotations

import argparse
import sys

from .problems import PackageError, report

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def cmd_validate(args) -> int:
    from .validate import validate

    problems = validate(args.path)
    print(report(problems, args.format))
    return EXIT_INVALID if problems else EXIT_OK


def cmd_fmt(args) -> int:
    from .canonical import fmt
    from .package import read_package

    changed, problems = fmt(read_package(args.path, strict=True))
    if problems:
        print(report(problems, "text"), file=sys.stderr)
        print("fmt: nothing was rewritten; fix the problems above first", file=sys.stderr)
        return EXIT_INVALID
    for path in changed:
        print(f"rewrote {path}")
    if not changed:
        print("all tables already canonical")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aipolicy", description="Validate, format, release, cite and load the AI Policy Atlas.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check the data package and report every problem with its location")
    p.add_argument("path", nargs="?", default=None, help="the package folder (default: the one holding the working directory)")
    p.add_argument("--format", choices=["text", "github", "json"], default="text", help="text for people, github for Actions annotations, json for machines")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("fmt", help="rewrite every table in canonical form (never changes a value)")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(func=cmd_fmt)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PackageError as exc:
        print(f"aipolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
