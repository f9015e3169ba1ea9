"""Recordings on disk: a raw response body plus its timing sidecar.

A sidecar ``NAME.timing.jsonl`` (next to ``NAME``, the raw body) has one line per
network read, in order::

    {"t": 0.412, "n": 287}

``t`` is seconds since the request started, ``n`` how many body bytes that read
returned.  ``fieldstream record`` and ``stream(..., record_to=)`` (:class:`Recorder`)
write both; ``fieldstream replay`` and :class:`Recording` play them back.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path
from typing import IO, Any

from ._errors import UsageError

__all__ = ["Recorder", "Recording", "read_timing", "sidecar_for", "timed_reads", "to_wire_bytes"]

#: The recording bundled with the package (a real gpt-4o stream; synthesized timing).
BUNDLED_RECORDING = "openai_chat_json_object.sse"

#: Without a sidecar, replay reads this many bytes at a time, this many seconds apart.
UNTIMED_READ_SIZE = 64
UNTIMED_GAP = 0.02


def sidecar_for(path: Path) -> Path:
    """Where the sidecar of the recording ``path`` lives: ``NAME.timing.jsonl``."""
    return path.with_name(path.name + ".timing.jsonl")


def read_timing(path: Path) -> list[tuple[float, int]] | None:
    """The sidecar of ``path`` as ``(t, n)`` pairs, or None when there is none.

    ``weather.sse.timing.jsonl`` is looked for first, then ``weather.timing.jsonl``.
    """
    for candidate in (sidecar_for(path), path.with_suffix(".timing.jsonl")):
        if candidate.is_file() and candidate != path:
            reads = []
            for number, line in enumerate(candidate.read_bytes().splitlines(), 1):
                if not line.strip():
                    continue
                read = _timing_line(line)
                if read is None:
                    raise ValueError(
                        f'{candidate}:{number}: expected {{"t": seconds, "n": bytes}} with t a finite number'
                        " of seconds >= 0 and n a whole number of bytes >= 0"
                    )
                reads.append(read)
            return reads
    return None


def _timing_line(line: bytes) -> tuple[float, int] | None:
    # One sidecar line, or None when it is not {"t": finite seconds >= 0, "n": whole bytes >= 0}.
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, absurdly deep
        return None
    if not isinstance(record, dict):
        return None
    t, n = record.get("t"), record.get("n")
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        return None
    try:
        seconds = float(t)
    except OverflowError:  # an integer beyond float range
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        return None
    return seconds, n


def to_wire_bytes(path: Path, body: bytes) -> bytes:
    """The body as it went over the wire.

    A ``.chunks.jsonl`` file holds one SSE payload per line (the recorder stripped the
    framing); each line becomes ``data: LINE`` plus a blank line again.  Anything else
    is already a raw body.
    """
    if path.name.endswith(".chunks.jsonl"):
        return b"".join(b"data: " + line.strip() + b"\n\n" for line in body.splitlines() if line.strip())
    return body


def timed_reads(body: bytes, timing: list[tuple[float, int]] | None) -> Iterator[tuple[float, bytes]]:
    """``(t, chunk)`` pairs that cut ``body`` the way the network did.

    Without timing: fixed-size reads at a fixed gap.  Bytes beyond the sidecar's
    total arrive with its last read; a sidecar longer than the body is cut short.
    """
    if timing is None:
        for i, start in enumerate(range(0, len(body), UNTIMED_READ_SIZE)):
            yield i * UNTIMED_GAP, body[start : start + UNTIMED_READ_SIZE]
        return
    pos = 0
    t = 0.0
    for t, n in timing:
        if pos >= len(body):
            return
        yield t, body[pos : pos + n]
        pos += n
    if pos < len(body):
        yield t, body[pos:]


class Recording:
    """A recorded response body replayed as a source: pass it where a client goes.

    ``path`` is a raw body (``.sse``, ``.ndjson``, a ``.chunks.jsonl`` payload list)
    as ``fieldstream record`` or ``stream(..., record_to=...)`` saves it; its
    timing sidecar ``NAME.timing.jsonl`` paces the reads.  ``speed`` divides the
    recorded times (``None``: no delays at all); without a sidecar (or with
    ``sidecar=False``) the body is read ``chunk_size`` bytes every ``gap`` seconds.

    >>> rec = Recording.bundled(speed=None)
    >>> sum(len(chunk) for chunk in rec.chunks()) == len(rec.body)
    True
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float | None = 1.0,
        sidecar: bool = True,
        chunk_size: int = UNTIMED_READ_SIZE,
        gap: float = UNTIMED_GAP,
        body: bytes | None = None,
        timing: list[tuple[float, int]] | None = None,
    ) -> None:
        if speed is not None and not speed > 0:
            raise UsageError(f"speed must be a positive number or None, got {speed!r}")
        if type(chunk_size) is not int or chunk_size < 1 or not gap >= 0:
            raise UsageError("chunk_size must be a positive int and gap a number of seconds >= 0")
        self.path = Path(path)
        self.speed = speed
        self.chunk_size = chunk_size
        self.gap = gap
        try:
            raw = self.path.read_bytes() if body is None else body
            self.timing = read_timing(self.path) if timing is None and body is None else timing
            if not sidecar:
                self.timing = None
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the recording {self.path}: {exc}") from None
        self.body = to_wire_bytes(self.path, raw)

    @classmethod
    def bundled(cls, *, speed: float | None = 1.0) -> Recording:
        """The recording shipped in the package: a real gpt-4o ``json_object`` stream (weather report)."""
        data = resources.files("fieldstream").joinpath("_data")
        body = data.joinpath(BUNDLED_RECORDING).read_bytes()
        lines = data.joinpath(BUNDLED_RECORDING + ".timing.jsonl").read_text("utf-8").splitlines()
        timing = [(float(r["t"]), int(r["n"])) for r in map(json.loads, filter(str.strip, lines))]
        return cls(BUNDLED_RECORDING, speed=speed, body=body, timing=timing)

    def _reads(self) -> Iterator[tuple[float, bytes]]:
        if self.timing is None:
            for i, start in enumerate(range(0, len(self.body), self.chunk_size)):
                yield i * self.gap, self.body[start : start + self.chunk_size]
            return
        yield from timed_reads(self.body, self.timing)

    def chunks(self) -> Iterator[bytes]:
        """The body in its recorded reads, each at its moment (sleeping in between)."""
        start = time.monotonic()
        for t, chunk in self._reads():
            if self.speed is not None:
                delay = start + t / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield chunk

    async def achunks(self) -> AsyncIterator[bytes]:
        """Async twin of :meth:`chunks` (``asyncio.sleep`` between reads)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for t, chunk in self._reads():
            if self.speed is not None:
                delay = start + t / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield chunk

    def __repr__(self) -> str:
        timing = "sidecar timing" if self.timing is not None else f"{self.chunk_size} bytes every {self.gap}s"
        return f"<Recording {self.path.name} {len(self.body)} bytes, {timing}, speed={self.speed}>"


class Recorder:
    """A decoder wrapper that also writes every read to a body file and its timing sidecar."""

    def __init__(self, decoder: Any, path: str | Path) -> None:
        self.decoder = decoder
        self.path = Path(path)
        self._start = time.monotonic()
        self._body: IO[bytes] | None = None
        self._timing: IO[str] | None = None

    def _open(self) -> None:
        try:
            self._body = self.path.open("wb")
            self._timing = sidecar_for(self.path).open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot record to {self.path}: {exc}") from None

    def _write(self, data: bytes) -> None:
        if self._body is None:
            self._open()
        assert self._body is not None and self._timing is not None
        self._body.write(data)
        self._timing.write(json.dumps({"t": round(time.monotonic() - self._start, 4), "n": len(data)}) + "\n")

    def feed(self, data: bytes) -> list[Any]:
        self._write(data)
        events: list[Any] = self.decoder.feed(data)
        return events

    def feed_payload(self, payload: Any, event: str | None = None) -> list[Any]:
        # Parsed chunks (an SDK that hands out no bytes) are recorded as NDJSON lines.
        line = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
        self._write(line)
        events: list[Any] = self.decoder.feed_payload(payload, event)
        return events

    def close(self, **options: Any) -> list[Any]:
        self.finish()
        events: list[Any] = self.decoder.close(**options)
        return events

    def finish(self) -> None:
        if self._body is None:
            self._open()
        for handle in (self._body, self._timing):
            if handle is not None and not handle.closed:
                handle.close()
