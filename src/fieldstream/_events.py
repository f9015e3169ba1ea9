"""Events: immutable values that say what the last chunk completed.

    ValueCompleted(path, value)     a value at ``path`` is complete (any depth, any type)
    └── ItemCompleted               ... and it is an item of an array (``path[-1]`` is its index)
    StringDelta(path, text)         a string value being typed grew by ``text``
    DocumentCompleted(value, index) a top-level JSON document is complete
    ValueInvalid(path, value, ...)  (typed parsing) a complete value failed validation
    Repair(path, kind, offset)      (lenient mode) the input was fixed at ``offset``

Joining the ``text`` of every ``StringDelta`` for one path gives that string;
how the text is split depends on the chunks and carries no meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._paths import Path, format_path

__all__ = [
    "DocumentCompleted",
    "Event",
    "ItemCompleted",
    "Repair",
    "RepairKind",
    "StringDelta",
    "ValueCompleted",
    "ValueInvalid",
]

_REPR_LIMIT = 60


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:  # a value nested deeper than Python's repr goes (max_depth allows 1000)
        return f"<{type(value).__name__} nested too deep to show>"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


class Event:
    """Base class of every event; each carries a ``path`` (``()`` for the root)."""

    __slots__ = ()
    path: Path

    @property
    def path_text(self) -> str:
        """The path in ``$.a[0].b`` form."""
        return format_path(self.path)


@dataclass(frozen=True, slots=True, repr=False)
class ValueCompleted(Event):
    """The value at ``path`` is complete; it will not change any more.

    ``value`` is a plain JSON value (``dict``, ``list``, ``str``, ``int``, ``float``,
    ``bool`` or ``None``), or, with a schema, the validated value for that path.
    """

    path: Path
    value: Any

    def __repr__(self) -> str:
        return f"{type(self).__name__}({format_path(self.path)}, {_short(self.value)})"


# Not ``slots=True``: on Python 3.10 a slotted dataclass that subclasses another one
# re-declares the inherited slots, and the base's values become unreachable. It adds
# no fields, so an empty ``__slots__`` keeps it as small as its base.
@dataclass(frozen=True, repr=False)
class ItemCompleted(ValueCompleted):
    """An array item is complete: a :class:`ValueCompleted` whose parent is an array."""

    __slots__ = ()

    @property
    def index(self) -> int:
        """The item's position in its array."""
        return self.path[-1]  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, repr=False)
class StringDelta(Event):
    """The string value at ``path`` grew by ``text`` (never empty)."""

    path: Path
    text: str

    def __repr__(self) -> str:
        return f"StringDelta({format_path(self.path)}, {_short(self.text)})"


@dataclass(frozen=True, slots=True, repr=False)
class DocumentCompleted(Event):
    """A top-level document is complete; ``index`` counts documents from 0."""

    value: Any
    index: int = 0
    path: Path = field(default=(), init=False)

    def __repr__(self) -> str:
        return f"DocumentCompleted({_short(self.value)}, index={self.index})"


@dataclass(frozen=True, slots=True, repr=False)
class ValueInvalid(Event):
    """A complete value failed validation (typed parsing); the stream goes on.

    ``value`` is the plain JSON value, ``errors`` pydantic's ``errors()`` list and
    ``error`` the :class:`pydantic.ValidationError` itself.
    """

    path: Path
    value: Any
    errors: list[Any]
    error: Any = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"ValueInvalid({format_path(self.path)}, {len(self.errors)} error(s))"


#: What lenient mode fixed (see ``docs/lenient.md``).
RepairKind = Literal[
    "comment",
    "control_character",
    "extra_comma",
    "inner_quote",
    "invalid_escape",
    "leading_text",
    "mismatched_bracket",
    "missing_bracket",
    "missing_colon",
    "missing_comma",
    "missing_value",
    "nonfinite_number",
    "number_format",
    "python_literal",
    "python_tuple",
    "single_quotes",
    "skipped_text",
    "trailing_comma",
    "trailing_text",
    "truncated",
    "unquoted_key",
    "unquoted_string",
]


@dataclass(frozen=True, slots=True, repr=False)
class Repair(Event):
    """Lenient mode fixed the input: ``kind`` says what, ``offset`` where (in characters).

    ``path`` is the value the fix belongs to (a container for a comma or a bracket,
    ``()`` for text after the document).  It comes before the completion event of
    the value it repaired, so an app can log repairs, or reject a document that
    needed any.
    """

    path: Path
    kind: RepairKind
    offset: int

    def __repr__(self) -> str:
        return f"Repair({format_path(self.path)}, {self.kind!r}, offset={self.offset})"


# The hot paths (the parser, the typed layer) build frozen events without the
# dataclass __init__ (half the cost): a new instance, then the slot descriptors
# set its fields directly.
_new: Any = object.__new__
_set_path: Any = vars(ValueCompleted)["path"].__set__
_set_value: Any = vars(ValueCompleted)["value"].__set__
_set_delta_path: Any = vars(StringDelta)["path"].__set__
_set_delta_text: Any = vars(StringDelta)["text"].__set__


def _completed(cls: type[ValueCompleted], path: Path, value: Any) -> ValueCompleted:
    event: ValueCompleted = _new(cls)
    _set_path(event, path)
    _set_value(event, value)
    return event


def _delta(path: Path, text: str) -> StringDelta:
    event: StringDelta = _new(StringDelta)
    _set_delta_path(event, path)
    _set_delta_text(event, text)
    return event
