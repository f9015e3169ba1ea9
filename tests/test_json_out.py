"""The one output rule (``_json_out``): every encoder writes valid JSON for every value the parser accepts.

JSONL records, SSE frames (``sse_encode``, ``SSEEncoder``, ``to_sse``, ``to_sse_dicts``) and
the CLI's readable views, fed lone surrogates, non-finite numbers, nesting at the parser's
depth limit and typed values: the text is valid UTF-8 JSON on one line, and reading it back
gives the value under the documented encoding (``fuzz.targets.under_rule``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fieldstream as fs
from fieldstream._json_out import dumps, plain, safe_text
from fieldstream._records import event_to_json, stream_event_to_json
from fuzz.targets import check_outputs, fuzz_encoders, under_rule

DEEP = fs.DEFAULT_MAX_DEPTH  # the parser's own limit: any depth it accepts must be writable


def parse(text: str, **options: Any) -> list[Any]:
    parser = fs.Parser(**options)
    return [*parser.feed(text), *parser.close()]


def load(text: str) -> Any:
    """JSON text read back: json.loads, or fieldstream's parser where json.loads runs out of recursion."""
    try:
        return json.loads(text)
    except RecursionError:
        [*_, done] = parse(text, max_depth=DEEP + 10)
        return done.value


def data_lines(body: bytes) -> list[Any]:
    text = body.decode("utf-8")  # strict: the frames are valid UTF-8
    return [load(line[6:]) for line in text.split("\n") if line.startswith("data: ")]


# -- the rule, case by case (each was a crash or a non-JSON output before) -------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (["\ud800"], '["\\ud800"]'),  # a lone surrogate: escaped, as JSON.stringify does
        ({"\udc80k": "x\udfffy"}, '{"\\udc80k": "x\\udfffy"}'),  # in keys too
        ([float("inf"), float("-inf"), float("nan")], "[null, null, null]"),  # not JSON: null, as JSON.stringify
        ("a\u2028b\x85c\u2029", '"a\\u2028b\\u0085c\\u2029"'),  # line breaks to str.splitlines
        ({1: True, 2: 2.5}, '{"1": true, "2": 2.5}'),
        ("é😀", '"é😀"'),  # everything else stays as it is (UTF-8)
    ],
)
def test_dumps_cases(value: Any, text: str) -> None:
    assert dumps(value) == text
    assert json.loads(text) == under_rule(plain(value))


def test_any_depth_the_parser_accepts() -> None:
    text = "[" * DEEP + "1e400" + "]" * DEEP
    [*_, done] = parse(text)
    out = dumps(event_to_json(done))
    assert out == '{"event": "done", "value": ' + "[" * DEEP + "null" + "]" * DEEP + "}"
    assert dumps({"a": done.value}, compact=True).startswith('{"a":[[[')
    frames = fs.sse_encode([done])
    assert frames.count(b"[[[[[[[[[[") >= 1 and data_lines(frames)[-1] == {"event": "end"}


def test_deep_objects_and_typed_values_inside_deep_values() -> None:
    class Color(enum.Enum):
        RED = "red"

    value: Any = {"leaf": Color.RED}
    for i in range(DEEP):
        value = {f"k{i % 3}": value}
    text = dumps(value)
    assert text.endswith('{"leaf": "red"}' + "}" * DEEP)


class City(pydantic.BaseModel):
    name: str
    temperature: float | None = None


@dataclasses.dataclass
class Point:
    x: int
    y: float


def test_typed_values_are_json_not_reprs() -> None:
    assert dumps(City(name="Lisbon")) == '{"name": "Lisbon", "temperature": null}'
    assert dumps([Point(1, float("inf"))]) == '[{"x": 1, "y": null}]'
    # a model holding a value deeper than pydantic-core's converter goes (about 255 levels)
    deep: Any = []
    for _ in range(400):
        deep = [deep]

    class Holder(pydantic.BaseModel):
        data: Any

    assert dumps(Holder(data=deep)) == '{"data": ' + "[" * 401 + "]" * 401 + "}"


def test_a_value_that_contains_itself_is_a_usage_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(fs.UsageError, match="contains itself"):
        dumps(loop)


