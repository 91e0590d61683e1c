"""The reference pages: the data dictionary, made from the schema model's titles and
descriptions, and the downloads of every registered release."""
from __future__ import annotations

from .. import cite
from .html import code_spans, escape, link, page, table


class ReferencePages:
    """Reference pages; mixed into `Site`, whose tables (`SiteData`) they read."""

    def dictionary(self) -> str:
        parts = ["<h1>Data dictionary</h1>", "<p>Every table and field of the data package, generated from the Table Schemas in <code>schemas/</code>.</p>"]
        for name, table_ in self.package.tables.items():
            s = table_.schema
            parts.append(f'<h2 id="{escape(name)}">{escape(name)}</h2><p>{code_spans(s.get("description", ""))}</p>')
            parts.append(f"<p>File: <code>{escape(table_.path)}</code>. Primary key: <code>{escape(', '.join(table_.primary_key))}</code>.</p>")
            if table_.references:
                parts.append("<p>Foreign keys:</p><ul>" + "".join(
                    f'<li><code>{escape(", ".join(ref.fields))}</code> → <a href="#{escape(ref.resource)}"><code>{escape(ref.resource)}.{escape(", ".join(ref.ref_fields))}</code></a></li>'
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
                        cons.append(f"{k} {escape(c[k])}")
                if f.enum is not None:
                    cons.append("one of: " + ", ".join(f"<code>{escape(v)}</code>" for v in f.enum))
                example = frame[fname].dropna()
                sample = escape(str(example.iloc[0])[:80]) if len(example) else ""
                rows.append([f"<code>{escape(fname)}</code>", escape(f.type), "<br>".join(cons), code_spans(f.description), sample])
            parts.append(table(["Field", "Type", "Constraints", "Description", "Example"], rows))
        return page("Data dictionary", "\n".join(parts))

    def downloads(self) -> str:
        from ...versioning.registry import registry
        from ..build import artifact_name

        known = registry(self.package.root)
        parts = ["<h1>Downloads</h1>", "<p>Each release is recorded in the release registry with the commit it was made from and the "
                 "name, size and sha256 of every artifact; the artifacts are byte-reproducible from that commit "
                 "(<code>aipolicy rebuild X.Y.Z</code> rebuilds and verifies them offline).</p>",
                 f"<p>To verify a download, compare its sha256 with the table: <code>sha256sum {escape(artifact_name(self.package.descriptor, 'X.Y.Z'))}.zip</code>, "
                 "or, with every file of a release in one folder, <code>sha256sum -c SHA256SUMS</code>.</p>"]
        for rel in sorted(known.values(), key=lambda r: tuple(int(x) for x in r.version.split(".")), reverse=True):
            base = rel.url.rsplit("/", 1)[0]
            commit = f", commit <code>{escape(rel.commit[:12])}</code>" if rel.commit else ""
            parts.append(f"<h2>Version {escape(rel.version)} ({escape(rel.date)}{commit})</h2>")
            if any(v == rel.version for v, _ in self.versions):
                parts.append(f'<p>{link(f"../changes/{rel.version}/", f"What changed since {rel.version}")}.</p>')
            artifacts = rel.artifacts or ()
            rows = [[link(f"{base}/{a.name}", a.name), f"{a.size:,}", f"<code>{escape(a.sha256)}</code>"] for a in artifacts]
            if not rows:
                rows = [[link(rel.url, rel.zip), "", f"<code>{escape(rel.sha256)}</code>"]]
            parts.append(table(["Artifact", "Bytes", "sha256"], rows))
            meta = cite.dataset_meta(self.package.root, self.package.descriptor, version=rel.version, date=rel.date)
            parts.append(f"<p>Cite this version:</p><pre><code>{escape(cite.cite(meta, 'bibtex').strip())}</code></pre>")
            parts.append(f"<p>{escape(cite.cite(meta, 'text').strip())}</p>")
        if not known:
            parts.append("<p>No version has been released yet.</p>")
        return page("Downloads", "\n".join(parts))
