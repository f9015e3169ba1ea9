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
SSE response, a framework that collects the body) delivers it in a few clumps,
usually after a long silence.  :meth:`Timeline.buffering` groups reads that came
within :data:`CLUMP_GAP` of each other and gives a :class:`Buffering` verdict.

Nothing here does I/O or imports beyond the standard library; ``connect()``,
``fieldstream replay`` and ``fieldstream record`` keep one per stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._events import StringDelta, ValueCompleted
from ._paths import Path, format_path
from ._stream_events import Fault, StreamCompleted, TargetCompleted, TargetEvent, TextDelta

__all__ = ["CLUMP_GAP", "DEFAULT_STALL", "Buffering", "FieldTiming", "Timeline"]

#: A gap between reads longer than this (seconds) is a stall.
DEFAULT_STALL = 1.0
#: Reads closer together than this (seconds) belong to one clump.
CLUMP_GAP = 0.05
#: Below this many payload bytes or reads there is too little to judge buffering.
_MIN_BYTES = 512
_MIN_READS_STREAMED = 4
#: A clump holding this share of the bytes, after a silence this long, means buffering.
_CLUMP_SHARE = 0.8
_SILENCE = 0.5

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

    ``buffered`` is ``True`` (arrived in clumps after a silence), ``False`` (streamed)
    or ``None`` (too little to tell).  ``clumps`` counts groups of reads,
    ``largest_share`` is the share of bytes in the largest one, ``silence`` the gap
    (seconds) before it; ``message`` says it in words, with the usual causes.
    """

    buffered: bool | None
    clumps: int
    largest_share: float
    silence: float
    message: str


@dataclass(slots=True)
class _Clump:
    start: float
    end: float
    size: int
    gap_before: float


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

    def _clumps(self) -> list[_Clump]:
        clumps: list[_Clump] = []
        previous = 0.0
        for t, n in self.reads:
            if clumps and t - clumps[-1].end <= CLUMP_GAP:
                clumps[-1].end = t
                clumps[-1].size += n
            else:
                clumps.append(_Clump(t, t, n, t - previous))
            previous = t
        return clumps

    def buffering(self) -> Buffering:
        """Whether the stream arrived in clumps after a silence (see the module docstring)."""
        total = self.total_bytes
        clumps = self._clumps()
        if total < _MIN_BYTES or not clumps:
            return Buffering(None, len(clumps), 1.0 if clumps else 0.0, 0.0, "too little data to tell")
        largest = max(clumps, key=lambda c: c.size)
        share = largest.size / total
        encoded = self.headers.get("content-encoding", "")
        hint = f" (content-encoding: {encoded})" if encoded and encoded != "identity" else ""
        if share >= _CLUMP_SHARE and largest.gap_before >= _SILENCE and len(clumps) <= 3:
            message = (
                f"buffered: {share:.0%} of {total:,} bytes arrived in one clump after {largest.gap_before:.2f} s "
                f"of silence{hint}; {_CAUSES}"
            )
            return Buffering(True, len(clumps), share, largest.gap_before, message)
        if len(self.reads) < _MIN_READS_STREAMED or (share >= _CLUMP_SHARE and largest.end - largest.start < CLUMP_GAP):
            # Quick and whole, but without a silence before: a fast answer, or cached.
            return Buffering(None, len(clumps), share, largest.gap_before, "arrived too quickly to tell")
        message = f"streamed: {len(self.reads)} reads in {len(clumps)} clumps, the largest {share:.0%} of the bytes"
        return Buffering(False, len(clumps), share, largest.gap_before, message)

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
