"""What a typed stream keeps: one copy of the value, and with keep_items=False one item.

Structural checks only (what is held, counted in items and characters), never
byte counts or timings: ``benchmarks/memory.py --bounded`` and the end-to-end
harness measure the memory.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import fieldstream as fs

from .splits import SPLITS, chunked


class Item(BaseModel):
    id: int
    title: str
    tags: list[str]
    score: float


class Page(BaseModel):
    name: str
    items: list[Item]
    meta: dict[str, int]


def item_text(i: int) -> str:
    return json.dumps({"id": i, "title": f"item {i} " + "x" * 40, "tags": ["a", "b"], "score": i / 2})


def page_text(count: int) -> str:
    items = ", ".join(item_text(i) for i in range(count))
    return '{"name": "p", "items": [' + items + '], "meta": {"a": 1}}'


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def held(value: Any) -> int:
    """How many containers and scalars a plain value holds."""
    if isinstance(value, dict):
        return 1 + sum(held(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(held(v) for v in value)
    return 1


def test_typed_parser_keeps_no_plain_copy() -> None:
    # The containers the typed layer assembles are bare in the core: only a non-empty marker.
    text = page_text(20)
    parser = fs.Parser(Page)
    for chunk in chunks(text[: len(text) * 3 // 4], 7):
        parser.feed(chunk)
        assert all(len(container) <= 1 for container in parser._stack)
        assert held(parser._root) <= 2
    assert len(parser.snapshot.items) >= 10  # the typed value holds them


@pytest.mark.parametrize("lenient", [False, True])
def test_failed_containers_carry_their_plain_value(lenient: bool) -> None:
    # Bare containers are parsed again from their text only when pydantic must see them
    # whole: the ValueInvalid of a container and of the document carry json.loads's value.
    text = '{"name": "p", "items": [{"id": 1, "title": "t", "tags": [], "score": 1}, {"tags": ["b"]}], "meta": {}}'
    plain = json.loads(text)
    expected = [(("items", 1), plain["items"][1]), ((), plain)]
    for how in SPLITS:
        pieces = chunked(text, how)
        parser = fs.Parser(Page, lenient=lenient)
        events = [e for piece in pieces for e in parser.feed(piece)] + parser.close()
        assert [(e.path, e.value) for e in events if isinstance(e, fs.ValueInvalid)] == expected


def test_typed_keep_items_false_holds_one_item() -> None:
    count = 200
    text = page_text(count)
    item = len(item_text(count))
    parser = fs.Parser(Page, keep_items=False)
    delivered = []
    for chunk in chunks(text, 64):
        for event in parser.feed(chunk):
            if isinstance(event, fs.ItemCompleted) and len(event.path) == 2:
                delivered.append(event.value)
        assert len(parser.snapshot.items) <= 1
        assert len(parser._stack) < 2 or len(parser._stack[1]) <= 1  # the plain outer list: its open item
        # the open item's text (or at most twice it: dropped once that frees half), and the latest 32 chunks
        assert parser._text.end - parser._text.start <= 2 * (item + 64) + 32 * 64  # type: ignore[union-attr]
    parser.close()
    assert delivered == [Item.model_validate_json(item_text(i)) for i in range(count)]
    assert parser.result == Page(name="p", items=[], meta={"a": 1})


def test_stream_decoder_typed_keep_items_false_holds_one_item() -> None:
    count = 60
    text = page_text(count)
    item = len(item_text(count))
    decoder = fs.StreamDecoder("openai-chat", schema=Page, keep_items=False)
    head = b'data: {"choices":[{"index":0,"delta":{"content":'
    delivered = 0
    for chunk in chunks(text, 64):
        for event in decoder.feed(head + json.dumps(chunk).encode() + b"}}]}\n\n"):
            inner = getattr(event, "event", None)
            if isinstance(inner, fs.ItemCompleted) and len(inner.path) == 2:
                delivered += 1
        target = decoder.targets["choices[0]"]
        assert len(target.raw) <= item + 64
        snapshot = target.snapshot
        assert snapshot is None or len(snapshot.items) <= 1
    decoder.feed(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
    decoder.close()
    assert delivered == count
    assert decoder.targets["choices[0]"].value == Page(name="p", items=[], meta={"a": 1})


def test_stream_decoder_typed_shares_the_targets_text() -> None:
    decoder = fs.StreamDecoder("openai-chat", schema=Page)
    text = page_text(3)
    for chunk in chunks(text, 16):
        decoder.feed(b'data: {"choices":[{"index":0,"delta":{"content":' + json.dumps(chunk).encode() + b"}}]}\n\n")
    target = decoder.targets["choices[0]"]
    assert target.parser is not None and target.parser._text is target._buffer
    assert target.value == Page.model_validate_json(text)


# -- properties: what is dropped or parsed again changes no event ----------------------------

CI = bool(os.environ.get("CI"))
SETTINGS = settings(
    max_examples=int(os.environ.get("FIELDSTREAM_TYPED_EXAMPLES", "60")),
    deadline=None,
    derandomize=CI,
    suppress_health_check=[HealthCheck.too_slow],
)
# Items that pass, miss a field, or carry a wrong type somewhere (a value, a tag, the list).
_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(-5, 5), st.just("x")),
        "title": st.one_of(st.text(max_size=5), st.just(3)),
        "tags": st.one_of(st.lists(st.one_of(st.text(max_size=3), st.just(1)), max_size=3), st.just({})),
        "score": st.floats(allow_nan=False, allow_infinity=False, width=32),
        "extra": st.lists(st.integers(), max_size=2),
    },
)
_PAGE = st.fixed_dictionaries(
    {
        "name": st.text(max_size=4),
        "items": st.lists(_ITEM, max_size=4),
        "meta": st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    }
)


def _events(schema: Any, pieces: list[str], **options: Any) -> list[tuple[Any, ...]]:
    parser = fs.Parser(schema, **options)
    events: list[fs.Event] = []
    for piece in pieces:
        events += parser.feed(piece)
    events += parser.close()
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, fs.StringDelta):
            if out and out[-1][0] == "delta" and out[-1][1] == e.path:
                out[-1] = ("delta", e.path, out[-1][2] + e.text)
                continue
            out.append(("delta", e.path, e.text))
        elif isinstance(e, fs.ValueInvalid):
            out.append(("invalid", e.path, e.value, [err["type"] for err in e.errors]))
        else:
            out.append((type(e).__name__, getattr(e, "path", None), getattr(e, "value", None)))
    return out


@SETTINGS
@given(page=_PAGE, cuts=st.lists(st.integers(1, 400), max_size=12), keep=st.booleans())
def test_bare_containers_change_no_event(page: dict[str, Any], cuts: list[int], keep: bool) -> None:
    text = json.dumps(page)
    bounds = [0, *sorted(set(c for c in cuts if c < len(text))), len(text)]
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    whole = _events(Page, [text], keep_items=keep)
    assert _events(Page, pieces, keep_items=keep) == whole  # chunking never changes the result
    for event in whole:
        if event[0] == "invalid":  # a failed container carries json.loads's value (keep_items=True)
            value: Any = page
            for key in event[1]:
                value = value[key]
            if keep or not event[1]:
                assert event[2] == (value if keep else {**page, "items": []})
            else:
                assert event[2] == value
    if not keep:  # the same items delivered, kept or not
        kept = [e for e in _events(Page, [text]) if len(e[1] or ()) == 2 and e[1][0] == "items"]
        assert [e for e in whole if len(e[1] or ()) == 2 and e[1][0] == "items"] == kept
