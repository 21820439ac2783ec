"""Scenario files uploaded in the browser: checked, confined, then loaded like any file.

An upload is refused with a one-line message when it is too big, not a ``.yaml`` file, not safe
plain YAML, invalid as a scenario, or when it tries to reach other files: an uploaded scenario may
``extends:`` only a built-in scenario, never a path. Accepted files are stored under the upload
root (``CORRIDORS_UPLOAD_ROOT``, by default a folder in the system's temporary directory), each
in a folder of its own, under a sanitised name.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from corridors.scenarios import Problem, ScenarioError, builtin_names, load_scenario
from corridors.scenarios.yamlsafe import MAX_FILE_BYTES, Where, YamlError, read_yaml_text

SUFFIXES = (".yaml", ".yml")


def upload_root() -> Path:
    root = os.environ.get("CORRIDORS_UPLOAD_ROOT") or Path(tempfile.gettempdir()) / "corridors"
    return Path(root).resolve()


def _refuse(name: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(Where(name), "", message)])


def safe_name(name: str) -> str:
    """The file's own name, reduced to letters, digits, dots, dashes and underscores."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".") or "scenario.yaml"
    return cleaned[:100]


def save_upload(
    name: str, size: int, read: Callable[[int], bytes], root: Path | None = None
) -> Path:
    """Check an uploaded scenario and store it; returns its path. Raises ScenarioError."""
    filename = safe_name(name)
    if not filename.lower().endswith(SUFFIXES):
        raise _refuse(filename, "upload a scenario file ending in .yaml or .yml")
    if size > MAX_FILE_BYTES:
        raise _refuse(filename, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
    data = read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(filename, f"file is over the limit of {MAX_FILE_BYTES:,} bytes")
    try:
        parsed = read_yaml_text(data, filename)
    except YamlError as exc:
        raise ScenarioError([Problem(exc.where, "", exc.message)]) from None
    base = parsed.get("extends") if isinstance(parsed, dict) else None
    if base is not None and base not in builtin_names():
        raise _refuse(
            filename,
            f"an uploaded scenario may extend only a built-in scenario "
            f"({', '.join(builtin_names())}), not {base!r}",
        )
    folder = (root or upload_root()) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / filename
    path.write_bytes(data)
    try:
        load_scenario(path)
    except ScenarioError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path
