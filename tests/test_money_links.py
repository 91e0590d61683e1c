"""Money in one currency (ECB reference rates, derived at build time) and sources that stay
reachable (archived copies, and a link check run only against servers on 127.0.0.1)."""
from __future__ import annotations

import http.server
import json
import socket
import time

import pytest

from aipolicy.outputs import money
from aipolicy.checking.validate import validate
from conftest import LocalServer, make_package, run_cli


def test_a_figure_is_converted_at_the_ecb_rate_of_its_date():
    dates, rates = money.ecb_rates()
    day = dates.index(__import__("datetime").date(2017, 7, 20))
    c = money.convert(1000, "CNY", "2017-07-20")
    assert c.rate_date == "2017-07-20" and c.note == "ECB reference rates of 2017-07-20"
    assert c.eur == round(1000 / rates["CNY"][day], 2) and c.usd == round(1000 / rates["CNY"][day] * rates["USD"][day], 2)


def test_a_weekend_takes_the_last_rate_before_it_and_says_so():
    c = money.convert(100, "GBP", "2023-07-01")  # a Saturday
    assert c.rate_date == "2023-06-30" and c.note == "ECB reference rates of 2023-06-30 (the last before 2023-07-01)"


def test_eur_and_usd_are_converted_too():
    assert money.convert(5, "EUR", "2024-03-01").eur == 5
    assert money.convert(5, "USD", "2024-03-01").usd == 5


@pytest.mark.parametrize("unit, day, reason", [
    ("QAR", "2024-01-10", "the ECB publishes no reference rate for QAR"),
    ("CNY", "2003-05-01", "2003-05-01 is before the ECB's CNY series, which starts on 2005-04-01"),
    ("RUB", "2024-01-10", "the ECB published no RUB rate within ten days before 2024-01-10 (its series ends on 2022-03-01)"),
])
def test_no_rate_is_never_guessed(unit, day, reason):
    c = money.convert(1, unit, day)
    assert (c.usd, c.eur, c.rate_date, c.note) == (None, None, None, reason)


def test_the_release_carries_the_converted_figures_and_the_rate_version(tmp_path):
    import csv
    import sqlite3

    import pyarrow.parquet as pq

    from aipolicy.outputs.build import build

    pkg = make_package(tmp_path / "pkg")
    dist = build(pkg.root)
    name = next(dist.glob("*.zip")).stem
    rows = list(csv.DictReader((dist / f"{name}.figures-usd-eur.csv").read_text(encoding="utf-8").splitlines()))
    figures = list(csv.DictReader(pkg.read("data/figures.csv").splitlines()))
    assert len(rows) == sum(1 for f in figures if len(f["unit"]) == 3 and f["unit"].isupper())
    for row in rows:
        assert (row["value_usd"] != "") == (row["rate_date"] != "") and row["conversion"]
    con = sqlite3.connect(dist / f"{name}.sqlite")
    assert con.execute("SELECT count(*) FROM figures_usd_eur").fetchone()[0] == len(rows)
    assert con.execute("SELECT value FROM release_info WHERE key = 'currency_rates'").fetchone()[0] == money.source_version()
    table = pq.read_table(dist / f"{name}.figures_usd_eur.parquet")
    assert table.num_rows == len(rows) and table.schema.metadata[b"rates"].decode() == money.source_version()


def test_an_archived_copy_must_be_an_archive_address(pkg):
    line = pkg.find_line("sources", "caixin-2017")
    column = pkg.set_cell("sources", line, "archived_url", "https://example.org/copy")
    found = [p for p in validate(pkg.root) if p.rule == "pattern"]
    assert [(p.line, p.column) for p in found] == [(line, column)]
    pkg.set_cell("sources", line, "archived_url", "https://web.archive.org/web/20240101000000/https://example.org/a")
    assert [p.text() for p in validate(pkg.root)] == []


class Handler(http.server.BaseHTTPRequestHandler):
    seen_agents: list[str] = []

    def log_message(self, *args):
        pass

    def _answer(self, body: bool):
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
        elif self.path == "/missing":
            self.send_response(404)
        elif self.path == "/broken":
            self.send_response(500)
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
        elif self.path == "/no-head" and not body:
            self.send_response(405)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)


@pytest.fixture
def server():
    local = LocalServer(Handler)
    yield local.url
    local.close()


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_check_links_reports_each_kind_of_failure_and_never_edits_the_data(pkg, server, tmp_path):
    refused = f"http://127.0.0.1:{_refused_port()}/gone"
    paths = ["/ok", "/moved", "/missing", "/broken", "/slow", "/no-head"]
    lines = pkg.lines("sources")
    urls = [server + p for p in paths] + [refused]
    for i, url in enumerate(urls, start=2):
        pkg.set_cell("sources", i, "url", url)
    before = {p.name: p.read_bytes() for p in (pkg.root / "data").glob("*.csv")}
    report = tmp_path / "links.json"
    result = run_cli("check-links", str(pkg.root), "--timeout", "0.2", "--retries", "1", "--json", str(report))
    assert result.returncode == 1
    found = {r["url"]: r for r in json.loads(report.read_text())["results"]}
    assert found[server + "/ok"]["ok"] and found[server + "/ok"]["status"] == 200
    assert found[server + "/moved"]["ok"] and found[server + "/moved"]["final_url"] == server + "/ok"
    assert found[server + "/missing"]["status"] == 404 and not found[server + "/missing"]["ok"]
    assert found[server + "/broken"]["status"] == 500 and not found[server + "/broken"]["ok"]
    assert found[server + "/slow"]["status"] is None and found[server + "/slow"]["error"] == "timed out after 0.2 s"
    assert found[server + "/no-head"]["ok"]  # asked again with GET
    assert found[refused]["status"] is None and "refused" in found[refused]["error"].lower()
    assert f"HTTP 404: {server}/missing (cited by sources:" in result.stdout
    assert all(a.startswith("ai-policy-atlas-link-check/") for a in Handler.seen_agents)
    assert {p.name: p.read_bytes() for p in (pkg.root / "data").glob("*.csv")} == before
    assert lines  # the fixture had enough sources for every case
