"""Safe, bounded YAML reading that remembers where every value came from (file and line).

PyYAML's safe loader already refuses tags that build Python objects; on top of it this module
bounds file size, nesting depth and the number of nodes after alias expansion (alias bombs),
rejects duplicate keys and merge keys, and keeps a line number for every key and list item so
that validation errors can point at the line to fix.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 2_000_000
"""Largest scenario or spec file accepted (bytes)."""
MAX_DEPTH = 40
"""Deepest nesting of mappings and lists accepted."""
MAX_NODES = 1_000_000
"""Most values accepted in one document, counting every alias expansion. A file within
MAX_FILE_BYTES without aliases stays below it (a value takes at least two bytes), so only an
alias bomb reaches it."""


@dataclass(frozen=True)
class Where:
    """Origin of a value: a file (or ``--set``) and a 1-based line when known."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class YamlError(Exception):
    """A file that cannot be read as a YAML mapping; carries where it went wrong and, when
    known, the dotted path of the value (``states[0].lat``)."""

    def __init__(self, where: Where, message: str, path: str = "") -> None:
        super().__init__(f"{where}: {path + ': ' if path else ''}{message}")
        self.where = where
        self.message = message
        self.path = path


class LDict(dict):
    """A dict that knows the origin of each of its keys' values."""

    where: Where
    key_where: dict[Any, Where]

    def __init__(self, *args: Any, where: Where | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.where = where or Where("<data>")
        self.key_where = {}


class LList(list):
    """A list that knows the origin of each item."""

    where: Where
    item_where: list[Where]

    def __init__(self, *args: Any, where: Where | None = None) -> None:
        super().__init__(*args)
        self.where = where or Where("<data>")
        self.item_where = [self.where] * len(self)


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.scalar_loader = yaml.SafeLoader("")

    def where(self, node: yaml.Node) -> Where:
        return Where(self.file, node.start_mark.line + 1)

    def _refuse_tag(self, node: yaml.Node, path: str) -> YamlError:
        return YamlError(
            self.where(node),
            f"tag '{node.tag}' is not allowed: scenario files hold plain data only",
            path,
        )

    def build(self, node: yaml.Node, depth: int = 0, path: str = "") -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(
                self.where(node),
                f"document expands to more than {MAX_NODES:,} values once its aliases (*name) "
                "are expanded (alias bomb?); write the values out instead of repeating aliases",
            )
        if depth > MAX_DEPTH:
            raise YamlError(self.where(node), f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            # A tagged collection (!!python/object/apply:..., !!set, !!omap) is never plain data.
            if node.tag != _MAP_TAG:
                raise self._refuse_tag(node, path)
            out = LDict(where=self.where(node))
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlError(
                        self.where(key_node),
                        "YAML merge keys ('<<') are not supported; use 'extends:' instead",
                        path,
                    )
                key = self.build(key_node, depth + 1, path)
                if not isinstance(key, str | int | float | bool):
                    raise YamlError(self.where(key_node), "mapping keys must be plain values", path)
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    raise YamlError(
                        self.where(key_node),
                        f"duplicate key '{key}' (first given on line {out.key_where[key].line})",
                        sub,
                    )
                out[key] = self.build(value_node, depth + 1, sub)
                out.key_where[key] = self.where(key_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self._refuse_tag(node, path)
            items = [self.build(n, depth + 1, f"{path}[{i}]") for i, n in enumerate(node.value)]
            out_list = LList(items, where=self.where(node))
            out_list.item_where = [self.where(n) for n in node.value]
            return out_list
        try:
            return self.scalar_loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            if "could not determine a constructor" in str(exc.problem):
                raise self._refuse_tag(node, path) from exc
            raise YamlError(self.where(node), f"{exc.problem}", path) from exc
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. 2023-13-01 looks like a date to YAML but is not one
            kind = "date" if node.tag == "tag:yaml.org,2002:timestamp" else node.tag.split(":")[-1]
            raise YamlError(
                self.where(node), f"{node.value!r} is not a valid {kind}: {exc}", path
            ) from exc


class _TooDeepError(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _DepthLoader(yaml.SafeLoader):
    """Stops composing at MAX_DEPTH levels, with the line, before Python's recursion limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                raise _TooDeepError(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml_text(text: str | bytes, file: str) -> Any:
    """Parse one YAML document into LDict/LList values; raise YamlError when it can't."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise YamlError(
                Where(file),
                f"file is {len(text):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes",
            )
        if b"\x00" in text:
            line = text.count(b"\n", 0, text.index(b"\x00")) + 1
            raise YamlError(Where(file, line), "binary data, not a YAML text file (a NUL byte)")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(Where(file), f"not UTF-8 text (byte {exc.start})") from exc
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(Where(file), f"text longer than {MAX_FILE_BYTES:,} characters")
    loader = _DepthLoader(text)
    try:
        node = loader.get_single_node()
    except _TooDeepError as exc:
        raise YamlError(Where(file, exc.line), f"nesting deeper than {MAX_DEPTH} levels") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        context = exc.context_mark
        if exc.context and context and context.line + 1 != line:
            # e.g. an unclosed '[': the parser notices lines later; say where it began
            what += f" ({exc.context} started on line {context.line + 1})"
        raise YamlError(Where(file, line), f"YAML syntax error: {what}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(Where(file), f"YAML error: {exc}") from exc
    except RecursionError as exc:
        raise YamlError(Where(file), f"nesting deeper than {MAX_DEPTH} levels") from exc
    finally:
        loader.dispose()
    if node is None:
        raise YamlError(Where(file), "file is empty")
    if _expanded_size(node, {}) > MAX_NODES:
        # aliases share nodes: sizes are memoised, so a bomb is measured without expanding it
        raise YamlError(
            Where(file, node.start_mark.line + 1),
            f"document expands to more than {MAX_NODES:,} values once its aliases (*name) "
            "are expanded (alias bomb?); write the values out instead of repeating aliases",
        )
    return _Builder(file).build(node)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values ``node`` stands for once every alias in it is expanded."""
    known = memo.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(n, memo) for n in node.value)
    memo[id(node)] = size
    return size


def read_yaml_file(path: Path) -> Any:
    """Read a YAML file safely; errors name the file. Only regular files are read (a device,
    pipe or socket could block or never end), and never more than MAX_FILE_BYTES."""
    return read_yaml_text(read_bounded(path), str(path))


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES, what: str = "scenario file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or a YamlError saying why not."""
    where = Where(str(path))
    try:
        info = path.stat()
    except OSError as exc:
        raise YamlError(where, f"cannot read file: {exc.strerror}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise YamlError(where, f"is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise YamlError(where, f"is not a regular file (a device, pipe or socket); give a {what}")
    if info.st_size > limit:
        raise YamlError(where, f"file is {info.st_size:,} bytes; the limit is {limit:,} bytes")
    try:
        # O_NONBLOCK: should the file be swapped for a pipe after the check, opening it
        # does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise YamlError(where, f"is not a regular file; give a {what}")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise YamlError(where, f"cannot read file: {exc.strerror}") from exc
    if len(data) > limit:
        raise YamlError(where, f"file is over the limit of {limit:,} bytes")
    return data


def parse_scalar(text: str) -> Any:
    """Interpret a ``--set`` value as YAML does (numbers, dates, booleans, lists)."""
    data = read_yaml_text(text, "--set") if text.strip() else ""
    return to_plain(data)


def to_plain(value: Any) -> Any:
    """Strip origin tracking, giving plain dicts and lists."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def where_of(data: Any, loc: tuple[Any, ...]) -> Where | None:
    """Origin of the value at ``loc`` (a pydantic-style location), or its closest parent."""
    best: Where | None = getattr(data, "where", None)
    node = data
    for part in loc:
        if isinstance(node, LDict) and part in node:
            best = node.key_where.get(part, best)
            node = node[part]
        elif isinstance(node, LList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_where[part]
            node = node[part]
        elif isinstance(node, dict | list):
            continue  # e.g. a union tag in the location: skip it
        else:
            break
    return best
