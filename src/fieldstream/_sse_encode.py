"""Server-Sent Events out: fieldstream events as ``text/event-stream`` frames.

Theory of operation
-------------------
:class:`SSEEncoder` is sans-IO: it turns one event (or an error, or the end of
the stream) into the bytes of one SSE frame and counts ids.  Each frame's
``data:`` line is the event's JSONL record, the same one ``fieldstream parse
--jsonl`` prints, so a browser and a shell script read one format; the frame's
``event:`` line is the record's ``"event"`` name (``field``, ``delta``, ``done``,
``invalid``; for :class:`StreamDecoder` events also ``start``, ``error`` and
``end``, with a ``"source"`` key), so ``EventSource.addEventListener("field", ...)``
works.

Every stream ends with one ``end`` frame: the source's :class:`StreamCompleted`
(usage, finish reasons), or the encoder's own ``{"event": "end"}`` when the
source had none.  A source that raises a :class:`FieldstreamError` mid-way ends
instead with an ``error`` frame carrying the message, the exception's class name
(``"exception"``) and the last good snapshot, so a page can say what happened
and keep what it rendered.

:func:`to_sse` is the I/O shell: it wraps a sync or an async iterable of events
and yields frames, for Starlette's ``StreamingResponse``; the async form sends a
``: keepalive`` comment whenever the source has been quiet for ``keepalive``
seconds, so idle proxies do not cut the connection.  :func:`to_sse_dicts` yields
the same frames as the dicts sse-starlette's ``EventSourceResponse`` takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, overload

from ._errors import FieldstreamError, UsageError
from ._events import Event
from ._records import error_to_json, event_to_json, jsonable, stream_event_to_json
from ._stream_events import StreamEvent

__all__ = ["SSE_HEADERS", "SSEEncoder", "sse_encode", "to_sse", "to_sse_dicts"]

#: Response headers for an event stream: no caching, and no buffering by nginx
#: (``X-Accel-Buffering``) or other proxies, so each frame reaches the browser now.
SSE_HEADERS: dict[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}

#: Seconds of silence after which the async :func:`to_sse` sends a keep-alive comment.
DEFAULT_KEEPALIVE = 15.0


def _record(event: Any) -> dict[str, Any]:
    # Core events have the CLI's record; stream events (StreamDecoder's) theirs.
    if isinstance(event, Event):
        return event_to_json(event)
    if isinstance(event, StreamEvent):
        return stream_event_to_json(event)
    raise UsageError(f"cannot encode {event!r} as a server-sent event: not a fieldstream event")


def _frame(name: str, data: str, frame_id: int | None) -> bytes:
    # One data line is enough: json.dumps never writes a raw newline.
    head = f"event: {name}\n" if name != "message" else ""
    tail = f"id: {frame_id}\n" if frame_id is not None else ""
    return f"{head}data: {data}\n{tail}\n".encode()


# Line breaks to Python's str.splitlines() that json.dumps leaves raw; escaped so that
# a client splitting lines that way still sees one data line.
_ESCAPE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _dumps(record: dict[str, Any]) -> str:
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:  # a JSON number beyond float range (1e400) parsed as inf
        text = json.dumps(_finite(record), ensure_ascii=False, separators=(",", ":"), default=str)
    return text.translate(_ESCAPE_BREAKS)


def _finite(value: Any) -> Any:
    # Browsers' JSON.parse rejects Infinity and NaN: write null, as JSON.stringify does.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class SSEEncoder:
    """Encode events as SSE frames, numbering them with increasing ``id:`` lines.

    >>> import fieldstream
    >>> enc = fieldstream.SSEEncoder()
    >>> [ev] = fieldstream.Parser().feed('{"a": 1}')[-1:]
    >>> enc.encode(ev)
    b'event: done\\ndata: {"event":"done","value":{"a":1}}\\nid: 1\\n\\n'
    >>> enc.end()
    b'event: end\\ndata: {"event":"end"}\\nid: 2\\n\\n'

    ``ids=False`` leaves out the ``id:`` lines.  After :meth:`end` or
    :meth:`error` the stream is over and further calls raise :class:`UsageError`.
    """

    def __init__(self, *, ids: bool = True) -> None:
        self._ids = ids
        self._next_id = 1
        self.finished = False
        #: the last complete top-level value seen (a ``done`` record), for error frames
        self.last_value: Any = None

    def _take_id(self) -> int | None:
        if not self._ids:
            return None
        frame_id = self._next_id
        self._next_id += 1
        return frame_id

    def _check(self) -> None:
        if self.finished:
            raise UsageError("the event stream already ended; start a new SSEEncoder for a new stream")

    def record(self, event: Any) -> tuple[str, dict[str, Any]]:
        """The SSE event name and the data record for ``event``."""
        record = _record(event)
        name = str(record["event"])
        if name == "done" and "source" not in record:
            self.last_value = record["value"]
        return name, record

    def encode(self, event: Any) -> bytes:
        """One frame for one event.

        A :class:`StreamCompleted` event is the ``end`` frame and ends the stream;
        a :class:`Fault` is an ``error`` frame for its target, and the stream goes on.
        """
        self._check()
        name, record = self.record(event)
        if name == "end":
            self.finished = True
        return _frame(name, _dumps(record), self._take_id())

    def end(self, *, usage: Any = None, finish_reasons: Any = None) -> bytes:
        """The final ``end`` frame (``usage`` and ``finish_reasons`` when known)."""
        self._check()
        record: dict[str, Any] = {"event": "end"}
        if usage is not None:
            record["usage"] = usage
        if finish_reasons is not None:
            record["finish_reasons"] = finish_reasons
        self.finished = True
        return _frame("end", _dumps(record), self._take_id())

    def error(self, error: FieldstreamError, *, snapshot: Any = None) -> bytes:
        """The ``error`` frame that ends a failed stream: message, position, last snapshot.

        ``snapshot`` defaults to the error's own (a :class:`ParseError` carries
        one), else to the last completed document.
        """
        self._check()
        if snapshot is None:
            snapshot = getattr(error, "snapshot", None)
        if snapshot is None:
            snapshot = self.last_value
        record = error_to_json(error, snapshot=snapshot, exception=type(error).__name__)
        self.finished = True
        return _frame("error", _dumps(record), self._take_id())

    @staticmethod
    def keepalive() -> bytes:
        """A comment frame; clients ignore it, proxies see traffic."""
        return b": keepalive\n\n"


def sse_encode(events: Iterable[Any], *, end: bool = True) -> bytes:
    """The SSE body for a batch of events, closed by an ``end`` frame unless ``end=False``.

    >>> import fieldstream
    >>> body = fieldstream.sse_encode(fieldstream.Parser().feed('["x"]'))
    >>> print(body.decode(), end="")
    event: delta
    data: {"event":"delta","path":"$[0]","text":"x"}
    id: 1
    <BLANKLINE>
    event: field
    data: {"event":"field","path":"$[0]","value":"x"}
    id: 2
    <BLANKLINE>
    event: field
    data: {"event":"field","path":"$","value":["x"]}
    id: 3
    <BLANKLINE>
    event: done
    data: {"event":"done","value":["x"]}
    id: 4
    <BLANKLINE>
    event: end
    data: {"event":"end"}
    id: 5
    <BLANKLINE>
    """
    encoder = SSEEncoder()
    parts = [encoder.encode(event) for event in events]
    if end and not encoder.finished:
        parts.append(encoder.end())
    return b"".join(parts)


def _sync_frames(events: Iterable[Any], encoder: SSEEncoder, snapshot: Callable[[], Any] | None) -> Iterator[bytes]:
    iterator = iter(events)
    try:
        try:
            for event in iterator:
                yield encoder.encode(event)
                if encoder.finished:
                    return
        except FieldstreamError as exc:
            yield encoder.error(exc, snapshot=snapshot() if snapshot else None)
            return
        yield encoder.end()
    finally:
        # Done, or the client went away: close the source, so an upstream call closes too.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _entered(manager: Any) -> Iterator[Any]:
    # A context manager holding a stream (``fieldstream.connect(...)``): enter it, iterate, leave it.
    with manager as stream:
        yield from stream


async def _aentered(manager: Any) -> AsyncIterator[Any]:
    async with manager as stream:
        async for event in stream:
            yield event


def _as_source(events: Any, snapshot: Callable[[], Any] | None) -> tuple[Any, Callable[[], Any] | None]:
    """The iterable to encode, and where an error frame's snapshot comes from.

    ``connect()``/``aconnect()`` results are context managers, not iterables: they
    are entered here, inside the frames' own generator.  An answer stream's error
    frame carries its answer snapshot; an event stream's, each target's.
    """
    if not isinstance(events, (Iterable, AsyncIterable)):
        if isinstance(events, contextlib.AbstractAsyncContextManager):
            return _aentered(events), snapshot
        if isinstance(events, contextlib.AbstractContextManager):
            return _entered(events), snapshot
        raise UsageError(f"to_sse() takes an iterable of fieldstream events, not {type(events).__name__}")
    if snapshot is None and hasattr(events, "answer_target"):
        answer: Any = events
        return events, lambda: jsonable(answer.snapshot)
    targets = getattr(getattr(events, "decoder", None), "targets", None)
    if snapshot is None and isinstance(targets, dict):
        return events, lambda: {str(source): jsonable(target.snapshot) for source, target in targets.items()}
    return events, snapshot


_KEEPALIVE = object()


async def _with_keepalives(events: AsyncIterable[Any], keepalive: float) -> AsyncIterator[Any]:
    """``events`` with ``_KEEPALIVE`` inserted after each ``keepalive`` seconds of silence.

    The source runs in one pump task (so context managers inside it, such as an
    httpx response, are entered and left in the same task) and hands over one
    item at a time; closing this generator cancels the pump, which closes the source.
    """
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        iterator = aiter(events)
        try:
            async for event in iterator:
                await queue.put((0, event))
            await queue.put((1, None))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            await queue.put((2, exc))
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                kind, item = await asyncio.wait_for(queue.get(), keepalive)
            except asyncio.TimeoutError:
                yield _KEEPALIVE
                continue
            if kind == 1:
                return
            if kind == 2:
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):  # only waiting for the source's cleanup
                await task


async def _async_frames(
    events: AsyncIterable[Any],
    encoder: SSEEncoder,
    snapshot: Callable[[], Any] | None,
    keepalive: float | None,
) -> AsyncIterator[bytes]:
    source = aiter(events) if keepalive is None else _with_keepalives(events, keepalive)
    try:
        try:
            async for event in source:
                if event is _KEEPALIVE:
                    yield encoder.keepalive()
                    continue
                yield encoder.encode(event)
                if encoder.finished:
                    return
        except FieldstreamError as exc:
            yield encoder.error(exc, snapshot=snapshot() if snapshot else None)
            return
        yield encoder.end()
    finally:
        # Done, or the client went away: close the source, so an upstream call closes too.
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


@overload
def to_sse(
    events: AsyncIterable[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
) -> AsyncIterator[bytes]: ...


@overload
def to_sse(
    events: Iterable[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
) -> Iterator[bytes]: ...


@overload
def to_sse(
    events: contextlib.AbstractAsyncContextManager[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
) -> AsyncIterator[bytes]: ...


@overload
def to_sse(
    events: contextlib.AbstractContextManager[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
) -> Iterator[bytes]: ...


def to_sse(
    events: Any,
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Frames for a stream of events, ending with ``end`` (or ``error``); the server side in one line::

        return StreamingResponse(fieldstream.to_sse(events), headers=fieldstream.SSE_HEADERS)

    ``events`` is a sync or async iterable (an answer stream from
    :func:`fieldstream.stream`, events from a :class:`Parser` or a
    :class:`StreamDecoder`, or what ``connect()``/``aconnect()`` return, entered
    here); the result is the same kind.  When
    the source raises a :class:`FieldstreamError`, the stream ends with an
    ``error`` frame carrying ``snapshot()`` (if given) or the error's snapshot.
    With an async source, a ``: keepalive`` comment goes out after ``keepalive``
    seconds without an event (``None``: never), and closing the frames (the
    client disconnected) closes the source.
    """
    if keepalive is not None and keepalive <= 0:
        raise UsageError(f"keepalive must be a positive number of seconds or None, got {keepalive!r}")
    encoder = SSEEncoder(ids=ids)
    events, snapshot = _as_source(events, snapshot)
    if isinstance(events, AsyncIterable):
        return _async_frames(events, encoder, snapshot, keepalive)
    return _sync_frames(events, encoder, snapshot)


