"""A world map of entries per country, drawn at build time as SVG (no map library).

Boundaries are Natural Earth's (public domain), 1:110m, as packaged in the npm package
`world-atlas` (ISC licence), which `make` installs from the npm registry (package.json and
its lock). Countries are matched by their ISO 3166-1 numeric code; each country with entries
links to its jurisdiction page.
"""
from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

CREDIT = "Boundaries: Natural Earth (public domain), 1:110m, from the npm package world-atlas {version} (ISC licence)."
SHADES = ["#e8eaf6", "#c5cae9", "#9fa8da", "#7986cb", "#5c6bc0", "#3949ab", "#283593"]


def atlas_dir(*roots: Path) -> Path:
    """The installed world-atlas package, looked for beside the package and beside the
    repository the tooling runs from (the folder above `scripts/`)."""
    tooling = next((p.parent for p in Path(__file__).resolve().parents if p.name == "scripts"), None)
    for root in (*roots, *([tooling] if tooling else [])):
        candidate = Path(root) / "node_modules" / "world-atlas"
        if (candidate / "countries-110m.json").is_file():
            return candidate
    raise FileNotFoundError("node_modules/world-atlas is not installed: run `make` (or `npm ci`) in the repository first")


@lru_cache(maxsize=2)
def countries(folder: str) -> tuple[str, list[tuple[str, str, list[list[tuple[float, float]]]]]]:
    """(version, [(ISO numeric code, name, rings of (lon, lat))]) from the TopoJSON file."""
    folder_path = Path(folder)
    topo = json.loads((folder_path / "countries-110m.json").read_text(encoding="utf-8"))
    version = json.loads((folder_path / "package.json").read_text(encoding="utf-8"))["version"]
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:  # delta-encoded, quantized positions
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
            points.extend(arc if not points else arc[1:])
        return points

    out = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        kind, parts = geometry.get("type"), geometry.get("arcs", [])
        polygons = [parts] if kind == "Polygon" else parts if kind == "MultiPolygon" else []
        rings = [ring(r) for polygon in polygons for r in polygon]
        out.append((str(geometry.get("id", "")), geometry.get("properties", {}).get("name", ""), rings))
    return version, out


def _path(rings: list[list[tuple[float, float]]], scale: float, top: float) -> str:
    """SVG path data; a ring that crosses the antimeridian is cut where it jumps across it, so
    that no shape is drawn across the whole map."""
    parts = []
    for r in rings:
        pieces, piece = [], []
        for lon, lat in r:
            if piece and abs(lon - piece[-1][0]) > 180:
                pieces.append(piece)
                piece = []
            piece.append((lon, lat))
        pieces.append(piece)
        for piece in pieces:
            if len(piece) >= 3:
                parts.append("M" + " ".join(f"{(lon + 180) * scale:.0f},{(top - lat) * scale:.0f}" for lon, lat in piece) + "Z")
    return "".join(parts)


def svg(layers: list[tuple[str, dict[str, int]]], names: dict[str, str], link: str, folder: Path, title: str) -> tuple[str, str]:
    """The map as one inline SVG: every country once as the grey base, then one layer per kind
    (the first shown, the others `display="none"`) with the countries that have entries of it,
    shaded by their number and linked to `link.format(code)`; and the credit line."""
    import pycountry

    version, shapes = countries(str(folder))
    numeric = {c.numeric: c.alpha_2 for c in pycountry.countries}
    scale, top, bottom = 960 / 360, 84.0, -58.0
    drawn = []
    for code, name, rings in shapes:
        if code == "010":  # Antarctica: outside the map's frame
            continue
        d = _path(rings, scale, top)
        if d:
            drawn.append((numeric.get(code.zfill(3)) if code.isdigit() else None, name, d))
    base = "".join(f'<path id="c{i}" d="{d}"><title>{html.escape(names.get(a or "", n))}</title></path>' for i, (a, n, d) in enumerate(drawn))
    body = [f'<g fill="#f2f2f2" stroke="#fff" stroke-width="0.4">{base}</g>']
    for i, (kind, counts) in enumerate(layers):
        peak = max(counts.values(), default=1)
        shapes_ = []
        for j, (alpha2, name, d) in enumerate(drawn):
            n = counts.get(alpha2 or "", 0)
            if n:  # the base shape again, by reference, shaded and linked
                shade = SHADES[min(len(SHADES) - 1, 1 + int((len(SHADES) - 2) * (n / peak) ** 0.5))]
                label = html.escape(f"{names.get(alpha2, name)}: {n} entries")
                shapes_.append(f'<a href="{html.escape(link.format(alpha2))}" target="_top" class="map-country" data-code="{alpha2}">'
                               f'<use href="#c{j}" fill="{shade}"><title>{label}</title></use></a>')
        hidden = "" if i == 0 else ' display="none"'
        body.append(f'<g class="map-layer" data-kind="{html.escape(kind)}" stroke="#fff" stroke-width="0.4"{hidden}>' + "".join(shapes_) + "</g>")
    height = (top - bottom) * scale
    text = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 960 {height:.0f}" role="img" aria-label="{html.escape(title)}" class="world-map">'
            f"<title>{html.escape(title)}</title>" + "".join(body) + "</svg>")
    return text, CREDIT.format(version=version)
