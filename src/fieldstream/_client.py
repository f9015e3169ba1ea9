"""The browser client shipped inside the package, and a tiny ASGI app that serves it.

``fieldstream.js`` is a plain ES module (no build step, no npm install) with its
TypeScript declarations beside it in ``fieldstream.d.ts``; both live in
:data:`CLIENT_DIR`.  Serve them from any static route, or mount :func:`client_app`::

    Mount("/fieldstream", app=fieldstream.client_app)   # Starlette
    # then, in the page:  import { FieldStream } from "/fieldstream/fieldstream.js";
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["CLIENT_DIR", "CLIENT_FILES", "client_app"]

#: The folder holding ``fieldstream.js`` and ``fieldstream.d.ts``.
CLIENT_DIR = Path(__file__).with_name("_static")
#: The files :func:`client_app` serves, with their content types.
CLIENT_FILES = {
    "fieldstream.js": "text/javascript; charset=utf-8",
    "fieldstream.d.ts": "application/typescript; charset=utf-8",
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def client_app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI app: ``GET .../fieldstream.js`` (or ``.d.ts``) under whatever prefix it is mounted at; else 404."""
    if scope["type"] != "http":
        return
    name = str(scope.get("path", "")).rsplit("/", 1)[-1]
    if scope.get("method") not in ("GET", "HEAD") or name not in CLIENT_FILES:
        body, status, kind = b"not found", 404, "text/plain; charset=utf-8"
    else:
        body, status, kind = CLIENT_DIR.joinpath(name).read_bytes(), 200, CLIENT_FILES[name]
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body if scope.get("method") != "HEAD" else b""})
