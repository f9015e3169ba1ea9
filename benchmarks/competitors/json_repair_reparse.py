"""json-repair: repair the truncated buffer into valid JSON and load it, per chunk."""

from __future__ import annotations

from typing import Any

from ._common import known_complete, scalars, version

NAME = "json-repair"
LABEL = "json-repair per chunk"
ROLE = "peer"
GROWTH = 2.0
SCHEMA = False


def check() -> str | None:
    try:
        import json_repair  # noqa: F401
    except ImportError as exc:
        return f"json-repair not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"json-repair": version("json-repair")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


class Session:
    def __init__(self, context: Any) -> None:
        from json_repair import loads

        self.loads = loads
        self.buffer = ""
        self.partial: Any = None
        self.done = False

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        self.partial = self.loads(self.buffer)

    def finish(self) -> None:
        self.partial = self.loads(self.buffer)
        self.done = True

    def exposed(self) -> int:
        if self.done:
            return len(scalars(self.partial, []))
        return known_complete(self.partial, drops_incomplete_strings=False)

    def value(self) -> Any:
        return self.partial
