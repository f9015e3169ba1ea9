"""jiter partial re-parse of the whole buffer per chunk (what the OpenAI and Anthropic SDKs do)."""

from __future__ import annotations

from typing import Any

import jiter

from ._common import known_complete, scalars, version

NAME = "jiter-reparse"
LABEL = "jiter partial re-parse per chunk"
ROLE = "peer"
GROWTH = 2.0
SCHEMA = False


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    return {"jiter": version("jiter")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


class Session:
    def __init__(self, context: Any) -> None:
        self.buffer = ""
        self.partial: Any = None

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        if self.buffer.strip():  # jiter rejects an empty or blank buffer
            self.partial = jiter.from_json(self.buffer.encode(), partial_mode=True)

    def finish(self) -> None:
        self.partial = jiter.from_json(self.buffer.encode())
        self.done = True

    def exposed(self) -> int:
        if getattr(self, "done", False):
            return len(scalars(self.partial, []))
        return known_complete(self.partial, drops_incomplete_strings=True)

    def value(self) -> Any:
        return self.partial
