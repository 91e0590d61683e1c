"""The documentation site: generated pages, escaping, and a real browser."""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys

import pytest

from aipolicy.outputs.site import build_site
from conftest import ROOT, LocalServer, make_package, needs

HOSTILE = '<script>alert("x")</script> **not bold** [not a link](http://evil.example) <img src=x onerror=alert(1)>'
GENERATED = {"entries", "jurisdictions", "topics", "organizations", "timeline", "img"}


def docs_package(dest):
    pkg = make_package(dest)
    shutil.copy(ROOT / "mkdocs.yml", pkg.root / "mkdocs.yml")
    shutil.copy(ROOT / "CONTRIBUTING.md", pkg.root / "CONTRIBUTING.md")
    shutil.copytree(ROOT / "docs", pkg.root / "docs", ignore=lambda d, names: [n for n in names if n in GENERATED or n in {"dictionary.md", "downloads.md", "statistics.md"}])
    return pkg


def test_every_entry_jurisdiction_topic_and_organization_has_a_page(site):
    pkg, site_dir, count = site
    import csv

    for table, key, folder in [("entries", "entry_id", "entries"), ("jurisdictions", "jurisdiction_id", "jurisdictions"),
                               ("topics", "topic_id", "topics"), ("organizations", "organization_id", "organizations")]:
        for row in csv.DictReader((pkg.root / "data" / f"{table}.csv").open(encoding="utf-8")):
            assert (site_dir / folder / row[key] / "index.html").is_file(), (table, row[key])
    for page in ["index.html", "dictionary/index.html", "timeline/index.html", "downloads/index.html", "using/index.html",
                 "citing/index.html", "contributing/index.html", "changelog/index.html", "licenses/index.html", "guarantees/index.html"]:
        assert (site_dir / page).is_file(), page
    assert (site_dir / "img" / "entries-per-year.svg").read_text().startswith("<svg")


def test_text_from_the_data_is_escaped(site):
    _, site_dir, _ = site
    html = (site_dir / "entries" / "cn-2017-new-generation-ai-development-plan" / "index.html").read_text(encoding="utf-8")
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "**not bold**" in html and "<strong>not bold</strong>" not in html
    assert "[not a link](http://evil.example)" in html and 'href="http://evil.example"' not in html


def test_entry_page_shows_lifecycle_roles_figures_sources_and_citation(site):
    _, site_dir, _ = site
    html = (site_dir / "entries" / "cn-bj-2018-mentougou-ai-park" / "index.html").read_text(encoding="utf-8")
    for heading in ["Lifecycle", "Organizations", "Topics", "Figures", "Related entries", "Sources", "Cite this entry"]:
        assert f">{heading}<" in html, heading
    assert "中关村人工智能科技园" in html
    assert "@misc{cn-bj-2018-mentougou-ai-park-" in html
    plan = (site_dir / "entries" / "cn-2017-new-generation-ai-development-plan" / "index.html").read_text(encoding="utf-8")
    assert "cn-bj-2018-mentougou-ai-park" in plan  # the relation shows on both ends


def test_the_data_dictionary_lists_every_field(site):
    pkg, site_dir, _ = site
    import json

    html = (site_dir / "dictionary" / "index.html").read_text(encoding="utf-8")
    for path in (pkg.root / "schemas").glob("*.schema.json"):
        for field in json.loads(path.read_text())["fields"]:
            assert f"<code>{field['name']}</code>" in html, (path.name, field["name"])


def test_pages_are_small_and_load_nothing_from_other_hosts(site):
    _, site_dir, _ = site
    loads = re.compile(r'<(?:script|img|iframe|source)\b[^>]*\bsrc="(?:https?:)?//|<link\b[^>]*\brel="(?:stylesheet|preload|preconnect|modulepreload|icon)"[^>]*\bhref="(?:https?:)?//')
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert len(text.encode()) < 100_000, page
        assert not loads.search(text), (page, loads.search(text).group(0))