def test_safe_text() -> None:
    assert safe_text("path $[\ud800]") == "path $[\\ud800]"


# -- every encoder, on the values the issue listed -------------------------------------------


HOSTILE = ['["\\ud800"]', '{"\\udfff": "\\ud83d"}', "[1e400, -1e400]", "[" * DEEP + "]" * DEEP, '"\u2028"']


@pytest.mark.parametrize("text", HOSTILE, ids=["surrogate", "surrogate-key", "overflow", "deep", "line-sep"])
def test_every_encoder(text: str) -> None:
    events = parse(text)
    if len(events) > 100:  # the deep case: its outermost events are the deepest values
        events = events[-3:]
    expected = None
    if len(text) < 100:  # check_outputs and under_rule recurse; the deep case is read back by the parser
        check_outputs(events)
        expected = under_rule(json.loads(text))
    for records in (
        data_lines(fs.sse_encode(events)),
        data_lines(b"".join(fs.to_sse(iter(events)))),
        data_lines(b"".join(fs.SSEEncoder().encode(e) for e in events)),
        [load(d["data"]) for d in fs.to_sse_dicts(iter(events))],
    ):
        done = [r for r in records if r["event"] == "done"]
        assert len(done) == 1
        if expected is not None:
            assert done[0]["value"] == expected


def test_async_to_sse_with_a_lone_surrogate() -> None:
    async def source() -> Any:
        for event in parse('{"text": "\\ud83d"}'):
            yield event

    async def collect() -> bytes:
        return b"".join([frame async for frame in fs.to_sse(source())])

    records = data_lines(asyncio.run(collect()))
    assert records[-2] == {"event": "done", "value": {"text": "\ud83d"}}


def test_error_frame_snapshot_is_json_for_typed_values() -> None:
    parser = fs.Parser(City)
    events = parser.feed('{"name": "San Francisco", "temperature": 1')

    def failing() -> Any:
        yield from events
        raise fs.StreamError("upstream went away")

    frames = b"".join(fs.to_sse(failing(), snapshot=lambda: parser.snapshot))
    error = data_lines(frames)[-1]
    assert error["event"] == "error" and error["snapshot"] == {"name": "San Francisco", "temperature": None}


def test_stream_records_of_hostile_content() -> None:
    # A provider stream whose content is a lone surrogate and an overflowing number.
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"{\\"a\\": \\"\\\\ud800\\", \\"b\\": 1e400}"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    decoder = fs.StreamDecoder("openai-chat", content="json")
    events = [*decoder.feed(body), *decoder.close()]
    lines = [dumps(stream_event_to_json(e)) for e in events]
    done = [json.loads(line) for line in lines if '"done"' in line]
    assert done[0]["value"] == {"a": "\ud800", "b": None}
    records = data_lines(fs.sse_encode(events))
    assert [r for r in records if r["event"] == "done"][0]["value"] == {"a": "\ud800", "b": None}


# -- property: any value the parser accepts, through every output ----------------------------

_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false", "1e400", "-1e999", "0", "-0.0", "1E-400"]),
    st.sampled_from(['"\\ud800"', '"x\\udfff"', '"\\ud83d\\ude00"', '"\\u2028\\u0085"', '"\\u0000"']),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.text(max_size=8).map(json.dumps),
)
_KEYS = st.one_of(st.text(max_size=5).map(json.dumps), st.sampled_from(['"\\ud800"', '"\\udc00x"']))
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(_KEYS, inner), max_size=4).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    ),
    max_leaves=20,
)


@given(text=_DOCUMENTS, cut=st.integers(min_value=0, max_value=255))
def test_parser_outputs_through_every_encoder(text: str, cut: int) -> None:
    fuzz_encoders(bytes([0, cut]) + text.encode())  # the whole document: every event, every encoder
    fuzz_encoders(bytes([0, cut]) + text.encode()[: cut % (len(text) + 1)])  # a prefix: the error path too


@given(text=_DOCUMENTS)
def test_readback_equals_the_value(text: str) -> None:
    [*_, done] = parse(text)
    assert json.loads(dumps(event_to_json(done)))["value"] == under_rule(json.loads(text))
