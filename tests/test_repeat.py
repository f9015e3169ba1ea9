"""Repeats: envelopes read without parsing them give exactly what parsing them gives.

The oracle is the same decoder with repeats off (``_framing._LEARN = 0``): every
payload parsed whole and stepped by its provider.  Real streams, and envelopes
whose text leaf, tail and padding are hostile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldstream as fs
from fieldstream import _framing, _repeat
from fieldstream._stream_events import Source
from tests.splits import chunked

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
STREAMS = sorted(p for p in CORPUS.glob("*/*") if p.suffix == ".sse")


def shape(events: list[Any]) -> list[Any]:
    """Events as comparable values (a fault's exception compares by identity: its type and text)."""
    out = []
    for e in events:
        if isinstance(e, fs.Fault):
            out.append((e, repr(e.snapshot), type(getattr(e, "error", None)).__name__))
        else:
            out.append((e, repr(e)))
    return out


def reads(body: bytes, how: str) -> list[bytes]:
    """``body`` cut one SSE message per read (``events``), two (``pairs``), or as ``chunked`` cuts it."""
    if how not in ("events", "pairs"):
        return chunked(body, how)
    messages = [m + b"\n\n" for m in body.replace(b"\r\n", b"\n").split(b"\n\n") if m.strip()]
    step = 1 if how == "events" else 2
    return [b"".join(messages[i : i + step]) for i in range(0, len(messages), step)]


def decode(chunks: list[bytes], **options: Any) -> tuple[list[Any], int]:
    """The stream's events, and how many envelopes were read as repeats."""
    hits = 0
    text = _repeat.Repeat._text

    def counted(self: _repeat.Repeat, data: bytes, start: int, stop: int) -> str | None:
        nonlocal hits
        found = text(self, data, start, stop)
        hits += found is not None
        return found

    decoder = fs.StreamDecoder(**options)
    events: list[Any] = []
    _repeat.Repeat._text = counted  # type: ignore[method-assign]
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
    finally:
        _repeat.Repeat._text = text  # type: ignore[method-assign]
    return events, hits


def both(chunks: list[bytes], **options: Any) -> tuple[list[Any], list[Any], int]:
    """The stream's events with repeats and without (the oracle), and the repeats read."""
    found, hits = decode(chunks, **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_framing, "_LEARN", 0)
        parsed, none = decode(chunks, **options)
    assert none == 0
    return shape(found), shape(parsed), hits


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
@pytest.mark.parametrize("how", ["events", "pairs", "whole", "random-1"])
def test_corpus_streams_repeat_exactly(path: Path, how: str) -> None:
    body = path.read_bytes()
    found, parsed, _ = both(reads(body, how))
    assert found == parsed


def test_repeats_are_read_in_real_streams() -> None:
    # Most deltas of OpenAI chat and Anthropic streams are repeats (else this path is dead code).
    for name in ("openai_chat_completions/oai_py_json_object_mode.sse", "anthropic_messages/pai_thinking_text.sse"):
        body = (CORPUS / name).read_bytes()
        chunks = reads(body, "events")
        found, parsed, hits = both(chunks)
        assert found == parsed
        assert hits >= len(chunks) // 2, (name, hits, len(chunks))


# -- hostile envelopes ---------------------------------------------------------------

CHAT_HEAD = b'{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":'
CHAT_TAIL = b'},"logprobs":null,"finish_reason":null}]'
TOOL_HEAD = b'{"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":'
TOOL_TAIL = b'}}]},"finish_reason":null}]'
ANT_HEAD = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'


def chat_first(tool: bool) -> bytes:
    if tool:
        call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
        delta: dict[str, Any] = {"role": "assistant", "tool_calls": [call]}
    else:
        delta = {"role": "assistant", "content": ""}
    chunk = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return json.dumps(chunk).encode()


# Leaf tokens: what encoders write, and what they must not (each decides the same either way).
HOSTILE_TOKENS = [
    b'""',
    b'"\\ud800"',  # a lone surrogate: json.loads takes it, jiter does not
    b'"\\udc00x\\ud83d"',
    b'"\\ud83d\\ude00"',
    b'"\\x"',  # a bad escape
    b'"\\u12"',
    b'"a\x01b"',  # a raw control character
    b'"a\x7fb"',
    b'"\xff\xfe"',  # not UTF-8
    b'"\xe2\x82"',
    b'"caf\xc3\xa9"',
    b'"\\u00e9"',
    b'"\\/"',
    b'"\\\\"',
    b'"\\\\\\""',
    b'"a\\"b"',
    b'"a","content":"b"',  # a second member through the leaf
    b'"a"}],"usage":{"total_tokens":1}',
    b'"\xc2\xa0"',
    b'"\xe2\x80\xa8"',
    b'"a"   ',
    b"123",
    b"null",
    b'["a"]',
    b'"unterminated',
    b'"',
]


def tokens() -> st.SearchStrategy[bytes]:
    # Mostly what encoders write (so most envelopes repeat), some of it hostile.
    plain = st.text('ab "\\{}:,\n\u00e9\U0001f600', min_size=1, max_size=5)
    written = plain.map(lambda t: json.dumps(t, ensure_ascii=False).encode())
    escaped = st.text().map(lambda t: json.dumps(t).encode())
    anything = st.text().map(lambda t: json.dumps(t, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return st.one_of(written, written, written, escaped, anything, st.sampled_from(HOSTILE_TOKENS))


def obfuscation() -> st.SearchStrategy[bytes]:
    plain = st.text("abcXYZ019", max_size=6).map(str.encode)
    hostile = st.sampled_from([b'a"b', b"a\\nb", b"a\x01", b"\xff", b"a b", b"", b'"', b"\\"])
    return st.one_of(plain, hostile)


def blanks() -> st.SearchStrategy[bytes]:
    return st.text(" \t\r\n", max_size=4).map(str.encode)


@st.composite
def chat_stream(draw: st.DrawFn) -> list[bytes]:
    tool = draw(st.booleans())
    head, tail = (TOOL_HEAD, TOOL_TAIL) if tool else (CHAT_HEAD, CHAT_TAIL)
    messages = [chat_first(tool)]
    ends = st.one_of(
        st.just(b"}"),
        obfuscation().map(lambda o: b',"obfuscation":"' + o + b'"}'),
        blanks().map(lambda b: b"}" + b),
        st.just(b',"usage":{"total_tokens":3}}'),
    )
    usual = draw(ends)
    for _ in range(draw(st.integers(1, 12))):
        token = draw(tokens())
        end = draw(st.one_of(st.just(usual), st.just(usual), ends))
        messages.append(head + token + tail + end)
    return messages


@st.composite
def anthropic_stream(draw: st.DrawFn) -> list[bytes]:
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    messages = [json.dumps(start).encode()]
    ends = st.one_of(blanks().map(lambda b: b"}" + b + b"}"), st.just(b',"x":1}}'), st.just(b"}]}"))
    for _ in range(draw(st.integers(1, 12))):
        token = draw(tokens())
        end = draw(st.one_of(st.just(b"}}"), st.just(b"}}"), ends))
        messages.append(ANT_HEAD + token + end)
    return messages


def framed(messages: list[bytes], event: str | None, first: str | None = None) -> list[bytes]:
    """SSE messages named ``event`` (the first one ``first``, when given)."""
    names = [event] * len(messages)
    if first is not None:
        names[0] = first
    return [
        (f"event: {name}\n".encode() if name else b"") + b"data: " + m + b"\n\n" for name, m in zip(names, messages)
    ]


def regroup(chunks: list[bytes], how: str) -> list[bytes]:
    """One message per read, or some reads of several (the multi-message fast path), or some
    messages ended by CR LF (the general path), or one message cut in two."""
    if how == "three":
        return [b"".join(chunks[:3]), *chunks[3:]]
    if how == "pairs":
        return [b"".join(chunks[i : i + 2]) for i in range(0, len(chunks), 2)]
    if how == "crlf":
        return [c.replace(b"\n", b"\r\n") if i % 2 else c for i, c in enumerate(chunks)]
    if how == "cut":
        return [*chunks[:-1], chunks[-1][:-3], chunks[-1][-3:]]
    return chunks


SPLITS = st.sampled_from(["single", "three", "pairs", "crlf", "cut"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stream=chat_stream(), how=SPLITS, schema=st.booleans())
def test_hostile_chat_envelopes(stream: list[bytes], how: str, schema: bool) -> None:
    chunks = regroup(framed(stream, None), how)
    options: dict[str, Any] = {"format": "openai-chat"}
    if schema:
        options["tools"] = {"f": dict[str, Any]}
    found, parsed, _ = both(chunks, **options)
    assert found == parsed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stream=anthropic_stream(), how=SPLITS)
def test_hostile_anthropic_envelopes(stream: list[bytes], how: str) -> None:
    chunks = regroup(framed(stream, "content_block_delta", first="content_block_start"), how)
    found, parsed, _ = both(chunks, format="anthropic")
    assert found == parsed


# -- learning ------------------------------------------------------------------------


def leaf_reader(expect: Source) -> Any:
    """A provider's leaf() for a chat content envelope: the text at choices[0].delta.content."""

    def leaf(data: bytes) -> Any:
        try:
            payload = json.loads(data)
            return expect, payload["choices"][0]["delta"]["content"], None
        except (ValueError, LookupError, TypeError):
            return None

    return leaf


SOURCE = Source("choices[0]", "content")


def envelope(delta: bytes, before: bytes = b'{"model":"m","choices":[{"delta":{') -> bytes:
    return before + delta + b"}}]}"


@pytest.mark.parametrize(
    ("data", "text", "head"),
    [
        (envelope(b'"content":"hi"'), "hi", envelope(b'"content":"')[:-4]),
        # the text is also a key, a model name, and sits in another string: only the leaf is a match
        (envelope(b'"hi":1,"content":"hi"', b'{"model":"hi","choices":[{"delta":{'), "hi", None),
        (envelope(b'"content":"a","content":"b"'), "b", envelope(b'"content":"a","content":"')[:-4]),
        (envelope(b'"content":"\\ud800"'), "\ud800", envelope(b'"content":"')[:-4]),
        (envelope(b'"x":"\\":\\"","content":":"'), ":", envelope(b'"x":"\\":\\"","content":"')[:-4]),
    ],
)
def test_learn_finds_the_leaf(data: bytes, text: str, head: bytes | None) -> None:
    found = _repeat.learn(data, "message", SOURCE, text, (), leaf_reader(SOURCE))
    assert found is not None
    if head is not None:
        assert found.head == head
    # and what it reads from another text at that place is what json.loads reads
    other = found.head + b'new \\"one\\""' + found.tail
    assert found.text(other) == json.loads(other)["choices"][0]["delta"]["content"] == 'new "one"'


def test_learn_refuses_a_text_it_cannot_place() -> None:
    # written with an escape nobody writes (and no other token): not found, nothing learned
    data = envelope(b'"content":"\\u0068i"')
    assert _repeat.learn(data, "message", SOURCE, "hi", (), leaf_reader(SOURCE)) is None
    # a provider that reads nothing from the probe
    data = envelope(b'"content":"hi"')
    assert _repeat.learn(data, "message", SOURCE, "hi", (), lambda probe: None) is None


def test_learn_takes_the_leaf_the_provider_reads() -> None:
    # The same text in another member after it, and in a duplicate key before it (the last one
    # is read): the probe tells them apart.
    data = envelope(b'"content":"hi","content":"hi","other":"hi"')
    found = _repeat.learn(data, "message", SOURCE, "hi", (), leaf_reader(SOURCE))
    assert found is not None
    assert found.head == envelope(b'"content":"hi","content":"')[:-4]


def test_a_repeat_is_only_the_same_envelope() -> None:
    data = envelope(b'"content":"hi"')
    found = _repeat.learn(data, "message", SOURCE, "hi", (), leaf_reader(SOURCE))
    assert found is not None
    assert found.text(envelope(b'"content":"yo"')) == "yo"
    for other in [
        envelope(b'"content":""'),  # empty: a provider may mean something else by it
        envelope(b'"content":"a","x":1'),
        envelope(b'"content":"a\x00"'),
        envelope(b'"content":"\\q"'),
        envelope(b'"content":1'),
        b'{"model":"n","choices":[{"delta":{"content":"a"}}]}',
    ]:
        assert found.text(other) is None, other


def _pairs() -> Iterator[tuple[bytes, bytes]]:
    yield b'}}],"obfuscation":"abc"}', b'}}],"obfuscation":"x9"}'
    yield b'}}],"obfuscation":"abc"}', b'}}],"obfuscation":""}'


@pytest.mark.parametrize(("tail", "other"), list(_pairs()))
def test_the_unread_member_at_the_end_may_differ(tail: bytes, other: bytes) -> None:
    data = b'{"model":"m","choices":[{"delta":{"content":"hi"' + tail
    found = _repeat.learn(data, "message", SOURCE, "hi", ("obfuscation",), leaf_reader(SOURCE))
    assert found is not None
    assert found.text(b'{"model":"m","choices":[{"delta":{"content":"yo"' + other) == "yo"
    for bad in [b'}}],"obfuscation":"a\\"b"}', b'}}],"obfuscation":"a","x":"b"}', b'}}],"obfuscatio":"a"}']:
        assert found.text(b'{"model":"m","choices":[{"delta":{"content":"yo"' + bad) is None


RESP_HEAD = b'{"type":"response.output_text.delta","sequence_number":'
RESP_MID = b',"item_id":"msg_1","output_index":0,"content_index":0,"delta":'


@st.composite
def responses_stream(draw: st.DrawFn) -> list[bytes]:
    added = {"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_1", "type": "message"}}
    messages = [json.dumps(added).encode()]
    numbers = st.one_of(
        st.integers(0, 10**25).map(lambda n: str(n).encode()),
        st.sampled_from([b"007", b"-1", b"1.5", b"1e3", b" 4", b"", b'"4"', b"null", b"00"]),
    )
    ends = st.one_of(
        st.just(b',"logprobs":[]}'),
        obfuscation().map(lambda o: b',"logprobs":[],"obfuscation":"' + o + b'"}'),
    )
    usual = draw(ends)
    for _ in range(draw(st.integers(1, 12))):
        token = draw(tokens())
        end = draw(st.one_of(st.just(usual), st.just(usual), ends))
        messages.append(RESP_HEAD + draw(numbers) + RESP_MID + token + end)
    return messages


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stream=responses_stream(), how=SPLITS)
def test_hostile_responses_envelopes(stream: list[bytes], how: str) -> None:
    chunks = regroup(framed(stream, "response.output_text.delta", first="response.output_item.added"), how)
    found, parsed, _ = both(chunks, format="openai-responses")
    assert found == parsed


def test_responses_repeat_with_their_sequence_numbers() -> None:
    added = {"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_1", "type": "message"}}
    messages = [json.dumps(added).encode()]
    for n, text in enumerate(["a", "b", "c", "d", "e"], start=2):
        messages.append(
            RESP_HEAD
            + str(n * 7).encode()
            + RESP_MID
            + f'"{text}"'.encode()
            + b',"obfuscation":"x'
            + str(n).encode()
            + b'"}'
        )
    chunks = framed(messages, "response.output_text.delta", first="response.output_item.added")
    found, parsed, hits = both(chunks, format="openai-responses")
    assert found == parsed
    assert hits == 2  # the first delta opens the target; the third is learned (the second in a row)


def test_a_closed_stream_is_freed_at_once() -> None:
    # The framing holds the decoder's methods (the repeat path among them) until close() lets
    # go of them: then nothing refers back to the decoder, and reference counting frees it
    # without the cycle collector.
    import gc
    import weakref

    body = (CORPUS / "openai_chat_completions" / "oai_py_json_object_mode.sse").read_bytes()
    enabled = gc.isenabled()
    gc.disable()
    try:
        decoder = fs.StreamDecoder("openai-chat")
        for chunk in reads(body, "events"):
            decoder.feed(chunk)
        assert decoder._framing._repeat is not None  # the repeat path was taken
        decoder.close()
        ref = weakref.ref(decoder)
        del decoder
        assert ref() is None
    finally:
        if enabled:
            gc.enable()
