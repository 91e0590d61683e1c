"""UN M49 regions of the jurisdictions, derived at build time, never typed into `data/`.

The table of countries comes from the country converter (`country_converter`, coco), which
ships the UN Statistics Division's M49 grouping with every country's ISO codes. Its data
file is read directly (the module's own reader is not needed for a lookup). A subdivision
takes its country's region; supranational and international jurisdictions have none.
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

# coco's continent names as the M49 regions name them.
M49_REGIONS = {"Africa": "Africa", "America": "Americas", "Asia": "Asia", "Europe": "Europe", "Oceania": "Oceania", "Antarctica": "Antarctica"}


def source_version() -> str:
    from importlib.metadata import version

    return f"country_converter {version('country_converter')}"


@lru_cache(maxsize=1)
def by_country() -> dict[str, tuple[str, str]]:
    """ISO 3166-1 alpha-2 code -> (M49 region, M49 sub-region or intermediate region)."""
    text = resources.files("country_converter").joinpath("country_data.tsv").read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines(), delimiter="\t"):
        continent, subregion = row.get("continent", ""), row.get("UNregion", "")
        # The ISO2 column holds a code, or for a few countries a pattern of codes (`^GB$|^UK$`): take each code in it.
        codes = re.findall(r"[A-Z]{2}", row.get("ISO2", ""))
        if codes and continent in M49_REGIONS:
            for code in codes:
                out.setdefault(code, (M49_REGIONS[continent], subregion))
    return out


def region_of(jurisdiction_id: str, level: str) -> tuple[str | None, str | None]:
    if level not in ("country", "subdivision"):
        return None, None
    return by_country().get(jurisdiction_id.split("-")[0], (None, None))
