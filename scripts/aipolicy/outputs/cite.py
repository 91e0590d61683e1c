"""How to cite the dataset at a version, or one entry of it at a version.

Authors, title and addresses come from `CITATION.cff` and `datapackage.json`, never from
code. An entry's permalink is its page on the documentation site (the descriptor's
`homepage`) plus the dataset version it was cited at.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .bibtex import latex, safe_url, write_bib
from ..reading.package import PackageError
from ..versioning.releasefiles import read_citation, CITATION

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("bibtex", "biblatex", "text", "cff")


@dataclass
class DatasetMeta:
    title: str
    authors: list[str]
    organization_authors: list[bool]
    version: str
    date_released: str
    homepage: str
    repository: str | None
    doi: str | None
    license: str
    name: str = "ai-policy-atlas"  # the data package's name (datapackage.json), which names every artifact
    unreleased: bool = False  # the data differ from release `version`: changes made after it

    @property
    def label(self) -> str:
        """The version as cited: `2.0.0`, or `2.0.0+unreleased` for changes after 2.0.0."""
        return f"{self.version}+unreleased" if self.unreleased else self.version

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}" + ("-unreleased" if self.unreleased else "")

    @property
    def year(self) -> str:
        return self.date_released[:4]


def dataset_meta(root: Path, descriptor: dict, version: str | None = None, date: str | None = None, unreleased: bool = False) -> DatasetMeta:
    citation, problems = read_citation(root)
    if citation is None:
        raise PackageError(f"{CITATION}: {problems[0].message}" if problems else f"{CITATION} is missing")
    authors, orgs = [], []
    for person in citation.get("authors", []):
        if "name" in person:
            authors.append(str(person["name"]))
            orgs.append(True)
        else:
            authors.append(f"{person.get('family-names', '')}, {person.get('given-names', '')}".strip(", "))
            orgs.append(False)
    return DatasetMeta(
        title=str(citation.get("title") or descriptor.get("title")),
        authors=authors,
        organization_authors=orgs,
        version=version or str(descriptor.get("version")),
        date_released=date or str(citation.get("date-released", "")),
        homepage=str(descriptor.get("homepage") or citation.get("url")),
        repository=citation.get("repository") or citation.get("repository-code"),
        doi=citation.get("doi"),
        license=str(citation.get("license", "")),
        unreleased=unreleased,
        name=str(descriptor.get("name") or "dataset"),
    )


def working_meta(root: Path, descriptor: dict) -> DatasetMeta:
    """The citation metadata of the package as it is: labelled as unreleased changes when its
    data differ from the latest registered release."""
    from ..versioning.registry import unreleased_changes

    last = unreleased_changes(root)
    if last is None:
        return dataset_meta(root, descriptor)
    return dataset_meta(root, descriptor, version=last.version, date=last.date, unreleased=True)


def entry_permalink(meta: DatasetMeta, entry_id: str) -> str:
    return meta.homepage.rstrip("/") + f"/entries/{entry_id}/"


def _authors_bib(meta: DatasetMeta) -> str:
    return " and ".join("{" + latex(a) + "}" if org else latex(a) for a, org in zip(meta.authors, meta.organization_authors))


def _authors_text(meta: DatasetMeta) -> str:
    return "; ".join(meta.authors)


def dataset_fields(meta: DatasetMeta, biblatex: bool) -> tuple[str, dict[str, str]]:
    fields = {"author": _authors_bib(meta), "title": "{" + latex(meta.title) + "}"}
    if biblatex:
        fields.update(version=meta.label, date=meta.date_released)
    else:
        fields.update(year=meta.year, note=f"Version {meta.label}" + (f" (unreleased changes after version {meta.version})" if meta.unreleased else ""), howpublished="Dataset")
    fields["url"] = safe_url(meta.homepage)
    if meta.doi:
        fields["doi"] = str(meta.doi)
    return ("dataset" if biblatex else "misc"), fields


# How a translated title is marked in a citation (the `note` field, which bibtex and biber both accept).
TITLE_MARKS = {"third-party-translation": "unofficial translation of the title", "own-translation": "unofficial translation of the title by the atlas",
               "composed": "title composed by the atlas, not the official title"}


def title_mark(entry: dict) -> str | None:
    return TITLE_MARKS.get(str(entry.get("title_provenance") or ""))


def entry_fields(meta: DatasetMeta, entry: dict, biblatex: bool) -> tuple[str, dict[str, str]]:
    fields = {"author": _authors_bib(meta), "title": "{" + latex(entry["title"]) + "}"}
    mark = title_mark(entry)
    where = f"Entry {entry['entry_id']} in {meta.title}, version {meta.label}" + (f"; {mark}" if mark else "")
    if biblatex:
        fields.update(maintitle="{" + latex(meta.title) + "}", version=meta.label, date=meta.date_released,
                      note=latex(f"Entry {entry['entry_id']}" + (f"; {mark}" if mark else "")))
    else:
        fields.update(year=meta.year, note=latex(where))
    fields["url"] = safe_url(entry_permalink(meta, entry["entry_id"]))
    if meta.doi:
        fields["doi"] = str(meta.doi)
    return ("dataset" if biblatex else "misc"), fields


def cite(meta: DatasetMeta, style: str = "bibtex", entry: dict | None = None) -> str:
    if style not in FORMATS:
        raise ValueError(f"unknown format {style!r}; use one of {', '.join(FORMATS)}")
    if style in ("bibtex", "biblatex"):
        biblatex = style == "biblatex"
        if entry is None:
            etype, fields = dataset_fields(meta, biblatex)
            return write_bib([(meta.key, etype, fields)])
        etype, fields = entry_fields(meta, entry, biblatex)
        return write_bib([(f"{entry['entry_id']}-{meta.key.removeprefix(meta.name + '-')}", etype, fields)])
    if style == "text":
        doi = f" https://doi.org/{meta.doi}" if meta.doi else ""
        if entry is None:
            return f"{_authors_text(meta)} ({meta.year}). {meta.title} (Version {meta.label}) [Data set]. {meta.homepage}{doi}\n"
        mark = title_mark(entry)
        title = f"{entry['title']} [{mark}]" if mark else entry["title"]
        return (f"{_authors_text(meta)} ({meta.year}). {title}. In {meta.title} (Version {meta.label}) [Data set], "
                f"entry {entry['entry_id']}. {entry_permalink(meta, entry['entry_id'])}{doi}\n")
    return _cff(meta, entry)


def _cff(meta: DatasetMeta, entry: dict | None) -> str:
    import yaml

    doc: dict = {"cff-version": "1.2.0", "message": "Please cite this dataset as below.", "type": "dataset",
                 "title": meta.title if entry is None else f"{entry['title']} ({meta.title}, entry {entry['entry_id']})",
                 "authors": [{"name": a} if org else {"family-names": a.split(",")[0].strip(), "given-names": a.split(",", 1)[1].strip()}
                             for a, org in zip(meta.authors, meta.organization_authors)],
                 "version": meta.label, "date-released": meta.date_released,
                 "url": meta.homepage if entry is None else entry_permalink(meta, entry["entry_id"])}
    if meta.doi:
        doc["doi"] = meta.doi
    if meta.license:
        doc["license"] = meta.license
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def find_entry(entries: pl.DataFrame, entry_id: str) -> dict:
    """The row of one entry (missing cells as None), from the table as the reader holds it."""
    import polars as pl

    match = entries.filter(pl.col("entry_id") == entry_id)
    if not len(match):
        import difflib

        close = difflib.get_close_matches(entry_id, entries.get_column("entry_id").drop_nulls().to_list(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PackageError(f"no entry {entry_id!r} in data/entries.csv{hint}")
    return match.row(0, named=True)
