"""StreamDecoder beyond the corpus: options, framings, faults, cut streams and JSONL records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldstream as fs
from tests.splits import at_splits, chunked

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
STREAMS = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".sse", ".ndjson", ".jsonl"))


def run(body: bytes, how: str = "whole", **options: Any) -> tuple[fs.StreamDecoder, list[fs.StreamEvent]]:
    decoder = fs.StreamDecoder(**options)
    events: list[fs.StreamEvent] = []
    for chunk in chunked(body, how) if body else []:
        events += decoder.feed(chunk)
    events += decoder.close()
    return decoder, events


def sse(*payloads: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return "".join(f"{head}data: {json.dumps(p)}\n\n" for p in payloads).encode()


def chat(index: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def texts(events: list[fs.StreamEvent]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in events:
        if isinstance(e, fs.TextDelta):
            out[e.source.path] = out.get(e.source.path, "") + e.text
    return out


# -- options -------------------------------------------------------------------


def test_bad_options_say_what_is_allowed() -> None:
    with pytest.raises(
        fs.UsageError, match="'auto', 'openai-chat', 'openai-responses', 'anthropic', 'gemini', 'ollama'"
    ):
        fs.StreamDecoder("openai")  # type: ignore[arg-type]
    with pytest.raises(fs.UsageError, match="'auto', 'json', 'text'"):
        fs.StreamDecoder(content="yaml")  # type: ignore[arg-type]
    with pytest.raises(fs.UsageError, match="unknown parser option"):
        fs.StreamDecoder(colour=True)
    with pytest.raises(fs.UsageError, match="max_depth"):
        fs.StreamDecoder(max_depth=0)
    with pytest.raises(fs.UsageError, match="multiple"):
        fs.StreamDecoder(multiple=True)
    with pytest.raises(fs.UsageError, match="max_event_size"):
        fs.StreamDecoder(max_event_size=0)


def test_misuse() -> None:
    decoder = fs.StreamDecoder()
    with pytest.raises(fs.UsageError, match="after close"):
        decoder.result  # noqa: B018
    with pytest.raises(fs.UsageError, match="bytes"):
        decoder.feed("data: {}")  # type: ignore[arg-type]
    decoder.close()
    with pytest.raises(fs.UsageError, match="after close"):
        decoder.feed(b"data: {}\n\n")
    with pytest.raises(fs.UsageError):
        decoder.close()


def test_explicit_format_and_detection_after_a_ping() -> None:
    body = sse({"type": "ping"}) + (CORPUS / "anthropic_messages/ant_sdk_basic_text.sse").read_bytes()
    for fmt in ("auto", "anthropic"):
        decoder, _ = run(body, format=fmt)
        assert decoder.format == "anthropic"
        assert decoder.result.values == {"content[0]": "Hello there!"}
    decoder = fs.StreamDecoder()
    assert decoder.format is None
    decoder.feed(sse({"type": "ping"}))
    assert decoder.format is None  # a ping does not tell


def test_content_mode() -> None:
    body = sse(chat(content='{"a": [1'), chat(content=", 2]}", finish="stop"))
    _, events = run(body, content="text")
    assert texts(events) == {"choices[0]": '{"a": [1, 2]}'}
    decoder, _ = run(sse(chat(content="  [1, "), chat(content="2]", finish="stop")), content="json")
    assert decoder.result.values == {"choices[0]": [1, 2]}
    # content="json" on prose: the target is malformed, the raw text is kept.
    decoder, events = run(sse(chat(content="Hello"), chat(finish="stop")), content="json")
    (fault,) = [e for e in events if isinstance(e, fs.Malformed)]
    assert fault.source == "choices[0]" and fault.raw == "Hello"
    assert isinstance(fault.error, fs.ParseError)


def test_leading_blanks_wait_for_the_first_character() -> None:
    decoder = fs.StreamDecoder()
    assert [type(e) for e in decoder.feed(sse(chat(content="\n  ")))] == [fs.TargetStarted]
    assert decoder.targets["choices[0]"].mode == "pending"
    events = decoder.feed(sse(chat(content="hi")))
    assert events == [fs.TextDelta(fs.Source("choices[0]"), "\n  hi")]


def test_parser_options_reach_every_target() -> None:
    args = json.dumps({"a": {"b": {"c": 1}}})
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": args}}
    decoder, events = run(sse(chat(tool_calls=[call]), chat(content="ok", finish="tool_calls")), max_depth=2)
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and isinstance(fault.error, fs.LimitError)
    assert fault.snapshot == {"a": {}}  # the third level was refused
    assert decoder.result.values == {"choices[0]": "ok"}  # the other target is unharmed


def test_schema_and_tools_are_passed_to_the_parser() -> None:
    pytest.importorskip("fieldstream._typed")
    pydantic = pytest.importorskip("pydantic")

    class Weather(pydantic.BaseModel):
        city: str

    call = {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    body = sse(chat(content='{"city": "Rome"}'), chat(tool_calls=[call], finish="stop"))
    decoder, _ = run(body, schema=Weather, tools={"get_weather": Weather})
    assert decoder.result.values["choices[0]"] == Weather(city="Rome")
    assert decoder.result.values["choices[0].tool_calls[0]"] == Weather(city="Paris")


def test_invalid_tool_arguments_are_events_with_their_source() -> None:
    pytest.importorskip("fieldstream._typed")
    pydantic = pytest.importorskip("pydantic")

    class Weather(pydantic.BaseModel):
        city: str

    call = {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": '{"city": 7}'}}
    _, events = run(sse(chat(tool_calls=[call], finish="tool_calls")), tools={"get_weather": Weather})
    invalid = [e for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.ValueInvalid)]
    assert invalid and all(e.source == "choices[0].tool_calls[0]" for e in invalid)
    record = fs.stream_event_to_json(invalid[-1])
    assert record["event"] == "invalid" and record["source"] == "choices[0].tool_calls[0]"


# -- framings ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["whole", "per-char"])
def test_http_error_body(how: str) -> None:
    body = b'{\n  "error": {\n    "message": "Rate limit reached",\n    "type": "requests",\n    "code": "rate_limit_exceeded"\n  }\n}\n'
    decoder, events = run(body, how, status_code=429)
    (error,) = [e for e in events if isinstance(e, fs.ErrorReceived)]
    assert (error.message, error.code, error.error_type, error.status_code) == (
        "Rate limit reached",
        "rate_limit_exceeded",
        "requests",
        429,
    )
    assert decoder.framing == "error-body" and not decoder.result.complete
    record = fs.stream_event_to_json(error)
    assert record == {
        "event": "error",
        "message": "Rate limit reached",
        "source": None,
        "kind": "provider",
        "code": "rate_limit_exceeded",
        "type": "requests",
        "status": 429,
    }


def test_http_error_bodies_of_other_shapes() -> None:
    gemini = b'[{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}]'
    (error,) = [e for e in run(gemini, status_code=503)[1] if isinstance(e, fs.ErrorReceived)]
    assert (error.message, error.code, error.status_code) == ("The model is overloaded.", 503, 503)
    (error,) = [e for e in run(b"Bad Gateway", status_code=502)[1] if isinstance(e, fs.ErrorReceived)]
    assert error.message == "Bad Gateway"
    (error,) = [e for e in run(b"", status_code=500)[1] if isinstance(e, fs.ErrorReceived)]
    assert error.message == "HTTP 500"


def test_not_a_stream() -> None:
    decoder, events = run(b"<html>Bad Gateway</html>")
    assert decoder.framing == "text"
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and "Bad Gateway" in fault.message
    decoder, events = run(b"")
    assert events == [decoder.result] and not decoder.result.complete


def test_sse_data_that_is_not_json_is_reported_and_skipped() -> None:
    body = b"data: {oops\n\n" + sse(chat(content="hi", finish="stop")) + b"data: [DONE]\n\n"
    decoder, events = run(body)
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and fault.source is None and fault.raw == "{oops"
    assert decoder.result.values == {"choices[0]": "hi"} and decoder.result.complete


def test_plain_text_error_event() -> None:
    _, events = run(b"event: error\ndata: upstream timed out\n\n")
    (error,) = [e for e in events if isinstance(e, fs.ErrorReceived)]
    assert error.message == "upstream timed out"


def test_ndjson_framing_error_stops_the_stream_but_not_close() -> None:
    body = b'{"model":"m","message":{"content":"Hel"},"done":false}\nnot json\n{"done":true}\n'
    _, events = run(body)
    assert [type(e).__name__ for e in events] == [
        "TargetStarted",
        "TextDelta",
        "Malformed",
        "Truncated",
        "StreamCompleted",
    ]
    assert events[3].snapshot == "Hel"  # type: ignore[attr-defined]


def test_event_size_limit_is_a_fault() -> None:
    _, events = run(sse(chat(content="x" * 100)), max_event_size=50)
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and isinstance(fault.error, fs.LimitError)
    assert isinstance(events[-1], fs.StreamCompleted)


# -- faults --------------------------------------------------------------------


def test_stream_cut_mid_json_is_truncated_on_close() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"city": "Lis'}}
    decoder, events = run(sse(chat(tool_calls=[call])))
    fault = events[-2]
    assert isinstance(fault, fs.Truncated)
    assert (fault.reason, fault.snapshot, fault.raw) == ("eof", {"city": "Lis"}, '{"city": "Lis')
    assert decoder.targets["choices[0].tool_calls[0]"].fault is fault
    with pytest.raises(fs.StreamError, match="Truncated in choices") as info:
        decoder.raise_for_faults()
    assert info.value.snapshot == {"city": "Lis"} and info.value.raw == '{"city": "Lis'


def test_text_cut_without_end_marker_is_truncated_but_kept() -> None:
    _, events = run(sse(chat(content="Hello, wor")))
    fault = events[-2]
    assert isinstance(fault, fs.Truncated) and fault.snapshot == "Hello, wor" and fault.reason == "eof"


def test_invalid_tool_json_faults_that_target_only() -> None:
    bad = {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": tru'}}
    more = {"index": 0, "function": {"arguments": "e]"}}
    good = {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}
    decoder, events = run(
        sse(chat(tool_calls=[bad]), chat(tool_calls=[more]), chat(tool_calls=[good], finish="tool_calls"))
    )
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and fault.source == "choices[0].tool_calls[0]"
    assert fault.snapshot == {"x": True} and fault.raw == '{"x": true]'
    assert decoder.targets["choices[0].tool_calls[0]"].raw == '{"x": true]'  # nothing is lost
    assert decoder.result.values == {"choices[0].tool_calls[1]": {}}


def test_a_number_argument_completes_at_the_end() -> None:
    call = {"index": 0, "id": "a", "function": {"name": "f", "arguments": "42"}}
    decoder, _ = run(sse(chat(tool_calls=[call], finish="tool_calls")))
    assert decoder.result.values == {"choices[0].tool_calls[0]": 42}


def test_responses_incomplete_cuts_open_targets() -> None:
    body = sse(
        {"type": "response.created", "response": {"id": "r1", "model": "m"}},
        {
            "type": "response.output_text.delta",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": '{"a": "b',
        },
        {
            "type": "response.incomplete",
            "response": {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
        },
    )
    decoder, events = run(body)
    fault = next(e for e in events if isinstance(e, fs.Truncated))
    assert fault.reason == "max_output_tokens" and fault.snapshot == {"a": "b"}
    assert decoder.result.finish_reasons == {"response": "max_output_tokens"}
    assert decoder.result.response_id == "r1"


@pytest.mark.parametrize("path", STREAMS, ids=[p.name for p in STREAMS])
def test_cut_anywhere_never_crashes_nor_takes_text_back(path: Path) -> None:
    """Every prefix of a real stream decodes to events; the text shown is a prefix of the full text."""
    body = path.read_bytes()
    _, full = run(body)
    full_texts = texts(full)
    for cut in sorted({len(body) * k // 9 for k in range(1, 9)} | {1, len(body) - 1}):
        decoder, events = run(body[:cut])
        assert isinstance(events[-1], fs.StreamCompleted)
        for source, text in texts(events).items():
            assert full_texts[source].startswith(text)
        for target in decoder.targets.values():
            assert not target.open  # every target ended, completed or faulted
            if target.fault is not None and target.is_json:
                assert target.fault.raw == target.raw


# -- JSONL records -------------------------------------------------------------


def test_jsonl_records() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"q": "x"}'}}
    body = sse(chat(content="Hi"), chat(tool_calls=[call]), {"choices": [], "usage": {"total_tokens": 3}})
    body += sse(chat(finish="tool_calls")) + b"data: [DONE]\n\n"
    _, events = run(body)
    records = [fs.stream_event_to_json(e) for e in events]
    assert records == [
        {"event": "start", "source": "choices[0]", "kind": "content", "id": None, "name": None},
        {"event": "delta", "path": "$", "text": "Hi", "source": "choices[0]"},
        {"event": "start", "source": "choices[0].tool_calls[0]", "kind": "tool_call", "id": "c1", "name": "f"},
        {"event": "delta", "path": "$.q", "text": "x", "source": "choices[0].tool_calls[0]"},
        {"event": "field", "path": "$.q", "value": "x", "source": "choices[0].tool_calls[0]"},
        {"event": "field", "path": "$", "value": {"q": "x"}, "source": "choices[0].tool_calls[0]"},
        {"event": "done", "value": {"q": "x"}, "source": "choices[0].tool_calls[0]"},
        {"event": "done", "value": "Hi", "source": "choices[0]"},
        {
            "event": "end",
            "format": "openai-chat",
            "complete": True,
            "finish_reasons": {"choices[0]": "tool_calls"},
            "usage": {"total_tokens": 3},
            "model": None,
            "id": None,
        },
    ]


def test_jsonl_fault_records() -> None:
    _, events = run(sse(chat(content='{"a": [1')))
    record = fs.stream_event_to_json(events[-2])
    assert record == {
        "event": "error",
        "message": "the stream ended before its JSON was complete",
        "source": "choices[0]",
        "kind": "truncated",
        "reason": "eof",
        "snapshot": {"a": []},  # a number counts once its delimiter came
        "raw": '{"a": [1',
    }
    _, events = run(sse(chat(content="{oops}")))
    record = fs.stream_event_to_json(next(e for e in events if isinstance(e, fs.Malformed)))
    assert record["kind"] == "malformed" and record["offset"] == 1 and record["path"] == "$"


def test_event_reprs_are_short() -> None:
    _, events = run((CORPUS / "openai_chat_completions/oai_py_json_object_mode.sse").read_bytes())
    assert all(len(repr(e)) < 200 for e in events)
    assert repr(fs.Source("choices[0].tool_calls[1]", "tool_call", "c1", "f")) == (
        "Source('choices[0].tool_calls[1]', tool_call, id='c1', name='f')"
    )


def test_source_equals_its_path() -> None:
    source = fs.Source("choices[0]", "content")
    assert source == "choices[0]" and hash(source) == hash("choices[0]")
    assert source == fs.Source("choices[0]", "refusal") and source != "choices[1]"
    assert source.within("choices[0]") and source.within("")
    assert fs.Source("choices[0].tool_calls[1]").within("choices[0]")
    assert not fs.Source("choices[10]").within("choices[1]")


# -- payloads, cancellation, provider error shapes -----------------------------


@pytest.mark.parametrize("path", [p for p in STREAMS if p.name.endswith(".chunks.jsonl")], ids=lambda p: p.name)
def test_feed_payload_matches_feeding_bytes(path: Path) -> None:
    """SDK adapters hand over parsed chunks: the events are the same as from the bytes."""
    body = path.read_bytes()
    _, from_bytes = run(body)
    decoder = fs.StreamDecoder()
    events: list[fs.StreamEvent] = []
    for line in body.splitlines():
        events += decoder.feed_payload(json.loads(line))
    events += decoder.close()
    assert events == from_bytes
    assert decoder.framing == "payloads"
    with pytest.raises(fs.UsageError, match="after close"):
        decoder.feed_payload({})


def test_feed_payload_and_feed_do_not_mix() -> None:
    decoder = fs.StreamDecoder()
    decoder.feed(b"data: {}\n\n")
    with pytest.raises(fs.UsageError, match="after feed"):
        decoder.feed_payload({})


def test_cancelled_close_truncates_what_is_open() -> None:
    decoder = fs.StreamDecoder()
    decoder.feed(sse(chat(content="The answer is"), chat(index=1, content="Done", finish="stop")))
    events = decoder.close(cancelled=True)
    (cut,) = [e for e in events if isinstance(e, fs.Truncated)]
    assert (cut.source, cut.reason, cut.snapshot) == ("choices[0]", "cancelled", "The answer is")
    assert decoder.result.values == {"choices[1]": "Done"} and not decoder.result.complete


def test_a_schema_without_pydantic_is_a_usage_error() -> None:
    # A fresh interpreter where pydantic cannot be imported (a None entry in sys.modules blocks it).
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pydantic'] = sys.modules['pydantic_core'] = None\n"
        "import fieldstream as fs\n"
        "try:\n    fs.StreamDecoder(tools={'f': dict})\n"
        "except fs.UsageError as e:\n    print('UsageError:', e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "UsageError:" in result.stdout and "pip install 'fieldstream[pydantic]'" in result.stdout


@pytest.mark.parametrize(
    ("body", "message", "code", "kind"),
    [
        (
            sse({"type": "message_start", "message": {"model": "claude"}})
            + sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, event="error"),
            "Overloaded",
            None,
            "overloaded_error",
        ),
        (
            b'data: {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}\r\n\r\n',
            "Resource exhausted",
            429,
            None,
        ),
        (
            b'{"model":"llama3","message":{"content":"Hi"},"done":false}\n{"error":"model crashed"}\n',
            "model crashed",
            None,
            None,
        ),
        (
            sse(
                {"type": "response.created", "response": {}},
                {"type": "error", "code": "server_error", "message": "boom"},
            ),
            "boom",
            "server_error",
            None,
        ),
    ],
    ids=["anthropic", "gemini", "ollama", "responses"],
)
def test_provider_error_shapes(body: bytes, message: str, code: Any, kind: str | None) -> None:
    decoder, events = run(body, "per-char")
    (error,) = [e for e in events if isinstance(e, fs.ErrorReceived)]
    assert (error.message, error.code, error.error_type) == (message, code, kind)
    assert not decoder.result.complete
    for target in decoder.targets.values():
        assert isinstance(target.fault, fs.Truncated) and target.fault.reason == "error"


def test_body_size_limit_for_unframed_bodies() -> None:
    _, events = run(b"x" * 100, max_event_size=10)
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault.error, fs.LimitError)  # type: ignore[attr-defined]


# -- robustness ----------------------------------------------------------------

_BODIES = [p.read_bytes() for p in STREAMS if p.stat().st_size < 20000]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_streams_never_raise(data: st.DataObject) -> None:
    """Bytes flipped, dropped or inserted anywhere in a real stream: faults are events, nothing raises."""
    body = bytearray(data.draw(st.sampled_from(_BODIES)))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(body)))
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "insert" or at == len(body):
            body[at:at] = data.draw(
                st.binary(min_size=1, max_size=4) | st.sampled_from([b"\n\n", b"{", b'"', b"data: "])
            )
        elif action == "drop":
            del body[at : at + data.draw(st.integers(1, 40))]
        else:
            body[at] ^= data.draw(st.integers(1, 255))
    points = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    decoder = fs.StreamDecoder()
    events: list[fs.StreamEvent] = []
    for chunk in at_splits(bytes(body), points):
        events += decoder.feed(chunk)
    events += decoder.close()
    assert isinstance(events[-1], fs.StreamCompleted)
    for event in events:
        json.dumps(fs.stream_event_to_json(event))
    assert all(not target.open for target in decoder.targets.values())


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200), points=st.lists(st.integers(0, 200), max_size=6))
def test_random_bytes_never_raise(body: bytes, points: list[int]) -> None:
    decoder = fs.StreamDecoder()
    for chunk in at_splits(body, points):
        decoder.feed(chunk)
    assert isinstance(decoder.close()[-1], fs.StreamCompleted)


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "chat.completion.chunk", "choices": [1]},
        {"choices": [{"delta": {"tool_calls": [{"function": "x"}]}}]},
        {"type": "content_block_delta", "index": [], "delta": 3},
        {"type": "response.output_text.delta", "output_index": 0, "delta": 5},
        {"type": "response.output_item.added", "item": []},
        {"candidates": [{"content": {"parts": ["text"]}}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "willContinue": True}}]}}]},
        {"done": True, "message": {"tool_calls": [None]}},
    ],
)
def test_payloads_of_the_wrong_shape_are_faults(payload: Any) -> None:
    decoder = fs.StreamDecoder()
    events = decoder.feed(sse(payload))
    events += decoder.feed(
        sse(
            {
                "candidates": [
                    {
                        "content": {
                            "parts": [{"functionCall": {"partialArgs": [{"jsonPath": "$.a[", "stringValue": "x"}]}}]
                        }
                    }
                ]
            }
        )
    )
    events += decoder.close()
    assert isinstance(events[-1], fs.StreamCompleted)


_KEYS = st.sampled_from(
    [
        "type", "choices", "delta", "index", "content", "tool_calls", "function", "arguments", "finish_reason",
        "usage", "error", "message", "content_block", "partial_json", "text", "output_index", "item", "item_id",
        "candidates", "parts", "functionCall", "partialArgs", "jsonPath", "stringValue", "willContinue", "done",
        "response", "name", "id", "model", "refusal", "reasoning", "stop_reason", "finishReason", "args",
    ]
)  # fmt: skip
_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3)
    | st.sampled_from(["", "x", "$.a[0]", "message_start", "response.output_text.delta", "content_block_delta", "stop"])
)
_PAYLOADS = st.recursive(
    _VALUES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12
)


@settings(max_examples=150, deadline=None)
@given(
    fmt=st.sampled_from(["auto", "openai-chat", "openai-responses", "anthropic", "gemini", "ollama"]),
    payloads=st.lists(_PAYLOADS, max_size=6),
)
def test_any_payload_shape_never_raises(fmt: str, payloads: list[Any]) -> None:
    decoder = fs.StreamDecoder(fmt)  # type: ignore[arg-type]
    for payload in payloads:
        decoder.feed_payload(payload)
    assert isinstance(decoder.close()[-1], fs.StreamCompleted)


def test_blank_content_is_text_and_its_deltas_add_up() -> None:
    decoder, events = run(sse(chat(content="\n "), chat(finish="stop")))
    assert texts(events) == {"choices[0]": "\n "}
    assert decoder.result.values == {"choices[0]": "\n "}


def test_target_limit() -> None:
    calls = [{"index": i, "id": f"c{i}", "function": {"name": "f", "arguments": "{}"}} for i in range(5)]
    decoder, events = run(sse(chat(tool_calls=calls, finish="tool_calls")), max_targets=3)
    (fault,) = [e for e in events if isinstance(e, fs.Malformed)]
    assert isinstance(fault.error, fs.LimitError) and "max_targets=3" in fault.message
    assert len(decoder.result.values) == 3
    assert fs.StreamDecoder().max_targets == fs.DEFAULT_MAX_TARGETS
    with pytest.raises(fs.UsageError, match="max_targets"):
        fs.StreamDecoder(max_targets=0)


def test_chat_content_parts() -> None:
    """Mistral's reasoning models send content as a list of parts."""
    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}]}, {"type": "text", "text": "Hi"}]
    _, events = run(sse(chat(content=parts), chat(content=[{"type": "text", "text": "!"}], finish="stop")))
    assert texts(events) == {"choices[0].reasoning": "Hmm.", "choices[0]": "Hi!"}


def test_format_names_have_one_source() -> None:
    """StreamFormat (for type checkers), the option check and the CLI's choices all read FORMATS."""
    from typing import get_args

    from fieldstream._cli_replay import FORMAT_CHOICES as cli_choices
    from fieldstream._providers import FORMAT_CHOICES, FORMATS, StreamFormat

    assert get_args(StreamFormat) == FORMAT_CHOICES == ("auto", *FORMATS) == cli_choices
    with pytest.raises(fs.UsageError, match="format must be one of 'auto', 'openai-chat'"):
        fs.StreamDecoder("bogus")  # type: ignore[arg-type]
