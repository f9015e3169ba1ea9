"""The timeline of a stream: its figures against the timing sidecars, buffering, usage when cut, the plot, OpenTelemetry."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fieldstream as fs
from fieldstream._recording import read_timing, timed_reads, to_wire_bytes

from .proxy import running_proxy
from .streamserver import Script, StreamServer, running

CORPUS = Path(__file__).resolve().parent / "corpus"
RECORDED = sorted((CORPUS / "recorded").glob("*.sse"))
STREAMS = CORPUS / "streams"
JSON_OBJECT = STREAMS / "openai_chat_completions" / "oai_py_json_object_mode.sse"


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def replay(path: Path) -> tuple[fs.Timeline, fs.StreamDecoder]:
    """What `fieldstream replay` does: each recorded read at its recorded time."""
    timeline, decoder, last = fs.Timeline(), fs.StreamDecoder(), 0.0
    for t, chunk in timed_reads(path.read_bytes(), read_timing(path)):
        timeline.read(len(chunk), t)
        timeline.observe(decoder.feed(chunk), t)
        last = t
    timeline.observe(decoder.close(), last)
    return timeline, decoder


def split_events(body: bytes) -> list[bytes]:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    return [part + sep for part in body.split(sep)[:-1] if part.strip()]


# -- an independent reading of a recording: SSE events, their text, their arrival ---------


def answer_text(payload: Any) -> str:
    """The answer's text in one provider payload (OpenAI chat, Anthropic, Gemini), read by hand."""
    if "choices" in payload:
        return "".join((c.get("delta") or {}).get("content") or "" for c in payload["choices"] if c["index"] == 0)
    if payload.get("type") == "content_block_delta" and payload["delta"].get("type") == "text_delta":
        return str(payload["delta"]["text"])
    if "candidates" in payload:
        parts = payload["candidates"][0].get("content", {}).get("parts", [])
        return "".join(p.get("text", "") for p in parts if not p.get("thought"))
    return ""


def arrivals(path: Path) -> list[tuple[float, str]]:
    """(time the event's last byte arrived, its answer text) per SSE event, from the sidecar alone."""
    body = path.read_bytes()
    timing = read_timing(path)
    assert timing is not None
    ends, total = [], 0
    for t, n in timing:
        total += n
        ends.append((total, t))
    out, offset = [], 0
    for event in split_events(body):
        offset += len(event)
        arrived = next(t for end, t in ends if end >= offset)
        data = "".join(line[5:].strip() for line in event.decode().splitlines() if line.startswith("data:"))
        out.append((arrived, answer_text(json.loads(data)) if data and data != "[DONE]" else ""))
    return out


def top_level_completions(text: str) -> dict[str, int]:
    """How many characters of ``text`` (a JSON object) complete each top-level value.

    A string, object or array is complete at its closing character; a number or
    literal only once the character after it (``,`` or ``}``) shows it ended.
    """
    decoder = json.JSONDecoder()
    out: dict[str, int] = {}
    i = text.index("{") + 1

    def blanks(j: int) -> int:
        while text[j] in " \t\r\n":
            j += 1
        return j

    while True:
        i = blanks(i)
        if text[i] == "}":
            return out
        key, i = decoder.raw_decode(text, i)
        i = blanks(i) + 1  # the colon
        i = blanks(i)
        _, end = decoder.raw_decode(text, i)
        after = blanks(end)
        out[key] = end if text[i] in '"[{' else after + 1
        i = after + 1 if text[after] == "," else after


def test_there_are_recordings_of_each_provider() -> None:
    assert [p.name for p in RECORDED] == ["anthropic_paced.sse", "gemini_paced.sse", "openai_chat_paced.sse"]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_byte_figures_agree_with_the_sidecar(path: Path) -> None:
    timeline, _ = replay(path)
    timing = read_timing(path)
    assert timing is not None
    assert timeline.first_byte == timing[0][0]
    assert timeline.total_bytes == sum(n for _, n in timing) == len(path.read_bytes())
    assert len(timeline.reads) == len(timing)
    gaps = [(a, b - a) for (a, _), (b, _) in zip(timing, timing[1:]) if b - a > fs.Timeline().stall_threshold]
    assert timeline.stalls == gaps and len(gaps) == 1  # the recordings hold one 1.3 s stall each
    assert timeline.ended == timing[-1][0]
    assert timeline.buffering().buffered is not True


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_first_delta_and_field_times_agree_with_the_sidecar(path: Path) -> None:
    timeline, decoder = replay(path)
    events = arrivals(path)
    text = "".join(piece for _, piece in events)
    assert text, "every recording carries an answer"
    answer = next(t for t in decoder.targets.values() if t.source.kind == "content")
    if not answer.is_json:  # plain text: the first delta is the first event with text
        assert timeline.first_delta == next(t for t, piece in events if piece)
        return
    completions = top_level_completions(text)
    expected = {}
    for key, needed in completions.items():
        received = 0
        for t, piece in events:
            received += len(piece)
            if received >= needed:
                expected[key] = t
                break
    seen = {f.path[0]: f.completed for f in timeline.fields if len(f.path) == 1 and f.source == str(answer.source)}
    assert seen == expected
    assert timeline.first_field == min(f.completed for f in timeline.fields if f.path)
    for f in timeline.fields:
        assert f.started <= f.completed


