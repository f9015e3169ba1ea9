"""StreamDecoder over the recorded corpus: every assembled value and text, at every split.

Each of the 75 streams in tests/corpus/streams is decoded whole, one byte at
a time and at three random splits; the events must not depend on the split, and
every JSON value, text, tool id/name, finish reason, usage and error listed in
its ``.expected.json`` must come out.  ``.chunks.jsonl`` files are decoded both
as they are (one payload per line, at every split) and wrapped as SSE
(``data: <line>\\n\\n``, whole and at random splits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import fieldstream as fs
from tests.splits import chunked

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
STREAMS = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".sse", ".ndjson", ".jsonl"))
SPLITS = ("whole", "per-char", "random-1", "random-2", "random-3")


def _expected(path: Path) -> dict[str, Any]:
    name = path.name.removesuffix(".chunks.jsonl").removesuffix(".sse").removesuffix(".ndjson")
    return json.loads((path.parent / f"{name}.expected.json").read_text("utf-8"))  # type: ignore[no-any-return]


def _as_sse(body: bytes) -> bytes:
    return b"".join(b"data: " + line + b"\n\n" for line in body.splitlines() if line.strip())


class Outcome:
    """What one decoding produced, per target, in a form independent of the split."""

    def __init__(self, decoder: fs.StreamDecoder, events: list[fs.StreamEvent]) -> None:
        self.decoder = decoder
        self.events = events
        self.result = decoder.result
        self.ends: dict[str, fs.StreamEvent] = {}  # target path -> TargetCompleted or its Fault
        self.texts: dict[str, str] = {}  # text deltas joined, per target
        self.order: list[fs.Source] = []  # targets in order of appearance
        self.errors = [e for e in events if isinstance(e, fs.ErrorReceived)]
        for event in events:
            source = event.source
            if isinstance(event, fs.TargetStarted):
                self.order.append(event.source)
            elif isinstance(event, fs.TextDelta):
                self.texts[source.path] = self.texts.get(source.path, "") + event.text  # type: ignore[union-attr]
            elif isinstance(event, (fs.TargetCompleted, fs.Truncated, fs.Refused, fs.Malformed)) and source is not None:
                assert source.path not in self.ends, f"{source} ended twice"
                self.ends[source.path] = event

    def normalized(self) -> list[Any]:
        """The events with adjacent deltas of one target and path merged (they depend on the split)."""
        out: list[Any] = []
        for event in self.events:
            if isinstance(event, fs.TextDelta) or (
                isinstance(event, fs.TargetEvent) and isinstance(event.event, fs.StringDelta)
            ):
                path = event.event.path if isinstance(event, fs.TargetEvent) else "text"
                text = event.event.text if isinstance(event, fs.TargetEvent) else event.text  # type: ignore[union-attr]
                key = ("delta", event.source.path, path)  # type: ignore[union-attr]
                if out and isinstance(out[-1], tuple) and out[-1][0] == key:
                    out[-1] = (key, out[-1][1] + text)
                    continue
                out.append((key, text))
            elif isinstance(event, fs.TargetEvent):
                out.append(
                    (
                        type(event.event).__name__,
                        event.source.path,
                        event.event.path,
                        getattr(event.event, "value", None),
                    )
                )
            else:
                out.append(event)
        return out

    def check_text(self, path: str, text: str, valid_json: bool | None) -> None:
        """The target at ``path`` carries ``text``: parsed when it is JSON, as text otherwise."""
        end = self.ends.get(path)
        if not text:  # no text at all: the target never opens
            assert end is None or (isinstance(end, fs.TargetCompleted) and end.value == ""), (path, end)
            return
        assert end is not None, f"no end for {path}: {sorted(self.ends)}"
        is_json = text.lstrip()[:1] in ("{", "[")  # content="auto": a bare "4" is text
        if valid_json and is_json:
            assert isinstance(end, fs.TargetCompleted), end
            assert end.is_json and end.value == json.loads(text)
            assert end.raw == text
        elif is_json:  # JSON cut short
            assert isinstance(end, fs.Truncated), end
            assert end.raw == text and end.snapshot is not None
        else:
            assert isinstance(end, fs.TargetCompleted) and not end.is_json, end
            assert end.value == text == self.texts[path]

    def check_arguments(self, path: str, arguments: str | None, value: Any = None) -> None:
        end = self.ends[path]
        if arguments is not None and arguments.strip() and value is None:
            try:
                value = json.loads(arguments)
            except ValueError:
                assert isinstance(end, fs.Truncated), end
                assert end.raw == arguments
                return
        assert isinstance(end, fs.TargetCompleted), end
        assert end.value == (value if value is not None else {}), (path, end.value)
        assert self.decoder.targets[path].source.kind == "tool_call"


def decode(chunks: list[bytes], **options: Any) -> Outcome:
    decoder = fs.StreamDecoder(**options)
    events: list[fs.StreamEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    assert isinstance(events[-1], fs.StreamCompleted) and events[-1] is decoder.result
    for event in events:  # every event has a JSONL record that is valid JSON
        json.dumps(fs.stream_event_to_json(event), allow_nan=False)
    return Outcome(decoder, events)


def check_openai_chat(out: Outcome, expected: dict[str, Any]) -> None:
    for choice in expected["choices"]:
        scope = f"choices[{choice['index']}]"
        if "content" in choice:
            out.check_text(scope, choice["content"], choice["content_is_valid_json"])
        if "refusal" in choice:
            end = out.ends[scope + ".refusal"]
            assert isinstance(end, fs.Refused) and end.message == choice["refusal"]
        if "reasoning_chars" in choice:
            assert len(out.texts[scope + ".reasoning"]) == choice["reasoning_chars"]
        for call in choice.get("tool_calls", ()):
            path = f"{scope}.tool_calls[{call['index']}]"
            out.check_arguments(path, call["arguments"])
            source = out.decoder.targets[path].source
            assert (source.id, source.name) == (call["id"], call["name"])
        assert out.result.finish_reasons.get(scope) == choice["finish_reason"]


def check_anthropic(out: Outcome, expected: dict[str, Any]) -> None:
    for block in expected["content_blocks"]:
        path = f"content[{block['index']}]"
        if block["type"] == "text":
            out.check_text(path, block["text"], block["text_is_valid_json"])
        elif "partial_json_concat" in block:
            out.check_arguments(path, block["partial_json_concat"])
            assert out.decoder.targets[path].source.name == block["name"]
            if not block["block_stopped"]:  # cut by max_tokens
                end = out.ends[path]
                assert isinstance(end, fs.Truncated) and end.reason == expected["stream_meta"]["stop_reason"]
        elif block["type"] == "thinking" and "thinking_chars" in block:
            assert len(out.texts[path]) == block["thinking_chars"]
        else:
            assert path not in out.ends or block["type"] == "thinking"
    assert out.result.finish_reasons["message"] == expected["stream_meta"]["stop_reason"]


def check_openai_responses(out: Outcome, expected: dict[str, Any]) -> None:
    texts = [s.path for s in out.order if s.kind == "content"]
    assert len(texts) == len(expected["output_text"])
    for path, item in zip(texts, expected["output_text"]):
        out.check_text(path, item["text"], item["text_is_valid_json"])
    calls = [s for s in out.order if s.kind == "tool_call"]
    assert len(calls) == len(expected["function_call_arguments"])
    for source, item in zip(calls, expected["function_call_arguments"]):
        out.check_arguments(source.path, item["arguments"])
        assert source.name == item["name"]
    assert out.result.finish_reasons["response"] == (expected["stream_meta"]["final_status"] or "completed")


def check_gemini(out: Outcome, expected: dict[str, Any]) -> None:
    for candidate in expected["candidates"]:
        scope = f"candidates[{candidate['index']}]"
        if "text" in candidate:
            out.check_text(scope, candidate["text"], candidate["text_is_valid_json"])
        for number, call in enumerate(candidate.get("function_calls", ())):
            path = f"{scope}.function_calls[{number}]"
            # A call without an args field is a call without arguments: {}.
            out.check_arguments(path, None, call["args"] or {})
            assert out.decoder.targets[path].source.name == call["name"]
        if "thought_chars" in candidate:
            assert len(out.texts[scope + ".thought"]) == candidate["thought_chars"]
        assert out.result.finish_reasons[scope] == candidate["finish_reason"]


def check_ollama(out: Outcome, expected: dict[str, Any]) -> None:
    scope = "response" if "response" in out.result.finish_reasons else "message"
    out.check_text(scope, expected["content"], expected["content_is_valid_json"])
    for number, call in enumerate(expected.get("tool_calls", ())):
        out.check_arguments(f"message.tool_calls[{number}]", None, call["arguments"])
        assert out.decoder.targets[f"message.tool_calls[{number}]"].source.name == call["name"]
    assert out.result.finish_reasons[scope] == expected["stream_meta"]["done_reason"]


CHECKS = {
    "openai_chat": check_openai_chat,
    "openai_responses": check_openai_responses,
    "anthropic": check_anthropic,
    "gemini": check_gemini,
    "ollama": check_ollama,
}
FORMAT_NAMES = {
    "openai_chat": "openai-chat",
    "openai_responses": "openai-responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
}


def check_meta(out: Outcome, expected: dict[str, Any]) -> None:
    meta = expected["assembled"]["stream_meta"]
    assert out.result.format == FORMAT_NAMES[expected["format"]]
    assert out.result.model in meta["models_seen"]
    errors = meta["error_events"]
    if expected["format"] == "openai_responses" and errors:
        assert len(out.errors) == 1  # an `error` event and the `response.failed` it causes: one fault
    else:
        assert len(out.errors) == len(errors)
    if meta.get("usage_chunks") or expected["format"] in ("anthropic", "gemini", "ollama"):
        assert out.result.usage
    if errors:
        assert not out.result.complete
    elif meta.get("done_sentinel") or meta.get("final_status") or meta.get("stop_reason") or meta.get("done"):
        assert out.result.complete
    # Only the corpus's truncated and refused streams have target faults.
    faults = [e for e in out.events if isinstance(e, fs.Fault) and not isinstance(e, fs.ErrorReceived)]
    for fault in faults:
        assert isinstance(fault, (fs.Truncated, fs.Refused)), fault


@pytest.mark.parametrize("path", STREAMS, ids=[p.name for p in STREAMS])
def test_corpus_stream(path: Path) -> None:
    expected = _expected(path)
    body = path.read_bytes()
    # Chunk lists also as SSE; per byte only in their own framing, which keeps the suite fast.
    runs = [(body, SPLITS)]
    if path.name.endswith(".chunks.jsonl"):
        runs.append((_as_sse(body), ("whole", "random-1", "random-2")))
    reference: list[Any] | None = None
    for data, splits in runs:
        for how in splits:
            out = decode(chunked(data, how))
            CHECKS[expected["format"]](out, expected["assembled"])
            check_meta(out, expected)
            normalized = out.normalized()
            if reference is None:
                reference = normalized
            else:
                assert normalized == reference, (how, len(data))


def test_corpus_is_all_there() -> None:
    """75 streams; the 57 that INDEX.md lists with a JSON payload give 70 complete values and 2 cut ones."""
    assert len(STREAMS) == 75
    with_json = complete = cut = 0
    for path in STREAMS:
        out = decode([path.read_bytes()])
        targets = [t for t in out.decoder.targets.values() if t.is_json]
        with_json += bool(targets)
        complete += sum(t.done for t in targets)
        cut += sum(isinstance(t.fault, fs.Truncated) for t in targets)
    assert (with_json, complete, cut) == (57, 70, 2)


# -- metadata and faults named in corpus/README.md --------------------------


def _decode_file(relative: str, **options: Any) -> Outcome:
    return decode([(CORPUS / relative).read_bytes()], **options)


def test_max_tokens_1_is_truncated_with_its_snapshot() -> None:
    out = _decode_file("openai_chat_completions/oai_py_json_schema_max_tokens_1.sse")
    fault = out.ends["choices[0]"]
    assert isinstance(fault, fs.Truncated)
    assert (fault.reason, fault.snapshot, fault.raw) == ("length", {}, '{"')
    assert out.result.usage["completion_tokens"] == 1  # type: ignore[index]


def test_anthropic_max_tokens_keeps_the_partial_tool_input() -> None:
    out = _decode_file("anthropic_messages/ant_sdk_tool_use_truncated_max_tokens.sse")
    fault = out.ends["content[1]"]
    assert isinstance(fault, fs.Truncated) and fault.reason == "max_tokens"
    assert fault.snapshot["filename"] == "taxes.txt"
    assert fault.snapshot["lines_of_text"][-1] == "Filing taxes"  # the unfinished string, as far as it got
    assert isinstance(out.ends["content[0]"], fs.TargetCompleted)  # the text block before it is intact
    assert out.result.usage == {
        "input_tokens": 450,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 124,  # message_delta's count replaces message_start's
        "service_tier": "standard",
    }


def test_groq_error_event_mid_stream() -> None:
    out = _decode_file("openai_chat_completions/groq_gptoss_error_event_midstream.sse")
    (error,) = out.errors
    assert error.code == "tool_use_failed" and error.error_type == "invalid_request_error"
    assert error.status_code == 400
    assert "failed_generation" in error.payload["error"]
    cut = out.ends["choices[0].reasoning"]
    assert isinstance(cut, fs.Truncated) and cut.reason == "error"
    assert cut.snapshot == out.texts["choices[0].reasoning"]  # what was shown is kept
    assert not out.result.complete


def test_openrouter_error_chunk_and_comments() -> None:
    out = _decode_file("openai_chat_completions/openrouter_minimax_comments_and_error_chunk.sse")
    (error,) = out.errors
    assert (error.message, error.code) == ("Token limit reached", 400)
    assert out.result.finish_reasons == {"choices[0]": "length"}
    assert out.decoder.framing == "sse"


def test_responses_error_then_failed() -> None:
    out = _decode_file("openai_responses/vercel_responses_error_event.chunks.jsonl")
    (error,) = out.errors
    assert error.code == "insufficient_quota"
    assert out.result.finish_reasons == {"response": "failed"}
    with pytest.raises(fs.StreamError, match="insufficient_quota|exceeded your current quota") as info:
        out.decoder.raise_for_faults()
    assert info.value.provider_message == error.message


def test_refusal_is_a_fault_and_its_text_streams() -> None:
    out = _decode_file("openai_chat_completions/oai_py_json_schema_refusal.sse")
    refusal = out.ends["choices[0].refusal"]
    assert isinstance(refusal, fs.Refused)
    assert refusal.message == out.texts["choices[0].refusal"] == "I'm sorry, I can't assist with that request."
    with pytest.raises(fs.StreamError, match="Refused"):
        out.decoder.raise_for_faults()


def test_n3_choices_and_usage() -> None:
    out = _decode_file("openai_chat_completions/oai_py_json_schema_n3_choices.sse")
    assert [out.result.values[f"choices[{i}]"]["temperature"] for i in range(3)] == [65, 61, 59]
    assert out.result.finish_reasons == {"choices[0]": "stop", "choices[1]": "stop", "choices[2]": "stop"}
    assert out.result.usage["total_tokens"] == out.result.usage["prompt_tokens"] + out.result.usage["completion_tokens"]  # type: ignore[index]
    assert out.result.complete and out.result.response_id


def test_gemini_partial_args_without_terminator_complete_at_finish() -> None:
    out = _decode_file("gemini/vercel_gemini_partial_args_number_no_terminal.chunks.jsonl")
    end = out.ends["candidates[0].function_calls[0]"]
    assert isinstance(end, fs.TargetCompleted)
    assert end.value["operations"][1]["price"] == 0.3


def test_gemini_as_a_json_array_body() -> None:
    """Without ``alt=sse`` Gemini streams a JSON array of responses; the array parser splits it."""
    lines = (CORPUS / "gemini/vercel_gemini_partial_args_nested.chunks.jsonl").read_bytes().splitlines()
    body = b"[" + b",\r\n".join(lines) + b"]"
    expected = _expected(CORPUS / "gemini/vercel_gemini_partial_args_nested.chunks.jsonl")
    for how in ("whole", "random-1"):
        out = decode(chunked(body, how))
        assert out.decoder.framing == "json-array"
        check_gemini(out, expected["assembled"])


# -- live view ---------------------------------------------------------------


def test_targets_snapshot_while_streaming() -> None:
    body = (CORPUS / "openai_chat_completions/oai_py_tools_parallel_two.sse").read_bytes()
    decoder = fs.StreamDecoder()
    seen: list[Any] = []
    for chunk in chunked(body, "random-2"):
        decoder.feed(chunk)
        target = decoder.targets.get("choices[0].tool_calls[0]")
        if target is not None and isinstance(target.snapshot, dict):
            seen.append(dict(target.snapshot))
    decoder.close()
    assert seen[-1] == {"city": "Edinburgh", "country": "GB", "units": "c"}
    assert any(len(s) < 3 for s in seen)  # partial values were visible before the end
    target = decoder.targets["choices[0].tool_calls[1]"]
    assert target.done and target.value == {"ticker": "AAPL", "exchange": "NASDAQ"}
    assert target.raw == '{"ticker": "AAPL", "exchange": "NASDAQ"}'
    assert decoder.result.values["choices[0].tool_calls[1]"] == target.value


def test_events_come_as_soon_as_their_bytes() -> None:
    """A field completes in the feed() call that brings its closing byte, not later."""
    body = (CORPUS / "openai_chat_completions/oai_py_json_schema_location.sse").read_bytes()
    decoder = fs.StreamDecoder()
    for i in range(len(body)):
        for event in decoder.feed(body[i : i + 1]):
            if (
                isinstance(event, fs.TargetEvent)
                and event.event.path == ("city",)
                and isinstance(event.event, fs.ValueCompleted)
            ):
                # the SSE message holding the closing quote ended within this byte
                assert body[: i + 1].endswith(b"\n\n")
                assert b'\\"city\\":\\"San Francisco\\"' not in body[i + 1 :]
                return
    raise AssertionError("no field event")
