"""The one error tree of fieldstream, split by whose fault it is.

    FieldstreamError                  base of everything this library raises
    ├── ParseError                    the input is not what was promised (offset, line, column, path)
    │   ├── IncompleteError           input ended before the document did
    │   └── LimitError                a configured limit (depth, token size, buffer) was exceeded
    ├── UsageError                    the caller used the API wrongly (feed after close, bad option)
    ├── SchemaError                   a value failed validation against the model (pydantic error as __cause__),
    │                                 or the model's own code raised (a validator, default factory, serializer)
    └── StreamError                   the wire/provider side: an error event, a cut stream, a bad status
        └── TransportError            the HTTP layer failed (connect, read timeout, reset)

Input errors leave the parser in an error state; whatever was parsed before the
fault stays readable through ``parser.snapshot``.  The only exceptions that escape
the library's public entry points are these, with two kinds of exception left as
they are: ``BaseException``s that are not ``Exception``s (``KeyboardInterrupt``,
``SystemExit``, ``GeneratorExit``, ``asyncio.CancelledError``), and ``MemoryError``
(an ``Exception``, but nothing can be promised once memory is gone, so it propagates
as it is, from a model's code too).

Code a schema runs (an ``AfterValidator``/``BeforeValidator``/``WrapValidator``/
``PlainValidator``, a ``field_validator`` or ``model_validator``, a
``default_factory``, a dataclass's ``__post_init__``, a ``Discriminator``
callable, a custom type's validator) may raise anything.  Pydantic turns a
``ValueError``/``AssertionError`` into a ``ValidationError`` (an invalid value:
``ValueInvalid`` or ``SchemaError`` as ``on_invalid`` says); anything else it
propagates, and fieldstream makes it a ``SchemaError`` whatever ``on_invalid``
says: a broken schema, not an invalid value.  Its ``__cause__`` is the original
exception, ``path`` the value being validated, ``errors`` one entry
``{"type": "exception", "loc": (), "msg": "<class>: <message>", "input": None}``;
the parser stops (a later ``feed`` raises ``UsageError``), and the events and the
snapshot before the fault are kept.  A serializer of the model (``field_serializer``,
``model_serializer``, ``computed_field``) that raises while a value is written as
JSON is a ``SchemaError`` too; an unusable schema is a ``UsageError`` at
construction.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FieldstreamError",
    "IncompleteError",
    "LimitError",
    "ParseError",
    "SchemaError",
    "StreamError",
    "TransportError",
    "UsageError",
]


class FieldstreamError(Exception):
    """Base class of every exception fieldstream raises."""


class ParseError(FieldstreamError):
    """The input is not valid JSON (or not valid for the chosen options).

    ``offset`` counts characters (code points) of decoded text from the start of
    the input, ``line`` and ``column`` are 1-based, ``path`` is the JSON path of
    the value being parsed, in ``$.a[0].b`` form.  ``snapshot`` is the partial
    value parsed before the fault.  ``events`` holds the events that the failing
    ``feed()`` completed before the fault (it raised instead of returning them).
    """

    events: list[Any]

    def __init__(
        self,
        message: str,
        *,
        offset: int = 0,
        line: int = 1,
        column: int = 1,
        path: str = "$",
        snapshot: Any = None,
    ) -> None:
        self.reason = message
        self.offset = offset
        self.line = line
        self.column = column
        self.path = path
        self.snapshot = snapshot
        self.events = []
        super().__init__(f"{message} at line {line} column {column} (offset {offset}) at {path}")


class IncompleteError(ParseError):
    """The input ended (``close()``) before the JSON document was complete."""


class LimitError(ParseError):
    """A configured limit was exceeded: nesting depth, token size or buffered text."""


class UsageError(FieldstreamError):
    """The API was used wrongly, for example ``feed()`` after ``close()``."""


class SchemaError(FieldstreamError):
    """A value failed validation against the schema; ``__cause__`` is pydantic's error.

    Or the schema's own code (a validator, a default factory, a serializer) raised
    something other than ``ValueError``/``AssertionError``: then ``__cause__`` is that
    exception and ``errors`` holds one entry of type ``"exception"``.

    ``path`` is the JSON path in ``$.a[0].b`` form, ``errors`` pydantic's error list.
    ``events`` holds the (validated) events that the failing ``feed()`` completed
    before the invalid value (it raised instead of returning them).
    """

    events: list[Any]

    def __init__(self, message: str, *, path: str = "$", errors: list[Any] | None = None) -> None:
        self.path = path
        self.errors = errors or []
        self.events = []
        super().__init__(f"{message} at {path}")


class StreamError(FieldstreamError):
    """The stream itself failed: a provider error event, a cut or truncated stream.

    ``snapshot`` holds the last good partial value, ``raw`` the text received so far
    for the affected target (when known), ``provider_message`` the provider's own words.
    """

    def __init__(
        self,
        message: str,
        *,
        snapshot: Any = None,
        raw: str | None = None,
        provider_message: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.raw = raw
        self.provider_message = provider_message
        self.status_code = status_code
        super().__init__(message)


class TransportError(StreamError):
    """The HTTP transport failed: connection refused or reset, read timeout."""
