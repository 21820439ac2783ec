"""Rewrite the calibration scorecards of every built-in scenario with targets (docs/calibration/).

    make scorecards                     # 50 seeds each
    python scripts/scorecards.py --seeds 50 --out docs/calibration

Writes <scenario>.md and <scenario>.csv per scenario and index.md, the table of all of them
(checks passed, fit targets, construction targets). The README beside them is written by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from corridors.analysis.calibration import calibrate, write_scorecard
from corridors.scenarios import builtin_names, load_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("docs/calibration"))
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    rows = []
    fitted = []
    for name in builtin_names():
        if not load_scenario(name).targets:
            continue
        print(f"{name}: {args.seeds} seeds …", flush=True)
        spec, _, card = calibrate(name, seeds=args.seeds, workers=args.workers)
        command = f"corridors calibrate {name} --seeds {args.seeds} --out {args.out}"
        write_scorecard(spec, card, args.out, command, args.seeds, name)
        for target in spec.targets:
            if target.role == "fit":
                params = ", ".join(f"`{p}`" for p in target.fitted)
                fitted.append(f"| {name} | {target.name} | {params} |")
        checks = card[card.role == "check"]
        fits = card[card.role == "fit"]
        passed = int((checks.result == "pass").sum())
        rows.append(
            f"| [{name}]({name}.md) | {spec.meta.title} | {passed} of {len(checks)} "
            f"| {int((fits.result == 'pass').sum())} of {len(fits)} "
            f"| {int((card.role == 'construction').sum())} |"
        )
    index = [
        "# Scorecards",
        "",
        f"Made on {dt.date.today().isoformat()} with `make scorecards` ({args.seeds} seeds each). "
        "Read [README.md](README.md) for what a pass does and does not mean.",
        "",
        "| scenario | title | checks passed | fit targets passed (in sample) "
        "| by construction (not counted) |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        "## What was fitted to what",
        "",
        "| scenario | fit target | parameters fitted to it |",
        "| --- | --- | --- |",
        *fitted,
        "",
    ]
    (args.out / "index.md").write_text("\n".join(index), "utf-8")
    print(f"wrote {args.out / 'index.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
