"""fieldstream end to end with schemas: ``StreamDecoder(format, schema=Model, tools={name: Any})``.

Generated answers validate against their pydantic model; corpus bodies (many
different requests) against ``Any`` for content and for every tool seen.
"""

from __future__ import annotations

from typing import Any

import fieldstream

from ._common import version
from .e2e_fieldstream import json_values

NAME = "fieldstream-typed"
LABEL = "fieldstream StreamDecoder(schema=...)"
ROLE = "subject"


def check() -> str | None:
    try:
        import pydantic  # noqa: F401
    except ImportError as exc:
        return f"pydantic not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"pydantic": version("pydantic")}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    from ..schemas import model_for

    return body.format, model_for(body.kind), {name: Any for name in body.tools}


class Session:
    def __init__(self, context: Any) -> None:
        format, schema, tools = context
        self.decoder = fieldstream.StreamDecoder(format, schema=schema, tools=tools)
        # The decoder's own feed, as the peers bind their loop's: the harness adds no frame of its own.
        self.feed = self.decoder.feed

    def finish(self) -> None:
        self.decoder.close()

    def values(self) -> list[Any]:
        return json_values(self.decoder)
