"""Export a sweep in EMA Workbench's results format, so its scenario discovery (PRIM, CART)
and plots can be used: ``experiments, outcomes = ema_workbench.load_results(FILE)``.

The archive is a gzipped tar holding what ``ema_workbench.save_results`` (2.x, 3.x) writes:

* ``experiments.csv`` — one row per successful run: the swept parameters, then ``scenario``
  (the design point), ``policy`` (the variants, or ``none``) and ``model`` (the scenario name);
* one file per outcome: ``NAME.cls`` (a scalar per run, one per line) or ``NAME.csv`` (a time
  series: one row per run, one column per kept step, from the sweep's series);
* ``metadata.json`` — ``{"version": 0.1, "outcomes": [[class, name, file], ...],
  "experiments": {column: dtype}}``.

EMA requires names to be Python identifiers: ``NKR.shortage_days`` becomes
``NKR_shortage_days``; ``corridors_names.json`` in the archive maps each back. Date outcomes
and date parameters become days since the scenario's start (``NAME_day``; empty when the event
never happened); runs that raised are left out.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import keyword
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.analysis.storage import Sweep, open_sweep
from corridors.analysis.sweepstats import as_dates, is_date_column, ok_runs

VERSION = 0.1
"""``metadata.json`` version EMA Workbench's ``load_results`` reads."""


def identifier(name: str, taken: set[str]) -> str:
    """A unique Python identifier for ``name``."""
    ident = re.sub(r"\W+", "_", name).strip("_") or "x"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"_{ident}"
    base, i = ident, 2
    while ident in taken:
        ident = f"{base}_{i}"
        i += 1
    taken.add(ident)
    return ident


def _csv(frame: pd.DataFrame, header: bool) -> bytes:
    return frame.to_csv(header=header, index=False).encode("utf-8")


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    archive.addfile(info, io.BytesIO(data))


def ema_results(sweep: Sweep) -> tuple[pd.DataFrame, dict[str, tuple[str, np.ndarray]], dict]:
    """``(experiments, {ema name: (outcome class, values)}, {ema name: original name})``."""
    frame = ok_runs(sweep.frame).sort_values("run_id").reset_index(drop=True)
    manifest = sweep.manifest
    start = dt.date.fromisoformat(manifest["scenario_start"])
    taken: set[str] = set()
    names: dict[str, str] = {}
    experiments = pd.DataFrame(index=frame.index)
    for param in sweep.parameters:
        values = frame[param]
        if values.map(lambda v: isinstance(v, dt.date)).all():
            ident = identifier(f"{param}_day", taken)  # days since the start: PRIM can cut it
            experiments[ident] = values.map(lambda v: (v - start).days).astype(np.int64)
        else:
            ident = identifier(param, taken)
            experiments[ident] = values
        names[ident] = param
    for column in ("scenario", "policy", "model"):
        taken.add(column)
    variants = manifest["spec"].get("variants") or []
    experiments["scenario"] = frame["point"].astype(np.int64)
    experiments["policy"] = "+".join(variants) or "none"
    experiments["model"] = manifest["scenario"]

    outcomes: dict[str, tuple[str, np.ndarray]] = {}
    for name in sweep.outcome_names:
        values = frame[name]
        if is_date_column(values):
            days = (as_dates(values) - pd.Timestamp(start)).dt.days.astype(float)
            ident = identifier(f"{name}_day", taken)
            outcomes[ident] = ("ScalarOutcome", days.to_numpy())
        elif (
            pd.api.types.is_bool_dtype(values)
            or pd.api.types.is_numeric_dtype(values)
            or values.isna().all()  # missing in every run (an event that never happened)
        ):
            ident = identifier(name, taken)
            outcomes[ident] = ("ScalarOutcome", pd.to_numeric(values).astype(float).to_numpy())
        else:
            continue
        names[ident] = name
    series = sweep.series
    if len(series):
        series = series[series["run_id"].isin(frame["run_id"])]
        for (entity, variable), part in series.groupby(["entity", "variable"], sort=True):
            wide = part.pivot_table(index="run_id", columns="step", values="value", aggfunc="first")
            wide = wide.reindex(frame["run_id"])
            ident = identifier(f"{entity}_{variable}", taken)
            outcomes[ident] = ("ArrayOutcome", wide.to_numpy(dtype=float))
            names[ident] = f"{entity}.{variable}"
    return experiments, outcomes, names


def _dtype_name(dtype: Any) -> str:
    """The dtype as EMA records it; text is ``object`` (read back as a category)."""
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return np.dtype(dtype).name
    return "object"


def export_ema(sweep_dir: str | Path, file: str | Path) -> Path:
    """Write the sweep in ``sweep_dir`` as an EMA Workbench results archive (``.tar.gz``)."""
    sweep = open_sweep(sweep_dir)
    experiments, outcomes, names = ema_results(sweep)
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    meta_outcomes: list[list[str]] = []
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, "w:gz") as archive:
        _add(archive, "experiments.csv", _csv(experiments, header=True))
        for ident, (klass, values) in outcomes.items():
            filename = f"{ident}.cls" if klass == "ScalarOutcome" else f"{ident}.csv"
            _add(archive, filename, _csv(pd.DataFrame(values), header=False))
            meta_outcomes.append([klass, ident, filename])
        metadata: dict[str, Any] = {
            "version": VERSION,
            "outcomes": meta_outcomes,
            "experiments": {k: _dtype_name(v) for k, v in experiments.dtypes.to_dict().items()},
        }
        _add(archive, "metadata.json", json.dumps(metadata).encode("utf-8"))
        _add(archive, "corridors_names.json", json.dumps(names, indent=2).encode("utf-8"))
    tmp.replace(file)
    return file
