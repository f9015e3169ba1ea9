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
from ._parser import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_NUMBER_LENGTH,
    DEFAULT_MAX_STRING_LENGTH,
    Parser,
)
from ._paths import Path, format_path
from ._sse_encode import SSE_HEADERS, SSEEncoder, sse_encode, to_sse, to_sse_dicts

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
    "ParseError",
    "Parser",
    "Path",
    "SSEEncoder",
    "SSE_HEADERS",
    "SchemaError",
    "StreamError",
    "StringDelta",
    "TransportError",
    "UsageError",
    "ValueCompleted",
    "ValueInvalid",
    "__version__",
    "format_path",
    "sse_encode",
    "to_sse",
    "to_sse_dicts",
]
