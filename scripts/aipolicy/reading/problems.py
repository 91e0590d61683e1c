"""Problems found in the package, and the three ways of reporting them.

A problem is located (file, line, column) whenever the location is known, names the rule it
breaks, and says how to fix it where a hint helps. Every check in the project reports through
this one type, so the text, GitHub and JSON reports always agree.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


class PackageError(Exception):
    """The package could not be read at all (exit status 2): no descriptor, unreadable file."""


class Refused(Exception):
    """A command declined to do what was asked (exit status 1), with the reason and, when
    the data are to blame, the problems found; nothing was written."""

    def __init__(self, reason: str, problems: list[Problem] | None = None):
        super().__init__(reason)
        self.problems = problems or []


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int | None
    column: int | None
    message: str
    rule: str
    hint: str | None = field(default=None, compare=False)
    field_name: str | None = field(default=None, compare=False)

    def text(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        out = f"{where}: {self.message} [{self.rule}]"
        if self.hint:
            out += f" (hint: {self.hint})"
        return out

    def github(self) -> str:
        props = [f"file={_gh_prop(self.path)}"]
        if self.line is not None:
            props.append(f"line={self.line}")
        if self.column is not None:
            props.append(f"col={self.column}")
        props.append(f"title={_gh_prop(self.rule)}")
        body = self.message + (f" (hint: {self.hint})" if self.hint else "")
        return f"::error {','.join(props)}::{_gh_data(body)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def quote(value: object, limit: int = 80) -> str:
    """A cell value as it appears in a message: quoted, shortened, control characters escaped."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def report(problems: list[Problem], form: str) -> str:
    problems = sorted(set(problems), key=_order)
    if form == "json":
        return json.dumps({"valid": not problems, "problem_count": len(problems),
                           "problems": [asdict(p) for p in problems]}, ensure_ascii=False, indent=2)
    lines = [p.github() if form == "github" else p.text() for p in problems]
    if form == "text":
        n = len(problems)
        lines.append("valid: no problems found" if n == 0 else f"invalid: {n} problem{'s' if n != 1 else ''} found")
    return "\n".join(lines)


def _order(p: Problem):
    return (p.path, p.line if p.line is not None else -1, p.column if p.column is not None else -1, p.rule, p.message)
