"""`aipolicy build` and `aipolicy cite`: reproducible artifacts that hold exactly the data."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import zipfile

import pandas as pd
import pytest
import yaml

from aipolicy.outputs.build import BuildRefused, build
from aipolicy.reading.canonical import rewrite
from aipolicy.outputs.loader import load
from aipolicy.reading.package import read_package
from conftest import ROOT, Pkg, make_package, needs, run_cli

VERSION = json.loads((ROOT / "datapackage.json").read_text())["version"]
NAME = f"ai-policy-atlas-{VERSION}"
HOSTILE_TITLE = "Costs & 100% of #1 {braces} } under_score \\ 人工智能 café \"quoted\""
HOSTILE_URL = "https://example.org/a%20b?x=1&y=2#frag_1"


def add_hostile_source(pkg: Pkg) -> None:
    row = io.StringIO()
    csv.writer(row, lineterminator="").writerow(
        ["zz-2020-hostile", "report", HOSTILE_TITLE, "", "Institute of Automation, Chinese Academy of Sciences; Müller, Jürgen",
         "Institute of Automation, Chinese Academy of Sciences", "", "", "", "", "2020-03-01", "month", HOSTILE_URL,
         "https://web.archive.org/web/20200301000000/" + HOSTILE_URL, "10.1000/xyz_123%", "zh", "2026-11-25"])
    pkg.append("sources", row.getvalue())
    pkg.append("entry_sources", "cn-2017-new-generation-ai-development-plan,zz-2020-hostile,p. 3")
    changed, problems = rewrite(read_package(pkg.root))
    assert not problems


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    pkg = make_package(tmp_path_factory.mktemp("b") / "pkg")
    add_hostile_source(pkg)
    dist = build(pkg.root)
    return pkg, dist


def test_two_builds_are_byte_identical(built, tmp_path):
    pkg, dist = built
    again = build(pkg.root, tmp_path / "dist2")
    assert (again / "SHA256SUMS").read_bytes() == (dist / "SHA256SUMS").read_bytes()
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in dist.iterdir())


def test_sha256sums_match_every_artifact(built):
    _, dist = built
    lines = (dist / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == len([p for p in dist.iterdir() if p.name != "SHA256SUMS"])
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest


def test_zip_holds_the_package_with_hashes(built):
    pkg, dist = built
    archive = zipfile.ZipFile(dist / f"{NAME}.zip")
    names = set(archive.namelist())
    for member in ["datapackage.json", "data/entries.csv", "schemas/entries.schema.json", "README.md", "LICENSE",
                   "LICENSE-DATA", "CITATION.cff", "CHANGELOG.md", "requirements.lock", f"{NAME}.bib"]:
        assert f"{NAME}/{member}" in names
    descriptor = json.loads(archive.read(f"{NAME}/datapackage.json"))
    for resource in descriptor["resources"]:
        data = archive.read(f"{NAME}/{resource['path']}")
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert data == pkg.path(resource["path"]).read_bytes()
    released = yaml.safe_load(pkg.read("CITATION.cff"))["date-released"]
    assert {i.date_time for i in archive.infolist()} == {(released.year, released.month, released.day, 0, 0, 0)}


def test_sqlite_declares_keys_and_holds_every_cell(built):
    pkg, dist = built
    con = sqlite3.connect(dist / f"{NAME}.sqlite")
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert "FOREIGN KEY" in con.execute("SELECT sql FROM sqlite_master WHERE name='entry_dates'").fetchone()[0]
    for path in sorted(pkg.path("data").glob("*.csv")):
        table = path.stem
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        header, body = rows[0], rows[1:]
        got = con.execute(f'SELECT * FROM "{table}"').fetchall()
        assert len(got) == len(body), table
        for want, have in zip(body, got):
            for name, w, h in zip(header, want, have):
                if h is None:
                    assert w == "", (table, name)
                elif isinstance(h, float):
                    assert float(w) == h, (table, name)
                else:
                    assert str(h) == w, (table, name)


def test_parquet_holds_the_typed_tables(built):
    pkg, dist = built
    tables = load(path=pkg.root)
    for name, frame in tables.items():
        parquet = pd.read_parquet(dist / f"{NAME}.{name}.parquet")
        assert list(parquet.columns) == list(frame.columns)
        pd.testing.assert_frame_equal(parquet.astype(str), frame.astype(str), check_dtype=False)


def test_flat_csv_has_one_row_per_entry(built):
    pkg, dist = built
    flat = pd.read_csv(dist / f"{NAME}.entries-flat.csv", dtype=str, keep_default_na=False)
    entries = pd.read_csv(pkg.path("data/entries.csv"), dtype=str, keep_default_na=False)
    assert flat["entry_id"].tolist() == entries["entry_id"].tolist()
    assert flat["jurisdiction_name"].str.len().min() > 0


def test_build_refuses_invalid_data_and_leaves_dist_alone(tmp_path):
    pkg = make_package(tmp_path / "pkg")
    pkg.set_cell("entries", 2, "date", "2017-02-30")
    (pkg.root / "dist").mkdir()
    (pkg.root / "dist" / "keep.txt").write_text("previous build")
    with pytest.raises(BuildRefused):
        build(pkg.root)
    assert [p.name for p in (pkg.root / "dist").iterdir()] == ["keep.txt"]
    result = run_cli("build", str(pkg.root))
    assert result.returncode == 1 and "build refused" in result.stderr and "Traceback" not in result.stderr


@needs("bibtex", tex=("plain.bst",), reason="needs TeX Live's bibtex (.ci/run installs it)")
def test_bibtex_file_compiles_without_warnings_with_real_bibtex(built, tmp_path):
    _, dist = built
    shutil.copy(dist / f"{NAME}.bib", tmp_path / "refs.bib")
    (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n")
    result = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.blg").read_text(errors="replace")
    assert result.returncode == 0, result.stdout + log
    assert "Warning" not in log and "error" not in log.lower().replace("error messages", ""), log
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert "人工智能" in bbl and "café" in bbl and "Institute of Automation, Chinese Academy of Sciences" in bbl


@needs("biber", "lualatex", tex=("biblatex.sty",), reason="needs biber and LuaLaTeX (.ci/run installs them)")
def test_biblatex_file_compiles_without_warnings_with_biber(built, tmp_path):
    _, dist = built
    shutil.copy(dist / f"{NAME}.biblatex.bib", tmp_path / "refs.bib")
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage[backend=biber]{biblatex}\n\\addbibresource{refs.bib}\n"
                                      "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n")
    subprocess.run(["lualatex", "-interaction=nonstopmode", "doc.tex"], cwd=tmp_path, capture_output=True, timeout=300)
    assert (tmp_path / "doc.bcf").is_file()
    result = subprocess.run(["biber", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout
    assert "WARN" not in result.stdout and "ERROR" not in result.stdout, result.stdout
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert HOSTILE_URL in bbl  # URLs reach biblatex untouched
    assert f"\\entry{{{NAME}}}{{dataset}}" in bbl
    assert "{Institute of Automation, Chinese Academy of Sciences}" in (dist / f"{NAME}.biblatex.bib").read_text()


def test_bibtex_keeps_urls_and_dois_intact(built):
    _, dist = built
    text = (dist / f"{NAME}.bib").read_text(encoding="utf-8")
    assert f'url = "{HOSTILE_URL}"' in text
    assert 'doi = "10.1000/xyz_123%"' in text
    assert "\\textbraceleft{}braces\\textbraceright{}" in text


def test_cite_an_entry_at_the_current_version(pkg):
    result = run_cli("cite", str(pkg.root), "--entry", "cn-2017-new-generation-ai-development-plan", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert f"Version {VERSION}" in result.stdout
    assert "/entries/cn-2017-new-generation-ai-development-plan/" in result.stdout


@pytest.mark.parametrize("fmt, marker", [("bibtex", "@misc{" + NAME), ("biblatex", "@dataset{" + NAME),
                                         ("text", f"AI Policy Atlas (Version {VERSION}) [Data set]"), ("cff", "cff-version: 1.2.0")])
def test_cite_the_dataset_in_every_format(pkg, fmt, marker):
    result = run_cli("cite", str(pkg.root), "--format", fmt)
    assert result.returncode == 0 and marker in result.stdout, result.stdout + result.stderr


def test_cite_an_unknown_entry_suggests_the_closest(pkg):
    result = run_cli("cite", str(pkg.root), "--entry", "cn-2017-new-generation-ai-development-pla")
    assert result.returncode == 2
    assert "did you mean cn-2017-new-generation-ai-development-plan" in result.stderr


def test_cite_an_unreleased_version_is_refused(pkg):
    result = run_cli("cite", str(pkg.root), "--version", "7.0.0")
    assert result.returncode == 2 and "not released" in result.stderr


@needs("bibtex", "biber", "lualatex", tex=("plain.bst", "biblatex.sty"), reason="needs TeX Live (.ci/run installs it)")
def test_the_live_bibliography_compiles_without_warnings(tmp_path):
    """Every real source, with its titles in many scripts and its URLs, through bibtex and biber."""
    from aipolicy.outputs.bibtex import write_bib  # noqa: F401  (the module under test)
    from aipolicy.outputs.build import bibliography
    from aipolicy.outputs.cite import dataset_meta

    package = read_package(ROOT, strict=False)
    meta = dataset_meta(ROOT, package.descriptor)
    (tmp_path / "refs.bib").write_text(bibliography(package, meta, biblatex=False), encoding="utf-8")
    (tmp_path / "refsl.bib").write_text(bibliography(package, meta, biblatex=True), encoding="utf-8")
    (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n")
    result = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "doc.blg").read_text(errors="replace")
    assert result.returncode == 0 and "Warning--" not in log, log[-3000:]
    (tmp_path / "l.tex").write_text("\\documentclass{article}\n\\usepackage[backend=biber]{biblatex}\n\\addbibresource{refsl.bib}\n"
                                    "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n")
    subprocess.run(["lualatex", "-interaction=nonstopmode", "l.tex"], cwd=tmp_path, capture_output=True, timeout=600)
    result = subprocess.run(["biber", "l"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "WARN" not in result.stdout and "ERROR" not in result.stdout, result.stdout[-3000:]


def test_text_and_typed_rows_follow_the_same_canonical_order(pkg):
    """The artifacts pair each row's text with its typed values: both in primary-key order,
    whatever the order of the rows read."""
    import polars as pl

    from aipolicy.outputs.build import _canonical_rows

    table = read_package(pkg.root).tables["figures"]
    table.data = table.data.reverse()  # out of order, as a table read before `fmt` would be
    frame, typed = _canonical_rows(table)
    assert frame["figure_id"].tolist() == sorted(frame["figure_id"].tolist())
    assert typed["figure_id"].tolist() == frame["figure_id"].tolist()
    values = table.data.select("figure_id", pl.col("value").cast(pl.Float64)).rows()
    assert dict(zip(typed["figure_id"], typed["value"].astype(float))) == dict(values)


def test_bibtex_months_are_the_standard_macros(built):
    import re

    _, dist = built
    text = (dist / f"{NAME}.bib").read_text(encoding="utf-8")
    months = re.findall(r"month = (\w+)", text)
    assert months and all(m in {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} for m in months), months
    assert 'month = "' not in text
