"""ijson push parsing with the yajl2 C backend: events only, no values built.

The speed floor for an incremental parser: yajl's C scanner with ijson's
coroutine interface, producing ``(event, value)`` pairs and nothing else
(``use_float=True``, so numbers are floats as with ``json.loads``, not
``Decimal``).  The chunks are UTF-8 encoded before timing starts (ijson reads
bytes), and empty deltas are not sent: ijson takes ``b""`` as end of input.
"""

from __future__ import annotations

from typing import Any

from ._common import version

NAME = "ijson-yajl2_c"
LABEL = "ijson push, yajl2_c (events only)"
ROLE = "floor"
GROWTH = 1.0
SCHEMA = False

_LEAVES = frozenset(("string", "number", "boolean", "null"))


def check() -> str | None:
    try:
        import ijson

        ijson.get_backend("yajl2_c")
    except ImportError as exc:
        return f"ijson with the yajl2_c backend not available ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"ijson": version("ijson") + " (yajl2_c)"}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return [c.encode() for c in stream.chunks], None


class Session:
    def __init__(self, context: Any) -> None:
        import ijson

        backend = ijson.get_backend("yajl2_c")
        self.events = ijson.sendable_list()
        self.coro = backend.basic_parse_coro(self.events, use_float=True)
        self.count = 0
        self.builder: Any = None

    def feed(self, chunk: bytes) -> None:
        self.events.clear()
        if chunk:
            self.coro.send(chunk)

    def finish(self) -> None:
        self.events.clear()
        self.coro.close()

    def exposed(self) -> int:
        from ijson.common import ObjectBuilder

        if self.builder is None:
            self.builder = ObjectBuilder()
        for event, value in self.events:
            self.builder.event(event, value)
            self.count += event in _LEAVES
        return self.count

    def value(self) -> Any:
        # ijson before 3.6 gives a builder no ``value`` until its first event (a pass without exposure feeds none)
        return getattr(self.builder, "value", None)
