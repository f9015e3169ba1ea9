"""Helpers shared by the competitors: counting the leaves a partial value exposes as complete."""

from __future__ import annotations

from typing import Any

_SCALAR_COMPLETE_AT_APPEARANCE = (str, bool, type(None))


def scalars(value: Any, out: list[Any]) -> list[Any]:
    """The scalar leaves of ``value`` in document order (dicts keep insertion order)."""
    if isinstance(value, dict):
        for v in value.values():
            scalars(v, out)
    elif isinstance(value, list):
        for v in value:
            scalars(v, out)
    else:
        out.append(value)
    return out


def known_complete(value: Any, *, drops_incomplete_strings: bool) -> int:
    """How many leaves of a re-parsed partial value a consumer can *know* are final.

    Every leaf but the last is followed by more text, so it is final.  The last
    one is final only if the parser drops unfinished strings and literals
    (jiter ``partial_mode=True``) and it is one of those; a trailing number may
    still grow (``12`` may become ``123``), and a trailing string from a parser
    that shows unfinished strings may still grow.
    """
    leaves = scalars(value, [])
    if not leaves:
        return 0
    last = leaves[-1]
    if drops_incomplete_strings and isinstance(last, _SCALAR_COMPLETE_AT_APPEARANCE):
        return len(leaves)
    return len(leaves) - 1


def plain(value: Any) -> Any:
    """A pydantic model (or anything with ``model_dump``) as plain JSON-like data.

    Only the fields the input set: a model with optional fields (``actionsflat``)
    dumps back to the text it was parsed from.
    """
    dump = getattr(value, "model_dump", None)
    return dump(exclude_unset=True) if dump is not None else value


def version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    try:
        return v(dist)
    except PackageNotFoundError:
        return "?"
