"""YAML for downloads that no text in it can subvert.

Titles, reasons and names come from browsers (an upload, the overrides box, an intervention's
reason). Every string that is not a plain word is written double-quoted, with newlines and
control characters escaped, so no text can end its line and start a key of its own (such as
``extends:``); comment lines are flattened the same way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class QuotingDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, with every string that is not a plain word double-quoted."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None if _PLAIN.fullmatch(value) else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


QuotingDumper.add_representer(str, _str)


def emit_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=QuotingDumper, sort_keys=False, allow_unicode=True, width=100)


def comment(text: Any) -> str:
    """One ``# ...`` line: line breaks and control characters become spaces."""
    flat = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return "# " + " ".join(flat.split())[:300] + "\n"
