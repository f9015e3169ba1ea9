"""Feeding helpers: every parser test runs whole, one character at a time and at random splits."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import fieldstream as fs

T = TypeVar("T", str, bytes)

SPLITS = ("whole", "per-char", "random-1", "random-2", "random-3")


def chunked(data: T, how: str) -> list[T]:
    """Split ``data`` the way ``how`` names (one of SPLITS)."""
    if how == "whole":
        return [data]
    if how == "per-char":
        return [data[i : i + 1] for i in range(len(data))]
    seed = int(how.rsplit("-", 1)[1])
    rng = random.Random(seed * 7919 + len(data))
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, max(0, len(data) // 3)))) if len(data) > 1 else []
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def at_splits(data: T, points: Sequence[int]) -> list[T]:
    bounds = [0, *sorted(set(p for p in points if 0 < p < len(data))), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def normalize(events: Sequence[fs.Event]) -> list[Any]:
    """Events as comparable tuples, with adjacent deltas of one path merged."""
    out: list[Any] = []
    for e in events:
        if isinstance(e, fs.StringDelta):
            if out and out[-1][0] == "delta" and out[-1][1] == e.path:
                out[-1] = ("delta", e.path, out[-1][2] + e.text)
                continue
            out.append(("delta", e.path, e.text))
        elif isinstance(e, fs.ValueCompleted):
            out.append((type(e).__name__, e.path, e.value))
        elif isinstance(e, fs.DocumentCompleted):
            out.append(("done", e.index, e.value))
        else:
            out.append((type(e).__name__, e.path))
    return out


def run(chunks: Sequence[str | bytes], make: Callable[[], fs.Parser] = fs.Parser) -> tuple[fs.Parser, list[fs.Event]]:
    parser = make()
    events: list[fs.Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return parser, events


def every_split(data: T) -> Iterator[tuple[str, list[T]]]:
    for how in SPLITS:
        yield how, chunked(data, how)
