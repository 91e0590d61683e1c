"""The page of one entry: its facts, dates, figures, organizations, relations, names,
identifiers, history and the references of its sources."""
from __future__ import annotations


from .. import cite
from .html import escape, fmt_date, fmt_number, identifier_link, kind_label, link, page, table, title_note


class EntryPages:
    """Entry pages; mixed into `Site`, whose tables (`SiteData`) they read."""

    # --- one entry -----------------------------------------------------------------------
    def entry_page(self, entry_id: str) -> str:
        r = self.records("entries")[entry_id][0]  # the row as a dict (missing cells as None)

        def rows(name: str, by: str = "entry_id") -> list[dict]:
            return self.rows_for(name, entry_id, by)

        jur = r["jurisdiction_id"]
        parts = [f"<h1>{escape(r['title'])}</h1>"]
        if isinstance(r["title_local"], str):
            parts.append(f'<p class="local-title" lang="{escape(r["language"])}">{escape(r["title_local"])}</p>')
        if isinstance(r.get("title_provenance"), str):
            by = r.get("title_source_id")
            source = self.sources.at[by, "publisher"] if isinstance(by, str) and by in self.sources.index and isinstance(self.sources.at[by, "publisher"], str) else by
            note = escape(title_note(r["title_provenance"], source if isinstance(source, str) else None))
            if isinstance(by, str):
                note += f" ({link('#' + by, 'source')})"
            parts.append(f'<p class="title-provenance">{note}</p>')
        facts = [("Kind", escape(kind_label(r["kind"]))), ("Jurisdiction", link(f"../../jurisdictions/{jur}/", self.jur.at[jur, "name"] if jur in self.jur.index else jur)),
                 ("Date", escape(fmt_date(r["date"], r["date_precision"]))), ("Status", escape(r["status"]))]
        if isinstance(r["document_number"], str):
            facts.append(("Document number", escape(r["document_number"])))
        if isinstance(r["url"], str):
            facts.append(("Link", link(r["url"], r["url"])))
        facts.append(("Entry ID", f"<code>{escape(entry_id)}</code>"))
        names = rows("entry_names")
        if names:
            facts.append(("Also known as", "; ".join(f'<span lang="{escape(n["language"])}">{escape(n["name"])}</span> ({escape(n["kind"].replace("-", " "))})' for n in names)))
        for i in rows("identifiers"):
            facts.append((escape(i["scheme"].upper() if i["scheme"] in ("celex", "eli") else i["scheme"].replace("-", " ").capitalize()), identifier_link(i["scheme"], i["identifier"])))
        parts.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
        parts.append(f'<p class="summary">{escape(r["summary"])}</p>')
        dates = sorted(rows("entry_dates"), key=lambda d: (d["date"], d["event"]))
        if dates:
            parts.append("<h2>Lifecycle</h2>")
            parts.append(table(["Date", "Event", "Note", "Source"], [[escape(fmt_date(d["date"], d["date_precision"])), escape(d["event"]), escape(d["note"]), self.source_ref_short(d["source_id"])] for d in dates]))
        orgs = rows("entry_organizations")
        if orgs:
            parts.append("<h2>Organizations</h2>")
            parts.append(table(["Organization", "Role"], [[link(f"../../organizations/{o['organization_id']}/", self.orgs.at[o["organization_id"], "name"]), escape(o["role"])] for o in orgs]))
        topics = rows("entry_topics")
        if topics:
            parts.append("<h2>Topics</h2><p>" + ", ".join(link(f"../../topics/{x['topic_id']}/", self.topics.at[x["topic_id"], "label"]) for x in topics) + "</p>")
        figs = rows("figures")
        if figs:
            parts.append("<h2>Figures</h2>")
            table_rows = []
            for f in figs:
                target = fmt_date(f["target_date"], f["target_date_precision"]) if isinstance(f["target_date"], str) else ""
                table_rows.append([escape(f["quantity"].replace("-", " ")), escape(fmt_number(float(f["value"]))), escape(f["unit"]), self.in_usd_eur(f["figure_id"]), escape(f["qualifier"]), escape(f["basis"]),
                             escape(fmt_date(f["as_of"], f["as_of_precision"])), escape(target), escape(f["note"]), self.source_ref_short(f["source_id"])])
            parts.append('<div class="wide-table">' + table(["Quantity", "Value", "Unit", "In USD / EUR", "Qualifier", "Basis", "As of", "Target date", "Note", "Source"], table_rows) + "</div>")
        out_rel = rows("relations")
        in_rel = rows("relations", "related_entry_id")
        if out_rel or in_rel:
            parts.append("<h2>Related entries</h2><ul>")
            parts += [f"<li>This entry {escape(x['relation'].replace('-', ' '))} {self.entry_link(x['related_entry_id'])}</li>" for x in out_rel]
            parts += [f"<li>{self.entry_link(x['entry_id'])} {escape(x['relation'].replace('-', ' '))} this entry</li>" for x in in_rel]
            parts.append("</ul>")
        parts += self.history_part(entry_id)
        parts.append("<h2>Sources</h2><ol>")
        for s in rows("entry_sources"):
            loc = f" ({escape(s['locator'])})" if isinstance(s["locator"], str) else ""
            parts.append(f'<li id="{escape(s["source_id"])}">{self.reference(s["source_id"])}{loc}</li>')
        parts.append("</ol>")
        bib = cite.cite(self.meta, "bibtex", r)
        text = cite.cite(self.meta, "text", r)
        parts.append('<h2>Cite this entry</h2><div class="cite-box">')
        parts.append(f"<p>{escape(text.strip())}</p><pre><code>{escape(bib.strip())}</code></pre>")
        if self.meta.unreleased:
            parts.append(f"<p>These pages show changes made after release {escape(self.meta.version)}, so this cites unreleased data "
                         f"(version {escape(self.meta.label)}); once the next release is out, cite that release.</p>")
            parts.append(f'<p>The same as <code>aipolicy cite --entry {escape(entry_id)}</code>.</p></div>')
        else:
            parts.append(f'<p>The same as <code>aipolicy cite --entry {escape(entry_id)} --version {escape(self.meta.version)}</code>.</p></div>')
        return page(str(r["title"]), "\n".join(parts), str(r["summary"]))

    def source_ref_short(self, source_id) -> str:
        s = self.source_row(source_id)
        if s is None:
            return ""
        return link(s["url"], s["publisher"] if isinstance(s["publisher"], str) else source_id)

    def reference(self, source_id: str) -> str:
        s = self.source_row(source_id)
        bits = []
        if isinstance(s["authors"], str):
            bits.append(escape(s["authors"]))
        if isinstance(s["date"], str):
            bits.append(f"({escape(fmt_date(s['date'], s['date_precision']))})")
        basis = s.get("title_basis")
        bits.append(f"<em>[{escape(s['title'])}]</em>." if basis == "description" else f"<em>{escape(s['title'])}</em>.")
        if basis == "from-address":
            bits.append("(Title taken from the page's web address.)")
        where = [x for x in (s["container"], s["publisher"]) if isinstance(x, str)]
        if where:
            bits.append(escape(", ".join(dict.fromkeys(where))) + ".")
        if isinstance(s["doi"], str):
            bits.append(link(f"https://doi.org/{s['doi']}", f"doi:{s['doi']}"))
        bits.append(link(s["url"], s["url"]))
        if isinstance(s.get("archived_url"), str):
            bits.append("(" + link(s["archived_url"], "archived copy") + ")")
        if isinstance(s["accessed"], str):
            bits.append(f"Accessed {escape(s['accessed'])}.")
        return " ".join(bits)
