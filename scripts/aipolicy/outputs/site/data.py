"""The tables the site's pages are made from, indexed once, and the helpers every page uses."""
from __future__ import annotations

import pandas as pd

from .. import cite
from ...reading.package import Package
from .html import link


class SiteData:
    """The package's tables as pandas frames (`frames`), with the indexes the pages look up by."""

    def __init__(self, package: Package):
        self.package = package
        # Plain Python strings (object columns): the pages look up thousands of single cells and
        # small groups, which Arrow-backed strings make several times slower.
        self.frames = {name: table.frame.astype(object) for name, table in package.tables.items()}
        self.meta = cite.working_meta(package.root, package.descriptor)
        frames = self.frames
        self.jur = frames["jurisdictions"].set_index("jurisdiction_id")
        # The country each jurisdiction belongs to (a subdivision's, or itself).
        self.country_of = {j: (j.split("-")[0] if self.jur.at[j, "level"] == "subdivision" else j) for j in self.jur.index}
        self.orgs = frames["organizations"].set_index("organization_id")
        self.topics = frames["topics"].set_index("topic_id")
        self.sources = frames["sources"].set_index("source_id")
        self.entries = frames["entries"].sort_values("entry_id").set_index("entry_id", drop=False).rename_axis(None)
        from ..money import converted_figures

        self.converted = {r["figure_id"]: r for r in converted_figures(frames["figures"])}
        from ...versioning.history import entry_history

        self.history, self.versions = entry_history(package)
        self._records: dict[tuple[str, str], dict[str, list[dict]]] = {}

    def records(self, name: str, by: str = "entry_id") -> dict[str, list[dict]]:
        """The rows of a table as dicts (missing cells as None), grouped by the column `by`, in
        file order: made once per table, then looked up per page."""
        cache = self._records
        if (name, by) not in cache:
            grouped: dict[str, list[dict]] = {}
            for row in self.frames[name].to_dict("records"):
                grouped.setdefault(row[by], []).append({k: (None if pd.isna(v) else v) for k, v in row.items()})
            cache[(name, by)] = grouped
        return cache[(name, by)]

    def rows_for(self, name: str, key: str, by: str = "entry_id") -> list[dict]:
        """The rows of table `name` whose column `by` is `key` (none when the table is absent)."""
        return self.records(name, by).get(key, []) if name in self.frames else []

    def source_row(self, source_id) -> dict | None:
        """The source with this ID, as a dict; None for an unknown or missing ID."""
        found = self.rows_for("sources", source_id, "source_id") if isinstance(source_id, str) else []
        return found[0] if found else None

    def entry_link(self, entry_id: str, prefix: str = "../../") -> str:
        title = self.entries.at[entry_id, "title"] if entry_id in self.entries.index else entry_id
        return link(f"{prefix}entries/{entry_id}/", title)
