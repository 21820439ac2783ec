"""The app's ASGI application: Solara's server with its diagnostic routes for this machine only.

``corridors app`` serves this with uvicorn (``uvicorn corridors.app.asgi:app``). Solara's
``/resourcez`` shows the host's threads, sessions and memory: harmless on a laptop, but on a
class network every student could read it. Here those routes answer only clients on the
loopback interface; everyone else gets a plain 404, as for any unknown page.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

os.environ.setdefault("SOLARA_APP", "corridors.app.main")

from solara.server.starlette import app as solara_app

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

LOCAL_ONLY = ("/resourcez", "/_solara/api/evict")
"""Routes that answer only loopback clients (prefixes)."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def local_only(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in LOCAL_ONLY)


async def _not_found(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"Not Found"})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and local_only(scope.get("path", "")):
        client = scope.get("client") or (None, None)
        if not is_loopback(client[0]):
            await _not_found(send)
            return
    await solara_app(scope, receive, send)
