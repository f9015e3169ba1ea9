"""The floor: httpx-sse split + ``json.loads`` per envelope, and nothing else (no partial parsing)."""

from __future__ import annotations

from typing import Any

from ._common import version

NAME = "floor"
LABEL = "httpx-sse + json.loads per event (no partial parsing)"
ROLE = "floor"


def check() -> str | None:
    try:
        import httpx_sse  # noqa: F401
    except ImportError as exc:
        return f"httpx-sse not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"httpx-sse": version("httpx-sse")}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    return body.format


class Session:
    def __init__(self, format: str) -> None:
        from ._handrolled import Loop

        self.loop = Loop(format, None, None)
        self.loop.extract = lambda payload, event, state: ()  # type: ignore[assignment,misc,return-value]
        self.feed = self.loop.feed

    def finish(self) -> None:
        self.loop.finish()

    def values(self) -> list[Any]:
        return []
