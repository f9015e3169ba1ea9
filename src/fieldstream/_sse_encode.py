"""Server-Sent Events out: fieldstream events as ``text/event-stream`` frames.

Theory of operation
-------------------
:class:`SSEEncoder` is sans-IO: it turns one event (or an error, or the end of
the stream) into the bytes of one SSE frame and counts ids.  Each frame's
``data:`` line is the event's JSONL record, the same one ``fieldstream parse
--jsonl`` prints (written by the one output rule of ``_json_out``: valid JSON
at any depth, lone surrogates escaped, non-finite numbers as ``null``), so a
browser and a shell script read one format; the frame's
``event:`` line is the record's ``"event"`` name (``field``, ``delta``, ``done``,
``invalid``, ``repair`` in lenient mode; for :class:`StreamDecoder` events also ``start``, ``error`` and
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
import itertools
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, overload

from ._errors import FieldstreamError, UsageError
from ._events import Event
from ._protocols import Framer, Protocol, dumps
from ._records import error_to_json, event_to_json, jsonable, jsonable_snapshot, stream_event_to_json
from ._resume import (
    check_positive,
    check_stream_id,
    coalesce,
    frame_bytes,
    liveness,
    produce,
    read_stored,
    start_producer,
)
from ._store import FrameStore, StoredFrame
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
    return frame_bytes(name, data, frame_id)


def _dumps(record: dict[str, Any]) -> str:
    return dumps(record)


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
        record = error_to_json(error, snapshot=jsonable_snapshot(snapshot), exception=type(error).__name__)
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


def _sync_frames(
    events: Iterable[Any], framer: Framer, snapshot: Callable[[], Any] | None, ids: bool
) -> Iterator[bytes]:
    counter = itertools.count(1)

    def out(frames: list[tuple[str | None, str]]) -> Iterator[bytes]:
        for name, data in frames:
            yield frame_bytes(name, data, next(counter) if ids else None)

    iterator = iter(events)
    try:
        yield from out(framer.begin())
        try:
            for event in iterator:
                yield from out(framer.event(event))
                if framer.finished:
                    return
        except FieldstreamError as exc:
            yield from out(framer.error(exc, snapshot=snapshot() if snapshot else None))
            return
        yield from out(framer.end())
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
_END = object()


async def _batches(events: AsyncIterable[Any], keepalive: float | None) -> AsyncGenerator[Any, None]:
    """``events`` in batches of what arrived meanwhile, with ``_KEEPALIVE`` after ``keepalive`` seconds of silence.

    The source runs in one pump task (so context managers inside it, such as an
    httpx response, are entered and left in the same task) that never waits for
    the client: a slow client gets bigger batches, which are coalesced, and the
    generation goes on.  Closing this generator cancels the pump, which closes the source.
    """
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()

    async def pump() -> None:
        iterator = aiter(events)
        try:
            async for event in iterator:
                queue.put_nowait((0, event))
            queue.put_nowait((1, None))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            queue.put_nowait((2, exc))
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                first = await asyncio.wait_for(queue.get(), keepalive)
            except asyncio.TimeoutError:
                yield _KEEPALIVE
                continue
            batch: list[Any] = []
            item: tuple[int, Any] | None = first
            while item is not None:
                kind, value = item
                if kind == 1:
                    if batch:
                        yield batch
                    yield _END
                    return
                if kind == 2:
                    if batch:
                        yield batch
                    raise value
                batch.append(value)
                item = queue.get_nowait() if not queue.empty() else None
            yield batch
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):  # only waiting for the source's cleanup
                await task


async def _async_frames(
    events: AsyncIterable[Any],
    framer: Framer,
    snapshot: Callable[[], Any] | None,
    keepalive: float | None,
    ids: bool,
    throttle: float | None,
) -> AsyncIterator[bytes]:
    counter = itertools.count(1)

    def out(frames: list[tuple[str | None, str]]) -> Iterator[bytes]:
        stored = [StoredFrame(0, name or "", data) for name, data in frames]
        for frame in coalesce(stored):
            yield frame_bytes(frame.event, frame.data, next(counter) if ids else None)

    source = _batches(events, keepalive)
    try:
        for chunk in out(framer.begin()):
            yield chunk
        frames: list[tuple[str | None, str]] = []  # made from the batch, not sent yet
        try:
            async for batch in source:
                if batch is _KEEPALIVE:
                    yield SSEEncoder.keepalive()
                    continue
                if batch is _END:
                    break
                for event in batch:
                    frames += framer.event(event)
                    if framer.finished:
                        break
                sending, frames = frames, []
                for chunk in out(sending):
                    yield chunk
                if framer.finished:
                    return
                if throttle:
                    await asyncio.sleep(throttle)
        except FieldstreamError as exc:
            # the frames of the events before the fault (an event that cannot be written) go first
            for chunk in out(frames + framer.error(exc, snapshot=snapshot() if snapshot else None)):
                yield chunk
            return
        for chunk in out(framer.end()):
            yield chunk
    finally:
        # Done, or the client went away: close the source, so an upstream call closes too.
        await source.aclose()


async def _stored_frames(
    events: Iterable[Any] | AsyncIterable[Any],
    store: FrameStore,
    stream_id: str,
    framer: Framer,
    snapshot: Callable[[], Any] | None,
    keepalive: float | None,
    throttle: float | None,
) -> AsyncIterator[bytes]:
    await store.create(stream_id)
    await store.beat(stream_id, liveness(store))  # alive before the producer's first turn
    start_producer(produce(events, store, stream_id, framer, snapshot))
    async for chunk in read_stored(store, stream_id, 0, keepalive=keepalive, throttle=throttle):
        yield chunk


@overload
def to_sse(
    events: AsyncIterable[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: FrameStore | None = None,
    stream_id: str | None = None,
    throttle: float | None = None,
) -> AsyncIterator[bytes]: ...


@overload
def to_sse(
    events: Iterable[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: None = None,
    stream_id: None = None,
    throttle: None = None,
) -> Iterator[bytes]: ...


@overload
def to_sse(
    events: Iterable[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: FrameStore,
    stream_id: str | None = None,
    throttle: float | None = None,
) -> AsyncIterator[bytes]: ...


@overload
def to_sse(
    events: contextlib.AbstractAsyncContextManager[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: FrameStore | None = None,
    stream_id: str | None = None,
    throttle: float | None = None,
) -> AsyncIterator[bytes]: ...


@overload
def to_sse(
    events: contextlib.AbstractContextManager[Any],
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: None = None,
    stream_id: None = None,
    throttle: None = None,
) -> Iterator[bytes]: ...


def to_sse(
    events: Any,
    *,
    keepalive: float | None = DEFAULT_KEEPALIVE,
    snapshot: Callable[[], Any] | None = None,
    ids: bool = True,
    protocol: Protocol = "fieldstream",
    store: FrameStore | None = None,
    stream_id: str | None = None,
    throttle: float | None = None,
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

    ``protocol`` picks the frames: ``"fieldstream"`` (the JSONL records),
    ``"json-patch"``, ``"ai-sdk"`` or ``"ag-ui"`` (see ``docs/browser.md``).

    Backpressure: an async source is read as fast as it produces, whatever the
    client's pace; when the client lags, the deltas that piled up are coalesced
    (completions and errors never are).  ``throttle`` (seconds) sends at most one
    batch per interval, coalescing what came meanwhile.

    With a ``store`` (:class:`MemoryStore`, :class:`RedisStore`) the stream is
    resumable: generation runs on its own and outlives the connection for the
    store's grace period, frame ids are ``<stream_id>:<seq>`` (``stream_id``
    defaults to a fresh random one), a reconnect resumes with :func:`resume_sse`,
    and ``store.stop(stream_id)`` closes the upstream.  The result is then async.
    """
    check_positive("keepalive", keepalive)
    check_positive("throttle", throttle)
    if stream_id is not None and store is None:
        raise UsageError("stream_id needs a store: pass store=fieldstream.MemoryStore() (or a RedisStore)")
    if stream_id is not None:
        check_stream_id(stream_id)
    framer = Framer(protocol, stream_id=stream_id)
    events, snapshot = _as_source(events, snapshot)
    if store is not None:
        if not ids:
            raise UsageError("a resumable stream needs its frame ids: leave ids=True with a store")
        return _stored_frames(events, store, framer.stream_id, framer, snapshot, keepalive, throttle)
    if isinstance(events, AsyncIterable):
        return _async_frames(events, framer, snapshot, keepalive, ids, throttle)
    if throttle is not None:
        raise UsageError("throttle applies to an async source (or a store); a sync source is read at the client's pace")
    return _sync_frames(events, framer, snapshot, ids)


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
