"""`aipolicy docs`: the generated pages of the documentation site, from the validated tables.

Every page is Markdown whose body is an HTML block: text from the data is HTML-escaped, and
Python-Markdown leaves block-level HTML alone, so a summary holding `<script>` or Markdown
syntax shows as literal text. Page titles go through YAML front matter, quoted as JSON.
Generated pages are kept out of the navigation, so each page stays small however many
entries there are.

The pages are grouped by kind: `entries` (one entry), `lists` (entries by jurisdiction,
topic, organization and date), `reference` (data dictionary, downloads) and `research`
(statistics, coverage, map, history, API, feed), each a mixin over `SiteData`, the tables.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ...reading.package import read_package
from . import charts
from .data import SiteData
from .entries import EntryPages
from .html import escape, kind_label, link, page
from .lists import ListPages
from .reference import ReferencePages
from .research import COUNTED, ResearchPages  # noqa: F401  (COUNTED: the headline counts, for users of this module)

GENERATED = ["entries", "jurisdictions", "topics", "organizations", "timeline", "dictionary.md", "downloads.md", "statistics.md", "coverage.md", "map.md", "changes", "img", "api", "feed.xml"]


class Site(SiteData, EntryPages, ListPages, ReferencePages, ResearchPages):
    """Every generated page of the site."""

    # --- everything -----------------------------------------------------------------------
    def pages(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry_id in self.entries.index:
            out[f"entries/{entry_id}.md"] = self.entry_page(entry_id)
        out["entries/index.md"] = self.index_page("Entries", f"All {len(self.entries)} entries, by ID. The timeline lists them by date.",
                                                 [[self.entry_link(i, "../"), escape(kind_label(self.entries.at[i, "kind"])), escape(self.entries.at[i, "jurisdiction_id"])] for i in self.entries.index],
                                                 ["Entry", "Kind", "Jurisdiction"]) if len(self.entries) <= 2000 else page("Entries", "<h1>Entries</h1><p>Browse them by <a href=\"../timeline/\">date</a>, <a href=\"../jurisdictions/\">jurisdiction</a> or <a href=\"../topics/\">topic</a>, or use the search.</p>")
        counts = self.entries["jurisdiction_id"].value_counts()
        for jid in self.jur.index:
            out.update(self.jurisdiction_pages(jid))
        out["jurisdictions/index.md"] = self.index_page("Jurisdictions", f"{len(self.jur)} jurisdictions.",
                                                       [[link(f"{j}/", self.jur.at[j, "name"]), f"<code>{escape(j)}</code>", escape(self.jur.at[j, "level"]), str(counts.get(j, 0))] for j in self.jur.index],
                                                       ["Jurisdiction", "Code", "Level", "Entries"])
        tcounts = self.frames["entry_topics"]["topic_id"].value_counts()
        for tid in self.topics.index:
            out.update(self.topic_pages(tid))
        out["topics/index.md"] = self.index_page("Topics", "A small taxonomy of policy areas shared by every jurisdiction.",
                                                [[link(f"{t}/", self.topics.at[t, "label"]), escape(self.topics.at[t, "description"]), str(tcounts.get(t, 0))] for t in self.topics.index],
                                                ["Topic", "Description", "Entries"])
        for oid in self.orgs.index:
            out.update(self.organization_pages(oid))
        out["organizations/index.md"] = self.index_page("Organizations", f"{len(self.orgs)} organizations.",
                                                       [[link(f"{o}/", self.orgs.at[o, "name"]), escape(self.orgs.at[o, "kind"]), escape(self.orgs.at[o, "jurisdiction_id"])] for o in self.orgs.index],
                                                       ["Organization", "Kind", "Jurisdiction"]) if len(self.orgs) <= 3000 else page("Organizations", "<h1>Organizations</h1><p>Use the search to find an organization.</p>")
        out.update(self.timeline())
        out["dictionary.md"] = self.dictionary()
        out["downloads.md"] = self.downloads()
        out["statistics.md"] = self.statistics()
        out["coverage.md"] = self.coverage()
        out["map.md"] = self.world_map()
        out.update(self.changes_since())
        return out


def build_site(root: str | Path | None = None) -> tuple[int, Path]:
    """Generate the pages, then run `mkdocs build --strict`; returns (page count, site folder)."""
    import subprocess
    import sys

    from ...reading.package import find_root
    from ...reading.problems import PackageError

    root = find_root(root)
    count = generate(root)
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"], cwd=root, capture_output=True, text=True,
                            env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    if result.returncode != 0:
        raise PackageError("mkdocs build --strict failed:\n" + (result.stderr or result.stdout).strip())
    return count, root / "site"


def generate(root: str | Path | None = None, docs: str | Path | None = None) -> int:
    """Write the generated pages and pictures into the docs folder; returns the page count."""
    package = read_package(root, strict=False)
    docs = Path(docs) if docs else package.root / "docs"
    for name in GENERATED:
        target = docs / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    site = Site(package)
    pages = site.pages()
    for rel, text in pages.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (docs / "img").mkdir(exist_ok=True)
    (docs / "img" / "entries-per-year.svg").write_text(charts.stacked_years(site.entries), encoding="utf-8")
    (docs / "img" / "entries-per-jurisdiction.svg").write_text(charts.jurisdiction_bars(site.entries, site.jur), encoding="utf-8")
    (docs / "img" / "world-map.svg").write_text(site.map_svg, encoding="utf-8")
    for rel, text in {**site.api(), "feed.xml": site.feed()}.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (docs / "img" / "largest-commitments.svg").write_text(charts.commitment_bars(site.largest_commitments(), site.entries["title"].to_dict()), encoding="utf-8")
    return len(pages)
