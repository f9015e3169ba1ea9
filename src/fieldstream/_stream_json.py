"""The JSONL record of each stream event: the core records plus a ``"source"`` key.

Core events keep their records (``field``, ``delta``, ``invalid``); a text delta
is a ``delta`` at path ``$``; a completed target is one ``done`` line with its
value.  New kinds: ``start`` (a target appeared), ``error`` with a ``kind``
(``provider``, ``truncated``, ``refusal``, ``malformed``), and ``end`` (usage,
finish reasons, model, id).  Existing keys keep the meaning they have in the
core format; records may gain keys.
"""

from __future__ import annotations

from typing import Any

from ._cli import _jsonable, error_to_json, event_to_json
from ._errors import ParseError
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

__all__ = ["stream_event_to_json"]


def stream_event_to_json(event: StreamEvent) -> dict[str, Any]:
    """The JSONL record of one stream event (a plain JSON-ready dict)."""
    source = str(event.source) if event.source is not None else None
    if isinstance(event, TargetEvent):
        return event_to_json(event.event, source=source)
    if isinstance(event, TextDelta):
        return {"event": "delta", "path": "$", "text": event.text, "source": source}
    if isinstance(event, TargetCompleted):
        return {"event": "done", "value": _jsonable(event.value), "source": source}
    if isinstance(event, TargetStarted):
        s = event.source
        return {"event": "start", "source": source, "kind": s.kind, "id": s.id, "name": s.name}
    if isinstance(event, Fault):
        return _fault(event, source)
    if isinstance(event, StreamCompleted):
        return {
            "event": "end",
            "format": event.format,
            "complete": event.complete,
            "finish_reasons": event.finish_reasons,
            "usage": event.usage,
            "model": event.model,
            "id": event.response_id,
        }
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
    else:
        record["kind"] = "malformed"
    if event.source is not None:
        record["snapshot"] = _jsonable(event.snapshot)
        record["raw"] = event.raw
    return record
