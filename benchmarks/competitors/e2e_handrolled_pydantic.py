"""The hand-rolled loop with pydantic partial validation of the buffer per delta.

``TypeAdapter(schema).validate_json(buffer, experimental_allow_partial="trailing-strings")``
after every delta of a JSON target (the ``TypedDict`` twin of a generated
answer's model; ``Any`` for corpus bodies), ``validate_json(buffer)`` at the end.
"""

from __future__ import annotations

from typing import Any

from ._common import version

NAME = "handrolled-pydantic"
LABEL = "httpx-sse + json.loads + pydantic partial validation per delta"
ROLE = "peer"


def check() -> str | None:
    try:
        import httpx_sse  # noqa: F401
        import pydantic  # noqa: F401
    except ImportError as exc:
        return f"httpx-sse or pydantic not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"httpx-sse": version("httpx-sse"), "pydantic": version("pydantic")}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    from pydantic import TypeAdapter

    from ..schemas import model_for

    return body.format, TypeAdapter(model_for(body.kind, typed_dict=True))


class Session:
    def __init__(self, context: Any) -> None:
        from pydantic import ValidationError

        from ._handrolled import Loop

        format, adapter = context
        validate = adapter.validate_json

        def partial(buffer: str) -> Any:
            try:
                return validate(buffer, experimental_allow_partial="trailing-strings")
            except ValidationError as exc:
                raise ValueError(str(exc)) from None

        def final(buffer: str) -> Any:
            try:
                return validate(buffer)
            except ValidationError as exc:
                raise ValueError(str(exc)) from None

        self.loop = Loop(format, partial, final)
        self.feed = self.loop.feed

    def finish(self) -> None:
        self.loop.finish()

    def values(self) -> list[Any]:
        return self.loop.values()
