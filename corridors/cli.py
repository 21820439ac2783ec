"""The ``corridors`` command. Thin: it parses arguments and calls the analysis API.

Exit codes: 0 success, 1 internal error, 2 bad input (scenario file, variant, ``--set`` value or
option). Bad input never shows a traceback; set ``CORRIDORS_DEBUG=1`` to see one for a bug.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
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
)

app = typer.Typer(
    name="corridors",
    help="Simulate conflicts in which supply lines decide outcomes.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        import corridors

        out_console.print(f"corridors {corridors.__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Simulate conflicts in which supply lines decide outcomes."""


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


def _overrides(sets: list[str] | None) -> dict[str, Any]:
    """``--set PATH=VALUE`` options as an overrides mapping (raises ScenarioError)."""
    return dict(parse_set(assignment) for assignment in sets or [])


def _load(scenario: str, variants: list[str] | None, sets: list[str] | None) -> Scenario:
    return load_scenario(scenario, variants=variants or (), overrides=_overrides(sets))


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
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output files of an earlier run in --out.")
    ] = False,
) -> None:
    """Run a scenario end to end: timeline, summary, and output files.

    The earlier output in the default directory (out/SCENARIO) is removed first, so no stale plot
    is left beside new data; a directory given with --out must be new or hold no earlier output,
    unless --force is given."""
    from corridors.analysis.export import RunDirError, prepare_run_dir, write_run
    from corridors.analysis.run import run_scenario

    try:
        spec = _load(scenario, variant, set_)
        label = spec._provenance.name if spec._provenance else Path(scenario).stem
        if variant:
            label += "+" + "+".join(variant)
        if out is None:  # the default directory is the command's own: emptied, never refused
            out, force = Path("out") / label, True
        prepare_run_dir(out, force)
        result = run_scenario(spec, seed=seed, days=days)
    except ScenarioError as exc:
        raise _fail(exc) from None
    except RunDirError as exc:
        _print_error(f"--out: {exc}")
        raise typer.Exit(BAD_INPUT) from None
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
    """List the built-in scenarios, their titles, and what each variant changes."""
    from corridors.analysis.catalogue import TEMPLATES, describe

    names = builtin_names()
    for name in [n for n in names if n not in TEMPLATES]:
        try:
            info = describe(name)
        except ScenarioError as exc:  # pragma: no cover - the library is tested
            out_console.print(f"{escape(name)}: (invalid: {escape(str(exc))})", soft_wrap=True)
            continue
        out_console.print(f"[bold]{escape(name)}[/]  {escape(info.title)}", soft_wrap=True)
        if info.variants:
            out_console.print("  variants (add one with --variant NAME):")
        for v in info.variants:
            text = f"  - [cyan]{escape(v.name)}[/]: {escape(v.changes or v.title)}"
            out_console.print(text, soft_wrap=True)
        out_console.print()
    templates = [n for n in names if n in TEMPLATES]
    if templates:
        out_console.print(
            f"To write your own scenario, copy the template ({', '.join(templates)}); "
            "see docs/scenarios.md.",
            soft_wrap=True,
        )


@app.command()
def brief(scenario: ScenarioArg, variant: VariantOpt = None) -> None:
    """Print a scenario's briefing, questions and things to try (Markdown)."""
    from corridors.analysis.catalogue import brief_text

    try:
        spec = _load(scenario, variant, None)
    except ScenarioError as exc:
        raise _fail(exc) from None
    sys.stdout.write(brief_text(spec))


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder (from `corridors run`).")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: RUN_DIR/report.html).")
    ] = None,
) -> None:
    """Write a one-file report of a run (HTML that works offline, and Markdown) for a class."""
    from corridors.analysis.report import ReportError, load_run, write_report

    try:
        result = load_run(run_dir)
    except ReportError as exc:
        _print_error(str(exc))
        raise typer.Exit(BAD_INPUT) from None
    html_path = out or run_dir / "report.html"
    paths = write_report(result, html_path, countries=_countries())
    out_console.print(f"Wrote {', '.join(escape(str(p)) for p in paths)}", soft_wrap=True)


def _countries() -> tuple:
    """Country borders for the report's map, when the app's assets are installed."""
    try:
        from corridors.app import geo

        return geo.load_countries()
    except Exception:  # no borders: the map shows states and links only
        return ()


