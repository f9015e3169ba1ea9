"""The hand-rolled loop: httpx-sse split + ``json.loads`` per envelope + jiter partial re-parse per delta.

``jiter.from_json(buffer, partial_mode="trailing-strings")`` on the target's
accumulated text after every delta (see :mod:`._handrolled`).
"""

from __future__ import annotations

from typing import Any

from ._common import version

NAME = "handrolled-jiter"
LABEL = "httpx-sse + json.loads + jiter partial per delta"
ROLE = "peer"


def check() -> str | None:
    try:
        import httpx_sse  # noqa: F401
        import jiter  # noqa: F401
    except ImportError as exc:
        return f"httpx-sse or jiter not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"httpx-sse": version("httpx-sse"), "jiter": version("jiter")}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    return body.format


class Session:
    def __init__(self, format: str) -> None:
        import jiter

        from ._handrolled import Loop

        from_json = jiter.from_json
        self.loop = Loop(
            format,
            lambda buffer: from_json(buffer.encode(), partial_mode="trailing-strings"),
            lambda buffer: from_json(buffer.encode()),
        )
        self.feed = self.loop.feed

    def finish(self) -> None:
        self.loop.finish()

    def values(self) -> list[Any]:
        return self.loop.values()
