"""The map: states at their coordinates over Natural Earth borders; links by mode and status.

Drawn as SVG by a small Vue template (no tile server, no extra JavaScript): a click on a state
or a link selects it for the inspector and the interventions panel.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from corridors.app import geo
from corridors.app.session import View

STATUS_COLOURS = {"open": "#2e7d32", "throttled": "#ef6c00", "closed": "#c62828"}
MODE_DASHES = {
    "road": "",
    "rail": "14 5 3 5",
    "air": "3 7",
    "pipeline": "18 6",
    "sea": "7 7",
}
DEFAULT_STATE_FILL = "#607d8b"


@solara.component_vue(str(Path(__file__).with_name("map.vue")))
def MapSvg(
    width: float,
    height: float,
    borders: list,
    states: list,
    links: list,
    selected: str,
    legend_modes: list,
    legend_status: list,
    event_select: Callable[[str], None],
    countries: list,
    focus_box: list,
    presentation: bool,
    stress_scale: list,
):
    """The SVG map (map.vue); ``event_select`` gets ``state:NAME`` or ``link:NAME``."""


def stress_colour(stress: float) -> str:
    """Pale (no stress) to dark red (catastrophe)."""
    t = min(max(float(stress), 0.0), 1.0)
    lo, hi = (255, 243, 224), (183, 28, 28)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def projection_for(view: View) -> geo.Projection:
    return geo.fit([(s["lon"], s["lat"]) for s in view.states])


def state_marks(view: View, proj: geo.Projection) -> list[dict[str, Any]]:
    out = []
    for s in view.states:
        x, y = proj(s["lon"], s["lat"])
        population = s.get("population") or 0.0
        radius = 7 + 4 * math.log10(1 + population / 1e5)
        if s["sustained"]:
            fill = stress_colour(s["stress"])
            extra = f"; stress {s['stress']:.2f}"
        else:
            fill, extra = DEFAULT_STATE_FILL, ""
        out.append(
            {
                "name": s["name"],
                "code": s["code"],
                "x": x,
                "y": y,
                "r": round(radius, 1),
                "fill": fill,
                "label": s["name"],
                "focus": bool(s["sustained"]),
                "title": f"{s['name']}{extra}",
            }
        )
    return out


def focus_links(view: View) -> set[str]:
    """The links the scenario is about: those into a dependent population, and those its
    scripted events act on."""
    sustained = set(view.sustained)
    links = {lk["name"] for lk in view.links if lk["a"] in sustained or lk["b"] in sustained}
    events = view.events
    scripted = set(events.loc[events.kind == "event", "subject"]) if not events.empty else set()
    upcoming = {ev["subject"] for ev in view.upcoming}
    return links | ({lk["name"] for lk in view.links} & (scripted | upcoming))


def focus_box(view: View, proj: geo.Projection) -> list[float]:
    """The SVG box (x0, y0, x1, y1) around the dependent populations and the states their
    links reach: where a projector should zoom."""
    sustained = set(view.sustained)
    names = set(sustained)
    for lk in view.links:
        if lk["a"] in sustained or lk["b"] in sustained:
            names |= {lk["a"], lk["b"]}
    points = [proj(s["lon"], s["lat"]) for s in view.states if s["name"] in names]
    if not points:
        return [0, 0, proj.width, proj.height]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad = 60
    return [min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad]


def link_marks(
    view: View, proj: geo.Projection, focused: set[str] | None = None
) -> list[dict[str, Any]]:
    """Each link as an SVG path: a straight line, or a curve bent toward the states it crosses
    (and apart from other links between the same two states). ``focused``: :func:`focus_links`
    if known."""
    pos = {s["name"]: proj(s["lon"], s["lat"]) for s in view.states}
    if focused is None:
        focused = focus_links(view)
    most = max((lk["carried_today_t"] for lk in view.links), default=0.0)
    scale = math.log10(1 + most) if most > 0 else 1.0
    seen: dict[frozenset[str], int] = defaultdict(int)
    out = []
    for lk in view.links:
        if lk["a"] not in pos or lk["b"] not in pos:
            continue
        (x1, y1), (x2, y2) = pos[lk["a"]], pos[lk["b"]]
        pair = frozenset((lk["a"], lk["b"]))
        k = seen[pair]
        seen[pair] += 1
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        crossed = [pos[c] for c in lk.get("crosses", []) if c in pos]
        if crossed:
            cx = sum(p[0] for p in crossed) / len(crossed)
            cy = sum(p[1] for p in crossed) / len(crossed)
            mx, my = (mx + cx) / 2, (my + cy) / 2
        # perpendicular offset for the 2nd, 3rd... link of a pair, alternately on each side
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        nx, ny = -(y2 - y1) / length, (x2 - x1) / length
        shift = (0 if k == 0 else (1 + (k - 1) // 2) * (1 if k % 2 else -1)) * 22
        if lk["mode"] == "air" and not crossed and k == 0:
            shift = 30
        cx, cy = mx + nx * shift, my + ny * shift
        # a quadratic curve through (cx, cy) at its middle has its control point at 2c - mid
        qx, qy = 2 * cx - (x1 + x2) / 2, 2 * cy - (y1 + y2) / 2
        if crossed or shift:
            d = f"M{x1:g} {y1:g}Q{qx:.1f} {qy:.1f} {x2:g} {y2:g}"
        else:
            d = f"M{x1:g} {y1:g}L{x2:g} {y2:g}"
        carried = lk["carried_today_t"]
        width = 2.5 + 10 * math.log10(1 + carried) / scale if carried > 0 else 2.0
        status = lk["status"]
        status_text = f"throttled to {lk['throttle']:.0%}" if status == "throttled" else str(status)
        focus = lk["name"] in focused
        if focus:
            width = max(width * 1.6, 9.0)
        capacity = lk.get("capacity_today_t") or 0.0
        out.append(
            {
                "length": length,
                "focus": focus,
                "lx": round(cx, 1),
                "ly": round(cy, 1),
                "name": lk["name"],
                "status": status,
                "mode": lk["mode"],
                "d": d,
                "color": STATUS_COLOURS.get(status, "#455a64"),
                "width": round(width, 1),
                "dash": MODE_DASHES.get(lk["mode"], ""),
                "title": f"{lk['name']} ({lk['mode']}, {lk['a']} – {lk['b']}): {status_text}; "
                f"{carried:,.0f} t carried today"
                + (f" of {capacity:,.0f} t/day usable" if capacity else ""),
            }
        )
    # long links first, so that short ones (drawn last, on top) stay clickable
    out.sort(key=lambda mark: -mark.pop("length"))
    return out


STRESS_SCALE = [0.0, 0.25, 0.5, 0.75, 1.0]


@solara.component
def Map(view: View, selected: str | None, on_select: Callable[[str], None]):
    proj = solara.use_memo(lambda: projection_for(view), [view.scenario, len(view.states)])
    box = (proj.west, proj.south, proj.east, proj.north, 1000)
    borders = solara.use_memo(lambda: list(geo.cached_border_paths(*box)), [proj])
    countries = solara.use_memo(lambda: list(geo.cached_country_labels(*box)), [proj])
    presentation = solara.use_reactive(False)
    # what changes with the scenario or the log, not with each day
    focused = solara.use_memo(
        lambda: focus_links(view),
        [view.scenario, id(view.events), len(view.events), len(view.upcoming)],
    )
    area = solara.use_memo(lambda: focus_box(view, proj), [view.scenario, proj])
    with solara.Column(gap="4px", classes=["corridors-map-panel"]):
        solara.Checkbox(
            label="Projector view: large names, the scenario's area, its roads named",
            value=presentation,
        )
        MapSvg(
            width=proj.width,
            height=proj.height,
            borders=borders,
            states=state_marks(view, proj),
            links=link_marks(view, proj, focused),
            selected=selected or "",
            legend_modes=[{"mode": m, "dash": d} for m, d in MODE_DASHES.items()],
            legend_status=[{"status": s, "color": c} for s, c in STATUS_COLOURS.items()],
            event_select=on_select,
            countries=countries,
            focus_box=area,
            presentation=presentation.value,
            stress_scale=[{"stress": s, "color": stress_colour(s)} for s in STRESS_SCALE],
        )
        if not borders:
            solara.Text(
                "Country borders are not installed: ask whoever runs the app to fetch its assets "
                "(make assets).",
                style={"font-size": "12px", "color": "#8d6e63"},
            )
