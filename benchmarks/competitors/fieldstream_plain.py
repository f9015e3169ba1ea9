"""fieldstream: one incremental parse; completion events say which leaf is final."""

from __future__ import annotations

from typing import Any

import fieldstream
from fieldstream import ValueCompleted

NAME = "fieldstream"
LABEL = "fieldstream Parser"
ROLE = "subject"
GROWTH = 1.0
SCHEMA = False


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    return {"fieldstream": fieldstream.__version__}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


_SCALARS = (str, int, float, bool, type(None))


def leaf_events(events: list[Any]) -> int:
    """Completion events of scalar leaves (containers, and typed models, are not leaves)."""
    return sum(1 for e in events if isinstance(e, ValueCompleted) and isinstance(e.value, _SCALARS))


class Session:
    def __init__(self, context: Any) -> None:
        self.parser = fieldstream.Parser()
        self.events: list[Any] = []
        self.count = 0

    def feed(self, chunk: str) -> None:
        self.events = self.parser.feed(chunk)

    def finish(self) -> None:
        self.events = self.parser.close()

    def exposed(self) -> int:
        self.count += leaf_events(self.events)
        return self.count

    def value(self) -> Any:
        return self.parser.snapshot
