"""pydantic partial re-validation of the whole buffer per chunk.

``TypeAdapter(schema).validate_json(buffer, experimental_allow_partial=True)``
after every chunk, with the ``TypedDict`` twin of the kind's model (pydantic's
partial validation does not cover ``BaseModel`` fields still missing).  While a
required top-level field has not arrived, validation fails and the caller keeps
its previous value, as a real consumer would.
"""

from __future__ import annotations

from typing import Any

from ._common import known_complete, scalars, version

NAME = "pydantic-partial"
LABEL = "pydantic partial re-validation per chunk"
ROLE = "peer"
GROWTH = 2.0
SCHEMA = True


def check() -> str | None:
    try:
        import pydantic  # noqa: F401
    except ImportError as exc:
        return f"pydantic not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"pydantic": version("pydantic"), "pydantic-core": version("pydantic-core")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    from pydantic import TypeAdapter

    from ..schemas import model_for

    return stream.chunks, TypeAdapter(model_for(stream.kind, typed_dict=True))


class Session:
    def __init__(self, adapter: Any) -> None:
        from pydantic import ValidationError

        self.adapter = adapter
        self.error = ValidationError
        self.buffer = ""
        self.partial: Any = None
        self.done = False

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        try:
            self.partial = self.adapter.validate_json(self.buffer, experimental_allow_partial=True)
        except self.error:
            pass  # not enough yet (a required field is missing): keep the previous value

    def finish(self) -> None:
        self.partial = self.adapter.validate_json(self.buffer)
        self.done = True

    def exposed(self) -> int:
        if self.done:
            return len(scalars(self.partial, []))
        return known_complete(self.partial, drops_incomplete_strings=True)

    def value(self) -> Any:
        return self.partial
