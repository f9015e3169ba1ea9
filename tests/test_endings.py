"""Faults and endings of provider streams: each fault a correct typed event, none false, none raised.

Covers what "ended normally" means, refusals given as a stop reason, a document
invalid at its root, a wrong ``format=``, a whole (non-streamed) response, a BOM
before a JSON-array body, and payloads of the wrong shape (valid JSON, or values
no JSON decodes to, given to ``feed_payload``).  Every body runs whole, per byte
and at random splits: chunking must not change the events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import fieldstream as fs

from .splits import SPLITS, chunked

STREAMS = Path(__file__).resolve().parent / "corpus" / "streams"


def decode(body: bytes, how: str = "whole", **options: Any) -> tuple[fs.StreamDecoder, list[fs.StreamEvent]]:
    decoder = fs.StreamDecoder(**options)
    events: list[fs.StreamEvent] = []
    for chunk in chunked(body, how):
        events += decoder.feed(chunk)
    return decoder, events + decoder.close()


def sse(*payloads: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    return body + (b"data: [DONE]\n\n" if done else b"")


def anthropic(*payloads: dict[str, Any]) -> bytes:
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


def chat(content: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {"object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": delta}]}


def kinds(events: list[fs.StreamEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


# -- refusals ------------------------------------------------------------------------

# An Anthropic refusal as the Messages API streams it: text, then stop_reason "refusal"
# with stop_details beside it (shape of the anthropic SDK's refusal fixture).
STOP_DETAILS = {"type": "refusal", "category": "cyber", "explanation": "This request may facilitate harm."}
REFUSAL = anthropic(
    {"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 9}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "I can"}},
    {"type": "message_delta", "delta": {"stop_reason": "refusal", "stop_sequence": None, "stop_details": STOP_DETAILS},
     "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
)  # fmt: skip


@pytest.mark.parametrize("how", SPLITS)
def test_an_anthropic_refusal_stop_reason_is_a_refused_fault_with_its_details(how: str) -> None:
    decoder, events = decode(REFUSAL, how)
    refused = [e for e in events if isinstance(e, fs.Refused)]
    assert len(refused) == 1 and refused[0].source is None
    assert refused[0].message == STOP_DETAILS["explanation"]
    assert refused[0].details == STOP_DETAILS
    cut = next(e for e in events if isinstance(e, fs.Truncated))
    assert cut.source == "content[0]" and cut.reason == "refusal" and cut.snapshot == "I can"
    assert decoder.result.finish_reasons == {"message": "refusal"}
    with pytest.raises(fs.StreamError, match="Refused") as info:
        decoder.raise_for_faults()
    assert info.value.provider_message == STOP_DETAILS["explanation"]
    record = fs.stream_event_to_json(refused[0])
    assert record["kind"] == "refusal" and record["details"] == STOP_DETAILS


def test_replay_exits_nonzero_on_a_refusal(tmp_path: Path) -> None:
    from fieldstream._cli import main

    body = tmp_path / "refusal.sse"
    body.write_bytes(REFUSAL)
    assert main(["replay", str(body), "--jsonl"]) == 1


# -- endings ---------------------------------------------------------------------------


def test_a_root_value_invalid_ends_its_target_once_without_a_false_fault() -> None:
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        a: int

    body = sse({**chat('{"a": "ten"}'), "choices": [{"index": 0, "delta": {"content": '{"a": "ten"}'}, "finish_reason": "stop"}]})  # fmt: skip
    for how in SPLITS:
        _, events = decode(body, how, schema=M)
        invalid = [e.event for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.ValueInvalid)]
        assert [e.path for e in invalid] == [("a",), ()]
        faults = [e for e in events if isinstance(e, fs.Fault)]
        assert kinds(faults) == ["Malformed"], faults
        assert "does not match the schema" in faults[0].message and "close()" not in faults[0].message
        assert faults[0].raw == '{"a": "ten"}'


SNOWFLAKE = STREAMS / "openai_chat_completions" / "snowflake_cortex_thinking.sse"


def _payloads(path: Path) -> list[Any]:
    out = []
    for message in fs.SSEDecoder().feed(path.read_bytes()):
        if message.data.strip() != "[DONE]":
            out.append(json.loads(message.data))
    return out


def test_feed_payload_from_a_provider_without_finish_reason_can_say_the_stream_ended() -> None:
    as_bytes, _ = decode(SNOWFLAKE.read_bytes())
    assert as_bytes.result.complete and as_bytes.result.values
    decoder = fs.StreamDecoder()
    for payload in _payloads(SNOWFLAKE):
        decoder.feed_payload(payload)
    events = decoder.close(ended=True)  # the SDK's iterator finished: it consumed [DONE]
    assert not any(isinstance(e, fs.Fault) for e in events), events
    assert decoder.result.complete
    assert decoder.result.values == as_bytes.result.values
    # without that word the end is unknown: the text is cut, as a body without [DONE] is
    unknown = fs.StreamDecoder()
    for payload in _payloads(SNOWFLAKE):
        unknown.feed_payload(payload)
    assert any(isinstance(e, fs.Truncated) and e.reason == "eof" for e in unknown.close())
    with pytest.raises(fs.UsageError):
        fs.StreamDecoder().close(ended="yes")  # type: ignore[arg-type]


def test_ended_false_cuts_even_after_the_end_marker() -> None:
    decoder, _ = decode(sse(chat("hi"), done=False))
    decoder = fs.StreamDecoder()
    decoder.feed(sse(chat("hi")))
    events = decoder.close(ended=False)
    assert any(isinstance(e, fs.Truncated) for e in events) and not decoder.result.complete


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("format", ["anthropic", "openai-responses", "gemini", "ollama"])
def test_a_wrong_format_is_a_fault_not_an_empty_complete_stream(format: str, how: str) -> None:
    decoder, events = decode(sse(chat("hello"), chat(" world")), how, format=format)
    faults = [e for e in events if isinstance(e, fs.Malformed)]
    assert len(faults) == 1 and "matched format=" in faults[0].message and "openai-chat" in faults[0].message
    assert not decoder.result.complete


def test_a_stream_of_unknown_payloads_is_a_fault() -> None:
    decoder, events = decode(sse({"hello": 1}, {"hello": 2}))
    assert kinds(events) == ["Malformed", "StreamCompleted"] and not decoder.result.complete


def test_pings_alone_before_done_are_not_a_wrong_format() -> None:
    # No payload at all (only [DONE]) says nothing about the format.
    _, events = decode(b"data: [DONE]\n\n", format="anthropic")
    assert kinds(events) == ["StreamCompleted"]


# -- whole responses where a stream was expected --------------------------------------------

CHAT_COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": '{"city": "Lisbon"}',
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"days": 2}'}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}  # fmt: skip
ANTHROPIC_MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "x"}, {"type": "text", "text": "Hi"},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"days": 2}}],
    "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 4},
}  # fmt: skip
RESPONSE = {
    "id": "resp_1", "object": "response", "model": "gpt-4o", "status": "completed",
    "output": [{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
               {"type": "message", "id": "msg_1", "content": [{"type": "output_text", "text": '{"a": 1}'}]},
               {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": '{"days": 2}'}],
    "usage": {"input_tokens": 1, "output_tokens": 2},
}  # fmt: skip
WHOLE = [
    # (response, expected values, finish reasons, usage key)
    (CHAT_COMPLETION, {"choices[0]": {"city": "Lisbon"}, "choices[0].tool_calls[0]": {"days": 2}}, {"choices[0]": "tool_calls"}),
    (ANTHROPIC_MESSAGE, {"content[0]": "hmm", "content[1]": "Hi", "content[2]": {"days": 2}}, {"message": "tool_use"}),
    (RESPONSE, {"output[0].summary[0]": "think", "output[1].content[0]": {"a": 1}, "output[2]": {"days": 2}},
     {"response": "completed"}),
]  # fmt: skip


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize(("response", "values", "reasons"), WHOLE)
def test_a_whole_response_is_decoded_as_the_response_it_is(
    response: dict[str, Any], values: dict[str, Any], reasons: dict[str, Any], indent: int | None, how: str
) -> None:
    decoder, events = decode(json.dumps(response, indent=indent).encode(), how)
    assert not any(isinstance(e, fs.Fault) for e in events), events
    result = decoder.result
    assert result.values == values and result.finish_reasons == reasons
    assert result.complete and not result.streamed and not decoder.streamed
    assert result.usage == response["usage"]
    assert fs.stream_event_to_json(result)["streamed"] is False


def test_a_whole_response_through_feed_payload() -> None:
    decoder = fs.StreamDecoder()
    decoder.feed_payload(CHAT_COMPLETION)
    decoder.close()
    assert decoder.result.values["choices[0]"] == {"city": "Lisbon"} and not decoder.result.streamed


def test_a_whole_anthropic_refusal_is_a_refusal() -> None:
    message = {**ANTHROPIC_MESSAGE, "content": [], "stop_reason": "refusal", "stop_details": STOP_DETAILS}
    _, events = decode(json.dumps(message).encode())
    assert [e.details for e in events if isinstance(e, fs.Refused)] == [STOP_DETAILS]


def test_a_pretty_printed_body_that_is_not_json_is_one_fault() -> None:
    _, events = decode(b'{\n  "a": 1,\n  oops\n}\n')
    assert kinds(events) == ["Malformed", "StreamCompleted"] and "neither NDJSON nor" in events[0].message


@pytest.mark.parametrize("how", SPLITS)
def test_a_bom_before_a_gemini_json_array_body(how: str) -> None:
    chunk = {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}
    decoder, events = decode(b"\xef\xbb\xbf" + json.dumps([chunk]).encode(), how)
    assert kinds(events) == ["TargetStarted", "TextDelta", "TargetCompleted", "StreamCompleted"]
    assert decoder.result.complete


# -- leading blanks: the same body gives the same events however it is cut -------------------


@pytest.mark.parametrize(
    "body",
    [b"   " + sse(chat("hi")), b"\n\n   " + sse(chat("hi")), b"\r\n \t" + sse(chat("hi")), b"\n\n" + sse(chat("hi"))],
)
def test_leading_blanks_split_anywhere_give_the_same_events(body: bytes) -> None:
    whole = repr(decode(body)[1])
    for cut in range(1, 8):
        decoder = fs.StreamDecoder()
        events = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.close()
        assert repr(events) == whole, cut
    assert repr(decode(body, "per-char")[1]) == whole


# -- payloads of the wrong shape -----------------------------------------------------------

TOOL_NAME_SHAPES: list[Any] = [["weather"], {"name": "weather"}, 7, True]


@pytest.mark.parametrize("name", TOOL_NAME_SHAPES, ids=repr)
@pytest.mark.parametrize(
    "payloads",
    [
        lambda n: [{"choices": [{"index": 0, "delta": {"content": "hi", "tool_calls": [{"index": 0, "id": "c", "function": {"name": n, "arguments": "{}"}}]}}]}],
        lambda n: [{"choices": [{"index": 0, "delta": {"content": "hi", "function_call": {"name": n, "arguments": "{}"}}}]}],
        lambda n: [{"type": "message_start", "message": {"model": "m"}},
                   {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "hi"}},
                   {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": n}}],
        lambda n: [{"candidates": [{"content": {"parts": [{"text": "hi"}, {"functionCall": {"name": n, "args": {}}}]}}]}],
        lambda n: [{"model": "m", "message": {"content": "hi", "tool_calls": [{"function": {"name": n, "arguments": {}}}]}, "done": False}],
        lambda n: [{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "hi"},
                   {"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "name": n, "call_id": "c"}}],
    ],
    ids=["chat", "chat-legacy", "anthropic", "gemini", "ollama", "responses"],
)  # fmt: skip
def test_a_tool_name_that_is_not_a_string_is_a_fault_and_nothing_is_lost(payloads: Any, name: Any) -> None:
    decoder = fs.StreamDecoder()
    events: list[fs.StreamEvent] = []
    for payload in payloads(name):
        events += decoder.feed_payload(payload)
    assert "".join(e.text for e in events if isinstance(e, fs.TextDelta)) == "hi"
    assert any(isinstance(e, fs.Malformed) and "must be strings" in e.message for e in events), events
    events += decoder.close()  # still usable, ends every target once
    assert isinstance(events[-1], fs.StreamCompleted)


@pytest.mark.parametrize("usage", [[1, 2], "lots", 3, None])
def test_anthropic_usage_of_the_wrong_type(usage: Any) -> None:
    decoder = fs.StreamDecoder()
    events = decoder.feed_payload({"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 1}}})
    events += decoder.feed_payload({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage})
    events += decoder.close()
    assert decoder.usage == {"input_tokens": 1}
    assert decoder.result.finish_reasons == {"message": "end_turn"}
    assert [type(e) for e in events if isinstance(e, fs.Fault)] == ([fs.Malformed] if usage else [])


class Opaque:
    pass


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", Opaque(), {1: "int key"}, float, (1, 2)], ids=repr)
def test_feed_payload_with_a_value_no_json_decodes_to(value: Any) -> None:
    decoder = fs.StreamDecoder()
    first = decoder.feed_payload(chat("a"))
    events = decoder.feed_payload({"model": "m", "choices": [{"index": 0, "delta": {"content": "b", "extra": value}}]})
    assert kinds(events) == ["Malformed"] and "plain JSON values" in events[0].message
    events += decoder.feed_payload(chat("c"))
    events += decoder.close()
    text = "".join(e.text for e in first + events if isinstance(e, fs.TextDelta))
    assert text == "ac"
    assert '"b"' in next(e for e in events if isinstance(e, fs.Malformed)).raw  # the payload is in the fault


def test_feed_payload_with_a_container_holding_itself() -> None:
    payload: dict[str, Any] = chat("a")
    payload["self"] = payload
    events = fs.StreamDecoder().feed_payload(payload)
    assert kinds(events) == ["Malformed"] and "holds itself" in events[0].message


# -- nesting deeper than Python's recursion limit ---------------------------------------------


@pytest.mark.parametrize("how", ["whole", "random-1"])
def test_sse_data_nested_100k_deep_is_a_limit_fault(how: str) -> None:
    _, events = decode(b"data: " + b"[" * 100_000 + b"\n\n" + sse(chat("after")), how)
    assert isinstance(events[0], fs.Malformed) and isinstance(events[0].error, fs.LimitError)
    assert "".join(e.text for e in events if isinstance(e, fs.TextDelta)) == "after"


def test_an_error_body_nested_100k_deep_is_an_error_event() -> None:
    _, events = decode(b"[" * 100_000, status_code=500)
    assert kinds(events) == ["ErrorReceived", "StreamCompleted"]
    assert events[0].status_code == 500


def test_a_payload_deep_enough_to_break_json_dumps_is_a_fault() -> None:
    deep: Any = {}
    for _ in range(5000):
        deep = {"a": deep}
    decoder = fs.StreamDecoder()
    events = decoder.feed_payload({"candidates": [{"content": {"parts": [{"text": "hi"}, {"functionCall": {"name": "f", "args": deep}}]}}]})  # fmt: skip
    events += decoder.close()
    assert any(isinstance(e, fs.Malformed) for e in events) and isinstance(events[-1], fs.StreamCompleted)


def test_a_typed_target_nested_near_max_depth_is_a_fault_not_a_recursion_error() -> None:
    pytest.importorskip("pydantic")
    content = "[" * 990 + "]" * 990
    _, events = decode(sse(chat(content)), schema=list[Any])
    faults = [e for e in events if isinstance(e, fs.Fault)]
    assert len(faults) <= 1 and isinstance(events[-1], fs.StreamCompleted)
    if faults:  # validated, or refused at a documented limit: never an escaping RecursionError
        assert faults[0].source == "choices[0]" and isinstance(faults[0].error, fs.LimitError)


def test_a_record_of_a_value_deeper_than_pydantic_serialises() -> None:
    deep: Any = []
    for _ in range(600):  # the parser accepts 1,000 (max_depth); pydantic serialises fewer
        deep = [deep]
    record = fs.stream_event_to_json(fs.TargetCompleted(fs.Source("choices[0]"), deep, ""))
    assert json.loads(json.dumps(record))["value"] == json.loads(json.dumps(deep))
