"""HTML for the generated pages of the documentation site: escaping, links, tables, dates,
numbers and the labels shown for values of the data. Every text from the data goes through
`escape()`, so a title or summary cannot break out of its tag.
"""
from __future__ import annotations

import html
import json

import pandas as pd

def escape(value) -> str:
    """Escape a cell for HTML; missing values become an empty string."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, description: str | None = None) -> str:
    # MkDocs templates print page.meta values without escaping, into <title> and attributes:
    # escape them here so that a title or summary cannot break out of its tag.
    front = {"title": html.escape(title, quote=True)}
    if description:
        front["description"] = html.escape(description[:300], quote=True)
    head = "---\n" + "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in front.items()) + "---\n\n"
    return head + '<div class="atlas" markdown="0">\n' + body.replace("\n\n", "\n") + "\n</div>\n"


def link(href: str, text) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>"


def fmt_date(value, precision) -> str:
    if value is None or pd.isna(value):
        return ""
    ts = pd.Timestamp(value)
    return {"year": ts.strftime("%Y"), "month": ts.strftime("%B %Y")}.get(str(precision), ts.strftime("%-d %B %Y"))


# Where an identifier of each scheme can be looked up (the scheme's own address for URL schemes).
IDENTIFIER_LINKS = {
    "celex": "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{}",
    "federal-register": "https://www.federalregister.gov/d/{}",
    "wikidata": "https://www.wikidata.org/wiki/{}",
}
CONGRESS_TYPES = {"hr": "house-bill", "s": "senate-bill", "hres": "house-resolution", "sres": "senate-resolution", "hjres": "house-joint-resolution",
                  "sjres": "senate-joint-resolution", "hconres": "house-concurrent-resolution", "sconres": "senate-concurrent-resolution"}


def identifier_link(scheme: str, value: str) -> str:
    if scheme in ("eli", "oecd-ai", "agora"):
        return link(value, value)
    if scheme == "congress-bill":
        congress, kind, number = value.split("-")
        suffix = {"1": "st", "2": "nd", "3": "rd"}.get(congress[-1], "th") if not congress.endswith(("11", "12", "13")) else "th"
        return link(f"https://www.congress.gov/bill/{congress}{suffix}-congress/{CONGRESS_TYPES[kind]}/{number}", value)
    if scheme in IDENTIFIER_LINKS:
        return link(IDENTIFIER_LINKS[scheme].format(value), value)
    return escape(value)


def title_note(provenance: str, source: str | None) -> str:
    """Where an entry's English title comes from, in words."""
    return {"official": "Official title.", "official-translation": "Official English translation published by the issuer.",
            "third-party-translation": f"Unofficial translation of the title, by {source}." if source else "Unofficial translation of the title.",
            "own-translation": "Our translation of the title.", "composed": "A title composed by the atlas from the document's number and subject; its official title is not recorded.",
            "description": "A description: the event has no title of its own."}.get(provenance, "")


def code_spans(text: str) -> str:
    """Escaped text whose `backticked` parts are shown as code, as the schemas write them."""
    import re

    return re.sub(r"`([^`]+)`", lambda m: f"<code>{m.group(1)}</code>", escape(text))


def short(value, limit: int = 80) -> str:
    text = "(empty)" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_or_empty(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def kind_label(kind: str) -> str:
    return kind.replace("-", " ")


def fmt_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
