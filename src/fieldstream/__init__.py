"""fieldstream: parse streamed LLM output once, incrementally, into typed events.

The public namespace is this module; everything in ``fieldstream._*`` is private.
"""

from ._errors import (
    FieldstreamError,
    IncompleteError,
    LimitError,
    ParseError,
    SchemaError,
    StreamError,
    TransportError,
    UsageError,
)
from ._events import (
    DocumentCompleted,
    Event,
    ItemCompleted,
    StringDelta,
    ValueCompleted,
    ValueInvalid,
)
from ._iterate import aiter_items, aiter_snapshots, iter_items, iter_snapshots
from ._markers import Live, StreamMode, Whole
from ._parser import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_NUMBER_LENGTH,
    DEFAULT_MAX_STRING_LENGTH,
    Parser,
)
from ._paths import Path, format_path

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NUMBER_LENGTH",
    "DEFAULT_MAX_STRING_LENGTH",
    "DocumentCompleted",
    "Event",
    "FieldstreamError",
    "IncompleteError",
    "ItemCompleted",
    "LimitError",
    "Live",
    "ParseError",
    "Parser",
    "Path",
    "SchemaError",
    "StreamError",
    "StreamMode",
    "StringDelta",
    "TransportError",
    "UsageError",
    "ValueCompleted",
    "ValueInvalid",
    "Whole",
    "__version__",
    "aiter_items",
    "aiter_snapshots",
    "format_path",
    "iter_items",
    "iter_snapshots",
]
