"""Starting the Solara server for ``corridors app`` and ``make app``.

Offline by construction: production mode (no start-up check that loads pages from solara.dev),
no telemetry, and the JavaScript served from Solara's asset cache, which
``python -m corridors.app.assets`` fills from the npm registry. The CDN address is pointed at
this machine (``SOLARA_ASSETS_CDN``), so a file missing from the cache fails at once instead of
reaching for the internet.

Listening: only the app's own port, on loopback unless ``--host`` says otherwise (a class
network); Solara's diagnostic routes answer loopback clients only (:mod:`corridors.app.asgi`).
Sessions: a page closed or left disconnected ends after ``session_timeout`` (Solara's kernel
cull timeout, ``SOLARA_KERNEL_CULL_TIMEOUT``; Solara's own default is 24 h) and gives its
memory back; at most ``max_sessions`` run at once (``CORRIDORS_MAX_SESSIONS``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping

APP_MODULE = "corridors.app.main"
ASGI_APP = "corridors.app.asgi:app"
SESSION_TIMEOUT = "3m"
"""How long a disconnected page's session lives before the server ends it (a reload or a
short network drop within it finds the session still there)."""
OFFLINE_CDN = "http://127.0.0.1:9/npm/"
"""Where Solara would fetch a file missing from its cache: nothing listens there (discard port),
so nothing is ever fetched from outside."""


def offline_env(
    base: Mapping[str, str] | None = None,
    session_timeout: str | None = None,
    max_sessions: int | None = None,
) -> dict[str, str]:
    """Environment for a Solara server that never calls out and ends idle sessions."""
    env = dict(os.environ if base is None else base)
    env["SOLARA_APP"] = APP_MODULE
    env.setdefault("SOLARA_MODE", "production")  # `solara run --auto-restart` overrides it
    if session_timeout is not None:
        env["SOLARA_KERNEL_CULL_TIMEOUT"] = session_timeout
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", SESSION_TIMEOUT)
    # Solara signs its session cookie with "change me" unless told otherwise
    env.setdefault("SOLARA_SESSION_SECRET_KEY", secrets.token_hex(32))
    if max_sessions is not None:
        env["CORRIDORS_MAX_SESSIONS"] = str(max_sessions)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_ASSETS_CDN", OFFLINE_CDN)
    env.setdefault("SOLARA_ASSETS_PROXY", "True")
    env.setdefault("SOLARA_THEME_TITLE", "Corridors")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    return env


def command(host: str = "127.0.0.1", port: int = 8765, dev: bool = False) -> list[str]:
    """The server's command line: uvicorn serving :mod:`corridors.app.asgi` (Solara behind
    the diagnostics guard); in development, ``solara run --auto-restart`` (loopback only)."""
    if not dev:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            ASGI_APP,
            "--host",
            host,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--log-level",
        "warning",
    ]
    cmd.append("--auto-restart")
    return cmd


def is_loopback_host(host: str) -> bool:
    from corridors.app.asgi import is_loopback

    return is_loopback(host)


def parse_timeout(text: str) -> str:
    """``90s``, ``3m``, ``1h`` (as Solara reads it); raises ValueError otherwise."""
    import re

    if not re.fullmatch(r"\d{1,6}\s*[smhd]?", text.strip()):
        raise ValueError(f"session timeout: give e.g. 90s, 3m or 1h, not {text!r}")
    return text.strip()


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    dev: bool = False,
    session_timeout: str | None = None,
    max_sessions: int | None = None,
) -> int:
    try:
        import solara  # noqa: F401
    except ImportError:
        print(
            "error: the app needs Solara; install it with: pip install -e '.[app]'",
            file=sys.stderr,
        )
        return 2
    from corridors.app import assets

    gone = assets.missing()
    if gone:
        print(
            "error: the app's JavaScript is not in Solara's asset cache "
            f"({assets.cache_dir()}); fetch it once from the npm registry with\n"
            "  python -m corridors.app.assets\n(missing: " + ", ".join(gone) + ")",
            file=sys.stderr,
        )
        return 2
    if dev and not is_loopback_host(host):
        print(
            "error: development mode reloads code and shows tracebacks; it serves only on "
            "this machine (--host 127.0.0.1)",
            file=sys.stderr,
        )
        return 2
    try:
        timeout = parse_timeout(session_timeout) if session_timeout is not None else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if max_sessions is not None and max_sessions < 1:
        print("error: --max-sessions must be at least 1", file=sys.stderr)
        return 2
    if not is_loopback_host(host):
        print(
            f"warning: serving beyond this machine on {host}: anyone who can reach this "
            "address can use the app (see docs/security.md)",
            file=sys.stderr,
        )
    print(f"Corridors app on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    env = offline_env(session_timeout=timeout, max_sessions=max_sessions)
    try:
        return subprocess.call(command(host, port, dev), env=env)
    except KeyboardInterrupt:
        return 0