def test_the_timeline_is_on_connect_streams(server: StreamServer) -> None:
    body = JSON_OBJECT.read_bytes()
    server.serve("/v1/chat/completions", Script(split_events(body), delay=0.002))
    with fs.connect(None, "POST", server.url("/v1/chat/completions"), json={}) as stream:
        events = list(stream)
    timeline = stream.timeline
    assert timeline.total_bytes == len(body)
    fields = [e for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.ValueCompleted)]
    assert [(f.source, f.path) for f in timeline.fields] == [(str(e.source), e.event.path) for e in fields]
    assert timeline.first_byte is not None and timeline.first_byte <= timeline.first_field  # type: ignore[operator]
    assert timeline.ended is not None and timeline.ended >= timeline.fields[-1].completed
    record = timeline.to_record()
    assert record["event"] == "timeline" and record["bytes"] == len(body)
    assert json.loads(json.dumps(record)) == record  # plain JSON


# -- buffering ------------------------------------------------------------------------------


@pytest.mark.parametrize("buffer", [True, False], ids=["buffering-proxy", "streaming-proxy"])
def test_a_buffering_proxy_is_flagged(server: StreamServer, buffer: bool) -> None:
    # ~180 events, 10 ms apart: close to two seconds of streaming.
    server.serve("/v1/chat/completions", Script(split_events(JSON_OBJECT.read_bytes()), delay=0.01))
    for base in running_proxy(server.url(), buffer=buffer):
        with fs.connect(None, "POST", base + "/v1/chat/completions", json={}) as stream:
            values = [e for e in stream if isinstance(e, fs.TargetCompleted)]
        assert values and values[0].value["location"]  # the same answer either way
        verdict = stream.timeline.buffering()
        assert verdict.buffered is buffer, verdict.message
        if buffer:
            assert verdict.largest_share > 0.8 and verdict.silence > 1.0
            assert "proxy" in verdict.message and "gzip" in verdict.message


def test_record_and_replay_print_the_verdict(server: StreamServer, tmp_path: Path) -> None:
    server.serve("/v1/chat/completions", Script(split_events(JSON_OBJECT.read_bytes()), delay=0.01))
    outputs = {}
    for buffer in (True, False):
        for base in running_proxy(server.url(), buffer=buffer):
            out = tmp_path / f"{buffer}.sse"
            result = cli("record", base + "/v1/chat/completions", "-d", "{}", "-o", str(out))
            assert result.returncode == 0, result.stderr
            outputs[buffer] = result.stderr
            replayed = cli("replay", str(out), "--no-delay")
            assert replayed.returncode == 0, replayed.stderr
            assert ("buffered:" in replayed.stderr) is buffer
    assert "timeline: first byte" in outputs[True] and "buffered:" in outputs[True]
    assert "streamed:" in outputs[False] and "buffered" not in outputs[False]


def test_quick_or_small_streams_are_not_judged() -> None:
    timeline = fs.Timeline()
    timeline.read(100, 0.2)
    assert timeline.buffering().buffered is None  # too little
    timeline.read(100_000, 0.21)
    verdict = timeline.buffering()
    assert verdict.buffered is None and "too quickly" in verdict.message  # no silence before it


# -- usage when cut or cancelled --------------------------------------------------------------


