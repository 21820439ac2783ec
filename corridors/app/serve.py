"""Starting the Solara server for ``corridors app`` and ``make app``.

Offline by construction: production mode (no start-up check that loads pages from solara.dev),
no telemetry, and the JavaScript served from Solara's asset cache, which
``python -m corridors.app.assets`` fills from the npm registry. The CDN address is pointed at
this machine (``SOLARA_ASSETS_CDN``), so a file missing from the cache fails at once instead of
reaching for the internet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

APP_MODULE = "corridors.app.main"
OFFLINE_CDN = "http://127.0.0.1:9/npm/"
"""Where Solara would fetch a file missing from its cache: nothing listens there (discard port),
so nothing is ever fetched from outside."""


def offline_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a Solara server that never calls out."""
    env = dict(os.environ if base is None else base)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_ASSETS_CDN", OFFLINE_CDN)
    env.setdefault("SOLARA_ASSETS_PROXY", "True")
    env.setdefault("SOLARA_THEME_TITLE", "Corridors")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    return env


def command(host: str = "127.0.0.1", port: int = 8765, dev: bool = False) -> list[str]:
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
    cmd.append("--auto-restart" if dev else "--production")
    return cmd


def serve(host: str = "127.0.0.1", port: int = 8765, dev: bool = False) -> int:
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
    print(f"Corridors app on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(command(host, port, dev), env=offline_env())
    except KeyboardInterrupt:
        return 0
