"""The JSONL records of events: the fixed machine format of the CLI, SSE and tools.

Core events: ``field``, ``delta``, ``done`` and ``invalid``, and ``error`` for a
fieldstream error; in lenient mode also ``repair`` (``path``, ``kind``, ``offset``:
what was fixed where, just before the record of the value it repaired).  Stream events (from ``StreamDecoder``) keep those records and
add a ``"source"`` key; a text delta is a ``delta`` at path ``$``; a completed
target is one ``done`` line with its value.  New kinds: ``start`` (a target appeared), ``error`` with a ``kind``
(``provider``, ``truncated``, ``refusal``, ``malformed``), ``end`` (usage,
finish reasons, model, id; ``usage_estimate`` when the stream did not complete),
and ``timeline`` (when each read and field arrived, and the buffering verdict).  Existing keys keep the meaning they have in the
core format; records may gain keys.

As text, every record is written by the one output rule (``_json_out.dumps``):
valid UTF-8 JSON on one line at any depth, typed values as pydantic's JSON mode,
a lone surrogate as its ``\\uXXXX`` escape, and a number beyond float range
(``1e400``) as ``null``, as ``JSON.stringify`` writes them.
"""

from __future__ import annotations

from typing import Any

from ._errors import FieldstreamError, ParseError, SchemaError
from ._events import DocumentCompleted, Event, Repair, StringDelta, ValueCompleted, ValueInvalid
from ._json_out import dumps, plain
from ._paths import format_path
from ._stream_events import (
    ErrorReceived,
    Fault,
    Malformed,
    Refused,
    StreamCompleted,
    StreamEvent,
    TargetCompleted,
    TargetEvent,
    TargetStarted,
    TextDelta,
    Truncated,
)

__all__ = ["error_to_json", "event_to_json", "jsonable", "jsonable_snapshot", "short_json", "stream_event_to_json"]


def event_to_json(event: Event, **extra: Any) -> dict[str, Any]:
    """The JSONL record of one event (the fixed machine format), plus ``extra`` keys."""
    record: dict[str, Any]
    if isinstance(event, StringDelta):
        record = {"event": "delta", "path": format_path(event.path), "text": event.text}
    elif isinstance(event, ValueCompleted):
        record = {"event": "field", "path": format_path(event.path), "value": jsonable(event.value)}
    elif isinstance(event, DocumentCompleted):
        record = {"event": "done", "value": jsonable(event.value)}
    elif isinstance(event, ValueInvalid):
        record = {
            "event": "invalid",
            "path": format_path(event.path),
            "errors": jsonable(event.errors),
            "value": jsonable(event.value),  # the plain JSON value that failed
        }
    elif isinstance(event, Repair):
        record = {"event": "repair", "path": format_path(event.path), "kind": event.kind, "offset": event.offset}
    else:  # pragma: no cover - every event type is listed above
        raise TypeError(f"unknown event {event!r}")
    record.update(extra)
    return record


def error_to_json(error: FieldstreamError, **extra: Any) -> dict[str, Any]:
    """The JSONL record of an error: ``{"event": "error", "message", "offset", "path"}``.

    A :class:`SchemaError`'s record has its ``path`` too.
    """
    record: dict[str, Any] = {"event": "error", "message": str(error)}
    if isinstance(error, SchemaError):
        record["path"] = error.path
    if isinstance(error, ParseError):
        record["message"] = error.reason
        record["offset"] = error.offset
        record["line"] = error.line
        record["column"] = error.column
        record["path"] = error.path
    record.update(extra)
    return record


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: typed values (pydantic models, enums, dates) as pydantic's JSON mode.

    Written out, records follow the one output rule of ``_json_out.dumps``.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if not _typed_values_possible():  # without pydantic every value is already plain JSON data
        return value
    return plain(value)


def jsonable_snapshot(value: Any) -> Any:
    """:func:`jsonable` for the snapshot an ``error`` record carries: ``None`` when it cannot be written.

    A model whose serializer raises (the fault the record may be reporting) must not
    stop the record that ends the stream.
    """
    try:
        return jsonable(value)
    except FieldstreamError:
        return None


def _typed_values_possible() -> bool:
    try:
        import pydantic_core  # noqa: F401
    except ImportError:
        return False
    return True


def short_json(value: Any, limit: int = 70) -> str:
    """``value`` as one line of JSON, cut to ``limit`` characters (for readable output)."""
    text = dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def stream_event_to_json(event: StreamEvent) -> dict[str, Any]:
    """The JSONL record of one stream event (a plain JSON-ready dict)."""
    source = str(event.source) if event.source is not None else None
    if isinstance(event, TargetEvent):
        return event_to_json(event.event, source=source)
    if isinstance(event, TextDelta):
        return {"event": "delta", "path": "$", "text": event.text, "source": source}
    if isinstance(event, TargetCompleted):
        return {"event": "done", "value": jsonable(event.value), "source": source}
    if isinstance(event, TargetStarted):
        s = event.source
        return {"event": "start", "source": source, "kind": s.kind, "id": s.id, "name": s.name}
    if isinstance(event, Fault):
        return _fault(event, source)
    if isinstance(event, StreamCompleted):
        record = {
            "event": "end",
            "format": event.format,
            "complete": event.complete,
            "finish_reasons": event.finish_reasons,
            "usage": event.usage,
            "model": event.model,
            "id": event.response_id,
        }
        if not event.streamed:  # a whole response, decoded as a stream: said only when so
            record["streamed"] = False
        if event.usage_estimate is not None:  # only on streams that did not complete
            record["usage_estimate"] = event.usage_estimate
        return record
    raise TypeError(f"unknown stream event {event!r}")  # pragma: no cover - every type is listed above


def _fault(event: Fault, source: str | None) -> dict[str, Any]:
    record: dict[str, Any]
    if isinstance(event, Malformed) and isinstance(event.error, ParseError):
        record = error_to_json(event.error)
    else:
        record = {"event": "error", "message": event.message}
    record["source"] = source
    if isinstance(event, ErrorReceived):
        record.update(kind="provider", code=event.code, type=event.error_type, status=event.status_code)
    elif isinstance(event, Truncated):
        record.update(kind="truncated", reason=event.reason)
    elif isinstance(event, Refused):
        record["kind"] = "refusal"
        if event.details is not None:
            record["details"] = jsonable(event.details)
    else:
        record["kind"] = "malformed"
    if event.source is not None:
        record["snapshot"] = jsonable_snapshot(event.snapshot)
        record["raw"] = event.raw
    return record
