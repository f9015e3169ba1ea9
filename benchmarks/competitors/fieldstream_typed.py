"""fieldstream with a pydantic model: values validated as they complete (``Parser(Model)``)."""

from __future__ import annotations

from typing import Any

import fieldstream

from ._common import plain, scalars, version
from .fieldstream_plain import _SCALARS, leaf_events

NAME = "fieldstream-typed"
LABEL = "fieldstream Parser(Model)"
ROLE = "subject"
GROWTH = 1.0
SCHEMA = True


def check() -> str | None:
    try:
        import pydantic  # noqa: F401

        from fieldstream import _typed  # noqa: F401  (the typed parser, fieldstream[pydantic])
    except ImportError as exc:
        return f"typed parser not importable ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"fieldstream": fieldstream.__version__, "pydantic": version("pydantic")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    from ..schemas import model_for

    return stream.chunks, model_for(stream.kind)


class Session:
    def __init__(self, model: Any) -> None:
        self.parser = fieldstream.Parser(model)
        self.events: list[Any] = []
        self.count = 0
        self.last: Any = None  # the path of the last completion event

    def feed(self, chunk: str) -> None:
        self.events = self.parser.feed(chunk)

    def finish(self) -> None:
        self.events = self.parser.close()

    def exposed(self) -> int:
        self.count += leaf_events(self.events)
        for event in self.events:
            if isinstance(event, fieldstream.ValueCompleted) and not isinstance(event.value, _SCALARS):
                # a container validated whole (no event inside it came just before) exposes its leaves now
                if self.last is None or self.last[: len(event.path)] != event.path:
                    self.count += len(scalars(plain(event.value), []))
            if isinstance(event, fieldstream.ValueCompleted):
                self.last = event.path
            if isinstance(event, fieldstream.DocumentCompleted):
                # a schema that validates the whole document at once (``Any`` for the
                # corpus payloads) exposes every leaf only now
                self.count = max(self.count, len(scalars(plain(event.value), [])))
        return self.count

    def value(self) -> Any:
        return plain(self.parser.snapshot)  # the validated model once the document is complete
