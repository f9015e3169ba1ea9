"""Deterministic synthetic documents shaped like LLM structured output.

Each kind grows a list of items until the JSON text reaches the target size, so
every size of one kind has the same shape (the benchmark measures growth, not a
change of shape).  Text is ``json.dumps`` with its default separators, the way
models emit spaced JSON; ``ensure_ascii=False`` keeps non-ASCII characters raw.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

__all__ = ["KINDS", "generate"]

_WORDS = (
    "stream parse token field value chunk model schema delta event latency "
    "record window buffer index cursor offset object array string number"
).split()
_NON_ASCII = ["café", "naïve", "Zürich", "東京", "Ελλάδα", "😊", "—", "€42", "Łódź", "ñandú"]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": _words(rng, 2).title(),
        "email": f"user{i}@example.com",
        "active": rng.random() < 0.7,
        "score": round(rng.uniform(0, 100), 3),
        "tags": [rng.choice(_WORDS) for _ in range(rng.randint(1, 4))],
        "note": None if rng.random() < 0.5 else _words(rng, rng.randint(3, 8)),
    }


def _chain(rng: random.Random, i: int, depth: int = 24) -> dict[str, Any]:
    node: dict[str, Any] | None = None
    for level in reversed(range(depth)):
        node = {"level": level, "label": f"{rng.choice(_WORDS)}-{i}-{level}", "child": node}
    assert node is not None
    return node


def _message(rng: random.Random, i: int) -> dict[str, Any]:
    parts = []
    for _ in range(rng.randint(20, 40)):
        r = rng.random()
        if r < 0.12:
            parts.append(rng.choice(_NON_ASCII))
        elif r < 0.2:
            parts.append('"quoted"')
        elif r < 0.26:
            parts.append("C:\\path\\to")
        elif r < 0.34:
            parts.append("line\n\tindented")
        else:
            parts.append(rng.choice(_WORDS))
    return {"role": "assistant" if i % 2 else "user", "text": " ".join(parts)}


def _row(rng: random.Random, i: int) -> dict[str, Any]:
    values: list[float] = [round(rng.gauss(0, 1000), rng.randint(0, 6)) for _ in range(24)]
    values[0] = int(values[0])
    values[1] = rng.choice([1e-7, -2.5e21, 6.02e23, 0.0])
    return {"t": i, "values": values}


def _action(rng: random.Random, i: int) -> dict[str, Any]:
    """An agent step: a tagged action (the tag first, as models emit it)."""
    r = rng.random()
    if r < 0.4:
        return {"type": "search", "query": _words(rng, rng.randint(3, 7)), "k": rng.randint(1, 10)}
    if r < 0.7:
        city = rng.choice(_NON_ASCII[:5])
        return {"type": "call", "tool": f"get_{rng.choice(_WORDS)}", "arguments": {"city": city, "days": i % 7}}
    sources = [f"https://example.com/{rng.choice(_WORDS)}/{i}" for _ in range(rng.randint(0, 3))]
    return {"type": "answer", "text": _words(rng, rng.randint(12, 40)), "sources": sources}


# kind -> (top-level key, item factory)
KINDS: dict[str, tuple[str, Callable[[random.Random, int], Any]]] = {
    "records": ("items", _record),  # flat records: many short fields, the common LLM list
    "nested": ("trees", _chain),  # 24-deep chains of objects
    "strings": ("messages", _message),  # long strings with escapes and non-ASCII
    "numbers": ("rows", _row),  # number-heavy arrays
    "actions": ("steps", _action),  # agent steps, a discriminated union of three models
    "actionsflat": ("steps", _action),  # the same text, typed as one model with optional fields
    "actionsplain": ("steps", _action),  # the same text, typed as a plain union of untagged models
}


def generate(kind: str, size: int, *, seed: int = 0) -> str:
    """JSON text of ``kind`` at least ``size`` characters long (one item over at most)."""
    key, make = KINDS[kind]
    base = kind.removesuffix("flat").removesuffix("plain")  # a *flat or *plain kind has the text of its base kind
    rng = random.Random(f"{base}-{seed}")
    items: list[Any] = []
    length = len(json.dumps({key: []}, ensure_ascii=False))
    while length < size:
        item = make(rng, len(items))
        items.append(item)
        length += len(json.dumps(item, ensure_ascii=False)) + (2 if len(items) > 1 else 0)
    return json.dumps({key: items}, ensure_ascii=False)
