"""SSEDecoder: the WHATWG parsing rules, at every split of the input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fieldstream as fs
from tests.splits import at_splits, chunked

M = fs.SSEMessage
DEFAULT_LIMIT = fs.DEFAULT_MAX_LINE_LENGTH
SPLITS = ("whole", "per-char", "random-1", "random-2", "random-3")

# (comment, body, expected messages)
CASES = [
    ("LF endings", b"data: a\n\ndata: b\n\n", [M(data="a"), M(data="b")]),
    ("CRLF endings", b"data: a\r\n\r\ndata: b\r\n\r\n", [M(data="a"), M(data="b")]),
    ("CR endings", b"data: a\r\rdata: b\r\r", [M(data="a"), M(data="b")]),
    ("mixed endings", b"data: a\r\ndata: b\rdata: c\n\r\n", [M(data="a\nb\nc")]),
    ("event name", b"event: ping\ndata: {}\n\n", [M("ping", "{}")]),
    ("event name resets", b"event: x\ndata: 1\n\ndata: 2\n\n", [M("x", "1"), M(data="2")]),
    ("comments are skipped", b": OPENROUTER PROCESSING\n\n:\ndata: a\n\n", [M(data="a")]),
    ("multi-line data", b"data: a\ndata:\ndata:  b\n\n", [M(data="a\n\n b")]),
    ("one space stripped", b"data:no space\n\ndata:  two\n\n", [M(data="no space"), M(data=" two")]),
    ("field without colon", b"data\n\n", [M(data="")]),
    ("no data, no message", b"event: x\nid: 1\n\ndata: y\n\n", [M(data="y", id="1")]),
    ("id persists", b"id: 7\ndata: a\n\ndata: b\n\n", [M(data="a", id="7"), M(data="b", id="7")]),
    ("id with NUL ignored", b"id: a\x00b\ndata: a\n\n", [M(data="a")]),
    ("retry", b"retry: 3000\ndata: a\n\ndata: b\n\n", [M(data="a", retry=3000), M(data="b")]),
    ("bad retry ignored", b"retry: 3s\ndata: a\n\n", [M(data="a")]),
    ("unknown field ignored", b"foo: bar\ndata: a\n\n", [M(data="a")]),
    ("final message without blank line", b"data: a\n\ndata: last", [M(data="a"), M(data="last")]),
    ("final message ends with LF only", b"data: last\n", [M(data="last")]),
    ("BOM", b"\xef\xbb\xbfdata: a\n\n", [M(data="a")]),
    ("UTF-8 split anywhere", "data: Lisboa é 😊\n\n".encode(), [M(data="Lisboa é 😊")]),
    ("invalid UTF-8 becomes U+FFFD", b"data: a\xffb\n\n", [M(data="a\ufffdb")]),
    ("[DONE] is data", b"data: [DONE]\n\n", [M(data="[DONE]")]),
    ("empty body", b"", []),
]


def decode(chunks: list[bytes], **options: int) -> list[fs.SSEMessage]:
    decoder = fs.SSEDecoder(**options)
    out: list[fs.SSEMessage] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(body: bytes, expected: list[fs.SSEMessage], how: str) -> None:
    assert decode(chunked(body, how)) == expected


def test_messages_come_out_at_their_blank_line() -> None:
    decoder = fs.SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [M(data="a")]
    # A CR at the end of a chunk ends its line at once; the LF that may follow is skipped.
    assert decoder.feed(b"data: b\r\r") == [M(data="b")]
    assert decoder.feed(b"\ndata: c\n\n") == [M(data="c")]
    assert decoder.close() == []


def test_state_is_readable() -> None:
    decoder = fs.SSEDecoder()
    decoder.feed(b": hi\nretry: 10\nid: x\n\n")
    assert (decoder.comments, decoder.retry, decoder.last_event_id) == (1, 10, "x")


def test_line_limit() -> None:
    with pytest.raises(fs.LimitError, match="line longer than 8"):
        decode([b"data: ", b"123456789"], max_line_length=8)
    with pytest.raises(fs.LimitError):
        decode([b"data: 123456789\n"], max_line_length=8)
    assert decode([b"data: 12\n\n"], max_line_length=8) == [M(data="12")]


def test_event_size_limit() -> None:
    with pytest.raises(fs.LimitError, match="event data longer than 10"):
        decode([b"data: 12345\ndata: 67890\n\n"], max_event_size=10)
    assert decode([b"data: 1234\ndata: 5678\n\n"], max_event_size=10) == [M(data="1234\n5678")]


def test_limits_are_validated() -> None:
    with pytest.raises(fs.UsageError, match="max_line_length"):
        fs.SSEDecoder(max_line_length=0)
    assert fs.SSEDecoder().max_event_size == fs.DEFAULT_MAX_EVENT_SIZE
    assert fs.SSEDecoder().max_line_length == fs.DEFAULT_MAX_LINE_LENGTH


def test_misuse() -> None:
    decoder = fs.SSEDecoder()
    with pytest.raises(fs.UsageError, match="bytes"):
        decoder.feed("data: a\n\n")  # type: ignore[arg-type]
    decoder.close()
    with pytest.raises(fs.UsageError, match="after close"):
        decoder.feed(b"")
    with pytest.raises(fs.UsageError):
        decoder.close()


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(
        st.tuples(st.sampled_from(["", "ping", "x"]), st.lists(_text, min_size=1, max_size=3)), max_size=5
    ),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    points=st.lists(st.integers(0, 400), max_size=12),
)
def test_any_split_gives_the_same_messages(messages: list[tuple[str, list[str]]], eol: str, points: list[int]) -> None:
    body = ""
    expected = []
    for event, lines in messages:
        if event:
            body += f"event: {event}{eol}"
        body += "".join(f"data: {line}{eol}" for line in lines) + eol
        expected.append(M(event or "message", "\n".join(lines)))
    data = body.encode()
    assert decode(at_splits(data, points)) == expected


class _GeneralOnly(fs.SSEDecoder):
    """The decoder with its fast path switched off: the reference the fast path must equal."""

    def _fast(self, data: bytes, pos: int) -> tuple[list[tuple[bytes, str]], int]:
        return [], pos


_PIECES = [
    b"data: ",
    b"data:",
    b"data",
    b"event: ",
    b"event:",
    b"event: ping\n",
    b"data: {}\n\n",
    b"id: ",
    b"retry: ",
    b": c",
    b"x: y",
    b"{}",
    b"[DONE]",
    b"caf\xc3\xa9",
    b"\xe2\x82",
    b"\xff",
    b"\xef\xbb\xbf",
    b" ",
    b"7",
    b"\n",
    b"\n\n",
    b"\r",
    b"\r\n",
    b"\r\n\r\n",
    b"\x00",
]


def _single_first(decoder: fs.SSEDecoder, chunk: bytes) -> list[fs.SSEMessage]:
    """What StreamDecoder.feed does: a read that is one whole message first, then the rest."""
    single = decoder._single(chunk) if decoder._between else None
    if single is not None:
        return [fs.SSEMessage(single[1], single[0].decode(), decoder.last_event_id, None)]
    return decoder.feed(chunk)


def _outcome(decoder: fs.SSEDecoder, chunks: list[bytes], *, single: bool = False) -> Any:
    out: list[Any] = []
    try:
        for chunk in chunks:
            out += _single_first(decoder, chunk) if single else decoder.feed(chunk)
        out += decoder.close()
    except fs.LimitError as exc:  # (its offset is where the chunk or message began: not compared)
        out.append(("LimitError", str(exc).split(" at line")[0]))
    return out, decoder.last_event_id, decoder.retry, decoder.comments


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    points=st.lists(st.integers(0, 200), max_size=8),
    limit=st.sampled_from([10, 30, DEFAULT_LIMIT]),
)
def test_fast_path_equals_the_general_path(pieces: list[bytes], points: list[int], limit: int) -> None:
    body = b"".join(pieces)
    chunks = at_splits(body, points)
    fast = fs.SSEDecoder(max_line_length=limit, max_event_size=limit)
    general = _GeneralOnly(max_line_length=limit, max_event_size=limit)
    expected = _outcome(general, chunks)
    assert _outcome(fast, chunks) == expected
    single = fs.SSEDecoder(max_line_length=limit, max_event_size=limit)
    assert _outcome(single, chunks, single=True) == expected


def test_an_event_without_data_names_nothing_after_it() -> None:
    """Found by the sse fuzz target: the fast path kept the event name of a message with no data."""
    body = b"event: x\n\ndata: a\n\nevent: y\ndata: b\n\n"
    for chunks in ([body], [body[:10], body[10:]], chunked(body, "per-char"), chunked(body, "random-1")):
        decoder = fs.SSEDecoder()
        messages = [m for chunk in chunks for m in decoder.feed(chunk)]
        assert messages == [M("message", "a"), M("y", "b")]
        assert _outcome(fs.SSEDecoder(), chunks, single=True) == _outcome(_GeneralOnly(), chunks)
