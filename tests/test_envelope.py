"""The envelope parser returns exactly what ``json.loads`` returns, with or without jiter."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldstream import StreamDecoder, _envelope
from fieldstream._envelope import loads, stdlib_loads

# Inputs where jiter and json.loads could part ways; each must come out as json.loads has it.
CASES = [
    '"\\ud800"',  # a lone surrogate escape: json.loads keeps it, jiter refuses
    '"\\udfff\\ud800"',  # reversed pair
    '"\\ud83d\\ude00"',  # a real pair
    '{"a": 1, "a": 2}',  # duplicate keys: the last wins
    '{"a": 1, "b": 2, "a": 3}',
    "123456789012345678901234567890",  # big int
    "NaN",
    "[Infinity, -Infinity]",
    "1e400",
    "-0",
    "-0.0",
    "1.0000000000000002",
    '"\\u0000"',
    "[" * 300 + "]" * 300,  # deeper than jiter's recursion limit
    ' {"a": [1, 2.5, "x", null, true]} ',
]
BAD = ['"a\x01b"', '{"a": 1} x', "01", "nan", "[1,]", "", " ", "\ufeff[1]", "1" * 5000, '"\\x"']


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b and (not isinstance(a, dict) or list(a) == list(b))


@pytest.mark.parametrize("text", CASES)
def test_accepted_as_json_loads_accepts(text: str) -> None:
    expected = json.loads(text)
    for data in (text, text.encode("utf-8", "surrogatepass")):
        assert same(loads(data), expected), data
        assert same(stdlib_loads(data), expected)


@pytest.mark.parametrize("text", BAD)
def test_refused_as_json_loads_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads(text)
    with pytest.raises(ValueError):
        loads(text.encode())


def test_bad_utf8_reads_as_replacement_characters() -> None:
    assert loads(b'{"a": "x\xffy"}') == {"a": "x\ufffdy"} == stdlib_loads(b'{"a": "x\xffy"}')


def test_parser_in_use_is_named() -> None:
    assert _envelope.PARSER in ("jiter", "pydantic-core", "json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(json_values, st.booleans())
def test_any_document(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert same(loads(text.encode("utf-8", "surrogatepass")), json.loads(text))


def test_stream_decoder_reads_lone_surrogates_in_envelopes_like_json_loads() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"a\\ud800b"}}]}\n\ndata: [DONE]\n\n'
    for parser in (loads, stdlib_loads):
        decoder = StreamDecoder()
        decoder._framing.loads = parser
        decoder._framing.fast_loads = _envelope.fast_loads if parser is loads else None
        events = decoder.feed(body) + decoder.close()
        assert decoder.targets["choices[0]"].raw == "a\ud800b", events