class _Server(LocalServer):
    def __init__(self, folder):
        super().__init__(functools.partial(_QuietHandler, directory=str(folder)))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@needs("chromium", reason="needs Debian's chromium (.ci/run installs it)")
def test_the_site_in_a_real_browser(site):
    from playwright.sync_api import sync_playwright

    _, site_dir, _ = site
    server = _Server(site_dir)
    errors, foreign = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server.url) and not r.url.startswith("data:") else None)
            for path in ["/entries/cn-2017-new-generation-ai-development-plan/", "/dictionary/", "/"]:  # the search runs on the last
                response = page.goto(server.url + path)
                assert response.status == 200, path
                page.wait_for_load_state("networkidle")
            page.click(".md-search__input", timeout=10_000)
            page.keyboard.type("Mentougou", delay=30)  # as a person types: the search listens to key events
            result = page.wait_for_selector('.md-search-result__item a[href*="entries/cn-bj-2018-mentougou-ai-park"]', state="attached", timeout=20_000)
            assert result is not None
            browser.close()
    finally:
        server.close()
    assert errors == []
    assert foreign == []


def _snippets(language: str) -> list[str]:
    text = (ROOT / "docs" / "using.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="session")
def snippet_dir(tmp_path_factory):
    """A released package as a user has it: the data package, the built artifacts and the R loader."""
    from aipolicy.outputs.build import build

    pkg = make_package(tmp_path_factory.mktemp("snippets") / "pkg")
    build(pkg.root)
    (pkg.root / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "aipolicy.R", pkg.root / "scripts" / "aipolicy.R")
    return pkg.root


def _as_current_version(code: str, root) -> str:
    """The page shows the latest release's file names; run them against the version built here."""
    import json

    version = json.loads((root / "datapackage.json").read_text())["version"]
    return re.sub(r"ai-policy-atlas-\d+\.\d+\.\d+", f"ai-policy-atlas-{version}", code)


@pytest.mark.parametrize("index", range(len(_snippets("python"))))
def test_python_snippets_on_the_using_page_run(snippet_dir, index):
    code = _as_current_version(_snippets("python")[index], snippet_dir)
    result = subprocess.run([sys.executable, "-c", code], cwd=snippet_dir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, code + "\n" + result.stderr
    assert result.stdout.strip()


@needs("Rscript", r=("readr", "jsonlite", "frictionless"),
       reason="needs R with readr, jsonlite and frictionless (.ci/run installs them)")
@pytest.mark.parametrize("index", [0, 1])
def test_r_snippets_on_the_using_page_run(snippet_dir, index):
    snippets = _snippets("r")
    assert len(snippets) == 2 and "library(frictionless)" in snippets[1]
    code = snippets[index] + ("\nprint(table(entries$kind))" if index == 1 else "")
    result = subprocess.run(["Rscript", "-e", code], cwd=snippet_dir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "plan" in result.stdout and "Warning" not in result.stderr


def test_every_relative_link_in_the_site_resolves(tmp_path):
    """Including the links between the pages of a long list (forced here with a small page size)."""
    import aipolicy.outputs.site.lists as site_module

    pkg = docs_package(tmp_path / "pkg")
    original = site_module.LIST_PAGE_SIZE
    site_module.LIST_PAGE_SIZE = 1
    try:
        _, site_dir = build_site(pkg.root)
    finally:
        site_module.LIST_PAGE_SIZE = original
    assert (site_dir / "topics" / "industrial-policy" / "page-2" / "index.html").is_file()
    broken = []
    for page in site_dir.rglob("*.html"):
        if page.name == "404.html":  # served from any address, so its links are absolute by design
            continue
        for href in re.findall(r'href="([^"#?]+)', page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", href) or href.startswith("/"):
                continue
            target = (page.parent / href).resolve()
            if not (target.is_file() or (target / "index.html").is_file()):
                broken.append((str(page.relative_to(site_dir)), href))
    assert broken == []