@app.command("app")
def app_command(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    dev: Annotated[bool, typer.Option(help="Development mode: reload on code changes.")] = False,
    session_timeout: Annotated[
        str | None,
        typer.Option(help="End a session this long after its page disconnects (e.g. 3m, 1h)."),
    ] = None,
    max_sessions: Annotated[
        int | None, typer.Option(help="Most browser sessions at once (default 60).")
    ] = None,
) -> None:
    """Serve the browser front end (Solara) on HOST:PORT; works offline once the assets are
    fetched (`python -m corridors.app.assets`, done by `make app`). Loopback only unless
    --host says otherwise; see docs/security.md before serving a class network."""
    from corridors.app.serve import serve

    raise typer.Exit(
        serve(
            host=host,
            port=port,
            dev=dev,
            session_timeout=session_timeout,
            max_sessions=max_sessions,
        )
    )


# ---------------------------------------------------------------------------- sweeps

OutcomeOpt = Annotated[
    list[str] | None,
    typer.Option("--outcome", "-o", help="Outcome (summary key) to analyse; repeatable."),
]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        "-w",
        metavar="NAME<=VALUE",
        help="Condition whose probability to report, e.g. NKR.first_shortage_date<=2023-03-01.",
    ),
]
ANALYSES = ("summary", "sobol", "morris", "heatmap")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:,.4g}"
    return "—" if value is None else str(value)


def _print_frame(frame: Any, title: str, limit: int = 60) -> None:
    """A table of a DataFrame; piped output is not squeezed to 80 columns."""
    from pandas.api.types import is_numeric_dtype

    table = Table(title=title)
    for column in frame.columns:
        numeric = is_numeric_dtype(frame[column]) and frame[column].dtype != bool
        table.add_column(escape(str(column)), justify="right" if numeric else "left")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(escape(_fmt(v)) for v in row))
    wide = out_console if out_console.is_terminal else Console(highlight=False, width=200)
    wide.print(table)
    if len(frame) > limit:
        out_console.print(f"… {len(frame) - limit} more rows in the CSV")


@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (YAML); see docs/sweeps.md.")],
    workers: Annotated[
        int | None, typer.Option(min=1, help="Parallel workers (default: all cores; 1 = serial).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            help="Run on Dask: 'local' (embedded cluster) or a scheduler tcp://host:port."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Sweep directory (default: out/sweeps/NAME).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the sweep in --out, skipping done runs.")
    ] = False,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Runs per chunk and part file (default: automatic).")
    ] = None,
) -> None:
    """Run a parameter sweep: every run's parameters and outcomes into a Parquet dataset."""
    from corridors.analysis.sweep import run_sweep
    from corridors.analysis.sweepspec import load_spec

    loaded = load_spec(spec)
    out = out or Path("out") / "sweeps" / loaded.label
    report = run_sweep(
        loaded, out, workers=workers, dask=dask, resume=resume, chunk_size=chunk_size, progress=True
    )
    done = report.skipped + report.completed
    where = f"[bold]{escape(str(out))}[/]"
    if report.completed:
        out_console.print(
            f"Sweep '{escape(loaded.label)}': {report.completed} runs in {report.elapsed_s:.1f} s "
            f"({report.runs_per_s:.1f} runs/s) on {escape(report.executor)}"
            + (f", {report.skipped} already done" if report.skipped else "")
            + f"; {done} of {report.planned} runs in {where}",
            soft_wrap=True,
        )
    elif not report.interrupted:
        out_console.print(
            f"Sweep '{escape(loaded.label)}': nothing to run; {done} of {report.planned} runs "
            f"already in {where}",
            soft_wrap=True,
        )
    if report.recovered:
        err_console.print(
            f"{len(report.recovered)} chunk(s) lost to a dead worker ran again on a fresh pool "
            f"({report.restarts} restart{'s' * (report.restarts > 1)})",
            soft_wrap=True,
            markup=False,
        )
    if report.errors:
        out_console.print(
            f"{report.errors} run{'s' * (report.errors > 1)} raised an error; they are recorded "
            f"in {escape(str(out / 'errors'))} (corridors.analysis.open_sweep(DIR).errors)",
            soft_wrap=True,
        )
    if report.interrupted:
        err_console.print(
            f"interrupted: {report.pending} runs not done; continue with --resume", soft_wrap=True
        )
        raise typer.Exit(130)
    if report.failures:
        for failure in report.failures[:5]:
            _print_error(f"chunk lost ({failure})")
        _print_error(f"{report.pending} runs not done; rerun with --resume to finish them")
        raise typer.Exit(1)