def _to_dict(frame: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for line in frame.decode().split("\n"):
        if not line:
            continue
        if line.startswith(":"):
            return {"comment": line[1:].strip()}
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields


@overload
def to_sse_dicts(
    events: AsyncIterable[Any], *, snapshot: Callable[[], Any] | None = None
) -> AsyncIterator[dict[str, Any]]: ...


@overload
def to_sse_dicts(events: Iterable[Any], *, snapshot: Callable[[], Any] | None = None) -> Iterator[dict[str, Any]]: ...


@overload
def to_sse_dicts(
    events: contextlib.AbstractAsyncContextManager[Any], *, snapshot: Callable[[], Any] | None = None
) -> AsyncIterator[dict[str, Any]]: ...


@overload
def to_sse_dicts(
    events: contextlib.AbstractContextManager[Any], *, snapshot: Callable[[], Any] | None = None
) -> Iterator[dict[str, Any]]: ...


def to_sse_dicts(
    events: Any, *, snapshot: Callable[[], Any] | None = None
) -> Iterator[dict[str, Any]] | AsyncIterator[dict[str, Any]]:
    """The frames of :func:`to_sse` as ``{"event", "data", "id"}`` dicts, for sse-starlette::

        return EventSourceResponse(fieldstream.to_sse_dicts(events), headers={"X-Accel-Buffering": "no"})

    Keep-alives are left to sse-starlette's own ``ping``.
    """
    frames = to_sse(events, keepalive=None, snapshot=snapshot)
    if isinstance(frames, AsyncIterator):

        async def agen() -> AsyncIterator[dict[str, Any]]:
            try:
                async for frame in frames:
                    yield _to_dict(frame)
            finally:
                await frames.aclose()  # type: ignore[attr-defined]

        return agen()
    return (_to_dict(frame) for frame in frames)
