"""Sweep explorer: open a sweep directory; outcome heatmap over two parameters, outcome
distributions and sensitivity indices.

A sweep directory holds a runs table (one row per run: its parameters and seed) and an outcomes
table (one row per run), both Parquet, joined on ``run_id``. ``corridors.analysis.load_sweep``
reads it when it exists; otherwise the explorer reads ``DIR/runs`` and ``DIR/outcomes`` itself.
Only sweep directories the server found under its root (``CORRIDORS_SWEEP_ROOT``, by default
the folder the app was started in) can be opened, chosen from that list; and only regular files
that, links resolved, lie inside the root are read.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure

from corridors.app.charts import figure_png
from corridors.app.errors import guarded

ID_COLUMNS = frozenset(
    {
        "run_id",
        "seed",
        "replicate",
        "point",
        "status",
        "elapsed_s",
        "chunk",
        "chunk_id",
        "index",
        "sample",
    }
)
PARAMETER_PREFIXES = ("parameters.", "links.", "states.", "flows.", "events.", "calendar.")
SKIP_DIRS = frozenset({".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"})


class SweepError(ValueError):
    """The directory is not a sweep, or lies outside the allowed root."""


def sweep_root() -> Path:
    return Path(os.environ.get("CORRIDORS_SWEEP_ROOT") or Path.cwd()).resolve()


def resolve_dir(text: str, root: Path | None = None) -> Path:
    """A directory given relative to the root (or absolute), refused outside the root."""
    root = (root or sweep_root()).resolve()
    path = Path(text.strip() or ".")
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root):
        raise SweepError(f"{text!r} is outside the folder sweeps may be opened from ({root})")
    if not path.is_dir():
        raise SweepError(f"no directory {text!r} under {root}")
    return path


MAX_ENTRIES = 20_000
"""Files and folders a sweep directory may hold (a sweep writes a few per chunk)."""


def inside(path: Path, root: Path) -> Path | None:
    """``path`` with links resolved, when it is a regular file or a folder inside ``root``."""
    try:
        real = path.resolve(strict=True)
        mode = real.stat().st_mode
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return None
    return real


def check_tree(folder: Path, root: Path) -> None:
    """Refuse a sweep directory holding anything but regular files and folders inside the
    root once links are resolved (a link to /etc, a device, a FIFO), before reading any."""
    for count, entry in enumerate(itertools.chain([folder], folder.rglob("*")), start=1):
        if count > MAX_ENTRIES:
            raise SweepError(f"{folder.name}: more than {MAX_ENTRIES:,} files")
        if inside(entry, root) is None:
            raise SweepError(
                f"{entry.relative_to(folder) if entry != folder else folder.name}: not a "
                "regular file inside the sweep folder; it is not read"
            )


def find_sweeps(root: Path | None = None, depth: int = 3) -> list[str]:
    """Directories under the root (a few levels deep) that hold a runs or outcomes table."""
    root = (root or sweep_root()).resolve()
    found: list[str] = []

    def walk(folder: Path, level: int) -> None:
        if level > depth or len(found) >= 50:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        names = {p.name for p in children}
        if names & {"runs", "outcomes"} or (folder / "runs.parquet").is_file():
            found.append(str(folder.relative_to(root)) if folder != root else ".")
        for child in children:
            if child.name in SKIP_DIRS or child.name.startswith("."):
                continue
            walk(child, level + 1)

    walk(root, 0)
    return found


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    for candidate in (folder / name, folder / f"{name}.parquet"):
        if candidate.exists() and inside(candidate, folder) is not None:
            return pd.read_parquet(candidate)
    return None


@dataclass
class Sweep:
    path: Path
    data: pd.DataFrame
    parameters: list[str]
    outcomes: list[str]
    sensitivity: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _numeric(frame: pd.DataFrame, columns) -> list[str]:
    return [
        c
        for c in columns
        if c not in ID_COLUMNS
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].nunique(dropna=True) > 1
    ]


def load(path: Path, root: Path | None = None) -> Sweep:
    """Read a sweep directory (with ``corridors.analysis.load_sweep`` when it exists), once
    :func:`check_tree` has found nothing in it that leads outside ``root``."""
    check_tree(path, (root or sweep_root()).resolve())
    notes = []
    runs = _read_table(path, "runs")
    outcomes = _read_table(path, "outcomes")
    data = None
    try:
        from corridors.analysis import load_sweep  # type: ignore[attr-defined]
    except ImportError:
        load_sweep = None
    if load_sweep is not None:
        try:
            data = load_sweep(path)
            notes.append("read with corridors.analysis.load_sweep")
        except Exception as exc:  # a half-written sweep: fall back to the tables
            notes.append(f"load_sweep failed ({type(exc).__name__}: {exc}); read the tables")
    if data is None:
        if runs is None or outcomes is None:
            raise SweepError(f"{path.name} has no runs and outcomes tables (Parquet)")
        if "run_id" not in runs.columns or "run_id" not in outcomes.columns:
            raise SweepError("the runs and outcomes tables need a run_id column")
        data = runs.merge(outcomes, on="run_id", how="inner", suffixes=("", "_outcome"))
    manifest = data.attrs.get("manifest") or {}
    declared = (manifest.get("design") or {}).get("parameters") or []
    if declared:
        parameters = _numeric(data, [c for c in declared if c in data.columns])
    elif runs is not None:
        parameters = _numeric(data, [c for c in runs.columns if c in data.columns])
    else:
        parameters = _numeric(data, [c for c in data.columns if c.startswith(PARAMETER_PREFIXES)])
    outcomes_cols = [c for c in _numeric(data, data.columns) if c not in parameters]
    if not parameters:
        raise SweepError(f"{path.name}: found no parameter that varies across runs")
    if not outcomes_cols:
        raise SweepError(f"{path.name}: found no numeric outcome that varies across runs")
    return Sweep(path, data, parameters, outcomes_cols, _read_sensitivity(path), notes)


SENSITIVITY_FILES = (
    "sobol.csv",
    "morris.csv",
    "sensitivity.parquet",
    "sensitivity.csv",
    "sensitivity.json",
)
"""Sensitivity tables a sweep directory may hold (``corridors analyze DIR sobol`` writes
``sobol.csv``, ``morris`` writes ``morris.csv``)."""


def _read_sensitivity(path: Path) -> dict[str, pd.DataFrame]:
    """Sensitivity indices saved with the sweep (Sobol, Morris), by file name."""
    out: dict[str, pd.DataFrame] = {}
    for name in SENSITIVITY_FILES:
        file = path / name
        if not file.is_file() or inside(file, path) is None:
            continue
        try:
            if file.suffix == ".parquet":
                out[name] = pd.read_parquet(file)
            elif file.suffix == ".csv":
                out[name] = pd.read_csv(file)
            else:
                data = json.loads(file.read_text(encoding="utf-8"))
                out[name] = (
                    pd.json_normalize(data) if isinstance(data, list) else pd.DataFrame(data)
                )
        except (OSError, ValueError):
            continue
    return out


def binned(values: pd.Series, max_bins: int = 8) -> pd.Series:
    """Levels of a parameter: itself when it has few values (a grid), else quantile bins
    labelled by their midpoints (a Latin hypercube or Sobol design), about √n of them."""
    if values.nunique() <= max_bins:
        return values
    bins = min(max_bins, max(2, round(len(values) ** 0.5)))
    cut = pd.qcut(values, q=bins, duplicates="drop")
    return cut.map(lambda iv: round(float(iv.mid), 6)).astype(float)


def heatmap_table(sweep: Sweep, x: str, y: str, outcome: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"x": binned(sweep.data[x]), "y": binned(sweep.data[y]), "o": sweep.data[outcome]}
    )
    return frame.pivot_table(index="y", columns="x", values="o", aggfunc="mean").sort_index(
        ascending=False
    )


def heatmap_figure(sweep: Sweep, x: str, y: str, outcome: str) -> Figure:
    table = heatmap_table(sweep, x, y, outcome)
    fig = Figure(figsize=(5.6, 4.2), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [f"{v:g}" for v in table.columns], fontsize=8)
    ax.set_yticks(range(len(table.index)), [f"{v:g}" for v in table.index], fontsize=8)
    ax.set_xlabel(x, fontsize=9)
    ax.set_ylabel(y, fontsize=9)
    ax.set_title(f"mean {outcome}", fontsize=10, loc="left")
    fig.colorbar(image, ax=ax)
    if table.size <= 100:
        for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color="w")
    return fig


def distribution_figure(sweep: Sweep, outcome: str, by: str | None = None) -> Figure:
    fig = Figure(figsize=(5.6, 3.0), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    data = sweep.data
    if by and data[by].nunique() <= 6:
        for level, group in data.groupby(by):
            ax.hist(group[outcome].dropna(), bins=20, alpha=0.5, label=f"{by}={level:g}")
        ax.legend(fontsize=7)
    else:
        ax.hist(data[outcome].dropna(), bins=30, color="#1565c0", alpha=0.8)
    ax.set_title(f"distribution of {outcome} ({len(data)} runs)", fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    return fig


def rank_sensitivity(sweep: Sweep, outcome: str) -> pd.Series:
    """Spearman rank correlation of each parameter with the outcome (a quick sensitivity
    index for any design; Sobol/Morris indices saved by the sweep are shown when present)."""
    out = {}
    for p in sweep.parameters:
        pair = sweep.data[[p, outcome]].dropna()
        out[p] = float(pair[p].rank().corr(pair[outcome].rank())) if len(pair) > 2 else np.nan
    return pd.Series(out).sort_values(key=lambda s: -s.abs())


def sensitivity_figure(sweep: Sweep, outcome: str) -> Figure:
    rho = rank_sensitivity(sweep, outcome).fillna(0.0)
    fig = Figure(figsize=(5.6, 0.6 + 0.35 * len(rho)), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    ax.barh(list(rho.index)[::-1], list(rho.to_numpy())[::-1], color="#6a1b9a")
    ax.axvline(0, color="#616161", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_title(f"Spearman ρ with {outcome}", fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    return fig


def _table_html(frame: pd.DataFrame, limit: int = 30) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{v:.4g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in frame.head(limit).itertuples(index=False)
    )
    return (
        f'<table style="font-size:12px"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _image(fig: Figure):
    return widgets.Image.element(
        value=figure_png(fig), format="png", layout={"max_width": "100%", "height": "auto"}
    )


@solara.component
def SweepExplorer():
    """Open one of the sweep directories the server found: the browser picks from that list
    and the choice is checked against it again (a tampered value opens nothing)."""
    root = sweep_root()
    rescan = solara.use_reactive(0)
    found = solara.use_memo(lambda: find_sweeps(root), [str(root), rescan.value])
    chosen = solara.use_reactive(found[0] if found else None)
    sweep = solara.use_reactive(None)
    error = solara.use_reactive("")
    x = solara.use_reactive(None)
    y = solara.use_reactive(None)
    outcome = solara.use_reactive(None)

    @guarded(error.set)
    def open_dir() -> None:
        sweep.set(None)
        if chosen.value not in found:
            raise SweepError("choose one of the sweep directories listed")
        loaded = load(resolve_dir(chosen.value, root), root)
        error.set("")
        sweep.set(loaded)
        x.set(loaded.parameters[0])
        y.set(loaded.parameters[1] if len(loaded.parameters) > 1 else loaded.parameters[0])
        outcome.set(loaded.outcomes[0])

    with solara.Column(gap="6px", classes=["corridors-sweeps"]):
        solara.Text(
            f"Sweep directories found in the app's sweep folder: {len(found)}"
            if found
            else "No sweep directory found in the app's sweep folder (CORRIDORS_SWEEP_ROOT).",
            style={"font-size": "12px", "color": "#616161"},
        )
        with solara.Row(gap="8px", style={"align-items": "flex-end"}):
            solara.Select(
                "Sweep directory",
                values=found,
                value=chosen,
                dense=True,
                classes=["corridors-sweep-dir"],
            )
            solara.Button(
                "Open", on_click=open_dir, color="primary", classes=["corridors-sweep-open"]
            )
            solara.Button(
                "Look again",
                on_click=lambda: rescan.set(rescan.value + 1),
                outlined=True,
                classes=["corridors-sweep-rescan"],
            )
        if error.value:
            solara.Error(error.value, dense=True, classes=["corridors-sweep-error"])
        s: Sweep | None = sweep.value
        if s is None:
            return
        solara.Text(
            f"{len(s.data)} runs; parameters: {', '.join(s.parameters)}"
            + (f" ({'; '.join(s.notes)})" if s.notes else ""),
            style={"font-size": "12px"},
            classes=["corridors-sweep-summary"],
        )
        with solara.Row(gap="8px"):
            solara.Select("Outcome", values=s.outcomes, value=outcome, dense=True)
            solara.Select("x parameter", values=s.parameters, value=x, dense=True)
            solara.Select("y parameter", values=s.parameters, value=y, dense=True)
        if outcome.value in s.outcomes and x.value in s.parameters and y.value in s.parameters:
            half = {"flex": "1 1 380px", "min-width": "0"}
            with solara.Row(gap="16px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
                with solara.Column(style=half):
                    _image(heatmap_figure(s, x.value, y.value, outcome.value))
                    _image(distribution_figure(s, outcome.value, x.value))
                with solara.Column(style=half):
                    _image(sensitivity_figure(s, outcome.value))
                    for name, saved in s.sensitivity.items():
                        rows = (
                            saved[saved["outcome"] == outcome.value]
                            if "outcome" in saved.columns
                            else saved
                        )
                        if rows.empty:
                            continue
                        solara.Text(f"Indices saved with the sweep ({name})")
                        solara.HTML(tag="div", unsafe_innerHTML=_table_html(rows))
