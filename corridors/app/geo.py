"""Map geometry: a small TopoJSON decoder, a projection, and SVG paths of country borders.

The borders are Natural Earth's, from the ``world-atlas`` npm package (fetched with the other
offline assets by ``python -m corridors.app.assets``). No tile server is needed; without the
file the map still draws states and links, over a plain background.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corridors.app import assets

Ring = list[tuple[float, float]]
"""A closed ring of (lon, lat) points."""


@dataclass(frozen=True)
class Country:
    name: str
    polygons: tuple[tuple[Ring, ...], ...]
    """Each polygon: its outer ring, then its holes."""
    bbox: tuple[float, float, float, float]
    """(min lon, min lat, max lon, max lat)."""


def _decode_arcs(topology: dict) -> list[Ring]:
    """Absolute (lon, lat) coordinates of every arc (delta-decoded, de-quantised)."""
    transform = topology.get("transform")
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        if transform:
            sx, sy = transform["scale"]
            tx, ty = transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(p[0]), float(p[1])) for p in arc]
        arcs.append(points)
    return arcs


def _ring(arcs: list[Ring], indices: Sequence[int]) -> Ring:
    points: Ring = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def decode_countries(topology: dict, object_name: str = "countries") -> list[Country]:
    """Countries (polygons with names) from a world-atlas TopoJSON topology."""
    arcs = _decode_arcs(topology)
    countries = []
    for geometry in topology["objects"][object_name]["geometries"]:
        kind = geometry.get("type")
        if kind == "Polygon":
            polygons = [geometry["arcs"]]
        elif kind == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        decoded = tuple(tuple(_ring(arcs, ring) for ring in polygon) for polygon in polygons)
        lons = [p[0] for poly in decoded for p in poly[0]]
        lats = [p[1] for poly in decoded for p in poly[0]]
        if not lons:
            continue
        name = (geometry.get("properties") or {}).get("name", str(geometry.get("id", "")))
        countries.append(Country(name, decoded, (min(lons), min(lats), max(lons), max(lats))))
    return countries


@lru_cache(maxsize=4)
def load_countries(path: str | None = None) -> tuple[Country, ...]:
    """The world-atlas countries, or nothing if the file is not there."""
    file = Path(path) if path else assets.world_atlas_file("50m")
    if file is None or not file.is_file():
        return ()
    return tuple(decode_countries(json.loads(file.read_text(encoding="utf-8"))))


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection of a lon/lat box onto an SVG canvas ``width`` wide."""

    west: float
    south: float
    east: float
    north: float
    width: float = 1000.0

    @property
    def height(self) -> float:
        mid = math.radians((self.south + self.north) / 2)
        aspect = (self.north - self.south) / ((self.east - self.west) * max(math.cos(mid), 0.2))
        return round(self.width * aspect, 1)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x = (lon - self.west) / (self.east - self.west) * self.width
        y = (self.north - lat) / (self.north - self.south) * self.height
        return round(x, 1), round(y, 1)


def fit(
    points: Iterable[tuple[float, float]],
    pad: float = 0.12,
    width: float = 1000.0,
    min_aspect: float = 0.6,
    max_aspect: float = 1.0,
) -> Projection:
    """A projection showing every (lon, lat) point with a margin, at least 4° across."""
    pts = list(points) or [(0.0, 0.0)]
    west, east = min(p[0] for p in pts), max(p[0] for p in pts)
    south, north = min(p[1] for p in pts), max(p[1] for p in pts)
    span_x, span_y = max(east - west, 4.0), max(north - south, 4.0)
    cx, cy = (west + east) / 2, (south + north) / 2
    span_x, span_y = span_x * (1 + 2 * pad), span_y * (1 + 2 * pad)
    # keep the canvas between 0.6 and 1 times as high as wide: widen or heighten the box
    squeeze = max(math.cos(math.radians(cy)), 0.2)
    aspect = span_y / (span_x * squeeze)
    if aspect > max_aspect:
        span_x = span_y / (max_aspect * squeeze)
    elif aspect < min_aspect:
        span_y = span_x * squeeze * min_aspect
    south, north = max(cy - span_y / 2, -85.0), min(cy + span_y / 2, 85.0)
    return Projection(cx - span_x / 2, south, cx + span_x / 2, north, width)


def _ring_path(ring: Ring, proj: Projection, tolerance: float) -> str:
    """SVG path data of one ring; drops points closer than ``tolerance`` to the last kept one
    and breaks the ring where it jumps across the antimeridian."""
    out: list[str] = []
    last: tuple[float, float] | None = None
    prev_lon: float | None = None
    for lon, lat in ring:
        x, y = proj(lon, lat)
        jump = prev_lon is not None and abs(lon - prev_lon) > 180
        prev_lon = lon
        if last is None or jump:
            out.append(f"M{x:g} {y:g}")
            last = (x, y)
            continue
        if abs(x - last[0]) + abs(y - last[1]) < tolerance:
            continue
        out.append(f"L{x:g} {y:g}")
        last = (x, y)
    if len(out) < 3:
        return ""
    return "".join(out) + "Z"


def border_paths(
    proj: Projection, countries: Sequence[Country] | None = None, tolerance: float = 0.8
) -> list[dict[str, str]]:
    """One SVG path per country that overlaps the projection's box: ``{"name", "d"}``."""
    countries = load_countries() if countries is None else countries
    margin = 2.0
    out = []
    for country in countries:
        w, s, e, n = country.bbox
        if (
            e < proj.west - margin
            or w > proj.east + margin
            or n < proj.south - margin
            or s > proj.north + margin
        ):
            continue
        parts = []
        for polygon in country.polygons:
            pw = min(p[0] for p in polygon[0])
            pe = max(p[0] for p in polygon[0])
            ps = min(p[1] for p in polygon[0])
            pn = max(p[1] for p in polygon[0])
            if pe < proj.west - margin or pw > proj.east + margin:
                continue
            if pn < proj.south - margin or ps > proj.north + margin:
                continue
            parts.extend(_ring_path(ring, proj, tolerance) for ring in polygon)
        d = "".join(p for p in parts if p)
        if d:
            out.append({"name": country.name, "d": d})
    return out


def country_labels(proj: Projection, countries: Sequence[Country] | None = None) -> list[dict]:
    """Where to write each country's name: the centre of its largest polygon's outer ring,
    when that is inside the map (``{"name", "x", "y"}``, SVG coordinates)."""
    countries = load_countries() if countries is None else countries
    out = []
    for country in countries:
        if not country.polygons:
            continue
        ring = max((p[0] for p in country.polygons), key=len)
        lon = (min(p[0] for p in ring) + max(p[0] for p in ring)) / 2
        lat = (min(p[1] for p in ring) + max(p[1] for p in ring)) / 2
        if not (proj.west < lon < proj.east and proj.south < lat < proj.north):
            continue
        x, y = proj(lon, lat)
        out.append({"name": country.name, "x": x, "y": y})
    return out


@lru_cache(maxsize=16)
def cached_country_labels(
    west: float, south: float, east: float, north: float, width: float
) -> tuple[dict, ...]:
    return tuple(country_labels(Projection(west, south, east, north, width)))


@lru_cache(maxsize=16)
def cached_border_paths(
    west: float, south: float, east: float, north: float, width: float
) -> tuple[dict[str, str], ...]:
    return tuple(border_paths(Projection(west, south, east, north, width)))
