"""fieldstream: parse streamed LLM output once, incrementally, into typed events.

The public namespace is this module; everything in ``fieldstream._*`` is private.
"""

from ._answer import AnswerEvent, AnswerStream, AsyncAnswerStream, astream, stream
from ._bedrock import BedrockEventStream, bedrock_request, from_boto3
from ._client import CLIENT_DIR, client_app
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
    Repair,
    StringDelta,
    ValueCompleted,
    ValueInvalid,
)
from ._eventstream import EventStreamDecoder, EventStreamMessage
from ._httpx import AsyncEventStream, EventStream, aconnect, connect
from ._iterate import aiter_items, aiter_snapshots, iter_items, iter_snapshots
from ._markers import Live, StreamMode, Whole
from ._ndjson import DEFAULT_MAX_NDJSON_LINE_LENGTH, NDJSONDecoder
from ._otel import atraced, traced
from ._parser import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_NUMBER_LENGTH,
    DEFAULT_MAX_STRING_LENGTH,
    Parser,
)
from ._paths import Path, format_path
from ._protocols import PROTOCOLS, JsonPatchDocument
from ._recording import Recording
from ._records import stream_event_to_json
from ._resume import new_stream_id, parse_event_id, resume_sse
from ._sdk import afrom_sdk, from_sdk
from ._sse import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_LENGTH, SSEDecoder, SSEMessage
from ._sse_encode import SSE_HEADERS, SSEEncoder, sse_encode, to_sse, to_sse_dicts
from ._store import DEFAULT_GRACE, DEFAULT_MAX_FRAMES, DEFAULT_TTL, FrameStore, MemoryStore, RedisStore
from ._stream import DEFAULT_MAX_TARGETS, StreamDecoder, Target
from ._stream_events import (
    ErrorReceived,
    Fault,
    Malformed,
    Refused,
    Source,
    StreamCompleted,
    StreamEvent,
    TargetCompleted,
    TargetEvent,
    TargetStarted,
    TextDelta,
    Truncated,
)
from ._timeline import Buffering, FieldTiming, Timeline, awith_timeline, with_timeline

__version__ = "0.1.0"

__all__ = [
    "AnswerEvent",
    "AnswerStream",
    "AsyncAnswerStream",
    "AsyncEventStream",
    "BedrockEventStream",
    "Buffering",
    "CLIENT_DIR",
    "DEFAULT_GRACE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_MAX_LINE_LENGTH",
    "DEFAULT_MAX_NDJSON_LINE_LENGTH",
    "DEFAULT_MAX_NUMBER_LENGTH",
    "DEFAULT_MAX_STRING_LENGTH",
    "DEFAULT_MAX_TARGETS",
    "DEFAULT_TTL",
    "DocumentCompleted",
    "ErrorReceived",
    "Event",
    "EventStream",
    "EventStreamDecoder",
    "EventStreamMessage",
    "Fault",
    "FieldTiming",
    "FieldstreamError",
    "FrameStore",
    "IncompleteError",
    "ItemCompleted",
    "JsonPatchDocument",
    "LimitError",
    "Live",
    "Malformed",
    "MemoryStore",
    "NDJSONDecoder",
    "PROTOCOLS",
    "ParseError",
    "Parser",
    "Path",
    "Recording",
    "RedisStore",
    "Refused",
    "Repair",
    "SSEDecoder",
    "SSEEncoder",
    "SSEMessage",
    "SSE_HEADERS",
    "SchemaError",
    "Source",
    "StreamCompleted",
    "StreamDecoder",
    "StreamError",
    "StreamEvent",
    "StreamMode",
    "StringDelta",
    "Target",
    "TargetCompleted",
    "TargetEvent",
    "TargetStarted",
    "TextDelta",
    "Timeline",
    "TransportError",
    "Truncated",
    "UsageError",
    "ValueCompleted",
    "ValueInvalid",
    "Whole",
    "__version__",
    "aconnect",
    "afrom_sdk",
    "aiter_items",
    "aiter_snapshots",
    "astream",
    "atraced",
    "awith_timeline",
    "bedrock_request",
    "client_app",
    "connect",
    "format_path",
    "from_boto3",
    "from_sdk",
    "iter_items",
    "iter_snapshots",
    "new_stream_id",
    "parse_event_id",
    "resume_sse",
    "sse_encode",
    "stream",
    "stream_event_to_json",
    "to_sse",
    "to_sse_dicts",
    "traced",
    "with_timeline",
]
