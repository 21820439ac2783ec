"""Scenario files uploaded in the browser: checked, confined, then loaded like any file.

An upload is refused with a one-line message when it is too big, not a ``.yaml`` file, holds
too many states, links, flows or events (counted from the YAML event stream with libyaml before
anything is built), is not safe plain YAML, is invalid as a scenario, or tries to reach other
files: an uploaded scenario may ``extends:`` only a built-in scenario, never a path. Accepted
files are stored in the uploading session's own folder (see :mod:`corridors.app.catalog`) under
a name the server makes; the browser only ever gets back an id.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml

from corridors.app import limits
from corridors.scenarios import Problem, ScenarioError, builtin_names, load_scenario
from corridors.scenarios.yamlsafe import Where, YamlError, read_yaml_text

SUFFIXES = (".yaml", ".yml")


def upload_root() -> Path:
    root = os.environ.get("CORRIDORS_UPLOAD_ROOT") or Path(tempfile.gettempdir()) / "corridors"
    return Path(root).resolve()


def _refuse(name: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(Where(name), "", message)])


def safe_name(name: str) -> str:
    """The file's own name, reduced to letters, digits, dots, dashes and underscores."""
    base = re.split(r"[\\/]", str(name)[:1000])[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".") or "scenario.yaml"
    return cleaned[-100:]


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def count_items(data: bytes | str, filename: str) -> None:
    """Refuse a document with more items per top-level section, or more values in all, than
    :data:`limits.UPLOAD_ITEMS` / :data:`limits.MAX_UPLOAD_VALUES` allow. Reads only YAML's
    event stream (libyaml, no objects built), stopping at the first bound exceeded."""
    depth = 0
    section: str | None = None
    expect_key = False
    items = 0
    values = 0

    def one_more_item() -> int:
        if items + 1 > limits.UPLOAD_ITEMS[section]:
            raise _refuse(
                filename,
                f"{section}: more than {limits.UPLOAD_ITEMS[section]:,} items; the limit "
                "for an uploaded scenario",
            )
        return items + 1

    try:
        for event in yaml.parse(data, Loader=_Loader):
            if isinstance(event, yaml.NodeEvent):
                values += 1
                if values > limits.MAX_UPLOAD_VALUES:
                    raise _refuse(
                        filename,
                        f"more than {limits.MAX_UPLOAD_VALUES:,} values; an uploaded scenario "
                        "must be smaller",
                    )
            counted = depth == 2 and section in limits.UPLOAD_ITEMS
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if counted:
                    items = one_more_item()
                depth += 1
                if depth == 1:
                    expect_key = isinstance(event, yaml.MappingStartEvent)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
                if depth == 1:
                    section, items, expect_key = None, 0, True
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                if depth == 1:
                    if expect_key:
                        section = event.value if isinstance(event, yaml.ScalarEvent) else None
                        items = 0
                    expect_key = not expect_key
                elif counted:
                    items = one_more_item()
    except yaml.YAMLError:
        return  # the full reader reports syntax errors with their line


def save_upload(
    name: str, size: int, read: Callable[[int], bytes], root: Path | None = None
) -> Path:
    """Check an uploaded scenario and store it in a fresh folder under ``root``; returns its
    path (for the server only). Raises ScenarioError."""
    filename = safe_name(name)
    if not filename.lower().endswith(SUFFIXES):
        raise _refuse(filename, "upload a scenario file ending in .yaml or .yml")
    cap = limits.MAX_UPLOAD_BYTES
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _refuse(filename, "the browser sent no valid file size")
    if size > cap:
        raise _refuse(filename, f"file is {size:,} bytes; the limit is {cap:,} bytes")
    data = read(cap + 1)
    if len(data) > cap:
        raise _refuse(filename, f"file is over the limit of {cap:,} bytes")
    if b"\x00" not in data:
        count_items(data, filename)
    try:
        parsed = read_yaml_text(data, filename)
    except YamlError as exc:
        raise ScenarioError([Problem(exc.where, "", exc.message)]) from None
    base = parsed.get("extends") if isinstance(parsed, dict) else None
    if base is not None and base not in builtin_names():
        shown = base if isinstance(base, str) and len(base) < 80 else "that"
        raise _refuse(
            filename,
            f"an uploaded scenario may extend only a built-in scenario "
            f"({', '.join(builtin_names())}), not {shown!r}",
        )
    folder = (root or upload_root()) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / filename
    path.write_bytes(data)
    try:
        spec = load_scenario(path)
        if spec.calendar.n_days > limits.MAX_DAYS:
            raise _refuse(
                filename,
                f"calendar: {spec.calendar.n_days:,} days; the app runs at most "
                f"{limits.MAX_DAYS:,} days",
            )
    except ScenarioError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise renamed_error(exc, str(path), filename) from None
    return path


def renamed_error(exc: ScenarioError, file: str, shown: str) -> ScenarioError:
    """The same problems, naming the file as the user called it (never the server's path)."""
    problems = [
        Problem(
            Where(shown, p.where.line) if p.where is not None and p.where.file == file else p.where,
            p.path,
            p.message.replace(file, shown),
        )
        for p in exc.problems
    ]
    return ScenarioError(problems)
