"""The pages that list entries: by jurisdiction, topic, organization and date, and the
indexes of each, split into pages of bounded size."""
from __future__ import annotations

import pandas as pd

from .html import escape, fmt_date, kind_label, link, page, table

TIMELINE_PAGE_LIMIT = 300  # entries per timeline page before a year is split by month
LIST_PAGE_SIZE = 200  # entries listed per page of a jurisdiction, topic or organization


class ListPages:
    """List pages; mixed into `Site`, whose tables (`SiteData`) they read."""

    # --- lists --------------------------------------------------------------------------
    def entry_rows(self, ids, prefix="../../") -> str:
        rows = []
        frame = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True])
        for _, r in frame.iterrows():
            jur = r["jurisdiction_id"]
            rows.append([escape(fmt_date(r["date"], r["date_precision"])), self.entry_link(r["entry_id"], prefix), escape(kind_label(r["kind"])),
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
            top = head if n == 1 else [f"<h1>{escape(title)}</h1>"]  # later pages: the list only, with links back
            out[here] = page(title if n == 1 else f"{title} (page {n})", "\n".join(top + nav + [body] + nav))
        return out

    def jurisdiction_pages(self, jid: str) -> dict[str, str]:
        j = self.jur.loc[jid]
        ids = self.entries.index[self.entries["jurisdiction_id"] == jid]
        subs = self.jur.index[self.jur["parent_id"] == jid]
        head = [f"<h1>{escape(j['name'])}</h1>", f"<p>{escape(j['level'].capitalize())} <code>{escape(jid)}</code>, {len(ids)} entries.</p>"]
        if isinstance(j["parent_id"], str):
            head.append(f"<p>Part of {link('../' + j['parent_id'] + '/', self.jur.at[j['parent_id'], 'name'])}.</p>")
        if len(subs):
            head.append("<p>Subdivisions: " + ", ".join(link(f"../{x}/", self.jur.at[x, "name"]) for x in subs) + ".</p>")
        ordered = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True]).index
        return self.paged(f"jurisdictions/{jid}.md", str(j["name"]), head, ordered)

    def topic_pages(self, tid: str) -> dict[str, str]:
        topic = self.topics.loc[tid]
        ids = self.frames["entry_topics"].loc[self.frames["entry_topics"]["topic_id"] == tid, "entry_id"].unique()
        head = [f"<h1>{escape(topic['label'])}</h1>", f"<p>{escape(topic['description'])}</p>"]
        if isinstance(topic["parent_id"], str):
            head.append(f"<p>Part of {link('../' + topic['parent_id'] + '/', self.topics.at[topic['parent_id'], 'label'])}.</p>")
        head.append(f"<p>{len(ids)} entries.</p>")
        ordered = self.entries.loc[list(ids)].sort_values(["date", "entry_id"], ascending=[False, True]).index
        return self.paged(f"topics/{tid}.md", str(topic["label"]), head, ordered)

    def organization_pages(self, oid: str) -> dict[str, str]:
        o = self.orgs.loc[oid]
        eo = self.frames["entry_organizations"]
        mine = eo[eo["organization_id"] == oid]
        body = [f"<h1>{escape(o['name'])}</h1>"]
        if isinstance(o["name_local"], str):
            body.append(f'<p class="local-title">{escape(o["name_local"])}</p>')
        facts = [("Kind", escape(o["kind"].replace("-", " "))), ("Jurisdiction", link(f"../../jurisdictions/{o['jurisdiction_id']}/", self.jur.at[o["jurisdiction_id"], "name"]))]
        if isinstance(o["acronym"], str):
            facts.append(("Acronym", escape(o["acronym"])))
        if isinstance(o["founded"], str):
            facts.append(("Founded", escape(fmt_date(o["founded"], o["founded_precision"]))))
        if isinstance(o["parent_id"], str):
            facts.append(("Part of", link(f"../{o['parent_id']}/", self.orgs.at[o["parent_id"], "name"])))
        if isinstance(o["url"], str):
            facts.append(("Website", link(o["url"], o["url"])))
        body.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
        if isinstance(o["description"], str):
            body.append(f"<p>{escape(o['description'])}</p>")
        if isinstance(o["source_id"], str):
            body.append(f"<p>Source: {self.reference(o['source_id'])}</p>")
        rows = [[self.entry_link(m["entry_id"]), escape(m["role"])] for _, m in mine.sort_values("entry_id").iterrows()]
        body.append("<h2>Entries</h2>")
        return self.paged(f"organizations/{oid}.md", str(o["name"]), body, [], rows=rows, headers=["Entry", "Role"])

    def index_page(self, title: str, intro: str, rows: list[list[str]], headers: list[str]) -> str:
        return page(title, f"<h1>{escape(title)}</h1>\n<p>{intro}</p>\n" + table(headers, rows))

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
