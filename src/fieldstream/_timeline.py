"""Timeline: when each byte, delta and field of a stream arrived, and whether buffering hid it.

Theory of operation
-------------------
A :class:`Timeline` is fed, not a feeder: the transport calls :meth:`Timeline.read`
for each network read (its size and arrival time) and :meth:`Timeline.observe` with
the events that read produced.  From those it keeps the figures that make a
streaming UI feel fast or slow: time to first byte, to the first delta, to the
first completed field, each field's span (its first event to its completion),
deltas and characters per second, stalls (gaps between reads over a threshold),
and the end.  Times are seconds since :meth:`Timeline.start` (the request).

Buffering shows in the reads alone.  A model streams for seconds in many small
reads; something that holds the response (a proxy with buffering on, gzip on an
SSE response, a framework that collects the body) delivers it at once, after a
long silence.  :meth:`Timeline.buffering` finds the :data:`BURST` seconds that
carried the most bytes: when they hold most of the stream (:data:`BURST_SHARE`)
and came after :data:`SILENCE` seconds or more with nothing, the stream was
buffered.  The same burst without the silence is a quick answer that cannot be
told from a buffered one; anything else streamed.  It is a heuristic: a model
that thinks in silence and then answers faster than :data:`BURST` looks buffered.

Nothing here does I/O or imports beyond the standard library; ``connect()``,
``fieldstream replay`` and ``fieldstream record`` keep one per stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._events import StringDelta, ValueCompleted
from ._paths import Path, format_path
from ._stream_events import Fault, StreamCompleted, TargetCompleted, TargetEvent, TextDelta

__all__ = [
    "BURST",
    "BURST_SHARE",
    "DEFAULT_STALL",
    "SILENCE",
    "Buffering",
    "FieldTiming",
    "Timeline",
    "awith_timeline",
    "with_timeline",
]

#: A gap between reads longer than this (seconds) is a stall.
DEFAULT_STALL = 1.0
#: The window (seconds) in which a buffered body arrives; reads closer than this form one clump.
BURST = 0.1
#: The share of the bytes one burst must hold to look buffered ...
BURST_SHARE = 0.8
#: ... after at least this many seconds of silence.
SILENCE = 0.5
#: Below this many bytes there is too little to judge.
_MIN_BYTES = 512

_CAUSES = (
    "usual causes: a reverse proxy buffering the response (nginx: 'X-Accel-Buffering: no' or "
    "'proxy_buffering off'), compression middleware on text/event-stream (gzip holds bytes until its block "
    "fills), a CDN, or a server framework that collects the body before sending it"
)


@dataclass(frozen=True, slots=True)
class FieldTiming:
    """One completed field: where (``source`` and ``path``) and when.

    ``started`` is the time of the first event at or under the path (its first
    characters), or its completion when nothing came before (a number, a literal).
    """

    source: str | None
    path: Path
    started: float
    completed: float

    @property
    def path_text(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class Buffering:
    """The verdict on whether something between the model and here held the stream.

    ``buffered`` is ``True`` (arrived at once after a silence), ``False`` (streamed)
    or ``None`` (too little, or too quick, to tell).  ``clumps`` counts groups of
    reads (split by gaps over :data:`BURST`), ``largest_share`` is the share of the
    bytes in the busiest :data:`BURST` seconds, ``silence`` the gap before those;
    ``message`` says it in words, with the usual causes when buffered.
    """

    buffered: bool | None
    clumps: int
    largest_share: float
    silence: float
    message: str


@dataclass
class Timeline:
    """The timing of one stream; see the module docstring.

    ``clock`` returns seconds (``time.perf_counter`` by default); every method
    also takes an explicit ``t`` (seconds since the start) for replays and tests.
    """

    stall_threshold: float = DEFAULT_STALL
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    reads: list[tuple[float, int]] = field(default_factory=list)
    fields: list[FieldTiming] = field(default_factory=list)
    first_delta: float | None = None
    deltas: int = 0
    characters: int = 0
    ended: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    _t0: float | None = field(default=None, repr=False)
    _first_seen: dict[tuple[str | None, Path], float] = field(default_factory=dict, repr=False)

    def start(self, t0: float | None = None) -> None:
        """The request was sent (now, or at clock time ``t0``)."""
        self._t0 = self.clock() if t0 is None else t0

    def now(self) -> float:
        """Seconds since :meth:`start` (which happens on the first call if it did not)."""
        if self._t0 is None:
            self.start()
        return self.clock() - self._t0  # type: ignore[operator]

    def note_headers(self, headers: Any) -> None:
        """Keep the response headers that bear on buffering (content type and encoding, X-Accel-Buffering)."""
        for key in ("content-type", "content-encoding", "x-accel-buffering", "cache-control"):
            value = headers.get(key)
            if value is not None:
                self.headers[key] = str(value)

    def read(self, size: int, t: float | None = None) -> None:
        """A network read returned ``size`` bytes (at ``t``; default: now)."""
        if size > 0:
            self.reads.append((self.now() if t is None else t, size))

    def observe(self, events: Iterable[Any], t: float | None = None) -> None:
        """Take note of the events one read produced (stream events or core events)."""
        when: float | None = t
        for event in events:
            if when is None:
                when = self.now()
            source = str(event.source) if getattr(event, "source", None) is not None else None
            inner = event.event if isinstance(event, TargetEvent) else event
            if isinstance(inner, (StringDelta, TextDelta)):
                self.deltas += 1
                self.characters += len(inner.text)
                if self.first_delta is None:
                    self.first_delta = when
                if isinstance(inner, StringDelta):
                    self._mark(source, inner.path, when)
            elif isinstance(inner, ValueCompleted):
                self._mark(source, inner.path, when)
                started = self._first_seen.pop((source, inner.path), when)
                self.fields.append(FieldTiming(source, inner.path, started, when))
            elif isinstance(event, (TargetCompleted, Fault)):
                pass
            if isinstance(event, StreamCompleted):
                self.ended = when

    def _mark(self, source: str | None, path: Path, when: float) -> None:
        # The first event under a path starts the spans of the path and its ancestors.
        for depth in range(len(path), -1, -1):
            key = (source, path[:depth])
            if key in self._first_seen:
                break
            self._first_seen[key] = when

    def finish(self, t: float | None = None) -> None:
        """The stream ended (without a :class:`StreamCompleted`, e.g. a plain parser's body)."""
        if self.ended is None:
            self.ended = self.now() if t is None else t

    # -- figures ---------------------------------------------------------

    @property
    def first_byte(self) -> float | None:
        """Time to first byte (seconds), ``None`` before any."""
        return self.reads[0][0] if self.reads else None

    @property
    def first_field(self) -> float | None:
        """Time to the first completed field below the root."""
        return next((f.completed for f in self.fields if f.path), None)

    @property
    def total_bytes(self) -> int:
        return sum(n for _, n in self.reads)

    @property
    def duration(self) -> float | None:
        """First byte to the last read (or the end)."""
        if not self.reads:
            return None
        last = self.ended if self.ended is not None else self.reads[-1][0]
        return max(last - self.reads[0][0], 0.0)

    @property
    def characters_per_second(self) -> float | None:
        """Delta characters over the time from the first delta to the end (or the last read)."""
        return self._rate(self.characters)

    @property
    def deltas_per_second(self) -> float | None:
        return self._rate(self.deltas)

    def _rate(self, count: int) -> float | None:
        if self.first_delta is None or not self.reads:
            return None
        last = self.ended if self.ended is not None else self.reads[-1][0]
        span = last - self.first_delta
        return count / span if span > 0 else None

    @property
    def stalls(self) -> list[tuple[float, float]]:
        """``(start, seconds)`` of each gap between reads longer than ``stall_threshold``."""
        return [(a, b - a) for (a, _), (b, _) in zip(self.reads, self.reads[1:]) if b - a > self.stall_threshold]

    def _burst(self) -> tuple[int, float]:
        """The most bytes that arrived within BURST seconds, and the silence before them."""
        best = best_start = 0
        window = first = 0
        for last, (t, n) in enumerate(self.reads):
            window += n
            while t - self.reads[first][0] > BURST:
                window -= self.reads[first][1]
                first += 1
            if window > best:
                best, best_start = window, first
        start = self.reads[best_start][0]
        before = self.reads[best_start - 1][0] if best_start else 0.0
        return best, start - before

    def buffering(self) -> Buffering:
        """Whether the stream arrived at once after a silence (see the module docstring)."""
        total = self.total_bytes
        clumps = 1 + sum(1 for (a, _), (b, _) in zip(self.reads, self.reads[1:]) if b - a > BURST) if self.reads else 0
        if total < _MIN_BYTES:
            return Buffering(None, clumps, 1.0 if clumps else 0.0, 0.0, "too little data to tell")
        size, silence = self._burst()
        share = size / total
        encoded = self.headers.get("content-encoding", "")
        hint = f" (content-encoding: {encoded})" if encoded and encoded != "identity" else ""
        if share >= BURST_SHARE and silence >= SILENCE:
            message = (
                f"buffered: {share:.0%} of {total:,} bytes arrived within {BURST} s after {silence:.2f} s "
                f"of silence{hint}; {_CAUSES}"
            )
            return Buffering(True, clumps, share, silence, message)
        if share >= BURST_SHARE:
            message = f"arrived all at once, too quickly to tell: {share:.0%} of {total:,} bytes within {BURST} s"
            return Buffering(None, clumps, share, silence, message)
        span = self.reads[-1][0] - self.reads[0][0]
        message = f"streamed: {len(self.reads)} reads over {span:.2f} s, at most {share:.0%} of the bytes in {BURST} s"
        return Buffering(False, clumps, share, silence, message)

    def summary(self) -> str:
        """One line for people: first byte, first field, rates, stalls, the buffering verdict."""
        parts = []
        for label, value in (("first byte", self.first_byte), ("first delta", self.first_delta)):
            if value is not None:
                parts.append(f"{label} {value:.2f} s")
        if self.first_field is not None:
            parts.append(f"first field {self.first_field:.2f} s")
        rate = self.characters_per_second
        if rate is not None:
            parts.append(f"{rate:,.0f} chars/s")
        if self.stalls:
            parts.append(f"{len(self.stalls)} stall(s), longest {max(s for _, s in self.stalls):.1f} s")
        parts.append(self.buffering().message.split(";")[0])
        return "timeline: " + ", ".join(parts)

    def plot(self, path: Any, *, title: str | None = None) -> Any:
        """Draw the waterfall into the image file ``path`` (needs matplotlib; see ``_timeline_plot``)."""
        from ._timeline_plot import plot_timeline

        return plot_timeline(self, path, title=title)

    def to_record(self) -> dict[str, Any]:
        """The JSONL/SSE ``timeline`` record (plain JSON values; see docs/timeline.md)."""
        verdict = self.buffering()
        return {
            "event": "timeline",
            "first_byte": _round(self.first_byte),
            "first_delta": _round(self.first_delta),
            "first_field": _round(self.first_field),
            "end": _round(self.ended),
            "bytes": self.total_bytes,
            "reads": len(self.reads),
            "deltas": self.deltas,
            "characters": self.characters,
            "characters_per_second": _round(self.characters_per_second, 1),
            "deltas_per_second": _round(self.deltas_per_second, 1),
            "stalls": [{"at": _round(a), "seconds": _round(s)} for a, s in self.stalls],
            "fields": [
                {
                    "source": f.source,
                    "path": f.path_text,
                    "started": _round(f.started),
                    "completed": _round(f.completed),
                }
                for f in self.fields
            ],
            "buffering": {
                "buffered": verdict.buffered,
                "clumps": verdict.clumps,
                "largest_share": round(verdict.largest_share, 3),
                "silence": _round(verdict.silence),
                "message": verdict.message,
            },
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def with_timeline(events: Iterable[Any]) -> Iterator[Any]:
    """``events`` (a ``connect()`` stream, or anything with a ``timeline``), with the timeline itself
    yielded just before the final :class:`StreamCompleted`, for :func:`fieldstream.to_sse` to send as
    a ``timeline`` frame::

        return StreamingResponse(fieldstream.to_sse(fieldstream.with_timeline(stream)), ...)
    """
    timeline = _timeline_of(events)
    for event in events:
        if isinstance(event, StreamCompleted):
            yield timeline
        yield event


async def awith_timeline(events: AsyncIterable[Any]) -> AsyncIterator[Any]:
    """The async twin of :func:`with_timeline`."""
    timeline = _timeline_of(events)
    async for event in events:
        if isinstance(event, StreamCompleted):
            yield timeline
        yield event


def _timeline_of(events: Any) -> Timeline:
    timeline = getattr(events, "timeline", None)
    if not isinstance(timeline, Timeline):
        from ._errors import UsageError

        raise UsageError(
            f"{type(events).__name__} keeps no timeline: pass a connect()/aconnect() stream "
            "(or feed a fieldstream.Timeline yourself and encode timeline.to_record())"
        )
    return timeline
