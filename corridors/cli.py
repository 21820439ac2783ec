"""The ``corridors`` command. Thin: it parses arguments and calls the analysis API.

Exit codes: 0 success, 1 internal error, 2 bad input (scenario file, variant, ``--set`` value or
option). Bad input never shows a traceback; set ``CORRIDORS_DEBUG=1`` to see one for a bug.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corridors.scenarios import (
    Scenario,
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_set,
    variant_names,
)

app = typer.Typer(
    name="corridors",
    help="Simulate conflicts in which supply lines decide outcomes.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out_console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

BAD_INPUT = 2

ScenarioArg = Annotated[
    str, typer.Argument(help="Built-in scenario name (see `corridors list`) or a YAML file.")
]
VariantOpt = Annotated[
    list[str] | None,
    typer.Option("--variant", "-v", help="Counterfactual variant to apply (repeatable)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="PATH=VALUE",
        help="Override a field by dotted path, e.g. links.lachin.capacity_t_per_day=400.",
    ),
]


def _print_error(text: str) -> None:
    """One ``error:`` line on stderr; the text is shown as is (names like ``[x]`` are not
    markup) and never wrapped, so each problem stays on one line."""
    err_console.print(
        f"[bold red]error:[/] {escape(text)}", markup=True, emoji=False, soft_wrap=True
    )


def _fail(error: ScenarioError) -> typer.Exit:
    for problem in error.problems or [error]:
        _print_error(str(problem))
    return typer.Exit(BAD_INPUT)


def _load(scenario: str, variants: list[str] | None, sets: list[str] | None) -> Scenario:
    overrides: dict[str, Any] = {}
    for assignment in sets or []:
        path, value = parse_set(assignment)
        overrides[path] = value
    return load_scenario(scenario, variants=variants or (), overrides=overrides)


@app.command()
def run(
    scenario: ScenarioArg,
    variant: VariantOpt = None,
    days: Annotated[int | None, typer.Option(min=1, help="Simulate only this many days.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same results.")] = 0,
    set_: SetOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: out/SCENARIO).")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
) -> None:
    """Run a scenario end to end: timeline, summary, and output files."""
    from corridors.analysis.export import write_run
    from corridors.analysis.run import run_scenario

    try:
        spec = _load(scenario, variant, set_)
        result = run_scenario(spec, seed=seed, days=days)
    except ScenarioError as exc:
        raise _fail(exc) from None
    label = spec._provenance.name if spec._provenance else Path(scenario).stem
    if variant:
        label += "+" + "+".join(variant)
    out = out or Path("out") / label
    paths = write_run(result, out, plots=plots)
    _print_timeline(result)
    _print_summary(result)
    out_console.print(
        f"\nWrote {len(paths)} files to [bold]{escape(str(out))}[/]: "
        + ", ".join(p.name for p in paths.values()),
        soft_wrap=True,
    )


def _print_timeline(result: Any) -> None:
    from corridors.model.eventlog import EventLog

    events = result.events
    key = events[events.kind.isin(EventLog.KEY_KINDS)]
    table = Table(title=f"{result.scenario.meta.title} — key events", show_lines=False)
    table.add_column("date", no_wrap=True)
    table.add_column("day", justify="right")
    table.add_column("what happened, and why")
    for row in key.itertuples():
        table.add_row(str(row.date), str(row.step), escape(row.message))
    if key.empty:
        table.add_row("—", "", "no key events")
    out_console.print(table)


def _print_summary(result: Any) -> None:
    table = Table(title="Summary")
    table.add_column("outcome")
    table.add_column("value", justify="right")
    for name, value in result.summary.items():
        if name.startswith(("link.", "flow.")) and not value:
            continue
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        table.add_row(escape(name), escape(shown))
    out_console.print(table)


@app.command()
def validate(file: ScenarioArg, variant: VariantOpt = None, set_: SetOpt = None) -> None:
    """Check a scenario file (with variants and overrides); list every problem found."""
    try:
        spec = _load(file, variant, set_)
    except ScenarioError as exc:
        raise _fail(exc) from None
    out_console.print(
        f"OK: {spec.meta.title} — {len(spec.states)} states, {len(spec.links)} links, "
        f"{len(spec.flows)} flows, {len(spec.events)} events, {spec.calendar.n_days} days "
        f"from {spec.calendar.start}",
        soft_wrap=True,
    )


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema (point your editor's YAML support at it)."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command("list")
def list_scenarios() -> None:
    """List the built-in scenarios and their variants."""
    table = Table(title="Built-in scenarios")
    table.add_column("name")
    table.add_column("title")
    table.add_column("variants")
    for name in builtin_names():
        try:
            title = load_scenario(name).meta.title
        except ScenarioError as exc:  # pragma: no cover - the library is tested
            title = f"(invalid: {exc})"
        table.add_row(name, title, ", ".join(variant_names(name)) or "—")
    out_console.print(table)


def main() -> None:
    """Entry point: bad input exits 2 with a message; bugs exit 1 without a traceback
    unless CORRIDORS_DEBUG is set."""
    try:
        app()
    except ScenarioError as exc:
        for problem in exc.problems or [exc]:
            _print_error(str(problem))
        sys.exit(BAD_INPUT)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("CORRIDORS_DEBUG"):
            raise
        detail = " ".join(str(exc).split())  # one line, whatever the exception's text
        err_console.print(
            f"internal error: {type(exc).__name__}: {detail} — this is a bug in Corridors; "
            "rerun with CORRIDORS_DEBUG=1 for a traceback",
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
