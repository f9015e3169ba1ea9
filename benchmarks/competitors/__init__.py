"""One module per competitor, all with the same small interface.

Module attributes:

``NAME``, ``LABEL``
    id and the table label.
``ROLE``
    ``"subject"`` (fieldstream), ``"peer"`` (what people do today) or ``"floor"``
    (a bound no incremental parser can beat).
``GROWTH``
    the expected exponent of cost against document size (1 linear, 2 for
    re-parsing the buffer per chunk); used only to skip runs over budget.
``SCHEMA``
    ``True`` if it validates against a schema: the pydantic model of a generated
    kind, ``Any`` for the corpus payloads (which come from many requests).
``check() -> str | None``
    why it cannot run here (a missing package), or ``None``.
``versions() -> dict[str, str]``
    the versions of what it measures.
``prepare(stream) -> (inputs, context)``
    untimed setup: the per-chunk inputs (usually the chunks themselves) and
    whatever the session needs (a schema, a tool definition).
``Session(context)``
    ``feed(input)`` per chunk and ``finish()`` at the end are the timed work;
    ``exposed()`` (untimed, called after each ``feed``/``finish`` in the
    instrumented pass) counts the scalar leaves the competitor has so far
    exposed *as complete*, in document order; ``value()`` (untimed) is the final
    value as plain JSON, checked against ``json.loads``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["COMPETITORS", "E2E_COMPETITORS", "load"]

#: Every competitor, in table order.
COMPETITORS = (
    "fieldstream_plain",
    "fieldstream_lenient",
    "fieldstream_typed",
    "jiter_reparse",
    "openai_state",
    "pydantic_partial",
    "jiter_validate",
    "partial_json_parser_reparse",
    "json_repair_reparse",
    "ijson_push",
    "json_loads_once",
)


#: The end-to-end competitors (``python -m benchmarks --e2e``): raw provider bodies in,
#: ``feed(bytes)`` per network read, ``finish()``, ``values()`` the completed JSON
#: targets; ``applies(body)`` says whether a body's format is theirs.
E2E_COMPETITORS = (
    "e2e_fieldstream",
    "e2e_fieldstream_typed",
    "e2e_fieldstream_stdlib",
    "e2e_handrolled_jiter",
    "e2e_handrolled_pydantic",
    "e2e_openai_sdk",
    "e2e_floor",
)


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")