@app.command()
def analyze(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A sweep directory.")],
    kind: Annotated[str, typer.Argument(metavar="KIND", help="summary, sobol, morris or heatmap.")],
    outcome: OutcomeOpt = None,
    where: WhereOpt = None,
    by: Annotated[str | None, typer.Option(help="summary: group by this parameter.")] = None,
    x: Annotated[str | None, typer.Option("--x", help="heatmap: parameter across.")] = None,
    y: Annotated[str | None, typer.Option("--y", help="heatmap: parameter up.")] = None,
    bins: Annotated[int, typer.Option(min=1, help="Bins for a continuous parameter.")] = 5,
    conf: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level.")] = 0.95,
    resamples: Annotated[
        int, typer.Option(min=10, help="sobol/morris: bootstrap resamples.")
    ] = 1000,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the tables and plots here (default: the sweep directory DIR)."),
    ] = None,
) -> None:
    """Analyse a sweep: summary and probabilities, Sobol or Morris indices, or a heatmap.

    Tables (CSV) and plots (PNG) are written into --out (default DIR); a file of the same
    analysis there is replaced."""
    from corridors.analysis import sensitivity, sweepstats
    from corridors.analysis.storage import open_sweep
    from corridors.scenarios.loader import suggest

    if kind not in ANALYSES:
        raise sweepstats.fail(
            "KIND",
            f"unknown analysis '{kind}' (one of {', '.join(ANALYSES)})" + suggest(kind, ANALYSES),
        )
    data = open_sweep(directory)
    frame = data.frame
    target = out if out is not None else directory
    if target.exists() and not target.is_dir():
        raise sweepstats.fail("--out", f"{target} exists and is not a directory")
    for name in outcome or []:
        sweepstats.check_column(frame, name, "--outcome", "outcome")
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    if kind == "summary":
        if by is not None:
            sweepstats.check_column(frame, by, "--by", "parameter")
        conditions = [sweepstats.parse_condition(w, frame) for w in where or []]
        names = outcome or data.outcome_names
        table = sweepstats.outcome_summary(frame, names, by=by, bins=bins)
        ok = int((frame["status"] == "ok").sum())
        _print_frame(table, f"Outcomes over {ok} successful runs of {len(frame)}")
        written.append(target / "summary.csv")
        table.to_csv(written[-1], index=False)
        if conditions:
            probs = sweepstats.probabilities(frame, conditions, by=by, bins=bins)
            _print_frame(probs, "Probability (Wilson 95% interval)")
            written.append(target / "probability.csv")
            probs.to_csv(written[-1], index=False)
    elif kind in ("sobol", "morris"):
        compute = sensitivity.sobol_indices if kind == "sobol" else sensitivity.morris_indices
        table = compute(data, outcome, conf_level=conf, resamples=resamples)
        if table.empty:
            raise sweepstats.fail("--outcome", "no numeric outcome varies in this sweep")
        _print_frame(table, f"{kind.capitalize()} indices ({conf:.0%} confidence half-widths)")
        written.append(target / f"{kind}.csv")
        table.to_csv(written[-1], index=False)
        written.append(sensitivity.plot_indices(table, kind, target / f"{kind}.png"))
    else:
        if x is None or y is None:
            raise sweepstats.fail("--x/--y", "a heatmap needs two parameters: --x P1 --y P2")
        for option, name in (("--x", x), ("--y", y)):
            sweepstats.check_column(frame, name, option, "parameter")
        if bool(outcome) == bool(where) or len(outcome or []) > 1 or len(where or []) > 1:
            raise sweepstats.fail(
                "--outcome/--where", "a heatmap shows one --outcome (its mean) or one --where"
            )
        condition = sweepstats.parse_condition(where[0], frame) if where else None
        name = outcome[0] if outcome else None
        table = sweepstats.heatmap_table(frame, x, y, outcome=name, condition=condition, bins=bins)
        what = f"P({condition.text})" if condition else f"mean {name}"
        stem = "heatmap_" + sweepstats.safe_name(f"{condition.text if condition else name}_{x}_{y}")
        _print_frame(table.reset_index(), f"{what} by {x} and {y}")
        written.append(target / f"{stem}.csv")
        table.to_csv(written[-1])
        written.append(
            sweepstats.plot_heatmap(
                table, target / f"{stem}.png", f"{what} — {data.manifest['name']}", what
            )
        )
    out_console.print("Wrote " + ", ".join(escape(str(p)) for p in written), soft_wrap=True)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A sweep directory.")],
    ema: Annotated[
        Path,
        typer.Option(help="Write EMA Workbench results (load with ema_workbench.load_results)."),
    ],
) -> None:
    """Export a sweep for other tools (EMA Workbench's results archive, for PRIM and CART)."""
    from corridors.analysis.ema import export_ema

    path = export_ema(directory, ema)
    out_console.print(f"Wrote [bold]{escape(str(path))}[/] (EMA Workbench results format)")


