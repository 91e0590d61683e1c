"""The research pages of the documentation site: coverage, statistics of money, headline
counts with their SQL, the world map, per-entry history, what changed since each release, the
static JSON API and the Atom feed. A mixin of `site.Site`, which holds the tables.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .html import escape, fmt_number, kind_label, link, page, short, table, text_or_empty

# The statistics page's headline counts: (title, definition, SQL over the release's SQLite file).
_ENACTED = """SELECT e.entry_id, e.jurisdiction_id, min(strftime('%Y', d.date)) AS year
  FROM entries e JOIN entry_dates d ON d.entry_id = e.entry_id
  WHERE e.kind = 'law' AND d.event IN ('adopted', 'signed', 'promulgated')
  GROUP BY e.entry_id"""
COUNTED = [
    ("AI laws enacted per year",
     "Entries of kind law (AI-specific laws, and wider laws with named AI provisions) counted once, in the year of their earliest "
     "adoption, signature or promulgation date. Bills that were never adopted are not counted.",
     f"SELECT year, count(*) AS laws FROM (\n{_ENACTED}\n) GROUP BY year ORDER BY year"),
    ("AI laws enacted, by jurisdiction",
     "The same laws, by jurisdiction (states, provinces and the EU each count apart), most first.",
     f"SELECT jurisdiction_id, count(*) AS laws FROM (\n{_ENACTED}\n) GROUP BY jurisdiction_id ORDER BY laws DESC, jurisdiction_id LIMIT 25"),
    ("US state AI laws per year",
     "The same laws, in US states (jurisdictions US-XX), by year.",
     f"SELECT year, count(*) AS laws FROM (\n{_ENACTED}\n) WHERE jurisdiction_id LIKE 'US-%' GROUP BY year ORDER BY year"),
    ("National AI strategies per region",
     "Entries of kind strategy (strategies, policies and their updates) by the UN M49 region of their jurisdiction; "
     "international and supranational strategies are counted apart.",
     "SELECT coalesce(r.region, 'International and supranational') AS region, count(*) AS strategies\n"
     "  FROM entries e JOIN jurisdiction_regions r USING (jurisdiction_id)\n"
     "  WHERE e.kind = 'strategy' GROUP BY 1 ORDER BY strategies DESC"),
]




class ResearchPages:
    """The research pages; mixed into `Site`, whose tables and helpers they use."""

    def history_part(self, entry_id: str) -> list[str]:
        """In which release the entry first appeared, and what changed in each later one."""
        steps = self.history.get(entry_id, [])
        if not steps:
            return []
        out = ["<h2>History</h2><ul>"]
        for step in steps:
            where = "the unreleased changes" if step.version == "unreleased" else f"release {escape(step.version)} ({escape(step.date)})"
            if step.change == "added":
                out.append(f"<li>First appeared in {where}.</li>")
            elif step.change == "changed":
                shown = "; ".join(f"<code>{escape(k)}</code>: {escape(short(a))} → {escape(short(b))}" for k, (a, b) in step.fields.items())
                out.append(f"<li>Changed in {where}: {shown}.</li>")
            else:
                out.append(f"<li>Removed in {where}.</li>")
        return out + ["</ul>"]

    def entry_json(self, entry_id: str) -> dict:
        """Everything the entry page shows, as data."""
        def records(name: str, by: str = "entry_id") -> list[dict]:
            return self.rows_for(name, entry_id, by)

        row = self.records("entries")[entry_id][0]
        sources = [{**{k: v for k, v in self.source_row(r["source_id"]).items() if k != "source_id"},
                    "source_id": r["source_id"], "locator": r["locator"]}
                   for r in records("entry_sources")]
        figures = [{**f, **{k: self.converted[f["figure_id"]][k] for k in ("value_usd", "value_eur", "rate_date", "conversion")}} if f["figure_id"] in self.converted else f
                   for f in records("figures")]
        return {"entry": row, "dates": records("entry_dates"), "organizations": records("entry_organizations"), "topics": [t["topic_id"] for t in records("entry_topics")],
                "figures": figures, "relations": records("relations"), "related_from": records("relations", "related_entry_id"),
                "other_names": records("entry_names"),
                "identifiers": records("identifiers"),
                "sources": sources, "history": [s.to_json() for s in self.history.get(entry_id, [])],
                "version": self.meta.label, "page": f"entries/{entry_id}/"}

    def api(self) -> dict[str, str]:
        """The static JSON API: api/index.json, api/explorer.json and one file per entry."""
        import json

        from ..regions import region_of

        counts = {name: int(len(frame)) for name, frame in self.frames.items()}
        index = {"name": self.package.descriptor.get("name"), "version": self.meta.label, "counts": counts,
                 "entries": [{"entry_id": i, "title": self.entries.at[i, "title"], "kind": self.entries.at[i, "kind"],
                              "jurisdiction_id": self.entries.at[i, "jurisdiction_id"], "date": self.entries.at[i, "date"],
                              "status": self.entries.at[i, "status"], "json": f"entries/{i}.json"} for i in self.entries.index]}
        topics = self.frames["entry_topics"].groupby("entry_id")["topic_id"].agg(list).to_dict()
        names = self.frames["entry_names"].groupby("entry_id")["name"].agg(" | ".join).to_dict() if "entry_names" in self.frames else {}
        level = self.jur["level"].to_dict()
        explorer = [[i, self.entries.at[i, "title"], text_or_empty(self.entries.at[i, "title_local"]), self.entries.at[i, "kind"], self.entries.at[i, "jurisdiction_id"],
                     region_of(self.entries.at[i, "jurisdiction_id"], level.get(self.entries.at[i, "jurisdiction_id"], ""))[0] or "International and supranational",
                     self.entries.at[i, "status"], self.entries.at[i, "date"], topics.get(i, []), text_or_empty(names.get(i)), self.entries.at[i, "summary"]]
                    for i in self.entries.index]
        out = {"api/index.json": json.dumps(index, ensure_ascii=False, indent=1),
               "api/explorer.json": json.dumps({"columns": ["entry_id", "title", "title_local", "kind", "jurisdiction_id", "region", "status", "date", "topics", "other_names", "summary"],
                                                "jurisdictions": self.jur["name"].to_dict(), "rows": explorer}, ensure_ascii=False)}
        for i in self.entries.index:
            out[f"api/entries/{i}.json"] = json.dumps(self.entry_json(i), ensure_ascii=False, indent=1, default=str)
        return out

    def feed(self) -> str:
        """An Atom feed of the releases and of the entries added or changed in each."""
        from xml.sax.saxutils import escape

        base = self.meta.homepage.rstrip("/") + "/"
        stamp = lambda d: f"{d or self.meta.date_released}T00:00:00Z"  # noqa: E731
        items = []
        for version, date in self.versions:
            label = "the unreleased changes" if version == "unreleased" else f"release {version}"
            added = [i for i, steps in self.history.items() if any(s.version == version and s.change == "added" for s in steps) and i in self.entries.index]
            changed = [i for i, steps in self.history.items() if any(s.version == version and s.change == "changed" for s in steps) and i in self.entries.index]
            items.append((stamp(date), f"{base}downloads/#{version}", f"{label.capitalize()}: {len(added)} entries added, {len(changed)} changed",
                          base + "downloads/", f"{len(added)} entries added and {len(changed)} changed in {label}."))
            for i in sorted(added) + sorted(changed):
                verb = "Added" if i in added else "Changed"
                items.append((stamp(date), f"{base}entries/{i}/#{version}", f"{verb} in {label}: {self.entries.at[i, 'title']}",
                              base + f"entries/{i}/", str(self.entries.at[i, "summary"])))
        updated = max((it[0] for it in items), default=stamp(None))
        parts = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
                 f"<title>{escape(self.meta.title)}: releases and changes</title>", f'<link href="{escape(base)}feed.xml" rel="self"/>',
                 f'<link href="{escape(base)}"/>', f"<id>{escape(base)}</id>", f"<updated>{updated}</updated>",
                 f"<author><name>{escape('; '.join(self.meta.authors))}</name></author>"]
        for when, ident, title, href, summary in items:
            parts += ["<entry>", f"<title>{escape(title)}</title>", f'<link href="{escape(href)}"/>', f"<id>{escape(ident)}</id>",
                      f"<updated>{when}</updated>", f"<summary>{escape(summary)}</summary>", "</entry>"]
        return "\n".join(parts + ["</feed>"]) + "\n"

    def world_map(self) -> str:
        """Entries per country on a world map, with a switch by kind; subnational entries count
        for their country, and international and supranational entries are listed beside it."""
        from . import worldmap

        folder = worldmap.atlas_dir(self.package.root)
        entries = self.entries.assign(country=self.entries["jurisdiction_id"].map(self.country_of))
        national = entries[entries["country"].map(lambda c: self.jur.at[c, "level"] == "country" if c in self.jur.index else False)]
        names = self.jur["name"].to_dict()
        kinds = [("all", "all entries")] + [(k, kind_label(k)) for k in ("law", "strategy", "regulation", "guideline", "institution") if (national["kind"] == k).any()]
        parts = ["<h1>World map</h1>", "<p>Entries per country (a subdivision's entries count for its country). Each shaded country "
                 "links to its page. Choose a kind to map only that kind.</p>",
                 '<p><label>Kind <select class="map-switch">' + "".join(f'<option value="{escape(k)}">{escape(label)}</option>' for k, label in kinds) + "</select></label></p>"]
        layers, summaries = [], []
        for k, label in kinds:
            chosen = national if k == "all" else national[national["kind"] == k]
            layers.append((k, chosen["country"].value_counts().to_dict()))
            summaries.append(f'<p class="map-summary" data-kind="{escape(k)}"' + ("" if k == "all" else " hidden") +
                             f">{chosen['country'].nunique()} countries, {len(chosen)} entries ({escape(label)}).</p>")
        drawing, credit = worldmap.svg(layers, names, "../jurisdictions/{}/", folder, "Entries per country")
        self.map_svg = drawing  # written to img/world-map.svg; shown with <object> so that its links work and the page stays small
        parts += ['<object class="world-map" data="../img/world-map.svg" type="image/svg+xml" aria-label="World map of entries per country"></object>'] + summaries
        parts.append(f'<p class="credit">{escape(credit)}</p>')
        beyond = entries[~entries.index.isin(national.index)]
        if len(beyond):
            parts.append("<h2>International and supranational</h2><ul>" + "".join(
                f'<li>{link(f"../jurisdictions/{j}/", names.get(j, j))}: {n} entries</li>' for j, n in beyond["jurisdiction_id"].value_counts().items()) + "</ul>")
        subdivisions = entries[entries["jurisdiction_id"] != entries["country"]]
        if len(subdivisions):
            parts.append("<h2>Subnational</h2><p>" + ", ".join(
                f'{link(f"../jurisdictions/{j}/", names.get(j, j))} ({n})' for j, n in subdivisions["jurisdiction_id"].value_counts().items()) + ".</p>")
        return page("World map", "\n".join(parts))

    def counted(self) -> list[str]:
        """The headline counts, each with its definition and the SQL over the release's SQLite
        file that produces it; the numbers shown are that SQL's answer on these data."""
        import sqlite3
        import tempfile

        from ..build import _canonical_rows, write_sqlite

        from ..build import artifact_name

        out = ["<h2>Headline counts, with their queries</h2>",
               "<p>Each count below is the answer of the SQL shown to the release's SQLite file "
               f"(<code>{escape(artifact_name(self.package.descriptor, 'X.Y.Z'))}.sqlite</code>, on the downloads page), run on the same data as this site, so that "
               "anyone can check it, change the definition, or compare it with counts published elsewhere (the AI Index or NCSL "
               "count differently: they include or leave out bills, resolutions and wider laws).</p>"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "atlas.sqlite"
            write_sqlite(self.package, path, {t.name: _canonical_rows(t) for t in self.package.tables.values()})
            con = sqlite3.connect(path)
            try:
                for title, definition, sql in COUNTED:
                    cursor = con.execute(sql)
                    headers = [d[0] for d in cursor.description]
                    rows = [[escape(v) for v in row] for row in cursor.fetchall()]
                    out += [f"<h3>{escape(title)}</h3>", f"<p>{escape(definition)}</p>", f"<pre><code>{escape(sql.strip())}</code></pre>", table(headers, rows)]
            finally:
                con.close()
        return out

    def changes_since(self) -> dict[str, str]:
        """For each release X, a page of what changed since X: entries added and entries changed
        in every later release and in the unreleased changes, with the fields, old -> new."""
        order = [v for v, _ in self.versions]
        out = {}
        for i, (version, date) in enumerate(self.versions):
            if version == "unreleased":
                continue
            later = set(order[i + 1:])
            added, changed = [], []
            for entry_id, steps in sorted(self.history.items()):
                if entry_id not in self.entries.index:
                    continue
                mine = [s for s in steps if s.version in later]
                if any(s.change == "added" for s in mine):
                    added.append(entry_id)
                elif mine:
                    fields = {}
                    for step in mine:
                        for k, (a, b) in step.fields.items():
                            fields[k] = (fields.get(k, (a, b))[0], b)
                    changed.append((entry_id, {k: v for k, v in fields.items() if v[0] != v[1]}))
            body = [f"<h1>Changed since release {escape(version)}</h1>",
                    f"<p>What differs between release {escape(version)} ({escape(date)}) and the version of this site ({escape(self.meta.label)}): "
                    f"{len(added)} entries added, {len(changed)} changed. The history of each entry is on its page.</p>"]
            if added:
                body.append(f"<h2>Added ({len(added)})</h2><ul>" + "".join(f"<li>{self.entry_link(a, '../../')}</li>" for a in added) + "</ul>")
            if changed:
                body.append(f"<h2>Changed ({len(changed)})</h2><ul>" + "".join(
                    f"<li>{self.entry_link(c, '../../')}: " + "; ".join(f"<code>{escape(k)}</code> {escape(short(a, 40))} → {escape(short(b, 40))}" for k, (a, b) in f.items()) + "</li>"
                    for c, f in changed) + "</ul>")
            out[f"changes/{version}.md"] = page(f"Changed since {version}", "\n".join(body))
        return out

    def in_usd_eur(self, figure_id: str) -> str:
        """A monetary figure in USD and EUR at the ECB rate of its date, or why it is not converted."""
        c = self.converted.get(figure_id)
        if c is None:
            return ""
        if c["value_usd"] is None:
            return f'<span title="{escape(c["conversion"])}">not converted</span>'
        return f'<span title="{escape(c["conversion"])}">USD {escape(fmt_number(round(c["value_usd"])))} / EUR {escape(fmt_number(round(c["value_eur"])))}</span>'

    def largest_commitments(self) -> list[dict]:
        rows = [c for c in self.converted.values() if c["value_usd"] is not None and c["quantity"] in ("investment", "budget", "funding")]
        return sorted(rows, key=lambda c: -c["value_usd"])

    def commitments(self, limit: int = 20) -> list[str]:
        """The largest public AI commitments in USD, by basis, with what the numbers are."""
        from ..money import source_version

        rows = self.largest_commitments()
        out = ["<h2>Largest public AI commitments</h2>",
               "<p>Investments, budgets and funding recorded in the atlas, converted to US dollars at the European Central Bank's "
               f"reference rate of the date each amount was stated ({escape(source_version())}). The basis says what each amount is: "
               "<b>actual</b> (spent or committed), <b>planned</b> (an announced plan or budget), <b>target</b> (a goal) or "
               "<b>estimate</b>. Announced plans are not enacted budgets; amounts of different bases are not comparable, and some "
               "programmes count private or loan money. Amounts in currencies the ECB does not publish are not converted.</p>"]
        out.append('<p><img src="../img/largest-commitments.svg" alt="Largest public AI commitments in US dollars, coloured by basis"></p>')
        table_rows = [[self.entry_link(c["entry_id"], "../"), escape(c["basis"]), escape(c["qualifier"]), escape(f"{fmt_number(c['value'])} {c['unit']}"),
                       escape(fmt_number(round(c["value_usd"]))), escape(c["as_of"])] for c in rows[:limit]]
        out.append(table(["Entry", "Basis", "Qualifier", "Amount", "USD", "As of"], table_rows))
        missing = sum(1 for c in self.converted.values() if c["value_usd"] is None)
        out.append(f"<p>{len(self.converted) - missing} of {len(self.converted)} monetary figures are converted; {missing} are in currencies without an ECB reference rate.</p>")
        return out

    def coverage(self) -> str:
        """Per region and jurisdiction: the checklist of docs/scope.md, entry counts, review dates, known gaps."""
        from ..regions import region_of, source_version

        items = self.package.tables["checklist"].fields["item"].enum  # from the schema
        check = self.frames["checklist"]
        cells = {(r["jurisdiction_id"], r["item"]): r for _, r in check.iterrows()}
        counts = self.entries["jurisdiction_id"].value_counts()
        total = Counter()
        for j, n in counts.items():
            total[self.country_of.get(j, j)] += n
        present = Counter(r["item"] for r in cells.values() if r["status"] == "present")
        body = ["<h1>Coverage</h1>",
                "<p>What the atlas holds for each jurisdiction, measured against the checklist of the "
                '<a href="../scope/">scope policy</a>: every country and supranational body is checked for a national AI strategy, '
                "an AI-specific law or bill, an AI oversight body or safety institute, AI or automated-decision provisions in its "
                "data-protection law, and a national AI funding programme. Each item is <b>present</b> (with the entry), "
                "<b>none known</b> (searched, none found) or <b>not yet checked</b>. Entries include those of subdivisions. "
                f"Regions are the UN M49 regions ({escape(source_version())}).</p>",
                "<p>" + "; ".join(f"{escape(i.replace('-', ' '))}: {present.get(i, 0)} jurisdictions" for i in items) + ".</p>"]
        groups: dict[str, list[str]] = {}
        for j in self.jur.index:
            level = self.jur.at[j, "level"]
            if level == "subdivision":
                continue
            region = region_of(j, level)[0] or "International and supranational"
            groups.setdefault(region, []).append(j)
        mark = {"present": "✓", "none-known": "none known", "not-yet-checked": "not yet checked"}
        gaps = []
        for region in sorted(groups, key=lambda g: (g.startswith("International"), g)):
            body.append(f"<h2>{escape(region)}</h2>")
            rows = []
            for j in sorted(groups[region], key=lambda x: str(self.jur.at[x, "name"])):
                row = [link(f"../jurisdictions/{j}/", self.jur.at[j, "name"]), str(total.get(j, 0))]
                reviewed = ""
                for item in items:
                    c = cells.get((j, item))
                    if c is None:
                        row.append(escape(mark["not-yet-checked"]))
                        gaps.append((j, item))
                        continue
                    reviewed = max(reviewed, str(c["reviewed"]))
                    if c["status"] == "present" and isinstance(c["entry_id"], str):
                        row.append(link(f"../entries/{c['entry_id']}/", "✓"))
                    else:
                        row.append(escape(mark.get(c["status"], c["status"])))
                        if c["status"] == "not-yet-checked":
                            gaps.append((j, item))
                row.append(escape(reviewed))
                rows.append(row)
            body.append(table(["Jurisdiction", "Entries", "Strategy", "AI law", "Oversight body", "Data protection (ADM)", "Funding", "Reviewed"], rows))
        body.append("<h2>Entries by kind and year</h2>")
        years = self.entries["date"].str[:4]
        span = sorted(y for y in years.unique() if y >= "2015")
        kinds = [k for k, _ in Counter(self.entries["kind"]).most_common()]
        body.append(table(["Kind"] + span, [[escape(kind_label(k))] + [str(int(((self.entries["kind"] == k) & (years == y)).sum())) for y in span] for k in kinds]))
        body.append("<h2>Known gaps</h2>")
        body.append(f"<p>{len(gaps)} checklist items are not yet checked. Corrections and additions are welcome: see "
                    '<a href="../contributing/">Contributing</a>.</p>')
        basis = self.sources["title_basis"].value_counts() if "title_basis" in self.sources else {}
        unread = {k: int(basis.get(k, 0)) for k in ("description", "from-address")}
        if sum(unread.values()):
            body.append(f"<p>{sum(unread.values())} of {len(self.sources):,} sources have a title that could not be read on their page: "
                        f"{unread['description']} carry a description (shown in square brackets in citations) and "
                        f"{unread['from-address']} the words of their web address (<code>title_basis</code> in "
                        "<code>sources.csv</code>). Each is cited for facts its page states; the page's own title is what is missing.</p>")
        return page("Coverage", "\n".join(body))

    def statistics(self) -> str:
        entries = self.entries
        body = ["<h1>The atlas in numbers</h1>",
                f"<p>{len(entries)} entries in {entries['jurisdiction_id'].nunique()} jurisdictions, "
                f"{len(self.orgs)} organizations, {len(self.sources)} sources, {len(self.frames['figures'])} figures (version {escape(self.meta.label)}).</p>",
                '<p><img src="../img/entries-per-year.svg" alt="Entries per year by kind"></p>',
                '<p><img src="../img/entries-per-jurisdiction.svg" alt="Entries per jurisdiction"></p>']
        counts = Counter(entries["kind"])
        body.append(table(["Kind", "Entries"], [[escape(kind_label(k)), str(n)] for k, n in counts.most_common()]))
        if "checklist" in self.frames:
            check = self.frames["checklist"]
            per_item = check.groupby("item")["status"].value_counts().unstack(fill_value=0)
            rows = [[escape(item.replace("-", " ")), str(int(per_item.at[item, s])) if s in per_item.columns else "0"]
                    for item in per_item.index for s in ["present"]]
            body.append("<h2>Coverage</h2><p>How many countries and supranational bodies the atlas has each core item of the "
                        '<a href="../scope/">scope policy</a> for (the rest are checked and none is known, or not yet checked; '
                        'see the <a href="../coverage/">coverage page</a>).</p>')
            body.append(table(["Item", "Jurisdictions with it"], rows))
        body += self.commitments()
        body += self.counted()
        return page("The atlas in numbers", "\n".join(body))
