"""The R loader, run with real R: same types and values as the Python loader."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pandas as pd

import aipolicy
from aipolicy.outputs.build import build
from conftest import ROOT, make_package, needs
from test_load import VERSION, Server

pytestmark = needs("Rscript", r=("readr", "jsonlite", "testthat"), reason="needs R with readr, jsonlite and testthat (.ci/run installs them)")

R_DUMP = r"""
source(Sys.getenv("AIPOLICY_R"))
atlas <- read_aipolicy(Sys.getenv("AIPOLICY_PKG"))
out <- lapply(atlas, function(df) lapply(df, function(col) {
  cls <- class(col)[1]
  values <- if (inherits(col, "Date")) format(col, "%Y-%m-%d") else if (is.factor(col)) as.character(col) else if (is.double(col)) sprintf("%.17g", col) else as.character(col)
  list(class = cls, levels = if (is.factor(col)) levels(col) else NULL, values = ifelse(is.na(col), NA, values))
}))
cat(jsonlite::toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA))
"""

EXPECTED_CLASS = {"string": "character", "category": "factor", "Float64": "numeric", "Int64": "integer", "boolean": "logical"}


def _r_env(**extra):
    return {**os.environ, "AIPOLICY_R": str(ROOT / "scripts" / "aipolicy.R"), **extra}


def _python_values(col: pd.Series) -> list:
    if str(col.dtype).startswith("datetime64"):
        return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in col]
    if str(col.dtype) == "Float64":
        return [None if pd.isna(v) else float(v) for v in col]
    return [None if pd.isna(v) else str(v) for v in col]


def test_python_and_r_load_the_same_types_and_values(pkg):
    result = subprocess.run(["Rscript", "-e", R_DUMP], capture_output=True, text=True, timeout=300, env=_r_env(AIPOLICY_PKG=str(pkg.root)))
    assert result.returncode == 0, result.stderr
    r_tables = json.loads(result.stdout)
    py_tables = aipolicy.load(path=pkg.root)
    assert set(r_tables) == set(py_tables)
    for name, frame in py_tables.items():
        assert list(r_tables[name]) == list(frame.columns), name
        for column in frame.columns:
            r_col = r_tables[name][column]
            dtype = frame[column].dtype
            kind = "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)
            want = "Date" if kind.startswith("datetime64") else EXPECTED_CLASS[kind]
            assert r_col["class"] == want, (name, column, r_col["class"], kind)
            if kind == "category":
                assert r_col["levels"] == list(dtype.categories), (name, column)
            values = r_col["values"] if isinstance(r_col["values"], list) else [r_col["values"]]
            if kind == "Float64":
                values = [None if v is None else float(v) for v in values]
            assert values == _python_values(frame[column]), (name, column)


def test_r_testthat_suite(tmp_path):
    pkg = make_package(tmp_path / "pkg")
    dist = build(pkg.root)
    name = f"ai-policy-atlas-{VERSION}.zip"
    server = Server(dist)
    try:
        registry = tmp_path / "releases.json"
        registry.write_text(json.dumps({VERSION: {"date": "2026-11-25", "zip": name, "url": f"{server.url}/{name}",
                                                  "sha256": hashlib.sha256((dist / name).read_bytes()).hexdigest()}}))
        result = subprocess.run(
            ["Rscript", "-e", "testthat::test_file(Sys.getenv('AIPOLICY_TESTS'), reporter = 'summary', stop_on_failure = TRUE)"],
            capture_output=True, text=True, timeout=300,
            env=_r_env(AIPOLICY_PKG=str(pkg.root), AIPOLICY_REGISTRY=str(registry), AIPOLICY_VERSION=VERSION,
                       AIPOLICY_TESTS=str(ROOT / "tests" / "r" / "test_read_aipolicy.R")))
    finally:
        server.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed" not in result.stdout and "Error" not in result.stdout, result.stdout
    assert result.stdout.count(".") >= 10, result.stdout  # every expectation ran
