"""Resumable event streams: generation decoupled from the connection, frames replayed after a reconnect.

Theory of operation
-------------------
With a store, :func:`to_sse` starts a *producer* task that reads the source,
turns each event into frames (see ``_protocols.py``) and appends them to the
store under the stream's id, numbered from 1.  Every HTTP response, the first
one included, is a *reader*: it replays the stored frames after a position and
then follows new ones until the stream's final frame.  A frame's ``id:`` is
``<stream id>:<seq>``, valid on every instance that shares the store, so a
reconnect with ``Last-Event-ID`` (or a late joiner with ``<stream id>:0``) gets
exactly the frames after the ones it has: nothing lost, nothing twice.

Readers renew the stream's lease while their client is connected.  The
producer closes the source (and so the upstream model call) when

- a stop request arrives (:meth:`FrameStore.stop`; a client's explicit Stop),
- the lease lapses: no client for the store's ``grace`` seconds,
- a server-side limit is reached (``max_duration``, ``max_frames``),

and ends the stream with a final frame saying why (``end`` with ``"reason":
"stopped"`` or ``"abandoned"``, or an ``error`` frame with ``"kind": "limit"``).
A source that fails with an exception that is not fieldstream's ends it with an
``error`` frame of ``"kind": "server"`` (the exception propagates to the log).
While it runs the producer beats; a reader that finds no frames and no beat (the
producer's process died) ends with an ``error`` frame of ``"kind": "lost"``.

Backpressure: the producer never waits for a client.  A reader that is late
reads several frames at once and *coalesces* them (:func:`coalesce`): adjacent
deltas of the same path become one frame that carries the last one's id; a
completion, an error or any other frame is never merged, dropped or moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

from ._errors import FieldstreamError, UsageError
from ._protocols import Framer, dumps
from ._store import FrameStore, StoredFrame

__all__ = ["coalesce", "new_stream_id", "parse_event_id", "produce", "resume_sse"]

log = logging.getLogger("fieldstream")

_STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EVENT_ID = re.compile(r"([A-Za-z0-9_-]{1,128}):(\d{1,18})")

# Producer tasks run on their own; keep a reference so none is garbage-collected mid-way.
_PRODUCERS: set[asyncio.Task[None]] = set()


def new_stream_id() -> str:
    """A fresh random stream id (32 hex digits)."""
    return uuid.uuid4().hex


def check_stream_id(stream_id: str) -> str:
    if not isinstance(stream_id, str) or not _STREAM_ID.fullmatch(stream_id):
        raise UsageError(f"a stream id is 1 to 128 of A-Z a-z 0-9 _ -, got {stream_id!r}")
    return stream_id


def parse_event_id(event_id: str | None) -> tuple[str, int] | None:
    """``(stream id, seq)`` from a resumable frame id such as ``Last-Event-ID``; ``None`` if it is not one.

    >>> parse_event_id("3f2a:17")
    ('3f2a', 17)
    >>> parse_event_id("17") is None
    True
    """
    match = _EVENT_ID.fullmatch(event_id.strip()) if isinstance(event_id, str) else None
    return (match[1], int(match[2])) if match else None


def frame_bytes(event: str | None, data: str, frame_id: str | int | None) -> bytes:
    # One data line is enough: the output rule never writes a raw line break.
    head = f"event: {event}\n" if event and event != "message" else ""
    tail = f"id: {frame_id}\n" if frame_id is not None else ""
    return f"{head}data: {data}\n{tail}\n".encode()


# ---------------------------------------------------------------- coalescing


def _merge_ops(ops: list[Any], more: list[Any]) -> list[Any]:
    # Appends to the same string in a row become one; everything else keeps its place.
    out = list(ops)
    for op in more:
        last = out[-1] if out else None
        if (
            isinstance(op, dict)
            and isinstance(last, dict)
            and op.get("path") == last.get("path")
            and op.get("op") in ("append", "replace")
            and last.get("op") in ("append", "replace", "add")
            and isinstance(op.get("value"), str)
            and isinstance(last.get("value"), str)
        ):
            if op["op"] == "append":
                out[-1] = {**last, "value": last["value"] + op["value"]}
            else:  # a later replace of the same path wins (keeping an add an add)
                out[-1] = {**last, "value": op["value"]}
            continue
        out.append(op)
    return out


def _merge(event: str, a: Any, b: Any) -> Any:
    """``a`` and ``b`` (two adjacent frames' data) as one, or ``None`` when they must stay apart."""
    if event == "delta":
        same = isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
        if same and a.get("path") == b.get("path") and a.get("source") == b.get("source"):
            return {**a, "text": a["text"] + b["text"]}
        return None
    if event == "patch":
        return _merge_ops(a, b) if isinstance(a, list) and isinstance(b, list) else None
    if event == "" and isinstance(a, dict) and isinstance(b, dict):
        if a.get("type") == b.get("type") == "data-object" and a.get("id") == b.get("id"):
            return b  # the AI SDK part holds the whole value: the newer one is enough
        if a.get("type") == b.get("type") == "STATE_DELTA":
            return {**a, "delta": _merge_ops(a["delta"], b["delta"])}
    return None


def coalesce(frames: list[StoredFrame]) -> list[StoredFrame]:
    """``frames`` with runs of mergeable deltas joined; a merged frame keeps the last one's number.

    Only string growth (``delta`` frames of one path, ``append`` operations, the
    AI SDK's data part, AG-UI state deltas) is merged; completions, errors and
    the end are passed as they are, in order.
    """
    if len(frames) < 2:
        return frames
    out: list[StoredFrame] = []
    parsed: list[Any] = []
    for frame in frames:
        data: Any = None
        if frame.event in ("delta", "patch", "") and frame.data.startswith(("{", "[")):
            with contextlib.suppress(ValueError):  # the AI SDK's closing "[DONE]" is not JSON
                data = json.loads(frame.data)
        if out and data is not None and parsed[-1] is not None and out[-1].event == frame.event:
            merged = _merge(frame.event, parsed[-1], data)
            if merged is not None:
                parsed[-1] = merged
                out[-1] = StoredFrame(frame.seq, frame.event, dumps(merged), frame.final)
                continue
        out.append(frame)
        parsed.append(data)
    return out


# ---------------------------------------------------------------- producer


class _Limit(FieldstreamError):
    pass


async def _aiter(events: Iterable[Any] | AsyncIterable[Any]) -> AsyncGenerator[Any, None]:
    if isinstance(events, AsyncIterable):
        iterator = aiter(events)
        try:
            async for event in iterator:
                yield event
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for event in events:
            yield event


async def produce(
    events: Iterable[Any] | AsyncIterable[Any],
    store: FrameStore,
    stream_id: str,
    framer: Framer,
    snapshot: Callable[[], Any] | None = None,
) -> None:
    """Read ``events`` into ``store`` until the end, a stop request, the grace period, or a limit."""
    loop = asyncio.get_running_loop()
    state = {"seq": 0, "closed": False}

    async def put(frames: list[tuple[str | None, str]], final: bool = False) -> None:
        for i, (name, data) in enumerate(frames):
            state["seq"] += 1
            last = final and i == len(frames) - 1
            await store.append(stream_id, StoredFrame(int(state["seq"]), name or "", data, last))
            if last:
                state["closed"] = True

    async def run() -> None:
        source = _aiter(events)
        final: list[tuple[str | None, str]] = []
        try:
            await put(framer.begin())
            async for event in source:
                if framer.finished:
                    continue  # after its StreamCompleted, let the source end by itself
                frames = framer.event(event)
                if int(state["seq"]) + len(frames) + 2 > store.max_frames:
                    raise _Limit(f"the stream reached the server's limit of {store.max_frames} frames")
                await put(frames, final=framer.finished)
            if not framer.finished:
                final = framer.end()
        except _Limit as exc:
            final = framer.fail({"event": "error", "message": str(exc), "kind": "limit"})
        except FieldstreamError as exc:
            final = framer.error(exc, snapshot=snapshot() if snapshot else None)
        finally:
            await source.aclose()  # closes the upstream call (also when cancelled), before the last frame
        if final:
            await put(final, final=True)

    task = asyncio.ensure_future(run())
    started = loop.time()
    interval = check_interval(store)
    reason: dict[str, Any] | None = None
    try:
        while reason is None:
            await store.beat(stream_id, liveness(store))
            waiter = asyncio.ensure_future(store.wait_stop(stream_id, interval))
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                waiter.cancel()
                with contextlib.suppress(BaseException):
                    await waiter
                failure = task.exception()
                if failure is not None and not state["closed"]:
                    record = {"event": "error", "message": "the server failed while generating", "kind": "server"}
                    with contextlib.suppress(Exception):  # the store itself may be what failed
                        await put(framer.fail(record), final=True)
                task.result()
                return
            if waiter.result():
                reason = {"event": "end", "reason": "stopped"}
            elif not await store.held(stream_id):
                reason = {"event": "end", "reason": "abandoned"}
            elif store.max_duration is not None and loop.time() - started > store.max_duration:
                message = f"the stream reached the server's limit of {store.max_duration} seconds"
                reason = {"event": "error", "message": message, "kind": "limit"}
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    log.info("stream %s: upstream closed (%s)", stream_id, reason.get("reason") or reason.get("kind"))
    if not state["closed"]:
        framer.finished = False
        frames = framer.end(reason=reason["reason"]) if reason["event"] == "end" else framer.fail(reason)
        await put(frames, final=True)


def check_interval(store: FrameStore) -> float:
    """How often the producer looks for a stop request, the lease and its limits."""
    return min(store.grace / 4, 1.0)


def liveness(store: FrameStore) -> float:
    """How long a producer's beat lasts: many check intervals, so a busy loop is not taken for a dead one."""
    return max(10 * check_interval(store), 5.0)


def start_producer(coro: Any) -> None:
    task: asyncio.Task[None] = asyncio.ensure_future(coro)
    _PRODUCERS.add(task)

    def done(t: asyncio.Task[None]) -> None:
        _PRODUCERS.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("a stream's producer failed: %s", t.exception())

    task.add_done_callback(done)


# ---------------------------------------------------------------- reader


async def read_stored(
    store: FrameStore,
    stream_id: str,
    after: int,
    *,
    keepalive: float | None,
    throttle: float | None,
) -> AsyncIterator[bytes]:
    """Frames of a stored stream after ``after``, live until its final frame; renews the lease meanwhile."""
    loop = asyncio.get_running_loop()
    renew = store.grace / 3
    last_hold = float("-inf")
    quiet_since = loop.time()
    if not await store.exists(stream_id):
        yield _gone(stream_id)
        return
    if after > 0:  # a client that already has the final frame gets nothing more
        seen = await store.read(stream_id, after - 1, 0.001)
        if seen and seen[0].seq == after and seen[0].final:
            return
    while True:
        now = loop.time()
        if now - last_hold >= renew:
            await store.hold(stream_id)
            last_hold = now
        wait = renew if keepalive is None else min(renew, max(keepalive - (now - quiet_since), 0.001))
        frames = await store.read(stream_id, after, wait)
        if not frames:
            if keepalive is not None and loop.time() - quiet_since >= keepalive:
                yield b": keepalive\n\n"
                quiet_since = loop.time()
            if not await store.exists(stream_id):
                yield _gone(stream_id)
                return
            if not await store.alive(stream_id) and not await store.read(stream_id, after, 0.001):
                record = {"event": "error", "message": f"the server generating stream {stream_id} went away"}
                yield frame_bytes("error", dumps({**record, "kind": "lost"}), None)
                return
            continue
        quiet_since = loop.time()
        for frame in coalesce(frames):
            yield frame_bytes(frame.event, frame.data, f"{stream_id}:{frame.seq}")
            if frame.final:
                return
        after = frames[-1].seq
        if throttle:
            await asyncio.sleep(throttle)


def _gone(stream_id: str) -> bytes:
    record = {"event": "error", "message": f"stream {stream_id} is unknown or expired", "kind": "gone"}
    return frame_bytes("error", dumps(record), None)


def resume_sse(
    store: FrameStore,
    last_event_id: str,
    *,
    keepalive: float | None = 15.0,
    throttle: float | None = None,
) -> AsyncIterator[bytes]:
    """The frames after ``last_event_id`` (``<stream id>:<seq>``; ``<stream id>:0`` for all), then live.

    The server side of a reconnect, on any instance that shares ``store``::

        last = request.headers.get("last-event-id")
        if last:
            return StreamingResponse(fieldstream.resume_sse(store, last), headers=fieldstream.SSE_HEADERS)

    An id that names no stored stream (never made, or expired) gives one
    ``error`` frame with ``"kind": "gone"``.
    """
    position = parse_event_id(last_event_id)
    if position is None:
        raise UsageError(f"not a resumable event id (<stream id>:<seq>): {last_event_id!r}")
    check_positive("keepalive", keepalive)
    check_positive("throttle", throttle)
    return read_stored(store, position[0], position[1], keepalive=keepalive, throttle=throttle)


def check_positive(name: str, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise UsageError(f"{name} must be a positive number of seconds or None, got {value!r}")