def delivered_characters(body: bytes) -> int:
    """Characters of content, reasoning, refusals and tool arguments in the OpenAI chat events of ``body``.

    fieldstream dispatches a last event that lacks its blank line at the end of the
    body (as browsers' EventSource does not): counted when its data is whole JSON.
    """
    total = 0
    for event in body.split(b"\n\n"):
        data = event.decode("utf-8", "replace").strip()[5:].strip()
        try:
            payload = json.loads(data)
        except ValueError:
            continue  # [DONE], or an event cut in its middle
        for choice in payload.get("choices", []):
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content", "refusal"):
                total += len(delta.get(key) or "")
            for call in delta.get("tool_calls") or []:
                total += len((call.get("function") or {}).get("arguments") or "")
    return total


CUT_STREAMS = sorted((STREAMS / "openai_chat_completions").glob("oai_py_*.sse"))


@pytest.mark.parametrize("path", CUT_STREAMS, ids=lambda p: p.name)
def test_a_cut_stream_carries_a_usage_estimate(path: Path) -> None:
    body = path.read_bytes()
    whole = fs.StreamDecoder()
    whole.feed(body)
    whole.close()
    assert whole.result.complete and whole.result.usage_estimate is None  # complete: the provider's usage only
    rng = random.Random(path.name)
    for cut in sorted(rng.sample(range(1, len(body)), min(12, len(body) - 1))):
        decoder = fs.StreamDecoder()
        decoder.feed(body[:cut])
        end = decoder.close()[-1]
        assert isinstance(end, fs.StreamCompleted)
        if end.complete and end.usage is not None:  # cut after the usage chunk: nothing to estimate
            assert end.usage_estimate is None
            continue
        estimate = end.usage_estimate
        assert estimate is not None and estimate["estimated"] is True and estimate["method"]
        # The characters counted are exactly those delivered in complete events (read by hand).
        assert estimate["output_characters"] == delivered_characters(body[:cut])
        if estimate["output_characters"]:  # (a tool call's name alone already costs tokens)
            assert estimate["output_tokens"] > 0
        assert fs.stream_event_to_json(end)["usage_estimate"] == estimate
        assert end.usage == decoder.usage  # the provider's own usage keeps its meaning


def test_a_cancelled_stream_carries_usage(server: StreamServer) -> None:
    head = {"type": "message_start", "message": {"id": "m", "model": "claude", "usage": {"input_tokens": 25}}}
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"word{i} "}}
        for i in range(300)
    ]
    chunks = [b"event: %s\ndata: %s\n\n" % (p["type"].encode(), json.dumps(p).encode()) for p in (head, start, *deltas)]
    server.serve("/v1/messages", Script(chunks, delay=0.005))
    with fs.connect(None, "POST", server.url("/v1/messages"), json={}) as stream:
        for seen, event in enumerate(stream):
            if seen > 40:
                break  # the user pressed stop
    result = stream.result
    assert isinstance(result, fs.StreamCompleted) and not result.complete
    assert result.usage == {"input_tokens": 25}  # what the provider said, untouched
    assert result.usage_estimate is not None and result.usage_estimate["output_tokens"] > 0
    assert stream.timeline.ended is not None


def test_usage_estimate_error_is_published() -> None:
    from benchmarks.usage_estimate import measure

    report = measure()
    docs = (Path(__file__).resolve().parents[1] / "docs" / "timeline.md").read_text()
    assert report["streams"] >= 40
    assert f"{report['median_abs_error']:.0%}" in docs, "docs/timeline.md quotes the measured error"


# -- pictures and the CLI ----------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldstream", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_replay_draws_the_timeline(tmp_path: Path) -> None:
    image = tmp_path / "timeline.png"
    result = cli("replay", str(CORPUS / "recorded" / "openai_chat_paced.sse"), "--no-delay", "--timeline", str(image))
    assert result.returncode == 0, result.stderr
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 20_000
    assert "-- timeline: first byte" in result.stdout and "$.forecast" in result.stdout


def test_replay_jsonl_timeline_record() -> None:
    path = CORPUS / "recorded" / "anthropic_paced.sse"
    result = cli("replay", str(path), "--no-delay", "--jsonl", "--timeline")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-2]["event"] == "end" and records[-1]["event"] == "timeline"
    timeline, _ = replay(path)
    assert records[-1] == json.loads(json.dumps(timeline.to_record()))


def test_timeline_image_is_checked_before_anything_runs(tmp_path: Path) -> None:
    result = cli("replay", "--timeline", str(CORPUS / "recorded" / "gemini_paced.sse"))
    assert result.returncode != 0 and "takes an image path" in result.stderr and "Traceback" not in result.stderr


# -- OpenTelemetry -------------------------------------------------------------------------------


