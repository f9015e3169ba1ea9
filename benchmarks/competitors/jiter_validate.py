"""jiter partial re-parse plus ``Model.model_validate`` of the result, per chunk.

The pattern of SDKs and agents that want a typed partial object: re-parse the
buffer, then validate.  While the partial value lacks a required field,
validation fails and the caller keeps the last valid model.
"""

from __future__ import annotations

from typing import Any

import jiter

from ._common import plain, scalars, version

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
    from ..schemas import MODELS

    return stream.chunks, MODELS[stream.kind]


class Session:
    def __init__(self, model: Any) -> None:
        from pydantic import ValidationError

        self.model = model
        self.error = ValidationError
        self.buffer = ""
        self.valid: Any = None

    def feed(self, chunk: str) -> None:
        self.buffer += chunk
        if not self.buffer.strip():
            return
        partial = jiter.from_json(self.buffer.encode(), partial_mode=True)
        try:
            self.valid = self.model.model_validate(partial)
        except self.error:
            pass  # keep the last valid model

    def finish(self) -> None:
        self.valid = self.model.model_validate(jiter.from_json(self.buffer.encode()))

    def exposed(self) -> int:
        # A model validates only once every required field is there, i.e. (for
        # these schemas) once the document is complete: everything it holds is final.
        return len(scalars(plain(self.valid), [])) if self.valid is not None else 0

    def value(self) -> Any:
        return plain(self.valid)
