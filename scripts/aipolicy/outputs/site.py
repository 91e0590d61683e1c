"""`aipolicy docs`: the generated pages of the documentation site, from the validated tables.

Every page is Markdown whose body is an HTML block: text from the data is HTML-escaped, and
Python-Markdown leaves block-level HTML alone, so a summary holding `<script>` or Markdown
syntax shows as literal text. Page titles go through YAML front matter, quoted as JSON.
Generated pages are kept out of the navigation, so each page stays small however many
entries there are.
"""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pandas as pd

from . import cite

from . import charts
from ..reading.package import Package, read_package
from .site_research import COUNTED, ResearchPages  # noqa: F401  (COUNTED: the headline counts, for users of this module)
from .sitehtml import code_spans, e, fmt_date, fmt_number, identifier_link, kind_label, link, page, table, title_note

GENERATED = ["entries", "jurisdictions", "topics", "organizations", "timeline", "dictionary.md", "downloads.md", "statistics.md", "coverage.md", "map.md", "changes", "img", "api", "feed.xml"]
TIMELINE_PAGE_LIMIT = 300  # entries per timeline page before a year is split by month
LIST_PAGE_SIZE = 200  # entries listed per page of a jurisdiction, topic or organization


class Site(ResearchPages):
    def __init__(self, package: Package):
        self.package = package
        self.t = {name: table.frame for name, table in package.tables.items()}
        self.meta = cite.working_meta(package.root, package.descriptor)
        t = self.t
        self.jur = t["jurisdictions"].set_index("jurisdiction_id")
        # The country each jurisdiction belongs to (a subdivision's, or itself).
        self.country_of = {j: (j.split("-")[0] if self.jur.at[j, "level"] == "subdivision" else j) for j in self.jur.index}
        self.orgs = t["organizations"].set_index("organization_id")
        self.topics = t["topics"].set_index("topic_id")
        self.sources = t["sources"].set_index("source_id")
        self.entries = t["entries"].sort_values("entry_id").set_index("entry_id", drop=False).rename_axis(None)
        self.by_entry = {name: t[name].groupby("entry_id") for name in ("entry_dates", "entry_organizations", "entry_sources", "figures", "entry_topics")}
        self.relations_out = t["relations"].groupby("entry_id")
        self.relations_in = t["relations"].groupby("related_entry_id")
        from .money import converted_figures

        self.converted = {r["figure_id"]: r for r in converted_figures(t["figures"])}
        from ..versioning.history import entry_history

        self.history, self.versions = entry_history(package)
        self.names = t["entry_names"].groupby("entry_id") if "entry_names" in t else None
        self.identifiers = t["identifiers"].groupby("entry_id") if "identifiers" in t else None

    def _group(self, name: str, key: str, groups=None) -> pd.DataFrame:
        groups = groups if groups is not None else self.by_entry[name]
        try:
            return groups.get_group(key)
        except KeyError:
            return self.t[name].iloc[0:0]

    def entry_link(self, entry_id: str, prefix: str = "../../") -> str:
        title = self.entries.at[entry_id, "title"] if entry_id in self.entries.index else entry_id
        return link(f"{prefix}entries/{entry_id}/", title)

    # --- one entry -----------------------------------------------------------------------
    def entry_page(self, entry_id: str) -> str:
        r = self.entries.loc[entry_id]
        jur = r["jurisdiction_id"]
        parts = [f"<h1>{e(r['title'])}</h1>"]
        if isinstance(r["title_local"], str):
            parts.append(f'<p class="local-title" lang="{e(r["language"])}">{e(r["title_local"])}</p>')
        if isinstance(r.get("title_provenance"), str):
            by = r.get("title_source_id")
            source = self.sources.at[by, "publisher"] if isinstance(by, str) and by in self.sources.index and isinstance(self.sources.at[by, "publisher"], str) else by
            note = e(title_note(r["title_provenance"], source if isinstance(source, str) else None))
            if isinstance(by, str):
                note += f" ({link('#' + by, 'source')})"
            parts.append(f'<p class="title-provenance">{note}</p>')
        facts = [("Kind", e(kind_label(r["kind"]))), ("Jurisdiction", link(f"../../jurisdictions/{jur}/", self.jur.at[jur, "name"] if jur in self.jur.index else jur)),
                 ("Date", e(fmt_date(r["date"], r["date_precision"]))), ("Status", e(r["status"]))]
        if isinstance(r["document_number"], str):
            facts.append(("Document number", e(r["document_number"])))
        if isinstance(r["url"], str):
            facts.append(("Link", link(r["url"], r["url"])))
        facts.append(("Entry ID", f"<code>{e(entry_id)}</code>"))
        if self.names is not None:
            names = self._group("entry_names", entry_id, self.names)
            if len(names):
                facts.append(("Also known as", "; ".join(f'<span lang="{e(n["language"])}">{e(n["name"])}</span> ({e(n["kind"].replace("-", " "))})' for _, n in names.iterrows())))
        if self.identifiers is not None:
            ids = self._group("identifiers", entry_id, self.identifiers)
            for _, i in ids.iterrows():
                facts.append((e(i["scheme"].upper() if i["scheme"] in ("celex", "eli") else i["scheme"].replace("-", " ").capitalize()), identifier_link(i["scheme"], i["identifier"])))
        parts.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
        parts.append(f'<p class="summary">{e(r["summary"])}</p>')
        dates = self._group("entry_dates", entry_id).sort_values(["date", "event"])
        if len(dates):
            parts.append("<h2>Lifecycle</h2>")
            parts.append(table(["Date", "Event", "Note", "Source"], [[e(fmt_date(d["date"], d["date_precision"])), e(d["event"]), e(d["note"]), self.source_ref_short(d["source_id"])] for _, d in dates.iterrows()]))
        orgs = self._group("entry_organizations", entry_id)
        if len(orgs):
            parts.append("<h2>Organizations</h2>")
            parts.append(table(["Organization", "Role"], [[link(f"../../organizations/{o['organization_id']}/", self.orgs.at[o["organization_id"], "name"]), e(o["role"])] for _, o in orgs.iterrows()]))
        topics = self._group("entry_topics", entry_id)
        if len(topics):
            parts.append("<h2>Topics</h2><p>" + ", ".join(link(f"../../topics/{x}/", self.topics.at[x, "label"]) for x in topics["topic_id"]) + "</p>")
        figs = self._group("figures", entry_id)
        if len(figs):
            parts.append("<h2>Figures</h2>")
            rows = []
            for _, f in figs.iterrows():
                target = fmt_date(f["target_date"], f["target_date_precision"]) if isinstance(f["target_date"], str) else ""
                rows.append([e(f["quantity"].replace("-", " ")), e(fmt_number(float(f["value"]))), e(f["unit"]), self.in_usd_eur(f["figure_id"]), e(f["qualifier"]), e(f["basis"]),
                             e(fmt_date(f["as_of"], f["as_of_precision"])), e(target), e(f["note"]), self.source_ref_short(f["source_id"])])
            parts.append('<div class="wide-table">' + table(["Quantity", "Value", "Unit", "In USD / EUR", "Qualifier", "Basis", "As of", "Target date", "Note", "Source"], rows) + "</div>")
        out_rel = self._group("relations", entry_id, self.relations_out)
        in_rel = self._group("relations", entry_id, self.relations_in)
        if len(out_rel) or len(in_rel):
            parts.append("<h2>Related entries</h2><ul>")
            parts += [f"<li>This entry {e(x['relation'].replace('-', ' '))} {self.entry_link(x['related_entry_id'])}</li>" for _, x in out_rel.iterrows()]
            parts += [f"<li>{self.entry_link(x['entry_id'])} {e(x['relation'].replace('-', ' '))} this entry</li>" for _, x in in_rel.iterrows()]
            parts.append("</ul>")
        parts += self.history_part(entry_id)
        srcs = self._group("entry_sources", entry_id)
        parts.append("<h2>Sources</h2><ol>")
        for _, s in srcs.iterrows():
            loc = f" ({e(s['locator'])})" if isinstance(s["locator"], str) else ""
            parts.append(f'<li id="{e(s["source_id"])}">{self.reference(s["source_id"])}{loc}</li>')
        parts.append("</ol>")
        bib = cite.cite(self.meta, "bibtex", r.to_dict())
        text = cite.cite(self.meta, "text", r.to_dict())
        parts.append('<h2>Cite this entry</h2><div class="cite-box">')
        parts.append(f"<p>{e(text.strip())}</p><pre><code>{e(bib.strip())}</code></pre>")
        if self.meta.unreleased:
            parts.append(f"<p>These pages show changes made after release {e(self.meta.version)}, so this cites unreleased data "
                         f"(version {e(self.meta.label)}); once the next release is out, cite that release.</p>")
            parts.append(f'<p>The same as <code>aipolicy cite --entry {e(entry_id)}</code>.</p></div>')
        else:
            parts.append(f'<p>The same as <code>aipolicy cite --entry {e(entry_id)} --version {e(self.meta.version)}</code>.</p></div>')
        return page(str(r["title"]), "\n".join(parts), str(r["summary"]))

    def source_ref_short(self, source_id) -> str:
        if not isinstance(source_id, str) or source_id not in self.sources.index:
            return ""
        s = self.sources.loc[source_id]
        return link(s["url"], s["publisher"] if isinstance(s["publisher"], str) else source_id)

    def reference(self, source_id: str) -> str:
        s = self.sources.loc[source_id]
        bits = []
        if isinstance(s["authors"], str):
            bits.append(e(s["authors"]))
        if isinstance(s["date"], str):
            bits.append(f"({e(fmt_date(s['date'], s['date_precision']))})")
        basis = s.get("title_basis")
        bits.append(f"<em>[{e(s['title'])}]</em>." if basis == "description" else f"<em>{e(s['title'])}</em>.")
        if basis == "from-address":
            bits.append("(Title taken from the page's web address.)")
        where = [x for x in (s["container"], s["publisher"]) if isinstance(x, str)]
        if where:
            bits.append(e(", ".join(dict.fromkeys(where))) + ".")
        if isinstance(s["doi"], str):
            bits.append(link(f"https://doi.org/{s['doi']}", f"doi:{s['doi']}"))
        bits.append(link(s["url"], s["url"]))
        if isinstance(s.get("archived_url"), str):
            bits.append("(" + link(s["archived_url"], "archived copy") + ")")
        if isinstance(s["accessed"], str):
            bits.append(f"Accessed {e(s['accessed'])}.")
        return " ".join(bits)

    # --- lists --------------------------------------------------------------------------
    def entry_rows(self, ids, prefix="../../") -> str:
        rows = []
        frame = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True])
        for _, r in frame.iterrows():
            jur = r["jurisdiction_id"]
            rows.append([e(fmt_date(r["date"], r["date_precision"])), self.entry_link(r["entry_id"], prefix), e(kind_label(r["kind"])),
                         link(f"{prefix}jurisdictions/{jur}/", self.jur.at[jur, "name"] if jur in self.jur.index else jur)])
        return table(["Date", "Entry", "Kind", "Jurisdiction"], rows)

    def paged(self, rel: str, title: str, head: list[str], ids, rows=None, headers=None) -> dict[str, str]:
        """A list of entries over as many pages as it needs: `rel` (e.g. topics/health.md),
        then topics/health/page-2.md and so on, each under LIST_PAGE_SIZE rows."""
        ids = list(ids)
        chunks = [ids[i:i + LIST_PAGE_SIZE] for i in range(0, len(ids), LIST_PAGE_SIZE)] or [[]]
        if rows is not None:
            row_chunks = [rows[i:i + LIST_PAGE_SIZE] for i in range(0, len(rows), LIST_PAGE_SIZE)] or [[]]
            chunks = row_chunks
        stem = rel[:-3]
        out = {}
        for n, chunk in enumerate(chunks, start=1):
            depth_prefix = "../../" if n == 1 else "../../../"
            here = rel if n == 1 else f"{stem}/page-{n}.md"
            nav = []
            if len(chunks) > 1:
                def target(k: int) -> str:  # from page n's address to page k's
                    if n == 1:
                        return f"page-{k}/"
                    return "../" if k == 1 else f"../page-{k}/"

                links = [f"<strong>{k}</strong>" if k == n else link(target(k), k) for k in range(1, len(chunks) + 1)]
                nav = [f"<p>Page {n} of {len(chunks)}: " + " ".join(links) + "</p>"]
            if rows is not None:
                body = table(headers, [[c.replace('href="../../', f'href="{depth_prefix}') for c in r] for r in chunk])
            else:
                body = self.entry_rows(chunk, depth_prefix)
            top = head if n == 1 else [f"<h1>{e(title)}</h1>"]  # later pages: the list only, with links back
            out[here] = page(title if n == 1 else f"{title} (page {n})", "\n".join(top + nav + [body] + nav))
        return out

    def jurisdiction_pages(self, jid: str) -> dict[str, str]:
        j = self.jur.loc[jid]
        ids = self.entries.index[self.entries["jurisdiction_id"] == jid]
        subs = self.jur.index[self.jur["parent_id"] == jid]
        head = [f"<h1>{e(j['name'])}</h1>", f"<p>{e(j['level'].capitalize())} <code>{e(jid)}</code>, {len(ids)} entries.</p>"]
        if isinstance(j["parent_id"], str):
            head.append(f"<p>Part of {link('../' + j['parent_id'] + '/', self.jur.at[j['parent_id'], 'name'])}.</p>")
        if len(subs):
            head.append("<p>Subdivisions: " + ", ".join(link(f"../{x}/", self.jur.at[x, "name"]) for x in subs) + ".</p>")
        ordered = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True]).index
        return self.paged(f"jurisdictions/{jid}.md", str(j["name"]), head, ordered)

    def topic_pages(self, tid: str) -> dict[str, str]:
        t = self.topics.loc[tid]
        ids = self.t["entry_topics"].loc[self.t["entry_topics"]["topic_id"] == tid, "entry_id"].unique()
        head = [f"<h1>{e(t['label'])}</h1>", f"<p>{e(t['description'])}</p>"]
        if isinstance(t["parent_id"], str):
            head.append(f"<p>Part of {link('../' + t['parent_id'] + '/', self.topics.at[t['parent_id'], 'label'])}.</p>")
        head.append(f"<p>{len(ids)} entries.</p>")
        ordered = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True]).index
        return self.paged(f"topics/{tid}.md", str(t["label"]), head, ordered)

    def organization_pages(self, oid: str) -> dict[str, str]:
        o = self.orgs.loc[oid]
        eo = self.t["entry_organizations"]
        mine = eo[eo["organization_id"] == oid]
        body = [f"<h1>{e(o['name'])}</h1>"]
        if isinstance(o["name_local"], str):
            body.append(f'<p class="local-title">{e(o["name_local"])}</p>')
        facts = [("Kind", e(o["kind"].replace("-", " "))), ("Jurisdiction", link(f"../../jurisdictions/{o['jurisdiction_id']}/", self.jur.at[o["jurisdiction_id"], "name"]))]
        if isinstance(o["acronym"], str):
            facts.append(("Acronym", e(o["acronym"])))
        if isinstance(o["founded"], str):
            facts.append(("Founded", e(fmt_date(o["founded"], o["founded_precision"]))))
        if isinstance(o["parent_id"], str):
            facts.append(("Part of", link(f"../{o['parent_id']}/", self.orgs.at[o["parent_id"], "name"])))
        if isinstance(o["url"], str):
            facts.append(("Website", link(o["url"], o["url"])))
        body.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
        if isinstance(o["description"], str):
            body.append(f"<p>{e(o['description'])}</p>")
        if isinstance(o["source_id"], str):
            body.append(f"<p>Source: {self.reference(o['source_id'])}</p>")
        rows = [[self.entry_link(m["entry_id"]), e(m["role"])] for _, m in mine.sort_values("entry_id").iterrows()]
        body.append("<h2>Entries</h2>")
        return self.paged(f"organizations/{oid}.md", str(o["name"]), body, [], rows=rows, headers=["Entry", "Role"])

    def index_page(self, title: str, intro: str, rows: list[list[str]], headers: list[str]) -> str:
        return page(title, f"<h1>{e(title)}</h1>\n<p>{intro}</p>\n" + table(headers, rows))

    def timeline(self) -> dict[str, str]:
        """Timeline pages: an index of years, then a page per year (or per month of a crowded year)."""
        pages: dict[str, str] = {}
        dates = pd.to_datetime(self.entries["date"])
        years = sorted(dates.dt.year.unique(), reverse=True)
        index_rows = []
        for year in years:
            ids = self.entries.index[dates.dt.year == year]
            if len(ids) <= TIMELINE_PAGE_LIMIT:
                pages[f"timeline/{year}.md"] = page(f"Timeline {year}", f"<h1>{year}</h1>\n<p>{len(ids)} entries, newest first.</p>\n" + self.entry_rows(ids))
                index_rows.append([link(f"{year}/", year), str(len(ids))])
            else:
                months = []
                for month in sorted(dates[ids].dt.month.unique(), reverse=True):
                    mids = ids[dates[ids].dt.month == month]
                    name = f"{year}-{month:02d}"
                    pages[f"timeline/{name}.md"] = page(f"Timeline {name}", f"<h1>{name}</h1>\n<p>{len(mids)} entries, newest first.</p>\n" + self.entry_rows(mids))
                    months.append(link(f"{name}/", name))
                index_rows.append([f"{year}: " + ", ".join(months), str(len(ids))])
        pages["timeline/index.md"] = page("Timeline", "<h1>Timeline</h1>\n<p>All entries by the year they became public, newest first.</p>\n"
                                          '<p><img src="../img/entries-per-year.svg" alt="Entries per year by kind"></p>\n' + table(["Year", "Entries"], index_rows))
        return pages

    def dictionary(self) -> str:
        parts = ["<h1>Data dictionary</h1>", "<p>Every table and field of the data package, generated from the Table Schemas in <code>schemas/</code>.</p>"]
        for name, table_ in self.package.tables.items():
            s = table_.schema
            parts.append(f'<h2 id="{e(name)}">{e(name)}</h2><p>{code_spans(s.get("description", ""))}</p>')
            parts.append(f"<p>File: <code>{e(table_.path)}</code>. Primary key: <code>{e(', '.join(table_.primary_key))}</code>.</p>")
            if table_.references:
                parts.append("<p>Foreign keys:</p><ul>" + "".join(
                    f'<li><code>{e(", ".join(ref.fields))}</code> → <a href="#{e(ref.resource)}"><code>{e(ref.resource)}.{e(", ".join(ref.ref_fields))}</code></a></li>'
                    for ref in table_.references) + "</ul>")
            rows = []
            frame = table_.frame
            for fname, f in table_.fields.items():
                c = f.constraints
                cons = []
                if f.required:
                    cons.append("required")
                for k in ("pattern", "minLength", "maxLength", "minimum", "maximum"):
                    if k in c:
                        cons.append(f"{k} {e(c[k])}")
                if f.enum is not None:
                    cons.append("one of: " + ", ".join(f"<code>{e(v)}</code>" for v in f.enum))
                example = frame[fname].dropna()
                sample = e(str(example.iloc[0])[:80]) if len(example) else ""
                rows.append([f"<code>{e(fname)}</code>", e(f.type), "<br>".join(cons), code_spans(f.description), sample])
            parts.append(table(["Field", "Type", "Constraints", "Description", "Example"], rows))
        return page("Data dictionary", "\n".join(parts))

    def downloads(self) -> str:
        from ..versioning.registry import registry

        known = registry(self.package.root)
        parts = ["<h1>Downloads</h1>", "<p>Each release is recorded in the release registry with the commit it was made from and the "
                 "name, size and sha256 of every artifact; the artifacts are byte-reproducible from that commit "
                 "(<code>aipolicy rebuild X.Y.Z</code> rebuilds and verifies them offline).</p>",
                 "<p>To verify a download, compare its sha256 with the table: <code>sha256sum ai-policy-atlas-X.Y.Z.zip</code>, "
                 "or, with every file of a release in one folder, <code>sha256sum -c SHA256SUMS</code>.</p>"]
        for rel in sorted(known.values(), key=lambda r: tuple(int(x) for x in r.version.split(".")), reverse=True):
            base = rel.url.rsplit("/", 1)[0]
            commit = f", commit <code>{e(rel.commit[:12])}</code>" if rel.commit else ""
            parts.append(f"<h2>Version {e(rel.version)} ({e(rel.date)}{commit})</h2>")
            if any(v == rel.version for v, _ in self.versions):
                parts.append(f'<p>{link(f"../changes/{rel.version}/", f"What changed since {rel.version}")}.</p>')
            artifacts = rel.artifacts or ()
            rows = [[link(f"{base}/{a.name}", a.name), f"{a.size:,}", f"<code>{e(a.sha256)}</code>"] for a in artifacts]
            if not rows:
                rows = [[link(rel.url, rel.zip), "", f"<code>{e(rel.sha256)}</code>"]]
            parts.append(table(["Artifact", "Bytes", "sha256"], rows))
            meta = cite.dataset_meta(self.package.root, self.package.descriptor, version=rel.version, date=rel.date)
            parts.append(f"<p>Cite this version:</p><pre><code>{e(cite.cite(meta, 'bibtex').strip())}</code></pre>")
            parts.append(f"<p>{e(cite.cite(meta, 'text').strip())}</p>")
        if not known:
            parts.append("<p>No version has been released yet.</p>")
        return page("Downloads", "\n".join(parts))

    def statistics(self) -> str:
        entries = self.entries
        body = ["<h1>The atlas in numbers</h1>",
                f"<p>{len(entries)} entries in {entries['jurisdiction_id'].nunique()} jurisdictions, "
                f"{len(self.orgs)} organizations, {len(self.sources)} sources, {len(self.t['figures'])} figures (version {e(self.meta.label)}).</p>",
                '<p><img src="../img/entries-per-year.svg" alt="Entries per year by kind"></p>',
                '<p><img src="../img/entries-per-jurisdiction.svg" alt="Entries per jurisdiction"></p>']
        counts = Counter(entries["kind"])
        body.append(table(["Kind", "Entries"], [[e(kind_label(k)), str(n)] for k, n in counts.most_common()]))
        if "checklist" in self.t:
            check = self.t["checklist"]
            per_item = check.groupby("item")["status"].value_counts().unstack(fill_value=0)
            rows = [[e(item.replace("-", " ")), str(int(per_item.at[item, s])) if s in per_item.columns else "0"]
                    for item in per_item.index for s in ["present"]]
            body.append("<h2>Coverage</h2><p>How many countries and supranational bodies the atlas has each core item of the "
                        '<a href="../scope/">scope policy</a> for (the rest are checked and none is known, or not yet checked; '
                        'see the <a href="../coverage/">coverage page</a>).</p>')
            body.append(table(["Item", "Jurisdictions with it"], rows))
        body += self.commitments()
        body += self.counted()
        return page("The atlas in numbers", "\n".join(body))

    # --- everything -----------------------------------------------------------------------
    def pages(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry_id in self.entries.index:
            out[f"entries/{entry_id}.md"] = self.entry_page(entry_id)
        out["entries/index.md"] = self.index_page("Entries", f"All {len(self.entries)} entries, by ID. The timeline lists them by date.",
                                                 [[self.entry_link(i, "../"), e(kind_label(self.entries.at[i, "kind"])), e(self.entries.at[i, "jurisdiction_id"])] for i in self.entries.index],
                                                 ["Entry", "Kind", "Jurisdiction"]) if len(self.entries) <= 2000 else page("Entries", "<h1>Entries</h1><p>Browse them by <a href=\"../timeline/\">date</a>, <a href=\"../jurisdictions/\">jurisdiction</a> or <a href=\"../topics/\">topic</a>, or use the search.</p>")
        counts = self.entries["jurisdiction_id"].value_counts()
        for jid in self.jur.index:
            out.update(self.jurisdiction_pages(jid))
        out["jurisdictions/index.md"] = self.index_page("Jurisdictions", f"{len(self.jur)} jurisdictions.",
                                                       [[link(f"{j}/", self.jur.at[j, "name"]), f"<code>{e(j)}</code>", e(self.jur.at[j, "level"]), str(counts.get(j, 0))] for j in self.jur.index],
                                                       ["Jurisdiction", "Code", "Level", "Entries"])
        tcounts = self.t["entry_topics"]["topic_id"].value_counts()
        for tid in self.topics.index:
            out.update(self.topic_pages(tid))
        out["topics/index.md"] = self.index_page("Topics", "A small taxonomy of policy areas shared by every jurisdiction.",
                                                [[link(f"{t}/", self.topics.at[t, "label"]), e(self.topics.at[t, "description"]), str(tcounts.get(t, 0))] for t in self.topics.index],
                                                ["Topic", "Description", "Entries"])
        for oid in self.orgs.index:
            out.update(self.organization_pages(oid))
        out["organizations/index.md"] = self.index_page("Organizations", f"{len(self.orgs)} organizations.",
                                                       [[link(f"{o}/", self.orgs.at[o, "name"]), e(self.orgs.at[o, "kind"]), e(self.orgs.at[o, "jurisdiction_id"])] for o in self.orgs.index],
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

    from ..reading.package import find_root
    from ..reading.problems import PackageError

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
