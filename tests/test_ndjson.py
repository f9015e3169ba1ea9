"""NDJSONDecoder: one JSON value per line, lines split anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fieldstream as fs
from tests.splits import at_splits, chunked

SPLITS = ("whole", "per-char", "random-1", "random-2", "random-3")

CASES = [
    ("two lines", b'{"a": 1}\n{"b": [2]}\n', [{"a": 1}, {"b": [2]}]),
    ("CRLF", b'{"a": 1}\r\n{"b": 2}\r\n', [{"a": 1}, {"b": 2}]),
    ("blank lines skipped", b'\n{"a": 1}\n\n  \n{"b": 2}\n', [{"a": 1}, {"b": 2}]),
    ("last line without newline", b'{"a": 1}\n{"b": 2}', [{"a": 1}, {"b": 2}]),
    ("UTF-8 split anywhere", '{"t": "é 😊"}\n'.encode(), [{"t": "é 😊"}]),
    ("any JSON value", b'1\n"s"\n[true, null]\n', [1, "s", [True, None]]),
    ("empty body", b"", []),
]


def decode(chunks: list[bytes], **options: object) -> list[object]:
    decoder = fs.NDJSONDecoder(**options)  # type: ignore[arg-type]
    out: list[object] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lines(body: bytes, expected: list[object], how: str) -> None:
    assert decode(chunked(body, how)) == expected


def test_values_come_out_at_their_newline() -> None:
    decoder = fs.NDJSONDecoder()
    assert decoder.feed(b'{"a": ') == []
    assert decoder.feed(b"1}") == []
    assert decoder.feed(b"\n") == [{"a": 1}]


def test_lines_mode() -> None:
    assert decode([b'{"a": 1}\r\n', b"not json\n"], lines=True) == ['{"a": 1}', "not json"]


def test_bad_line_names_its_number() -> None:
    decoder = fs.NDJSONDecoder()
    decoder.feed(b'{"a": 1}\n')
    with pytest.raises(fs.ParseError, match="line 2 is not JSON") as info:
        decoder.feed(b"{oops}\n")
    assert info.value.line == 2 and info.value.offset == 9
    with pytest.raises(fs.UsageError):
        decoder.feed(b"{}\n")


def test_line_limit() -> None:
    with pytest.raises(fs.LimitError, match="longer than 8 bytes"):
        decode([b'{"a": ', b'"123456"}'], max_line_length=8)
    with pytest.raises(fs.LimitError):
        decode([b'{"a": "123456"}\n'], max_line_length=8)
    with pytest.raises(fs.UsageError, match="max_line_length"):
        fs.NDJSONDecoder(max_line_length=-1)
    assert fs.NDJSONDecoder().max_line_length == fs.DEFAULT_MAX_NDJSON_LINE_LENGTH


def test_misuse() -> None:
    decoder = fs.NDJSONDecoder()
    with pytest.raises(fs.UsageError, match="bytes"):
        decoder.feed('{"a": 1}\n')  # type: ignore[arg-type]
    decoder.close()
    with pytest.raises(fs.UsageError):
        decoder.feed(b"{}")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(_json, max_size=6), points=st.lists(st.integers(0, 300), max_size=10), crlf=st.booleans())
def test_any_split_gives_the_same_values(values: list[object], points: list[int], crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    data = "".join(json.dumps(v, ensure_ascii=False) + eol for v in values).encode()
    assert decode(at_splits(data, points)) == values
