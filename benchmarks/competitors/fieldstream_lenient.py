"""fieldstream in lenient mode: the same single pass, ready to repair what models write."""

from __future__ import annotations

from typing import Any

import fieldstream

from .fieldstream_plain import leaf_events

NAME = "fieldstream-lenient"
LABEL = "fieldstream Parser(lenient=True)"
ROLE = "subject"
GROWTH = 1.0
SCHEMA = False


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    return {"fieldstream": fieldstream.__version__}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


class Session:
    def __init__(self, context: Any) -> None:
        self.parser = fieldstream.Parser(lenient=True)
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
