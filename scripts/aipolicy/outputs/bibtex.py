"""BibTeX and BibLaTeX for the dataset and its sources, written with pybtex.

Text fields are escaped for LaTeX (so `& % # _ { }` survive) and braced so that styles keep
their capitals; organizations as authors are braced so they are not split into given and
family names. URLs and DOIs are written verbatim: LaTeX-escaping them breaks the links.
"""
from __future__ import annotations

import datetime as dt
import io

VERBATIM = {"url", "doi", "urldate", "date", "year", "month", "pages", "volume", "number"}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


_LATEX = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "$": r"\$", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
})


def latex(text: str) -> str:
    """Escape a plain-text value for a BibTeX field: every special character, in one pass.

    Braces become commands rather than `\\{`, because BibTeX counts `\\{` as a brace too and an
    unbalanced one in a title would break the whole file.
    """
    return str(text).translate(_LATEX)


def safe_url(url: str) -> str:
    """A URL as BibTeX must hold it: unbalanced braces and spaces percent-encoded, nothing else touched."""
    return url.replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def split_authors(authors: str | None, publisher: str | None = None) -> list[tuple[str, bool]]:
    """(name, is_organization) for each author in `Family, Given; Family, Given`.

    A name without a comma, or one equal to the publisher, is an organization.
    """
    if not authors:
        return []
    out = []
    for part in (p.strip() for p in authors.split(";")):
        if part:
            out.append((part, "," not in part or part == (publisher or "").strip()))
    return out


def author_field(names: list[tuple[str, bool]]) -> str:
    return " and ".join("{" + latex(n) + "}" if org else latex(n) for n, org in names)


TITLE_FROM_ADDRESS = "Title taken from the page's web address"


def _present(value) -> bool:
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return False
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values, known without importing pandas
        return False
    return str(value) != ""


def _day(value) -> dt.date:
    """A date cell as a date: text (YYYY-MM-DD) from the reader, or a date or timestamp from a typed frame."""
    if hasattr(value, "year") and hasattr(value, "month") and hasattr(value, "day"):
        return dt.date(value.year, value.month, value.day)
    return dt.date.fromisoformat(str(value)[:10])


def source_entry(row: dict, biblatex: bool, precision_column: str = "date_precision") -> tuple[str, dict[str, str]]:
    """The entry type and fields of one source; `precision_column` is the column the schema
    declares as the precision of its `date`."""
    kind = row["kind"]
    authors = split_authors(row.get("authors"), row.get("publisher"))
    has_date = _present(row.get("date"))
    basis = row.get("title_basis") if _present(row.get("title_basis")) else None
    shown = f"[{row['title']}]" if basis == "description" else row["title"]  # a description, as citation styles mark one
    fields: dict[str, str] = {"title": "{" + latex(shown) + "}"}
    if authors:
        fields["author"] = author_field(authors)
    container = row.get("container") if _present(row.get("container")) else None
    publisher = row.get("publisher") if _present(row.get("publisher")) else None
    if kind == "journal-article" and authors and container and has_date:
        etype = "article"
        fields["journal"] = latex(container)
    elif kind == "report" and authors and publisher and has_date:
        etype = "report" if biblatex else "techreport"
        fields["institution"] = latex(publisher)
        if biblatex:
            fields["type"] = "Report"
    elif kind == "book" and authors and publisher and has_date:
        etype = "book"
        fields["publisher"] = latex(publisher)
    elif kind == "conference-paper" and authors and container and has_date:
        etype = "inproceedings"
        fields["booktitle"] = latex(container)
    else:
        etype = "online" if biblatex else "misc"
        where = [x for x in (container, publisher) if x]
        if where and where[0] != (where[1] if len(where) > 1 else None):
            fields["organization" if biblatex else "howpublished"] = latex("; ".join(dict.fromkeys(where)))
        elif where:
            fields["organization" if biblatex else "howpublished"] = latex(where[0])
    numbering = [(key, str(row[column])) for key, column in (("volume", "volume"), ("number", "issue"), ("pages", "pages")) if _present(row.get(column))]
    if etype in ("article", "inproceedings", "report", "techreport", "book"):
        for key, value in numbering:
            fields[key] = latex(value).replace("-", "--") if key == "pages" else latex(value)
    elif numbering:  # types without these fields carry them in the note, so nothing is lost
        words = {"volume": "vol.", "number": "no.", "pages": "pp."}
        fields["note"] = latex(", ".join(f"{words[k]} {v}" for k, v in numbering))
    if not authors:  # what BibTeX styles sort an author-less entry by
        fields["key"] = latex(publisher or container or row["title"])
    if has_date:
        date = _day(row["date"])
        precision = row.get(precision_column) or "day"
        if biblatex:
            fields["date"] = date.strftime({"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[precision])
        else:
            fields["year"] = str(date.year)
            if precision in ("day", "month"):
                fields["month"] = MONTHS[date.month - 1]
    if _present(row.get("url")):
        fields["url"] = safe_url(row["url"])
    if _present(row.get("doi")):
        fields["doi"] = row["doi"]
    if basis == "from-address":
        fields["note"] = "; ".join(x for x in (fields.get("note"), latex(TITLE_FROM_ADDRESS)) if x)
    if _present(row.get("archived_url")):  # `note`, which bibtex and biber both accept
        archived = latex("Archived at " + row["archived_url"])
        fields["note"] = "; ".join(x for x in (fields.get("note"), archived) if x)
    if _present(row.get("accessed")):
        accessed = _day(row["accessed"]).isoformat()
        if biblatex:
            fields["urldate"] = accessed
        else:
            fields["note"] = "; ".join(x for x in (fields.get("note"), f"Accessed {accessed}") if x)
    if _present(row.get("language")):
        fields["language" if biblatex else "langid"] = row["language"]
    return etype, fields


def write_bib(entries: list[tuple[str, str, dict[str, str]]]) -> str:
    """Serialise (key, type, fields) with pybtex; field values are already LaTeX."""
    from pybtex.database import BibliographyData, Entry

    data = BibliographyData()
    for key, etype, fields in entries:
        data.entries[key] = Entry(etype, fields=list(fields.items()))
    out = io.StringIO()
    _Writer().write_stream(data, out)
    return out.getvalue()


def _writer_class():
    from pybtex.database.output.bibtex import Writer

    class VerbatimWriter(Writer):
        """pybtex's writer without its LaTeX encoding: values arrive escaped, and URLs must stay as they are."""

        def check_braces(self, s):
            # pybtex scans every character into nested objects, which took a fifth of a build.
            # When every brace closes (and nesting stays within pybtex's 100), pybtex accepts the
            # value too; anything else still goes to pybtex, which decides as before.
            if "{" not in s:
                return  # a "}" with nothing open is plain text to pybtex
            depth = deepest = 0
            for char in s:
                if char == "{":
                    depth += 1
                    deepest = max(deepest, depth)
                elif char == "}" and depth:
                    depth -= 1
            if depth or deepest > 100:
                super().check_braces(s)

        def _write_field(self, stream, type, value):
            # A month is the standard macro (jan ... dec), which every style expands and sorts.
            shown = value if type == "month" and value in MONTHS else self.quote(value)
            stream.write(f",\n    {type} = {shown}")

    return VerbatimWriter


def _Writer():
    return _writer_class()()
