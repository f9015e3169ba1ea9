"""Parsing a provider's JSON envelope (one SSE message's data, one NDJSON line).

Every event of a provider stream is a small JSON document; parsing it is a
large share of the per-event cost.  When jiter is installed (directly, or
through pydantic-core, which carries the same parser) it parses the envelope,
and ``json.loads`` parses it whenever jiter refuses: the result is always what
``json.loads`` returns.  Checked against ``json.loads`` (tests/test_envelope.py):
jiter accepts a subset of what ``json.loads`` accepts (both take ``NaN``,
``Infinity``, big integers, duplicate keys with the last one winning) and where
it accepts, the values are equal; it refuses lone surrogate escapes
(``"\\ud800"``, which ``json.loads`` turns into a lone surrogate), nesting
deeper than its recursion limit, invalid UTF-8 and a ``str`` holding a lone
surrogate, and ``json.loads`` decides those (bytes decoded with U+FFFD for bad
bytes, as the SSE decoder decodes them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["PARSER", "fast_loads", "loads", "stdlib_loads"]


def _find() -> tuple[str, Callable[[Any], Any] | None]:
    # No string cache: it would keep every stream's small strings alive (memory that
    # belongs to no stream), and on envelopes it is not faster than allocating.  A
    # function, not functools.partial: a partial merges its keywords on every call,
    # about a tenth of jiter's time on a small envelope.
    try:
        from jiter import from_json as jiter_loads

        def jiter_envelope(data: bytes) -> Any:
            return jiter_loads(data, cache_mode="none")

        return "jiter", jiter_envelope
    except ImportError:
        pass
    try:
        from pydantic_core import from_json as core_loads

        def core_envelope(data: bytes) -> Any:
            return core_loads(data, cache_strings=False)

        return "pydantic-core", core_envelope
    except ImportError:
        return "json", None


#: The envelope parser in use: ``"jiter"``, ``"pydantic-core"`` or ``"json"`` (the standard library only).
PARSER, _fast = _find()
#: The fast parser itself (UTF-8 ``bytes`` in; ``None`` without one), for a hot loop that
#: handles its refusals by calling :func:`loads`.
fast_loads = _fast


def loads(data: bytes | str) -> Any:
    """``json.loads`` of ``data`` (``bytes`` are UTF-8, bad bytes read as U+FFFD), faster with jiter.

    Raises ``ValueError`` where ``json.loads`` does.
    """
    if _fast is not None:
        try:
            return _fast(data if type(data) is bytes else data.encode())  # type: ignore[union-attr]
        except (ValueError, TypeError):
            pass  # json.loads decides: it accepts more (lone surrogates), and its error is the one raised
    return stdlib_loads(data)


def stdlib_loads(data: bytes | str) -> Any:
    """``json.loads`` of ``data``, with ``bytes`` decoded as the SSE decoder decodes them."""
    if type(data) is bytes:
        data = data.decode("utf-8", "replace")
    return json.loads(data)