@app.command()
def compare(
    scenario: ScenarioArg,
    variant: VariantOpt = None,
    seeds: Annotated[int, typer.Option(min=2, help="Number of common seeds.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Base seed the common seeds derive from.")] = 0,
    days: Annotated[int | None, typer.Option(min=1, help="Simulate only this many days.")] = None,
    set_: SetOpt = None,
    outcome: OutcomeOpt = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Parallel workers (1 = serial).")
    ] = None,
    conf: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level.")] = 0.95,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: out/compare/...).")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write a PNG plot.")] = True,
    rank: Annotated[
        bool,
        typer.Option(
            help="Compare each --variant with the base separately and rank them (which link "
            "matters most); 'a+b' stacks two. Without it, several --variant stack into one."
        ),
    ] = False,
) -> None:
    """Paired counterfactual: base and variant on common seeds, differences with intervals.

    The war as distributions first — P(offensive), P(capitulation) within the calendar, the
    median offensive date and the median delay, each with a bootstrap interval — then each
    outcome's mean paired difference (variant − base); compare.csv, pairs.csv and compare.png.
    With --rank, levers.csv ranks the variants and each gets its own sub-directory."""
    from corridors.analysis.compare import compare_variant, default_out

    overrides = _overrides(set_)
    if rank:
        _rank(scenario, variant or [], seeds, seed, days, overrides, workers, conf, out, plots)
        return
    result = compare_variant(
        scenario,
        variant or [],
        seeds=seeds,
        seed=seed,
        days=days,
        overrides=overrides,
        outcomes=outcome,
        workers=workers,
        conf=conf,
    )
    shown = result.table if outcome else result.changed()
    columns = ["outcome", "base_mean", "variant_mean", "mean_diff", "ci_low", "ci_high", "note"]
    _print_frame(
        shown[columns],
        f"{result.label} − {result.scenario}: {len(result.seeds)} paired seeds, "
        f"{conf:.0%} bootstrap interval",
    )
    unchanged = len(result.table) - len(result.changed())
    if unchanged and not outcome:
        out_console.print(f"{unchanged} outcomes are identical in every pair (see compare.csv)")
    _warn_balanced(result.table)
    for error in result.errors[:5]:
        err_console.print(f"dropped pair: {error}", markup=False, soft_wrap=True)
    out = out or default_out(result)
    paths = result.write(out, plots=plots)
    out_console.print("Wrote " + ", ".join(escape(str(p)) for p in paths.values()), soft_wrap=True)


def _warn_balanced(table: Any, label: str = "variant") -> None:
    """Say so when the war's outcome is finely balanced: single runs disagree. ``label`` names
    the variant (several are ranked at once)."""
    if "note" not in table:
        return
    for _, row in table[table["note"].astype(str).str.startswith("finely balanced")].iterrows():
        note = str(row["note"]).replace("in variant", f"in {label}")
        err_console.print(
            f"warning: {row['outcome']} is {note} (base {row['base_mean']:.2f}, {label} "
            f"{row['variant_mean']:.2f}): single runs disagree; read the distribution, and add "
            "--seeds for a narrower interval",
            markup=False,
            soft_wrap=True,
        )


