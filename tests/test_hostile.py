"""Hostile input: each attack gives one library error, at the same place whatever the chunking.

The error's class, offset, line, column and path, and the snapshot it carries, are
part of the result: a stream cut differently by the network must fail the same way.
"""

from __future__ import annotations

import json
import sys

import pytest

import fieldstream as fs

from .splits import SPLITS, chunked, run

# (input, options, error class, offset, path, snapshot after the error); a comment per case.
HOSTILE = [
    # nesting one deeper than allowed: the error points at the offending bracket
    ("[" * 6, {"max_depth": 5}, fs.LimitError, 5, "$[0][0][0][0][0]", [[[[[]]]]]),
    ('{"a": {"b": {"c": 1}}}', {"max_depth": 2}, fs.LimitError, 12, "$.a.b", {"a": {}}),
    # a string one character too long: the error points at that character
    ('["12345678"]', {"max_string_length": 5}, fs.LimitError, 7, "$[0]", ["12345"]),
    # escapes count as one character each
    ('["\\n\\n\\n\\n\\n\\n"]', {"max_string_length": 5}, fs.LimitError, 12, "$[0]", ["\n\n\n\n\n"]),
    ('{"abcdefgh": 1}', {"max_string_length": 5}, fs.LimitError, 7, "$", {}),
    # a number token too long: the error points at its first digit
    ("[1, 1234567]", {"max_number_length": 5}, fs.LimitError, 4, "$[1]", [1]),
    # 5,000 digits: beyond the default max_number_length (4,300, Python's int digit limit)
    ("[" + "7" * 5000 + "]", {}, fs.LimitError, 1, "$[0]", []),
    # and with max_number_length raised, Python's own limit still gives a LimitError
    ("[" + "7" * 5000 + "]", {"max_number_length": 10_000}, fs.LimitError, 1, "$[0]", []),
    # a 5,000-digit float is only long, not an int: max_number_length applies
    ("[0." + "5" * 5000 + "]", {}, fs.LimitError, 1, "$[0]", []),
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("text", "options", "cls", "offset", "path", "snapshot"), HOSTILE)
def test_hostile_input_fails_the_same_way_whatever_the_chunking(
    text: str, options: dict[str, int], cls: type, offset: int, path: str, snapshot: object, how: str
) -> None:
    for data in (text, text.encode()):
        with pytest.raises(cls) as info:
            run(chunked(data, how), lambda options=options: fs.Parser(**options))
        assert type(info.value) is cls
        assert (info.value.offset, info.value.path, info.value.snapshot) == (offset, path, snapshot)


def test_a_5000_digit_int_never_gives_a_bare_value_error() -> None:
    assert sys.get_int_max_str_digits() in (0, 4300)  # 0: unlimited (PYTHONINTMAXSTRDIGITS=0)
    digits = "9" * 5000
    for options in ({}, {"max_number_length": 6000}):
        with pytest.raises(fs.LimitError) as info:
            run([digits], lambda options=options: fs.Parser(**options))  # a bare top-level number ends at close()
        assert not isinstance(info.value, ValueError)
    # 4,300 digits is the longest int that always parses, and it does
    _, events = run(["[" + "9" * 4300 + "]"])
    assert events[-1].value == [int("9" * 4300)]


# A valid prefix, then a byte that is never valid UTF-8.
BAD_UTF8 = [
    (b'{"a": [1, 2], "b": "x\xc3\xa9y\xff"}', 23, "$.b", {"a": [1, 2], "b": "x\xe9y"}),
    (b"[true, fa\xd7lse]", 9, "$[1]", [True]),
    (b'{"k\xba": 1}', 3, "$", {}),
    (b"\xfe", 0, "$", None),
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("data", "offset", "path", "snapshot"), BAD_UTF8)
def test_invalid_utf8_keeps_the_valid_prefix_whatever_the_chunking(
    data: bytes, offset: int, path: str, snapshot: object, how: str
) -> None:
    # Fed whole, the valid text before the bad byte is parsed first, exactly as when
    # the bytes arrive one at a time, so the snapshot and the position agree.
    parser = fs.Parser()
    with pytest.raises(fs.ParseError, match="invalid UTF-8") as info:
        for chunk in chunked(data, how):
            parser.feed(chunk)
        parser.close()
    assert (info.value.offset, info.value.path) == (offset, path)
    assert info.value.snapshot == parser.snapshot == snapshot


def test_a_syntax_error_before_invalid_utf8_wins() -> None:
    with pytest.raises(fs.ParseError, match="expected a string key") as info:
        fs.Parser().feed(b'{x": "\xff"}')
    assert info.value.offset == 1


def test_held_text_is_bounded_by_max_number_length() -> None:
    # The only text kept between chunks is an unfinished token; digits arriving one
    # at a time hit the limit instead of growing a buffer.
    parser = fs.Parser(max_number_length=100)
    parser.feed("[")
    with pytest.raises(fs.LimitError, match="max_number_length=100"):
        for _ in range(1000):
            parser.feed("1")


def test_prose_before_the_document_is_not_kept() -> None:
    # Megabytes of chatter before the JSON cost no buffer: prose mode skips it as it comes.
    parser = fs.Parser(prose=True)
    for _ in range(100):
        assert parser.feed("chatter " * 1000) == []
    assert parser.feed('{"a": 1}')[-1].value == {"a": 1}


# -- provider streams ----------------------------------------------------------


