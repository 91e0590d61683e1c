"""The site as a research tool: per-entry history from the registered releases, the static
JSON API, the Atom feed (parsed by a real feed parser) and the explorer (in real Chromium)."""
from __future__ import annotations

import json
import shutil

import pytest

from aipolicy.reading.package import read_package
from aipolicy.outputs.site import Site
from conftest import needs
from test_docs import _Server
from test_release import commit

PLAN = "cn-2017-new-generation-ai-development-plan"


@pytest.fixture
def released_then_changed(released):
    repo = released
    repo.set_cell("entries", repo.find_line("entries", PLAN), "status", "superseded")
    commit(repo)
    return Site(read_package(repo.root, strict=False))


def test_an_entry_page_shows_its_history(released_then_changed):
    page = released_then_changed.entry_page(PLAN)
    assert "<h2>History</h2>" in page and "First appeared in release 1.0.0 (" in page
    assert "Changed in the unreleased changes: <code>status</code>: published → superseded." in page


def test_the_json_api_has_an_index_and_every_entry_with_its_history(released_then_changed):
    files = released_then_changed.api()
    index = json.loads(files["api/index.json"])
    assert index["version"] == "1.0.0+unreleased" and index["counts"]["entries"] == len(index["entries"]) == 2
    entry = json.loads(files[f"api/entries/{PLAN}.json"])
    assert entry["entry"]["entry_id"] == PLAN and entry["sources"] and entry["figures"][0]["rate_date"]
    assert [h["change"] for h in entry["history"]] == ["added", "changed"]
    assert entry["history"][1]["fields"] == {"status": {"old": "published", "new": "superseded"}}
    explorer = json.loads(files["api/explorer.json"])
    assert len(explorer["rows"]) == 2 and explorer["columns"][0] == "entry_id"


def test_the_feed_is_valid_atom(released_then_changed):
    import feedparser

    feed = feedparser.parse(released_then_changed.feed())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert "Release 1.0.0: 2 entries added, 0 changed" in titles
    assert "The unreleased changes: 0 entries added, 1 changed" in titles
    assert any(t.startswith("Changed in the unreleased changes: New Generation") for t in titles)


@needs("chromium", reason="needs Debian's chromium (.ci/run installs it)")
def test_the_explorer_filters_in_a_real_browser(site):  # noqa: F811
    from playwright.sync_api import sync_playwright

    _, site_dir, _ = site
    server = _Server(site_dir)
    errors, foreign = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server.url) else None)
            page.goto(server.url + "/explorer/")
            page.wait_for_selector(".explorer-count[data-count]")
            assert page.locator(".explorer-count").text_content() == "2 of 2 entries"
            page.select_option("select[name=jurisdiction]", "CN")
            page.select_option("select[name=kind]", "plan")
            assert page.locator(".explorer-count").get_attribute("data-count") == "1"
            assert "jurisdiction=CN" in page.url and "kind=plan" in page.url  # the view can be shared
            page.goto(server.url + "/explorer/?q=mentougou")
            page.wait_for_selector(".explorer-count[data-count]")
            assert page.locator(".explorer-count").get_attribute("data-count") == "1"
            assert page.locator("tbody a").first.get_attribute("href") == "../entries/cn-bj-2018-mentougou-ai-park/"
            page.goto(server.url + "/entries/cn-2017-new-generation-ai-development-plan/")
            assert page.locator("h2", has_text="History").count() == 1
            assert "First appeared in the unreleased changes." in page.locator("h2:has-text('History') + ul").inner_text()
            page.goto(server.url + "/map/")
            page.wait_for_function("document.querySelector('object.world-map').contentDocument && "
                                   "document.querySelector('object.world-map').contentDocument.querySelectorAll('a.map-country').length > 0")
            codes = page.evaluate("[...document.querySelector('object.world-map').contentDocument.querySelectorAll('.map-layer:not([display]) a.map-country')]"
                                  ".map(a => a.getAttribute('data-code'))")
            assert codes == ["CN"]  # one clickable shape per covered country
            page.evaluate("document.querySelector('object.world-map').contentDocument.querySelector('a.map-country')"
                          ".dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))")
            page.wait_for_url("**/jurisdictions/CN/")
            browser.close()
    finally:
        server.close()
    assert errors == [] and foreign == []


def test_the_dictionary_shows_code_and_lists_foreign_keys(released_then_changed):
    page = released_then_changed.dictionary()
    assert "(<code>CN</code>)" in page and "(`CN`)" not in page
    assert '<p>Foreign keys:</p><ul><li><code>jurisdiction_id</code> → <a href="#jurisdictions"><code>jurisdictions.jurisdiction_id</code></a></li>' in page


def test_the_world_map_links_every_covered_country(site):  # noqa: F811
    import re

    pkg, site_dir, _ = site
    page = (site_dir / "map" / "index.html").read_text(encoding="utf-8")
    drawing = (site_dir / "img" / "world-map.svg").read_text(encoding="utf-8")
    assert '<object class="world-map" data="../img/world-map.svg"' in page
    first_panel = drawing.split('<g class="map-layer" data-kind="all"')[1].split("</g>")[0]
    linked = set(re.findall(r'<a href="../jurisdictions/([A-Z]{2})/" target="_top" class="map-country"', first_panel))
    import csv

    countries = {r["jurisdiction_id"].split("-")[0] for r in csv.DictReader(pkg.read("data/entries.csv").splitlines())}
    assert linked == countries == {"CN"}  # one clickable shape per covered country (Beijing counts for China)
    assert "Natural Earth" in page and "world-atlas 2.0.2" in page


def test_the_headline_counts_are_their_sql_on_the_release_file(tmp_path):
    import sqlite3

    from aipolicy.outputs.build import build
    from aipolicy.outputs.site import COUNTED
    from conftest import make_package

    pkg = make_package(tmp_path / "pkg")
    pkg.set_cell("entries", pkg.find_line("entries", PLAN), "kind", "law")  # signed on 2017-07-08 in the fixture
    dist = build(pkg.root)
    con = sqlite3.connect(next(dist.glob("*.sqlite")))
    answers = {title: con.execute(sql).fetchall() for title, _, sql in COUNTED}
    assert answers["AI laws enacted per year"] == [("2017", 1)]
    assert answers["AI laws enacted, by jurisdiction"] == [("CN", 1)]
    assert answers["US state AI laws per year"] == []
    site = Site(read_package(pkg.root, strict=False))
    shown = "\n".join(site.counted())
    assert "<tbody><tr><td>2017</td><td>1</td></tr></tbody>" in shown and "<tbody><tr><td>CN</td><td>1</td></tr></tbody>" in shown


def test_the_releases_page_links_what_changed_since_each_release(released_then_changed):
    pages = released_then_changed.changes_since()
    assert list(pages) == ["changes/1.0.0.md"]
    text = pages["changes/1.0.0.md"]
    assert "0 entries added, 1 changed" in text and "<code>status</code> published → superseded" in text
    assert 'href="../changes/1.0.0/"' in released_then_changed.downloads()
