"""The one output rule: how every value fieldstream writes becomes JSON text.

Every output goes through :func:`dumps`: the JSONL records of the CLI, the
``data:`` of SSE frames, the values in the CLI's readable views (and any later
format).  The rule, for any value the parser accepted and any typed value built
from one:

* The text is valid JSON (RFC 8259), on one line, at any nesting depth (the
  parser allows ``max_depth=1000``; ``json.dumps`` gives up at a few hundred).
* Typed values are JSON, not reprs: pydantic models, dataclasses, enums and
  dates as pydantic's JSON mode writes them (``model_dump(mode="json")``, field
  names not aliases); anything else unknown as its ``str()``.
* A model's own serialization code (a ``field_serializer``, ``model_serializer``,
  ``PlainSerializer``, ``computed_field``) that raises makes the write fail with
  :class:`SchemaError` (the original exception as ``__cause__``): the value is
  never written some other way, past a serializer that may exist to redact it.
* A lone surrogate (valid in JSON text, ``"\\ud800"``; providers split emoji
  across deltas) is written as its ``\\uXXXX`` escape, as browsers'
  ``JSON.stringify`` does: lossless, and the text stays valid UTF-8.
* A non-finite number (``1e400`` parses as ``inf``) is written as ``null``, as
  ``JSON.stringify`` does: ``Infinity`` and ``NaN`` are not JSON.
* U+0085, U+2028 and U+2029 are escaped too, so a reader that splits lines the
  way Python's ``str.splitlines`` does still sees one record per line.

Theory of operation: the fast path is one ``json.dumps`` call (C).  When it
fails (a non-finite number, nesting beyond its recursion limit, a key it cannot
write, a typed value pydantic cannot convert), :func:`plain` rebuilds the value
iteratively and a small iterative writer writes it.  Either way the text then
gets its surrogates and line breaks escaped by one regular expression.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from typing import Any

from ._errors import SchemaError, UsageError

__all__ = ["dumps", "plain", "safe_text"]

_SCALARS = (str, int, float, bool, type(None))

# Characters that may stand raw inside a JSON string but break UTF-8 or line splitting.
_SPECIAL = re.compile("[\x85\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(value: Any, *, compact: bool = False) -> str:
    """``value`` as one line of JSON text under the output rule.

    >>> dumps({"a": [1.5, float("inf"), "\\ud83d"]})
    '{"a": [1.5, null, "\\\\ud83d"]}'
    >>> dumps({"a": 1}, compact=True)
    '{"a":1}'

    ``compact`` leaves out the spaces after ``,`` and ``:`` (the SSE frames' form).
    """
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators, default=_typed)
    except (ValueError, TypeError, RecursionError):
        # inf/nan, deeper than json's recursion allows, odd keys, or a typed value pydantic cannot convert.
        text = _write(plain(value), separators)
    return _SPECIAL.sub(_escape, text)


def safe_text(text: str) -> str:
    """``text`` (a readable line, a message) with lone surrogates and odd line breaks escaped, so it is valid UTF-8.

    >>> safe_text("a " + chr(0xD800) + " b")
    'a \\\\ud800 b'
    """
    return _SPECIAL.sub(_escape, text)


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, strings, numbers, booleans, None.

    Typed values become their JSON form; containers are rebuilt without recursion,
    so any depth works.  Non-finite floats and lone surrogates stay as they are
    (:func:`dumps` writes them); a value that contains itself raises UsageError.
    """
    if isinstance(value, _SCALARS):
        return value
    fast = _pydantic_plain(value)
    if fast is not _FAILED:
        return fast
    root: list[Any] = [None]
    # Each entry: (the container to fill, the key or index in it, the value to convert, the ids above it).
    todo: list[tuple[Any, Any, Any, frozenset[int]]] = [(root, 0, value, frozenset())]
    while todo:
        parent, slot, item, above = todo.pop()
        while not isinstance(item, (dict, list, tuple, set, frozenset, *_SCALARS)):
            item = _shallow(item)
        if isinstance(item, _SCALARS):
            parent[slot] = item
            continue
        if id(item) in above:
            raise UsageError("cannot write a value that contains itself as JSON")
        inner = above | {id(item)}
        if isinstance(item, dict):
            out: dict[str, Any] = {}
            for key, child in item.items():
                k = _key(key)
                out[k] = None
                todo.append((out, k, child, inner))
            parent[slot] = out
        else:
            items = list(item)
            new: list[Any] = [None] * len(items)
            todo.extend((new, i, child, inner) for i, child in enumerate(items))
            parent[slot] = new
    return root[0]


_FAILED = object()


def _pydantic_plain(value: Any) -> Any:
    # pydantic-core converts in Rust; it stops at about 255 levels and on surrogate keys.
    try:
        from pydantic_core import to_jsonable_python
    except ImportError:
        return _FAILED
    try:
        return to_jsonable_python(value, by_alias=False, fallback=str)
    except UnicodeEncodeError:  # a lone surrogate in a key: the slow way
        return _FAILED
    except ValueError as exc:
        if exc.__cause__ is None and str(exc).startswith(_LIMITS):  # pydantic-core's own limits: the slow way
            return _FAILED
        error: Exception = exc
    except Exception as exc:  # noqa: BLE001 - a computed field (or a __str__) raised as it is
        error = exc
    # the model's own serialization code raised (pydantic-core wraps it, the original as __cause__)
    cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
    if isinstance(cause, MemoryError):
        raise cause
    name = type(cause).__name__
    raise SchemaError(
        f"cannot write a {type(value).__name__} as JSON: its serializer raised {name}: {cause}"
    ) from cause


# the messages of pydantic-core's own limits (not a model's code): nesting depth, a value inside itself
_LIMITS = ("Maximum serialization depth", "Circular reference")


def _typed(value: Any) -> Any:
    # json.dumps' hook for what it cannot write itself.
    converted = _pydantic_plain(value)
    if converted is _FAILED:
        converted = plain(value)
    return converted


def _shallow(value: Any) -> Any:
    """One level of a typed value as plain containers; its children are converted later."""
    converted = _pydantic_plain(value)
    if converted is not _FAILED:
        return converted
    fields = getattr(type(value), "__pydantic_fields__", None)
    if isinstance(fields, dict):  # a pydantic model too deep for pydantic-core's converter
        out = {name: getattr(value, name, None) for name in fields}
        out.update(getattr(value, "__pydantic_extra__", None) or {})
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _key(key: Any) -> str:
    # The keys json.dumps accepts, written the way it writes them; anything else as str().
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key, allow_nan=True)
    converted = _pydantic_plain(key)
    return converted if isinstance(converted, str) else str(key)


