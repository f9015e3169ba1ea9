"""fieldstream end to end with only the standard library: envelopes parsed by ``json.loads``.

The same ``StreamDecoder`` as ``e2e_fieldstream``, with the faster envelope parser
(jiter, when installed) switched off, as on an install without it.
"""

from __future__ import annotations

from typing import Any

import fieldstream

from .e2e_fieldstream import Session as _Plain

NAME = "fieldstream-stdlib"
LABEL = "fieldstream StreamDecoder, json.loads envelopes"
ROLE = "subject"


def check() -> str | None:
    return None


def versions() -> dict[str, str]:
    return {"fieldstream": fieldstream.__version__}


def applies(body: Any) -> bool:
    return True


def prepare(body: Any) -> Any:
    return body.format


class Session(_Plain):
    def __init__(self, format: Any) -> None:
        from fieldstream import _envelope

        super().__init__(format)
        self.decoder._framing.loads = _envelope.stdlib_loads
        self.decoder._framing.fast_loads = None
