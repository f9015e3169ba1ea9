"""fieldstream end to end: ``StreamDecoder(format)`` fed the raw body, read by read."""

from __future__ import annotations

from typing import Any

import fieldstream

from ._common import version

NAME = "fieldstream"
LABEL = "fieldstream StreamDecoder"
ROLE = "subject"


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    from fieldstream import _envelope

    return {"fieldstream": fieldstream.__version__, "envelope parser": _envelope.PARSER, "jiter": version("jiter")}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    return body.format


class Session:
    def __init__(self, format: Any) -> None:
        self.decoder = fieldstream.StreamDecoder(format)
        # The decoder's own feed, as the peers bind their loop's: the harness adds no frame of its own.
        self.feed = self.decoder.feed

    def finish(self) -> None:
        self.decoder.close()

    def values(self) -> list[Any]:
        return json_values(self.decoder)


def json_values(decoder: Any) -> list[Any]:
    """The completed JSON targets' values (non-empty containers), as plain JSON."""
    out = []
    for target in decoder.targets.values():
        value = target.value
        dump = getattr(value, "model_dump", None)
        value = dump(mode="json") if dump is not None else value
        if target.done and target.is_json and isinstance(value, (dict, list)) and value:
            out.append(value)
    return out