def _rank(
    scenario: str,
    variants: list[str],
    seeds: int,
    seed: int,
    days: int | None,
    overrides: dict[str, Any],
    workers: int | None,
    conf: float,
    out: Path | None,
    plots: bool,
) -> None:
    from corridors.analysis.compare import rank_levers
    from corridors.analysis.sweepstats import safe_name

    table, comparisons = rank_levers(
        scenario,
        variants,
        seeds=seeds,
        seed=seed,
        days=days,
        overrides=overrides,
        workers=workers,
        conf=conf,
    )
    columns = [
        c
        for c in (
            "lever",
            "p_offensive_base",
            "p_offensive_variant",
            "p_offensive_diff",
            "p_offensive_ci_low",
            "p_offensive_ci_high",
            "median_delay_days_diff",
            "median_delay_days_ci_low",
            "median_delay_days_ci_high",
            "median_offensive",
        )
        if c in table
    ]
    name = comparisons[0].scenario
    _print_frame(
        table[columns],
        f"Levers of {name}, most effective first: {len(comparisons[0].seeds)} paired seeds, "
        f"{conf:.0%} bootstrap intervals",
    )
    out_console.print(
        "median delay: runs without an offensive count as the calendar's end, so for a lever "
        "with few or no offensives it is a lower bound (censored)",
        soft_wrap=True,
    )
    for comparison in comparisons:
        _warn_balanced(comparison.table, "+".join(comparison.variants))
    out = out or Path("out") / "compare" / safe_name(f"{name}-levers")
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "levers.csv", index=False)
    written = [out / "levers.csv"]
    for comparison in comparisons:
        paths = comparison.write(out / safe_name("+".join(comparison.variants)), plots=plots)
        written.append(paths["table"].parent)
    out_console.print("Wrote " + ", ".join(escape(str(p)) for p in written), soft_wrap=True)


def _scorecard_table(card: Any, title: str) -> Table:
    table = Table(title=title)
    for column in (
        "target",
        "role",
        "record",
        "tolerance",
        "coverage (needed)",
        "seeds read",
        "misses (never)",
        "model median",
        "90% band",
        "result",
    ):
        table.add_column(column)
    for row in card.to_dict("records"):
        counted = row["role"] == "check"
        style = ("green" if row["result"] == "pass" else "bold red") if counted else "dim"
        record = f"{row['record']}" + (
            f" ({row['date']})" if row["date"] and row["record"] != row["date"] else ""
        )
        table.add_row(
            escape(row["target"]),
            escape(row["role"]),
            escape(record),
            escape(row["tolerance"]),
            f"{row['coverage']:.0%} ({row['needed']:.0%})",
            f"{row['read']} of {row['runs']}",
            f"{row['misses']} ({row['never']})",
            escape(row["model_median"]),
            escape(f"{row['model_5%']} – {row['model_95%']}"),
            f"[{style}]{row['result']}[/]",
        )
    return table