def _chat(index: int, content: str) -> bytes:
    chunk = {"object": "chat.completion.chunk", "choices": [{"index": index, "delta": {"content": content}}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _decode(body: bytes, how: str, **options: object) -> tuple[fs.StreamDecoder, list[fs.StreamEvent]]:
    decoder = fs.StreamDecoder(**options)  # type: ignore[arg-type]
    events: list[fs.StreamEvent] = []
    for chunk in chunked(body, how):
        events += decoder.feed(chunk)
    return decoder, events + decoder.close()


@pytest.mark.parametrize("how", SPLITS)
def test_too_many_targets_is_a_limit_fault_and_earlier_targets_keep_their_snapshots(how: str) -> None:
    body = b"".join(_chat(i, '{"n": %d, "s": "x' % i) for i in range(5))
    decoder, events = _decode(body, how, max_targets=3)
    faults = [e for e in events if isinstance(e, fs.Fault)]
    limit = [f for f in faults if isinstance(f, fs.Malformed) and isinstance(f.error, fs.LimitError)]
    assert len(limit) == 1 and "max_targets=3" in limit[0].message
    assert len(decoder.targets) == 3
    cut = {f.source.path: f.snapshot for f in faults if isinstance(f, fs.Truncated)}
    assert cut == {f"choices[{i}]": {"n": i, "s": "x"} for i in range(3)}
    with pytest.raises(fs.StreamError, match="max_targets"):
        decoder.raise_for_faults()


def test_a_flood_of_targets_stops_at_the_limit() -> None:
    assert fs.DEFAULT_MAX_TARGETS == 10_000
    body = b"".join(_chat(i, "[%d]" % i) for i in range(1001))
    _, events = _decode(body, "whole", max_targets=1000)
    assert sum(isinstance(e, fs.TargetCompleted) for e in events) == 1000
    assert sum(isinstance(e, fs.Malformed) and isinstance(e.error, fs.LimitError) for e in events) == 1


@pytest.mark.parametrize("status", [None, 503])
def test_a_huge_non_stream_body_is_not_held_beyond_max_event_size(status: int | None) -> None:
    # An HTML page or error body of any size gives a limit fault instead of growing a buffer.
    decoder = fs.StreamDecoder(status_code=status, max_event_size=100)
    events: list[fs.StreamEvent] = []
    for _ in range(250):
        events += decoder.feed(b"<html>" + b"x" * 4090)
    events += decoder.close()
    faults = [e for e in events if isinstance(e, fs.Fault)]
    assert len(faults) == 1 and isinstance(faults[0].error, fs.LimitError)
    assert "longer than 100 bytes" in faults[0].message


@pytest.mark.parametrize("how", SPLITS)
def test_an_object_where_text_belongs_is_a_fault_not_a_crash(how: str) -> None:
    # Found by fuzz_stream: a payload of the wrong shape for the format (here Ollama).
    body = b'{"model": "m", "response": "[1, "}\n{"model": "m", "response": {"x": 1}}\n'
    _, events = _decode(body, how, format="ollama")
    fault = next(e for e in events if isinstance(e, fs.Malformed))
    assert "got a dict where text belongs" in fault.message
    cut = next(e for e in events if isinstance(e, fs.Truncated))
    assert cut.snapshot == [1] and cut.raw == "[1, "


def test_a_provider_that_cannot_read_a_payload_gives_a_fault() -> None:
    # Found by fuzz_stream: Gemini partialArgs with a jsonPath it cannot parse raised ValueError.
    call = {
        "functionCall": {"name": "f", "willContinue": True, "partialArgs": [{"jsonPath": "$.a[x", "stringValue": "v"}]}
    }
    payload = {"candidates": [{"content": {"parts": [call]}}]}
    _, events = _decode(b"data: " + json.dumps(payload).encode() + b"\n\n", "whole", format="gemini")
    assert any(isinstance(e, fs.Malformed) and "jsonPath" in e.message for e in events)


@pytest.mark.parametrize("how", SPLITS)
def test_a_json_array_body_with_a_syntax_error_keeps_the_items_before_it(how: str) -> None:
    # Found by atheris: fed whole, the items completed in the failing chunk were lost.
    body = (
        b'[{"candidates": [{"content": {"parts": [{"text": "{\\"a\\": 1}"}]}, "finishReason": "STOP"}]},\n'
        b'{"candidates": [{"content": {"parts": [{"text": "x"}]}}]}}]'
    )
    decoder, events = _decode(body, how, format="gemini")
    assert decoder.result.values == {"candidates[0]": {"a": 1}}
    assert any(isinstance(e, fs.Malformed) for e in events)


@pytest.mark.parametrize("how", SPLITS)
def test_events_completed_before_a_fault_ride_on_the_error(how: str) -> None:
    # feed() raises instead of returning; what it completed first is on error.events.
    text = '{"a": 1, "b": [2, "three"], "c": x}'
    parser = fs.Parser()
    events: list[fs.Event] = []
    with pytest.raises(fs.ParseError) as info:
        for chunk in chunked(text, how):
            events += parser.feed(chunk)
    events += info.value.events
    completed = [e for e in events if not isinstance(e, fs.StringDelta)]
    assert completed == [
        fs.ValueCompleted(("a",), 1),
        fs.ItemCompleted(("b", 0), 2),
        fs.ItemCompleted(("b", 1), "three"),
        fs.ValueCompleted(("b",), [2, "three"]),
    ]