def _write(value: Any, separators: tuple[str, str]) -> str:
    """Write plain JSON data without recursion; non-finite numbers as ``null``."""
    comma, colon = separators
    parts: list[str] = []
    # A stack of pending work: values to write, or literal text (closing brackets, commas).
    todo: list[Any] = [value]
    text = _Text
    while todo:
        item = todo.pop()
        if type(item) is text:
            parts.append(item.s)
        elif isinstance(item, dict):
            if not item:
                parts.append("{}")
                continue
            parts.append("{")
            todo.append(text("}"))
            entries = list(item.items())
            for i in range(len(entries) - 1, -1, -1):
                key, child = entries[i]
                todo.append(child)
                todo.append(text(("" if i == 0 else comma) + json.dumps(key, ensure_ascii=False) + colon))
        elif isinstance(item, list):
            if not item:
                parts.append("[]")
                continue
            parts.append("[")
            todo.append(text("]"))
            for i in range(len(item) - 1, -1, -1):
                todo.append(item[i])
                if i:
                    todo.append(text(comma))
        elif isinstance(item, float):
            parts.append(float.__repr__(item) if math.isfinite(item) else "null")
        else:  # str, int, bool, None: json.dumps writes them as they are
            parts.append(json.dumps(item, ensure_ascii=False))
    return "".join(parts)


class _Text:
    # Literal output on the writer's stack (distinct from a str value, which is written quoted).
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s
