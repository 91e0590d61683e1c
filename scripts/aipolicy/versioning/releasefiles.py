"""Repository consistency: CITATION.cff is valid CFF 1.2.0, and every version agrees.

The version lives in three places a reader may look: `datapackage.json`, `CITATION.cff`
and the top released section of `CHANGELOG.md`. A citation that lags the data is a wrong
citation, so any disagreement is an error.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..reading.problems import PackageError, Problem, quote

CITATION = "CITATION.cff"
CHANGELOG = "CHANGELOG.md"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")


def cff_schema() -> dict:
    """The CFF 1.2.0 JSON schema that check-jsonschema ships, read without importing that
    package (its import costs more than the whole check)."""
    from importlib.util import find_spec

    spec = find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        raise PackageError("the check-jsonschema package (which ships the CFF schema) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "builtin_schemas" / "vendor" / "citation-file-format.json"
    return json.loads(path.read_text(encoding="utf-8"))


def read_citation(root: Path) -> tuple[dict | None, list[Problem]]:
    import yaml

    path = root / CITATION
    if not path.is_file():
        return None, [Problem(CITATION, None, None, "CITATION.cff is missing", "citation", "add a CFF 1.2.0 file with type: dataset")]
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(CITATION, mark.line + 1 if mark else None, mark.column + 1 if mark else None, f"not valid YAML: {getattr(exc, 'problem', exc)}", "citation")]
    if not isinstance(data, dict):
        return None, [Problem(CITATION, 1, 1, "CITATION.cff must be a YAML mapping", "citation")]
    return data, []


def citation_problems(root: Path) -> tuple[dict | None, list[Problem]]:
    import jsonschema

    data, problems = read_citation(root)
    if data is None:
        return None, problems
    text = (root / CITATION).read_text(encoding="utf-8", errors="replace")
    plain = json.loads(json.dumps(data, default=str))  # YAML dates become strings, as CFF expects
    validator = jsonschema.Draft7Validator(cff_schema())
    for error in sorted(validator.iter_errors(plain), key=lambda e: list(e.absolute_path)):
        line = _yaml_line(text, list(error.absolute_path))
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(Problem(CITATION, line, None, f"{where}: {error.message}", "citation", "see https://github.com/citation-file-format/citation-file-format/blob/main/schema-guide.md"))
    if data.get("type") != "dataset":
        problems.append(Problem(CITATION, _yaml_line(text, ["type"]), None, f"type is {quote(data.get('type'))}, not \"dataset\"", "citation", "set type: dataset"))
    return data, problems


def _yaml_line(text: str, path: list) -> int | None:
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key)), None)
            if match is None:
                break
            line = next(k.start_mark.line + 1 for k, v in node.value if k.value == str(key))
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def changelog_versions(root: Path) -> list[tuple[str, str | None, int]]:
    """Released sections of CHANGELOG.md, newest first: (version, date, line)."""
    path = root / CHANGELOG
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        m = RELEASE_HEADING.match(line)
        if m and m["version"].lower() != "unreleased":
            out.append((m["version"], m["date"], number))
    return out


def version_problems(root: Path, descriptor: dict, citation: dict | None) -> list[Problem]:
    problems = []
    version = str(descriptor.get("version", ""))
    if not SEMVER.match(version):
        problems.append(Problem("datapackage.json", None, None, f"version {quote(version)} is not a SemVer version X.Y.Z", "version"))
    if not (root / CHANGELOG).is_file():
        problems.append(Problem(CHANGELOG, None, None, "CHANGELOG.md is missing", "version", "add a Keep a Changelog file with a section per release"))
    else:
        released = changelog_versions(root)
        if not released:
            problems.append(Problem(CHANGELOG, None, None, "CHANGELOG.md has no released section (## [X.Y.Z] - YYYY-MM-DD)", "version"))
        elif released[0][0] != version:
            problems.append(Problem(CHANGELOG, released[0][2], None, f"the top released section is {quote(released[0][0])} but datapackage.json says {quote(version)}", "version",
                                    "versions in datapackage.json, CITATION.cff and CHANGELOG.md must agree; `aipolicy release` sets all three"))
    if citation is not None and str(citation.get("version", "")) != version:
        text = (root / CITATION).read_text(encoding="utf-8", errors="replace")
        problems.append(Problem(CITATION, _yaml_line(text, ["version"]), None, f"version is {quote(citation.get('version'))} but datapackage.json says {quote(version)}", "version",
                                "versions in datapackage.json, CITATION.cff and CHANGELOG.md must agree; `aipolicy release` sets all three"))
    return problems


def repository_problems(root: Path, descriptor: dict) -> list[Problem]:
    citation, problems = citation_problems(root)
    return problems + version_problems(root, descriptor, citation)
