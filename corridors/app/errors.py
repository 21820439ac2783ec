"""Errors shown in the page: one or a few plain lines, never a traceback.

Every callback the page runs for a browser goes through :func:`guarded`: the expected errors
(a bad scenario, a value over a limit, an id this session may not use) become their message;
anything else is logged on the server with its traceback and shown as one line that says
something went wrong, so no internals (paths, code, values) reach the browser.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from corridors.scenarios import ScenarioError

log = logging.getLogger("corridors.app")

MAX_MESSAGE = 2_000
"""Characters of an error message shown in the page."""


def error_text(exc: BaseException) -> str:
    """The message for an error a user can fix; a generic line for anything else."""
    if isinstance(exc, ScenarioError):
        text = exc.report() or str(exc)
    elif isinstance(exc, ValidationError):
        text = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'event'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
    elif isinstance(exc, ValueError | KeyError):
        text = str(exc)
    else:
        log.error("unexpected error in the app", exc_info=exc)
        text = f"something went wrong on the server ({type(exc).__name__}); it has been logged"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"


def guarded(show: Callable[[str], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a callback so that any exception it raises is shown with ``show`` (one
    message, no traceback) instead of replacing the page."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except Exception as exc:
                show(error_text(exc))
                return None

        return inner

    return wrap
