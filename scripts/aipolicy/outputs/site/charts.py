"""Small SVG charts made at build time, with no plotting library: entries per year by kind,
and entries per jurisdiction."""
from __future__ import annotations

import html

import pandas as pd

PALETTE = ["#3f51b5", "#e91e63", "#009688", "#ff9800", "#795548", "#9c27b0", "#4caf50", "#607d8b", "#f44336", "#00bcd4"]


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="sans-serif" font-size="12" role="img" aria-label="{html.escape(title)}">\n<title>{html.escape(title)}</title>\n'
            + "\n".join(body) + "\n</svg>\n")


def stacked_years(entries: pd.DataFrame) -> str:
    years = pd.to_datetime(entries["date"]).dt.year
    kinds = entries["kind"].value_counts()
    top = list(kinds.index[: len(PALETTE) - 1])
    kind = entries["kind"].where(entries["kind"].isin(top), "other")
    counts = pd.crosstab(years, kind)
    order = [k for k in top if k in counts.columns] + (["other"] if "other" in counts.columns else [])
    counts = counts.reindex(columns=order, fill_value=0)
    span = range(int(counts.index.min()), int(counts.index.max()) + 1) if len(counts) else range(0)
    counts = counts.reindex(span, fill_value=0)
    width, height, left, bottom, top_pad, legend_w = 760, 320, 40, 30, 10, 170
    plot_w, plot_h = width - left - legend_w, height - bottom - top_pad
    peak = max(int(counts.sum(axis=1).max()) if len(counts) else 1, 1)
    bar_w = plot_w / max(len(counts), 1)
    body = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#333"/>',
            f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{peak}</text>', f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>']
    for i, (year, row) in enumerate(counts.iterrows()):
        y = top_pad + plot_h
        for j, k in enumerate(order):
            n = int(row[k])
            if n:
                h = plot_h * n / peak
                y -= h
                body.append(f'<rect x="{left + i * bar_w + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{year}: {n} {html.escape(k)}</title></rect>')
        if len(counts) <= 20 or i % 2 == 0:
            body.append(f'<text x="{left + i * bar_w + bar_w / 2:.1f}" y="{height - 12}" text-anchor="middle" font-size="10">{year}</text>')
    for j, k in enumerate(order):
        y = top_pad + 14 + j * 18
        body.append(f'<rect x="{width - legend_w + 10}" y="{y - 10}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text x="{width - legend_w + 28}" y="{y}">{html.escape(k.replace("-", " "))}</text>')
    return _svg(width, height, body, "Entries per year by kind")


def bars(items: list[tuple[str, float, str]], title: str, colours: list[str] | None = None) -> str:
    """Horizontal bars: (label, value, text shown after the bar) for each item."""
    row_h, left, width = 18, 220, 760
    height = row_h * len(items) + 20
    peak = max((v for _, v, _ in items), default=1) or 1
    body = []
    for i, (label, value, text) in enumerate(items):
        y = 10 + i * row_h
        w = (width - left - 110) * value / peak
        colour = colours[i] if colours else PALETTE[0]
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{html.escape(label[:34])}</text>')
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" fill="{colour}"><title>{html.escape(label)}: {html.escape(text)}</title></rect>')
        body.append(f'<text x="{left + w + 4:.1f}" y="{y + 12}">{html.escape(text)}</text>')
    return _svg(width, height, body, title)


def jurisdiction_bars(entries: pd.DataFrame, jurisdictions: pd.DataFrame, limit: int = 40) -> str:
    counts = entries["jurisdiction_id"].value_counts().head(limit)
    items = [(str(jurisdictions.at[j, "name"]) if j in jurisdictions.index else j, float(n), str(n)) for j, n in counts.items()]
    return bars(items, f"Entries per jurisdiction (top {limit})")


BASIS_COLOURS = {"actual": PALETTE[2], "planned": PALETTE[0], "target": PALETTE[3], "estimate": PALETTE[7]}


def commitment_bars(rows: list[dict], titles: dict[str, str], limit: int = 20) -> str:
    """The largest converted commitments in USD billions, coloured by basis."""
    top = rows[:limit]
    items = [(titles.get(r["entry_id"], r["entry_id"]), r["value_usd"], f"USD {r['value_usd'] / 1e9:,.1f} bn ({r['basis']})") for r in top]
    return bars(items, "Largest public AI commitments, USD at ECB rates of their date", [BASIS_COLOURS.get(r["basis"], PALETTE[1]) for r in top])