def _card_verdict(card: Any) -> int:
    """Print what the card says and return the exit code: 0 only when every check passes."""
    checks = card[card.role == "check"]
    missed = checks[checks.result != "pass"]
    fits = card[card.role == "fit"]
    built = card[card.role == "construction"]
    out_console.print(
        f"checks: {len(checks) - len(missed)} of {len(checks)} pass; fitted (in sample, not "
        f"evidence): {int((fits.result == 'pass').sum())} of {len(fits)} pass; by construction "
        f"(not counted): {len(built)}",
        markup=False,
    )
    if not len(checks):
        err_console.print("no check targets: nothing here is evidence", markup=False)
        return 1
    if len(missed):
        err_console.print(
            f"{len(missed)} of {len(checks)} checks missed: " + ", ".join(missed.target),
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0


def _progress_printer(label: str) -> Callable[..., None]:
    def show(done: int, total: int, *extra: float) -> None:
        tail = f", best loss {extra[0]:.4g}" if extra else ""
        err_console.print(f"{label}: {done}/{total}{tail}", markup=False, highlight=False)

    return show


@app.command()
def calibrate(
    scenario: ScenarioArg,
    variant: VariantOpt = None,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds to run (0 … N−1).")] = 50,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Parallel workers (default: 2).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the scorecard here as Markdown and CSV.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Score a scenario against its historical targets: coverage over N seeds, by role.

    A target passes when at least its `coverage` share of seeds (default 0.8) falls within its
    tolerance. Fit targets (parameters were tuned to them) and construction targets (an input
    sets them) are shown but not counted. Exits 0 only when every check passes, 1 when any
    check misses or there is none, 2 for bad input."""
    from corridors.analysis.calibration import calibrate as run_calibration
    from corridors.analysis.calibration import write_scorecard

    try:
        spec, _, card = run_calibration(
            scenario,
            seeds=seeds,
            variants=variant or (),
            workers=workers,
            progress=None if quiet else _progress_printer("seeds"),
        )
    except ScenarioError as exc:
        raise _fail(exc) from None
    out_console.print(_scorecard_table(card, f"Calibration: {spec.meta.title} ({seeds} seeds)"))
    if out is not None:
        name = spec._provenance.name if spec._provenance else Path(scenario).stem
        if variant:
            name += "+" + "+".join(variant)
        command = "corridors calibrate " + " ".join(
            [
                scenario,
                *(f"--variant {v}" for v in variant or []),
                f"--seeds {seeds}",
                f"--out {out}",
            ]
        )
        paths = write_scorecard(spec, card, out, command, seeds, name)
        out_console.print(
            "Wrote " + ", ".join(escape(str(p)) for p in paths.values()), soft_wrap=True
        )
    code = _card_verdict(card)
    if code:
        raise typer.Exit(code)


@app.command()
def fit(
    scenario: ScenarioArg,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="PATH[=LOW:HIGH]",
            help="Parameter to fit (repeatable); default: every parameter the fit targets "
            "name. Without bounds, ±50% around the scenario's value.",
        ),
    ] = None,
    variant: VariantOpt = None,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per evaluation (0 … N−1).")] = 10,
    seed: Annotated[int, typer.Option(min=0, help="The optimiser's seed.")] = 0,
    maxiter: Annotated[int, typer.Option(min=1, help="Generations of the optimiser.")] = 10,
    popsize: Annotated[
        int, typer.Option(min=2, help="Population per generation, times the parameters.")
    ] = 6,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Parallel workers (default: 2).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the overlay here (default: fitted/<scenario>.yaml beside it)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Fit parameters to the scenario's `fit` targets only, write them as an overlay the
    scenario then uses, and score the `check` targets out of sample.

    Deterministic given --seed and --seeds. Exits 0 when the fit is written, 2 for bad input."""
    from corridors.analysis.fit import fit as run_fit
    from corridors.analysis.fit import write_overlay

    command = "corridors fit " + " ".join(
        [
            scenario,
            *(f"--param {p}" for p in param or []),
            *(f"--variant {v}" for v in variant or []),
            f"--seeds {seeds}",
            f"--seed {seed}",
            f"--maxiter {maxiter}",
            f"--popsize {popsize}",
        ]
    )
    try:
        result = run_fit(
            scenario,
            params=param or (),
            seeds=seeds,
            seed=seed,
            maxiter=maxiter,
            popsize=popsize,
            workers=workers,
            variants=variant or (),
            progress=None if quiet else _progress_printer("generation"),
            command=command,
        )
        path = write_overlay(result, out)
    except ScenarioError as exc:
        raise _fail(exc) from None
    table = Table(title=f"Fitted to {', '.join(result.targets)} (loss {result.loss:.4g})")
    for column in ("parameter", "was", "fitted", "bounds"):
        table.add_column(column)
    for spec in result.params:
        table.add_row(
            escape(spec.path),
            f"{spec.start:.6g}",
            f"{result.values[spec.path]:.6g}",
            f"{spec.low:g} … {spec.high:g}",
        )
    out_console.print(table)
    out_console.print(
        _scorecard_table(
            result.card, f"With the fitted values ({seeds} seeds; checks out of sample)"
        )
    )
    _card_verdict(result.card)
    out_console.print(f"Wrote {escape(str(path))}", soft_wrap=True)


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
