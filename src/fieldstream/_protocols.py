"""Wire protocols for the browser: fieldstream's own frames, JSON Patch, the AI SDK UI stream, AG-UI.

Theory of operation
-------------------
A *framer* turns fieldstream events into SSE frames of one protocol, as
``(event name or None, data text)`` pairs; :func:`to_sse` numbers them and writes
the bytes, and a store keeps them as they are.  Every ``data`` text goes through
the one output rule (:func:`dumps`): no lone surrogates' crash, non-finite numbers
as ``null``, line separators escaped.

``"fieldstream"`` is the JSONL record of each event (see ``_records.py``).

``"json-patch"`` replaces the ``delta``/``field``/``done`` frames by ``patch``
frames whose data is a list of RFC 6902 operations on one document, which starts
as ``null``; ``start``, ``invalid``, ``error`` and ``end`` frames stay as they are.
A string that grows is sent with the ``append`` extension (as LangDiff does):
``{"op": "append", "path": P, "value": S}`` sets the string at ``P`` to itself
followed by ``S``.  Containers are added before their first member, so applying
every operation in order (an RFC 6902 library plus ``append``) rebuilds each
value exactly as the output rule writes it.  For a :class:`StreamDecoder`, the
document is an object keyed by target (``{"choices[0]": ...}``).

``"ai-sdk"`` is the Vercel AI SDK's UI message stream (``ai`` 5 and later, header
``x-vercel-ai-ui-message-stream: v1``): ``start``, one ``data-object`` part per
change holding the whole partial value (same part id, so the SDK updates it in
place), ``finish`` (or ``error``), then ``[DONE]``.

``"ag-ui"`` is AG-UI's event stream: ``RUN_STARTED``, ``STATE_SNAPSHOT`` of the
empty state, a ``STATE_DELTA`` with standard RFC 6902 operations per change (a
growing string is a ``replace``, since AG-UI clients apply plain RFC 6902), then
``RUN_FINISHED`` (or ``RUN_ERROR``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from . import _json_out
from ._errors import FieldstreamError, UsageError
from ._events import DocumentCompleted, Event, StringDelta, ValueCompleted, ValueInvalid
from ._paths import Path
from ._records import error_to_json, event_to_json, jsonable, jsonable_snapshot, stream_event_to_json
from ._stream_events import StreamCompleted, StreamEvent, TargetCompleted, TargetEvent, TextDelta
from ._timeline import Timeline

__all__ = ["PROTOCOLS", "Framer", "JsonPatchDocument", "Protocol", "dumps", "make_framer"]

Protocol = Literal["fieldstream", "json-patch", "ai-sdk", "ag-ui"]
PROTOCOLS: tuple[str, ...] = ("fieldstream", "json-patch", "ai-sdk", "ag-ui")

#: One SSE frame before numbering: its ``event:`` name (``None``: none) and its data text.
Frame = tuple["str | None", str]


def dumps(record: Any) -> str:
    """The one output rule (``_json_out``), compact: valid JSON on one line at any depth, typed
    values as JSON, lone surrogates as ``\\uXXXX`` escapes, non-finite numbers as ``null``."""
    return _json_out.dumps(record, compact=True)


def _plain(value: Any) -> Any:
    # The value as a client will see it after the output rule (typed values in JSON mode).
    value = jsonable(value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    return json.loads(dumps(value))


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


_MISSING = object()


class JsonPatchDocument:
    """The document a client holds, and the RFC 6902 operations that move it along.

    >>> import fieldstream
    >>> doc = JsonPatchDocument()
    >>> ops = [op for ev in fieldstream.Parser().feed('{"a": ["x') for op in doc.apply(ev)]
    >>> ops
    [{'op': 'replace', 'path': '', 'value': {}}, {'op': 'add', 'path': '/a', 'value': []}, \
{'op': 'add', 'path': '/a/0', 'value': 'x'}]
    >>> doc.value
    {'a': ['x']}

    ``append=False`` writes a growing string as ``replace`` (plain RFC 6902).
    """

    def __init__(self, *, append: bool = True) -> None:
        self._append = append
        self.value: Any = None
        self._fresh = True  # the next value starts a new document (replaces the root)

    def apply(self, event: Any) -> list[dict[str, Any]]:
        """The operations for one event (often none: a completion that changes nothing)."""
        if isinstance(event, Event):
            return self._core(event, ())
        if isinstance(event, TargetEvent):
            return self._core(event.event, (str(event.source),))
        if isinstance(event, TextDelta):
            return self._grow((str(event.source),), event.text)
        if isinstance(event, TargetCompleted):
            return self._set((str(event.source),), event.value)
        return []

    def _core(self, event: Event, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
        if isinstance(event, StringDelta):
            return self._grow(prefix + event.path, event.text)
        if isinstance(event, (ValueCompleted, ValueInvalid)):
            return self._set(prefix + event.path, event.value)
        if isinstance(event, DocumentCompleted):
            ops = self._set(prefix, event.value)
            if not prefix:
                self._fresh = True  # NDJSON: the next document replaces this one
            return ops
        return []  # a Repair (lenient mode) changes no value

    def _get(self, path: Path) -> Any:
        node = self.value
        for key in path:
            # two branches (not one "or"): mypy narrows the key's type in each
            if isinstance(node, dict) and isinstance(key, str) and key in node:  # noqa: SIM114
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return _MISSING
        return node

    def _put(self, path: Path, value: Any, ops: list[dict[str, Any]]) -> None:
        # Set path to value, adding the containers above it first.
        if not path or self._fresh:
            if path:
                self._fresh = False
                self.value = {} if isinstance(path[0], str) else []
                ops.append({"op": "replace", "path": "", "value": self._copy(self.value)})
            else:
                self._fresh = False
                self.value = value
                ops.append({"op": "replace", "path": "", "value": self._copy(value)})
                return
        node = self.value
        for i, key in enumerate(path[:-1]):
            child = self._get(path[: i + 1])
            if child is _MISSING or not isinstance(child, (dict, list)):
                child = {} if isinstance(path[i + 1], str) else []
                self._assign(node, key, child, path[: i + 1], ops)
            node = child
        self._assign(node, path[-1], value, path, ops)

    def _assign(self, node: Any, key: str | int, value: Any, path: Path, ops: list[dict[str, Any]]) -> None:
        exists = (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        )
        op = "replace" if exists else "add"
        if isinstance(node, list) and not exists:
            key = len(node)  # items complete in order; never leave a hole
            node.append(value)
        else:
            node[key] = value
        ops.append({"op": op, "path": _pointer(path[:-1] + (key,)), "value": self._copy(value)})

    @staticmethod
    def _copy(value: Any) -> Any:
        # Operations carry snapshots: later changes to the document must not show in them.
        return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value

    def _grow(self, path: Path, text: str) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        old = None if self._fresh else self._get(path)
        if not isinstance(old, str):
            self._put(path, text, ops)
            return ops
        new = old + text
        if path:
            parent = self._get(path[:-1])
            parent[path[-1]] = new
        else:
            self.value = new
        if self._append:
            ops.append({"op": "append", "path": _pointer(path), "value": text})
        else:
            ops.append({"op": "replace", "path": _pointer(path), "value": new})
        return ops

    def _set(self, path: Path, value: Any) -> list[dict[str, Any]]:
        value = _plain(value)
        ops: list[dict[str, Any]] = []
        if self._fresh or self._get(path) != value or _has_float_mismatch(self._get(path), value):
            self._put(path, value, ops)
        return ops


def _has_float_mismatch(old: Any, new: Any) -> bool:
    # 1 == 1.0 in Python, yet the client sees "1" and "1.0" as the same number too; only
    # types JSON tells apart matter (True == 1 in Python, not in JSON).
    if isinstance(old, bool) != isinstance(new, bool):
        return True
    if isinstance(old, dict) and isinstance(new, dict):
        return any(_has_float_mismatch(old.get(k), v) for k, v in new.items())
    if isinstance(old, list) and isinstance(new, list):
        return any(_has_float_mismatch(a, b) for a, b in zip(old, new))
    return False


class Framer:
    """Events in, frames of one protocol out (sans-IO); ``finished`` once a final frame was made."""

    def __init__(self, protocol: str = "fieldstream", *, stream_id: str | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise UsageError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.stream_id = stream_id or uuid.uuid4().hex
        self.finished = False
        #: the last complete top-level value (a ``done`` record), for error frames
        self.last_value: Any = None
        self._doc = JsonPatchDocument(append=protocol == "json-patch")

    def begin(self) -> list[Frame]:
        """Frames that open the stream (none for fieldstream and JSON Patch)."""
        if self.protocol == "ai-sdk":
            return [(None, dumps({"type": "start", "messageId": self.stream_id}))]
        if self.protocol == "ag-ui":
            run = {"threadId": self.stream_id, "runId": self.stream_id}
            return [
                (None, dumps({"type": "RUN_STARTED", **run})),
                (None, dumps({"type": "STATE_SNAPSHOT", "snapshot": None})),
            ]
        return []

    def event(self, event: Any) -> list[Frame]:
        """Frames for one event; a :class:`StreamCompleted` ends the stream."""
        if isinstance(event, Timeline):  # from with_timeline(): a record of fieldstream's own frames only
            return [("timeline", dumps(event.to_record()))] if self.protocol == "fieldstream" else []
        if isinstance(event, StreamCompleted):
            record = stream_event_to_json(event)
            return self._final(record)
        record = self._record(event)
        name = str(record["event"])
        if name == "done" and "source" not in record:
            self.last_value = record["value"]
        if self.protocol == "fieldstream":
            return [(name, dumps(record))]
        ops = self._doc.apply(event)
        frames: list[Frame] = []
        if self.protocol == "json-patch":
            if ops:
                frames.append(("patch", dumps(ops)))
            if name not in ("delta", "field", "done"):
                frames.append((name, dumps(record)))
        elif self.protocol == "ai-sdk":
            if ops:
                part = {"type": "data-object", "id": "object", "data": self._doc.value}
                frames.append((None, dumps(part)))
        elif ops:  # ag-ui
            frames.append((None, dumps({"type": "STATE_DELTA", "delta": ops})))
        return frames

    @staticmethod
    def _record(event: Any) -> dict[str, Any]:
        if isinstance(event, Event):
            return event_to_json(event)
        if isinstance(event, StreamEvent):
            return stream_event_to_json(event)
        raise UsageError(f"cannot encode {event!r} as a server-sent event: not a fieldstream event")

    def end(self, **extra: Any) -> list[Frame]:
        """The frames that end the stream (``extra`` keys go into the ``end`` record)."""
        return self._final({"event": "end", **{k: v for k, v in extra.items() if v is not None}})

    def _final(self, record: dict[str, Any]) -> list[Frame]:
        self.finished = True
        if self.protocol == "ai-sdk":
            return [(None, dumps({"type": "finish"})), (None, "[DONE]")]
        if self.protocol == "ag-ui":
            return [(None, dumps({"type": "RUN_FINISHED", "threadId": self.stream_id, "runId": self.stream_id}))]
        return [("end", dumps(record))]

    def error(self, error: FieldstreamError, *, snapshot: Any = None, **extra: Any) -> list[Frame]:
        """The frames that end a failed stream: message, position, last snapshot."""
        if snapshot is None:
            snapshot = getattr(error, "snapshot", None)
        if snapshot is None:
            snapshot = self.last_value
        record = error_to_json(error, snapshot=jsonable_snapshot(snapshot), exception=type(error).__name__, **extra)
        return self.fail(record)

    def fail(self, record: dict[str, Any]) -> list[Frame]:
        """Final frames for an ``error`` record made elsewhere (a server limit)."""
        self.finished = True
        if self.protocol == "ai-sdk":
            return [(None, dumps({"type": "error", "errorText": record["message"]})), (None, "[DONE]")]
        if self.protocol == "ag-ui":
            return [(None, dumps({"type": "RUN_ERROR", "message": record["message"]}))]
        return [("error", dumps(record))]


def make_framer(protocol: str, stream_id: str | None = None) -> Framer:
    """A :class:`Framer` for ``protocol`` (one of :data:`PROTOCOLS`)."""
    return Framer(protocol, stream_id=stream_id)
