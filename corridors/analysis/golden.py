"""Golden outputs: stored summaries of every built-in scenario for fixed seeds.

A change to the model that moves any outcome beyond its tolerance fails the golden test with a
readable list of the outcomes that moved. Refreshing them is deliberate::

    make golden            # python -m corridors.analysis.golden --write tests/golden

and the commit that does it says why the numbers moved.

Tolerances: numbers agree when ``|new − old| <= abs + rel × |old|`` (``rel`` 1e-3, ``abs``
1e-6 by default: a run is a pure function of scenario and seed, so only deliberate changes,
not platform noise, should exceed them); dates and other text must match exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SEEDS = (0, 1, 2)
REL = 1e-3
ABS = 1e-6
IGNORED = ("scenario", "variants", "seed")
"""Summary keys that name the run rather than describe what happened."""


def golden_record(
    name: str, seeds: Sequence[int] = SEEDS, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The summaries of ``name`` on ``seeds``: ``{"outcomes": {key: [value per seed]}}``."""
    from corridors.analysis.run import run_scenario

    per_seed = []
    for seed in seeds:
        result = run_scenario(name, seed=seed, record_flows=False, overrides=overrides)
        summary = result.summary
        per_seed.append({k: v for k, v in summary.items() if k not in IGNORED})
    keys = sorted({k for s in per_seed for k in s})
    return {
        "scenario": name,
        "seeds": list(seeds),
        "tolerance": {"rel": REL, "abs": ABS},
        "outcomes": {k: [_plain(s.get(k)) for s in per_seed] for k in keys},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    return value


def differences(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Readable lines for every outcome (and seed) that moved beyond tolerance."""
    tol = golden.get("tolerance", {})
    rel, abs_ = float(tol.get("rel", REL)), float(tol.get("abs", ABS))
    seeds = golden["seeds"]
    old, new = golden["outcomes"], now["outcomes"]
    lines = []
    for key in sorted(set(old) - set(new)):
        lines.append(f"{key}: gone (was {old[key]})")
    for key in sorted(set(new) - set(old)):
        lines.append(f"{key}: new outcome ({new[key]})")
    for key in sorted(set(old) & set(new)):
        for seed, a, b in zip(seeds, old[key], new[key], strict=False):
            if _same(a, b, rel, abs_):
                continue
            change = ""
            if isinstance(a, int | float) and isinstance(b, int | float) and a:
                change = f" ({(b - a) / abs(a):+.1%})"
            lines.append(f"{key} (seed {seed}): {a} → {b}{change}")
    return lines


def _same(a: Any, b: Any, rel: float, abs_: float) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return abs(b - a) <= abs_ + rel * abs(a)
    return a == b


def golden_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.json"


def write(folder: Path, names: Sequence[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = golden_path(folder, name)
        record = golden_record(name)
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {path} ({len(record['outcomes'])} outcomes × {len(record['seeds'])} seeds)")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    from corridors.scenarios import builtin_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, required=True, help="folder for the golden files")
    parser.add_argument("names", nargs="*", help="scenarios (default: every built-in)")
    args = parser.parse_args(argv)
    write(args.write, args.names or builtin_names())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
