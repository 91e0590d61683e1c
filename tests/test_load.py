"""`aipolicy.load()`: typed tables from the working tree or from a verified, cached release."""
from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys

import pandas as pd
import pytest

import aipolicy
from aipolicy.reading import fieldtypes
from aipolicy.outputs import loader as load_module
from aipolicy.outputs.build import build
from aipolicy.reading.package import PackageError
from conftest import ROOT, LocalServer, make_package

VERSION = json.loads((ROOT / "datapackage.json").read_text())["version"]


def test_load_types_every_column_from_the_schemas(pkg):
    tables = aipolicy.load(path=pkg.root)
    assert set(tables) == {p.stem for p in (pkg.root / "data").glob("*.csv")}
    entries = tables["entries"]
    assert str(entries["title"].dtype) == "string"
    assert str(entries["date"].dtype).startswith("datetime64")
    kind = entries["kind"].dtype
    assert isinstance(kind, pd.CategoricalDtype)
    schema = json.loads((pkg.root / "schemas/entries.schema.json").read_text())
    kind_field = next(f for f in schema["fields"] if f["name"] == "kind")
    assert list(kind.categories) == kind_field["constraints"]["enum"]
    assert kind.ordered == bool(kind_field.get("x-ordered", False))  # unordered unless the schema says so
    assert str(tables["figures"]["value"].dtype) == "Float64"
    assert entries["title_local"].isna().sum() + entries["title_local"].notna().sum() == len(entries)


def test_load_keeps_every_value(pkg):
    import csv

    entries = aipolicy.load_table("entries", path=pkg.root)
    raw = list(csv.DictReader((pkg.root / "data/entries.csv").open(encoding="utf-8")))
    assert entries["entry_id"].tolist() == [r["entry_id"] for r in raw]
    assert [("" if pd.isna(v) else v) for v in entries["summary"]] == [r["summary"] for r in raw]
    assert entries["date"].dt.strftime("%Y-%m-%d").tolist() == [r["date"] for r in raw]


def test_importing_aipolicy_to_load_needs_neither_frictionless_nor_pandera():
    code = ("import sys, aipolicy; aipolicy.load(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('frictionless', 'pandera')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_load_with_no_arguments_reads_the_package_it_sits_in():
    tables = aipolicy.load()
    assert len(tables["entries"]) == len(pd.read_csv(ROOT / "data/entries.csv"))


class Server(LocalServer):
    """A real HTTP server on 127.0.0.1 serving a folder, counting the requests it answers."""

    def __init__(self, folder):
        self.requests = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests += 1
                super().do_GET()

        super().__init__(functools.partial(Handler, directory=str(folder)))


@pytest.fixture
def release(tmp_path, monkeypatch):
    """A real release zip built from the fixture package, served from 127.0.0.1, and a registry that knows it."""
    import hashlib

    pkg = make_package(tmp_path / "pkg")
    dist = build(pkg.root)
    name = f"ai-policy-atlas-{VERSION}.zip"
    server = Server(dist)
    registry = tmp_path / "releases.json"
    registry.write_text(json.dumps({VERSION: {"date": "2026-11-25", "zip": name, "url": f"{server.url}/{name}",
                                              "sha256": hashlib.sha256((dist / name).read_bytes()).hexdigest()}}))
    monkeypatch.setattr(load_module, "REGISTRY", registry)
    yield pkg, dist, server, tmp_path / "cache"
    server.close()


def test_a_released_version_is_downloaded_verified_and_cached(release):
    pkg, dist, server, cache = release
    tables = aipolicy.load(version=VERSION, cache=cache)
    assert server.requests == 1
    local = aipolicy.load(path=pkg.root)
    for name in local:
        pd.testing.assert_frame_equal(tables[name], local[name])
    server.close()  # the second load must not need the network
    again = aipolicy.load_table("entries", version=VERSION, cache=cache)
    assert len(again) == len(local["entries"])


def test_a_tampered_download_is_refused(release):
    pkg, dist, server, cache = release
    zip_path = dist / f"ai-policy-atlas-{VERSION}.zip"
    zip_path.write_bytes(zip_path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(PackageError, match="sha256"):
        aipolicy.load(version=VERSION, cache=cache)
    assert not list(cache.glob("*.zip"))


def test_a_truncated_download_is_refused(release):
    pkg, dist, server, cache = release
    zip_path = dist / f"ai-policy-atlas-{VERSION}.zip"
    zip_path.write_bytes(zip_path.read_bytes()[:1000])
    with pytest.raises(PackageError, match="sha256"):
        aipolicy.load(version=VERSION, cache=cache)


def test_an_unknown_version_is_a_clear_error(release):
    with pytest.raises(PackageError, match="not a released version"):
        aipolicy.load(version="9.9.9", cache=release[3])


def test_a_failed_download_is_a_clear_error(release):
    pkg, dist, server, cache = release
    server.close()
    with pytest.raises(PackageError, match="failed"):
        aipolicy.load(version=VERSION, cache=cache)


def test_a_value_that_does_not_fit_its_type_is_an_error_not_a_missing_value(pkg):
    line = pkg.find_line("entries", "cn-2017-new-generation")
    col = pkg.set_cell("entries", line, "kind", "masterplan")
    with pytest.raises(PackageError, match=f"data/entries.csv:{line}:{col}: kind 'masterplan'"):
        aipolicy.load(path=pkg.root)


def test_load_then_write_reproduces_the_canonical_csv_byte_for_byte():
    """On the live data: every typed table written back is exactly the file it came from."""
    from aipolicy.reading.csvtext import csv_body
    from aipolicy.reading.package import read_package

    package = read_package(ROOT, strict=False)
    tables = aipolicy.load(path=ROOT)
    for name, frame in tables.items():
        table = package[name]
        text = pd.DataFrame({col: to_text(frame[col], table.fields[col]) for col in frame.columns})
        written = (",".join(table.field_names) + "\n").encode() + csv_body(text)
        assert written == (ROOT / table.path).read_bytes(), name


def to_text(typed: pd.Series, field) -> pd.Series:
    """Typed values back to the text of the canonical CSV (the inverse of loading)."""
    kind = field.type
    if kind == "date":
        return typed.dt.strftime("%Y-%m-%d").astype("str")
    if kind == "number":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else fieldtypes.format_number(v)).astype("str")
    if kind == "integer":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else str(int(v))).astype("str")
    if kind == "boolean":
        return typed.astype(object).map(lambda v: None if pd.isna(v) else ("true" if v else "false")).astype("str")
    return typed.astype(object).where(typed.notna(), None).astype("str")
