"""jiter partial re-parse plus ``Model.model_validate`` of the result, per chunk.

The pattern of SDKs and agents that want a typed partial object: re-parse the
buffer, then validate.  While the partial value lacks a required field,
validation fails and the caller keeps the last valid model.
"""

from __future__ import annotations

from typing import Any

import jiter

from ._common import known_complete, plain, scalars, version

NAME = "jiter+validate"
LABEL = "jiter re-parse + model_validate per chunk"
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
    return {"jiter": version("jiter"), "pydantic": version("pydantic")}


def prepare(stream: Any) -> tuple[list[Any], Any]:
    from pydantic import TypeAdapter

    from ..schemas import model_for

    return stream.chunks, TypeAdapter(model_for(stream.kind))


class Session:
    def __init__(self, model: Any) -> None:
        from pydantic import ValidationError

        self.model = model
        self.schemaless = model.core_schema["type"] == "any"
        self.done = False
        self.error = ValidationError
        self.buffer = ""
        self.valid: Any = None

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        if not self.buffer.strip():
            return
        partial = jiter.from_json(self.buffer.encode(), partial_mode=True)
        try:
            self.valid = self.model.validate_python(partial)
        except self.error:
            pass  # keep the last valid model

    def finish(self) -> None:
        self.valid = self.model.validate_python(jiter.from_json(self.buffer.encode()))
        self.done = True

    def exposed(self) -> int:
        if self.valid is None:
            return 0
        if self.schemaless and not self.done:
            # ``Any`` accepts every partial value: like jiter re-parse, a consumer
            # knows only the leaves that more text followed
            return known_complete(self.valid, drops_incomplete_strings=True)
        # A model validates only once every required field is there, i.e. (for
        # these schemas) once the document is complete: everything it holds is final.
        return len(scalars(plain(self.valid), []))

    def value(self) -> Any:
        return plain(self.valid)
