"""``json.loads`` once on the whole text at the end: the floor for any parser (no partial results)."""

from __future__ import annotations

import json
import platform
from typing import Any

from ._common import scalars

NAME = "json.loads-once"
LABEL = "json.loads once at the end"
ROLE = "floor"
GROWTH = 1.0
SCHEMA = False


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    return {"python": platform.python_version()}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


class Session:
    def __init__(self, context: Any) -> None:
        self.parts: list[str] = []
        self.result: Any = None
        self.done = False

    def feed(self, chunk: str) -> None:
        self.parts.append(chunk)

    def finish(self) -> None:
        self.result = json.loads("".join(self.parts))
        self.done = True

    def exposed(self) -> int:
        return len(scalars(self.result, [])) if self.done else 0

    def value(self) -> Any:
        return self.result
