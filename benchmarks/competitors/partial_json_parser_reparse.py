"""partial-json-parser: complete the buffer's open structures and ``json.loads`` it, per chunk."""

from __future__ import annotations

from typing import Any

from ._common import known_complete, scalars, version

NAME = "partial-json-parser"
LABEL = "partial-json-parser re-parse per chunk"
ROLE = "peer"
GROWTH = 2.0
SCHEMA = False


def check() -> str | None:
    try:
        import partial_json_parser  # noqa: F401
    except ImportError as exc:
        return f"partial-json-parser not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"partial-json-parser": version("partial-json-parser")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    return stream.chunks, None


class Session:
    def __init__(self, context: Any) -> None:
        from partial_json_parser import loads

        self.loads = loads
        self.buffer = ""
        self.partial: Any = None
        self.done = False

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        try:
            self.partial = self.loads(self.buffer)
        except Exception:  # noqa: BLE001, S110 - nothing parseable yet (an empty or blank buffer)
            pass

    def finish(self) -> None:
        self.partial = self.loads(self.buffer)
        self.done = True

    def exposed(self) -> int:
        if self.done:
            return len(scalars(self.partial, []))
        # It shows unfinished strings and numbers: the last leaf may still grow.
        return known_complete(self.partial, drops_incomplete_strings=False)

    def value(self) -> Any:
        return self.partial
