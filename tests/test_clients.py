"""Every release works in the tools users already have, each run for real: frictionless-py,
frictionless-r (rOpenSci), pyarrow, DuckDB, SQLite and Datasette. In CI (`.ci/run` installs
them all) none of these tests may skip."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
import zipfile
from pathlib import Path

import pytest

from conftest import IN_CI


def need(ok: bool, why: str) -> None:
    """Skip on a contributor's machine without the tool; never in CI."""
    if not ok:
        if IN_CI:
            pytest.fail(f"{why}, which .ci/run must install")
        pytest.skip(f"{why} (.ci/run installs it)")


@pytest.fixture(scope="session")
def release(tmp_path_factory, built_package):
    pkg, dist = built_package
    name = next(dist.glob("*.zip")).stem
    unpacked = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(dist / f"{name}.zip") as archive:
        archive.extractall(unpacked)
    schemas = {p.name.split(".")[0]: json.loads(p.read_text(encoding="utf-8")) for p in (pkg.root / "schemas").glob("*.schema.json")}
    return {"dist": dist, "name": name, "root": unpacked / name, "schemas": schemas}


def test_frictionless_py_reads_every_resource_typed_without_a_warning(release):
    import datetime as dt
    import decimal

    from frictionless import Package

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        package = Package(str(release["root"] / "datapackage.json"))
        for resource in package.resources:
            rows = resource.read_rows()
            schema = release["schemas"][resource.name]
            for field in schema["fields"]:
                values = [r[field["name"]] for r in rows if r[field["name"]] is not None]
                expected = {"date": dt.date, "number": (int, float, decimal.Decimal), "integer": int, "string": str}[field["type"]]
                assert all(isinstance(v, expected) for v in values), (resource.name, field["name"])
            assert not [e for r in rows for e in r.errors], resource.name


R_READ = r"""
suppressPackageStartupMessages(library(frictionless))
out <- list()
withCallingHandlers({
  package <- read_package(Sys.getenv("DESCRIPTOR"))
  for (name in resources(package)) {
    df <- read_resource(package, name)
    out[[name]] <- list(rows = nrow(df), classes = lapply(df, function(col) class(col)[1]))
  }
}, warning = function(w) stop(paste("warning:", conditionMessage(w))))
cat(jsonlite::toJSON(out, auto_unbox = TRUE))
"""


def _r_has(package: str) -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", f"library({package})"], capture_output=True).returncode == 0


def test_frictionless_r_reads_every_resource_typed_without_a_warning(release):
    need(_r_has("frictionless"), "the R package frictionless 1.2.1 is not installed")
    version = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('frictionless')))"], capture_output=True, text=True).stdout
    assert version == "1.2.1"
    result = subprocess.run(["Rscript", "-e", R_READ], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "DESCRIPTOR": str(release["root"] / "datapackage.json")})
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    for name, schema in release["schemas"].items():
        lines = (release["root"] / "data" / f"{name}.csv").read_text(encoding="utf-8").count("\n") - 1
        assert read[name]["rows"] == lines, name
        for field in schema["fields"]:
            enum = "enum" in field.get("constraints", {})
            expected = {"date": "Date", "number": "numeric", "integer": "numeric", "string": "factor" if enum else "character"}[field["type"]]
            assert read[name]["classes"][field["name"]] == expected, (name, field["name"], read[name]["classes"][field["name"]])


def test_parquet_files_are_typed_as_the_schemas_say(release):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, schema in release["schemas"].items():
        table = pq.read_table(release["dist"] / f"{release['name']}.{name}.parquet")
        assert table.schema.metadata[b"version"] == release["name"].rsplit("-", 1)[1].encode() and table.schema.metadata[b"table"] == name.encode()
        for field in schema["fields"]:
            arrow = table.schema.field(field["name"])
            c = field.get("constraints", {})
            assert arrow.nullable == (not c.get("required", False)), (name, field["name"])
            assert arrow.metadata[b"description"].decode() == field.get("description", "")
            if "enum" in c:
                assert pa.types.is_dictionary(arrow.type)
                assert table.num_rows == 0 or table.column(field["name"]).combine_chunks().dictionary.to_pylist() == [str(v) for v in c["enum"]]
            else:
                assert arrow.type == {"date": pa.date32(), "number": pa.float64(), "integer": pa.int64(), "string": pa.string()}[field["type"]], (name, field["name"])


def _duckdb():
    import duckdb
    import duckdb_ext

    extensions = Path(next(iter(duckdb_ext.__path__))) / "extensions"  # the sqlite extension, from a registry package
    return duckdb.connect(config={"extension_directory": str(extensions), "autoinstall_known_extensions": False})


def test_duckdb_queries_of_the_docs_run_on_parquet_and_sqlite(release):
    con = _duckdb()
    dist, name = release["dist"], release["name"]
    by_kind = con.sql(f"SELECT kind, count(*) FROM '{dist}/{name}.entries.parquet' GROUP BY kind ORDER BY 2 DESC, 1").fetchall()
    assert by_kind == [("infrastructure", 1), ("plan", 1)]
    assert con.sql(f"SELECT typeof(date) FROM '{dist}/{name}.entries.parquet' LIMIT 1").fetchone() == ("DATE",)
    con.sql("LOAD sqlite")
    con.sql(f"ATTACH '{dist}/{name}.sqlite' AS atlas (TYPE sqlite, READ_ONLY)")
    assert con.sql("SELECT count(*) FROM atlas.entries").fetchone() == (2,)
    joined = con.sql("SELECT e.entry_id, r.region FROM atlas.entries e JOIN atlas.jurisdiction_regions r USING (jurisdiction_id) ORDER BY 1").fetchall()
    assert joined == [("cn-2017-new-generation-ai-development-plan", "Asia"), ("cn-bj-2018-mentougou-ai-park", "Asia")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_datasette_serves_the_release_as_a_searchable_site(release):
    need(shutil.which("datasette") is not None or (Path(sys.executable).parent / "datasette").exists(), "datasette is not installed")
    dist, name = release["dist"], release["name"]
    port = _free_port()
    exe = shutil.which("datasette") or str(Path(sys.executable).parent / "datasette")
    server = subprocess.Popen([exe, "serve", str(dist / f"{name}.sqlite"), "-m", str(dist / f"{name}.datasette.json"),
                               "-h", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    from datasette.utils import tilde_encode

    db = tilde_encode(name)  # Datasette's address of a database whose name has dots
    try:
        for _ in range(100):  # up to 10 s for the server to start
            try:
                _get(base + "/-/versions.json")
                break
            except OSError:
                time.sleep(0.1)
        page = _get(f"{base}/{db}/entries")
        assert "Tags of entries" not in page and "The items of the atlas" in page  # the table's description from the schema
        found = json.loads(_get(f"{base}/{db}/entries.json?_search=" + urllib.parse.quote("人工智能发展") + "&_shape=objects"))
        assert [r["entry_id"] for r in found["rows"]] == ["cn-2017-new-generation-ai-development-plan"]
        listing = _get(f"{base}/{db}/entries")
        assert '/jurisdictions/CN-BJ">Beijing</a>' in listing  # the foreign key is a link, labelled with the jurisdiction's name
        meta = json.loads(_get(f"{base}/-/metadata.json"))
        assert meta["license"] == "CC-BY-4.0" and meta["databases"][name]["tables"]["entries"]["columns"]["title"].startswith("English title")
    finally:
        server.terminate()
        server.wait(timeout=10)


import urllib.parse  # noqa: E402
