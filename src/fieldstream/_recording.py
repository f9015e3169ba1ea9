"""Recordings on disk: a raw response body plus its timing sidecar.

A sidecar ``NAME.timing.jsonl`` (next to ``NAME``, the raw body) has one line per
network read, in order::

    {"t": 0.412, "n": 287}

``t`` is seconds since the request started, ``n`` how many body bytes that read
returned.  ``fieldstream record`` writes both; ``fieldstream replay`` plays them back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

__all__ = ["read_timing", "sidecar_for", "timed_reads", "to_wire_bytes"]

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