def test_opentelemetry_span_per_stream(server: StreamServer) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server.serve("/v1/chat/completions", Script(split_events(JSON_OBJECT.read_bytes()), delay=0.001))
    with fs.connect(None, "POST", server.url("/v1/chat/completions"), json={}) as stream:
        events = list(fs.traced(stream, tracer=provider.get_tracer("test")))
    (span,) = exporter.get_finished_spans()
    assert span.name == "fieldstream.stream"
    fields = [e for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.ValueCompleted)]
    recorded = [e for e in span.events if e.name == "fieldstream.field"]
    assert [e.attributes["fieldstream.path"] for e in recorded] == [f.event.path_text for f in fields if f.event.path]
    end = events[-1]
    assert isinstance(end, fs.StreamCompleted)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.usage.output_tokens"] == end.usage["completion_tokens"]  # type: ignore[index]
    assert attributes["gen_ai.usage.input_tokens"] == end.usage["prompt_tokens"]  # type: ignore[index]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["fieldstream.complete"] is True
    assert attributes["fieldstream.time_to_first_field_s"] == round(stream.timeline.first_field, 6)  # type: ignore[arg-type]


def test_opentelemetry_span_records_errors() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def events() -> Iterator[fs.StreamEvent]:
        decoder = fs.StreamDecoder()
        yield from decoder.feed(b'data: {"choices": [{"index": 0, "delta": {"content": "{\\"a\\": 1"}}]}\n\n')
        raise fs.TransportError("connection reset")

    with pytest.raises(fs.TransportError):
        for _ in fs.traced(events(), tracer=provider.get_tracer("test")):
            pass
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert any(e.name == "exception" for e in span.events)


async def _agen(items: list[Any]) -> Any:
    for item in items:
        yield item


def test_opentelemetry_async_twin() -> None:
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    decoder = fs.StreamDecoder()
    items = decoder.feed(to_wire_bytes(JSON_OBJECT, JSON_OBJECT.read_bytes())) + decoder.close()

    async def main() -> list[Any]:
        return [e async for e in fs.atraced(_agen(items), tracer=provider.get_tracer("test"))]

    assert asyncio.run(main()) == items
    (span,) = exporter.get_finished_spans()
    assert sum(e.name == "fieldstream.field" for e in span.events) > 10


# -- the browser client judges buffering by the same rule -------------------------------------


def test_the_js_client_gives_the_same_buffering_verdict() -> None:
    from .node_env import NODE, run_node

    if NODE is None:
        pytest.skip("node is not installed (apt-get install nodejs; .ci/run installs it)")
    rng = random.Random(17)
    cases = []
    for _ in range(300):
        t, reads = rng.random() * 2, []
        for _ in range(rng.randint(1, 40)):
            t += rng.choice([0.0, 0.01, 0.05, 0.2, 0.8]) * rng.random()
            reads.append([round(t, 4), rng.choice([10, 200, 5000, 40000])])
        cases.append(reads)
    script = (
        "import { bufferingVerdict } from '../../src/fieldstream/_static/fieldstream.js';\n"
        f"const cases = {json.dumps(cases)};\n"
        "console.log(JSON.stringify(cases.map((r) => [bufferingVerdict(r).buffered, bufferingVerdict(r).silence])));"
    )
    result = run_node("--input-type=module", "-e", script)
    assert result.returncode == 0, result.stderr
    for reads, (buffered, silence) in zip(cases, json.loads(result.stdout), strict=True):
        timeline = fs.Timeline()
        for t, n in reads:
            timeline.read(n, t)
        verdict = timeline.buffering()
        assert (verdict.buffered, round(verdict.silence, 6)) == (buffered, round(silence, 6)), reads


def test_the_timeline_goes_out_as_an_sse_frame(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(split_events(JSON_OBJECT.read_bytes()), delay=0.001))
    with fs.connect(None, "POST", server.url("/v1/chat/completions"), json={}) as stream:
        frames = b"".join(fs.to_sse(fs.with_timeline(stream))).decode().split("\n\n")
    names = [f.split("\n")[0] for f in frames if f.startswith("event:")]
    assert names[-2:] == ["event: timeline", "event: end"]  # just before the end: the client applies it
    data = next(f for f in frames if f.startswith("event: timeline")).split("\ndata: ", 1)[1].split("\n")[0]
    assert json.loads(data) == json.loads(json.dumps(stream.timeline.to_record()))
    with pytest.raises(fs.UsageError, match="keeps no timeline"):
        list(fs.with_timeline([]))
