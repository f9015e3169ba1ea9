"""SSE encoding: frames carry the CLI's JSONL records, end with ``end`` or ``error``, and serve over ASGI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fieldstream as fs
from fieldstream._records import event_to_json

from .asgi_server import parse_sse, serve
from .splits import SPLITS, at_splits, chunked
from .test_properties import documents

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"

DOC = '{"title": "Caf\\u00e9 \\"Nord\\"", "tags": ["a", "b\\nc"], "n": 3, "ok": true, "notes": "line1\\nline2"}'


def parse_events(text: str, how: str = "whole") -> list[fs.Event]:
    parser = fs.Parser()
    events: list[fs.Event] = []
    for chunk in chunked(text, how):
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def test_fieldstreams_own_sse_decoder_reads_the_frames_back() -> None:
    events = parse_events(DOC, "per-char")
    body = fs.sse_encode(events)
    for how in SPLITS:
        decoder = fs.SSEDecoder()
        messages = [m for chunk in chunked(body, how) for m in decoder.feed(chunk)] + decoder.close()
        assert [json.loads(m.data) for m in messages[:-1]] == [event_to_json(e) for e in events]
        assert [m.event for m in messages] == [event_to_json(e)["event"] for e in events] + ["end"]
        assert [m.id for m in messages] == [str(i) for i in range(1, len(events) + 2)]


@pytest.mark.parametrize("how", SPLITS)
def test_frames_carry_the_jsonl_records_with_increasing_ids(how: str) -> None:
    events = parse_events(DOC, how)
    frames = parse_sse(fs.sse_encode(events).decode())
    assert [f["data"] for f in frames[:-1]] == [event_to_json(e) for e in events]
    assert [f["event"] for f in frames[:-1]] == [event_to_json(e)["event"] for e in events]
    assert [int(f["id"]) for f in frames] == list(range(1, len(events) + 2))
    assert frames[-1] == {"event": "end", "data": {"event": "end"}, "id": str(len(events) + 1)}
    # the deltas of a path join to its string, newlines and quotes included
    notes = "".join(f["data"]["text"] for f in frames if f["event"] == "delta" and f["data"]["path"] == "$.notes")
    assert notes == "line1\nline2"
    assert frames[-2]["data"] == {"event": "done", "value": json.loads(DOC)}


def test_every_data_line_is_one_line() -> None:
    body = fs.sse_encode(parse_events('{"a": "x\\ny\\r\\nz\\u2028\\u2029\\u0085\\u001c"}', "per-char"))
    for block in body.decode().split("\n\n")[:-1]:
        assert [line.split(":", 1)[0] for line in block.splitlines()] == ["event", "data", "id"]
    assert parse_sse(body.decode())[-2]["data"]["value"] == {"a": "x\ny\r\nz\u2028\u2029\x85\x1c"}


@settings(max_examples=25, deadline=None)
@given(documents, st.data())
def test_any_document_round_trips_through_sse(value: object, data: st.DataObject) -> None:
    text = json.dumps(value, ensure_ascii=False)
    events = parse_events(text, data.draw(st.sampled_from(SPLITS)))
    body = fs.sse_encode(events)
    decoder = fs.SSEDecoder()
    points = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    messages = [m for chunk in at_splits(body, points) for m in decoder.feed(chunk)] + decoder.close()
    assert [json.loads(m.data) for m in messages] == [event_to_json(e) for e in events] + [{"event": "end"}]


def test_batch_without_end_and_without_ids() -> None:
    events = parse_events("[1]")
    assert b"event: end" not in fs.sse_encode(events, end=False)
    enc = fs.SSEEncoder(ids=False)
    assert enc.encode(events[0]) == b'event: field\ndata: {"event":"field","path":"$[0]","value":1}\n\n'


def test_end_carries_usage_and_finish_reasons() -> None:
    frame = parse_sse(fs.SSEEncoder().end(usage={"total_tokens": 7}, finish_reasons=["stop"]).decode())[0]
    assert frame["data"] == {"event": "end", "usage": {"total_tokens": 7}, "finish_reasons": ["stop"]}


def test_nothing_after_the_end() -> None:
    enc = fs.SSEEncoder()
    enc.end()
    with pytest.raises(fs.UsageError, match="already ended"):
        enc.encode(parse_events("1")[0])


def test_only_events_can_be_encoded() -> None:
    with pytest.raises(fs.UsageError, match="not a fieldstream event"):
        fs.sse_encode([object()])


def test_keepalive_must_be_positive() -> None:
    with pytest.raises(fs.UsageError, match="keepalive"):
        fs.to_sse([], keepalive=0)


def decoded(body: bytes, how: str = "whole") -> list[fs.StreamEvent]:
    decoder = fs.StreamDecoder()
    events: list[fs.StreamEvent] = []
    for chunk in chunked(body, how):
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


@pytest.mark.parametrize("how", ["whole", "random-1"])
def test_stream_events_carry_their_records_and_the_provider_end(how: str) -> None:
    from importlib import resources

    body = resources.files("fieldstream").joinpath("_data/openai_chat_json_object.sse").read_bytes()
    events = decoded(body, how)
    frames = parse_sse(b"".join(fs.to_sse(iter(events))).decode())
    assert [f["data"] for f in frames] == [fs.stream_event_to_json(e) for e in events]
    assert frames[0]["event"] == "start"
    end = frames[-1]  # the provider's own end, with usage; no second end frame
    assert end["event"] == "end"
    assert end["data"]["usage"]["total_tokens"] == 196
    assert end["data"]["finish_reasons"] == {"choices[0]": "stop"}
    assert frames[-2]["event"] == "done"
    assert frames[-2]["data"]["source"] == "choices[0]"
    assert frames[-2]["data"]["value"]["location"] == "San Francisco, CA"


def test_a_target_fault_is_an_error_frame_and_the_stream_goes_on_to_its_end() -> None:
    body = (CORPUS / "openai_chat_completions" / "oai_py_json_schema_max_tokens_1.sse").read_bytes()
    frames = parse_sse(fs.sse_encode(decoded(body)).decode())
    assert [f["event"] for f in frames] == ["start", "error", "end"]
    assert frames[1]["data"]["kind"] == "truncated"
    assert frames[2]["data"]["finish_reasons"] == {"choices[0]": "length"}


def broken_source(text: str) -> Iterator[fs.Event]:
    parser = fs.Parser()
    for chunk in chunked(text, "per-char"):
        yield from parser.feed(chunk)
    yield from parser.close()


def test_a_mid_stream_error_ends_with_an_error_frame_carrying_the_snapshot() -> None:
    frames = parse_sse(b"".join(fs.to_sse(broken_source('{"a": [1, 2], "b": "hi" x'))).decode())
    assert [f["event"] for f in frames].count("error") == 1
    error = frames[-1]
    assert error["event"] == "error"
    assert error["data"]["exception"] == "ParseError"
    assert error["data"]["snapshot"] == {"a": [1, 2], "b": "hi"}
    assert error["data"]["path"] == "$.b"  # the parser was just past $.b
    assert "x" in error["data"]["message"]
    # what came before the error is all there
    assert {"event": "field", "path": "$.a", "value": [1, 2]} in [f["data"] for f in frames]


def test_a_truncated_stream_reports_incomplete() -> None:
    frames = parse_sse(b"".join(fs.to_sse(broken_source('{"a": "par'))).decode())
    assert frames[-1]["data"]["exception"] == "IncompleteError"
    assert frames[-1]["data"]["snapshot"] == {"a": "par"}


def test_snapshot_callable_wins_and_stream_errors_are_framed() -> None:
    def source() -> Iterator[fs.Event]:
        yield from parse_events('{"a": 1}')
        raise fs.StreamError("upstream said: overloaded")

    frames = parse_sse(b"".join(fs.to_sse(source(), snapshot=lambda: {"kept": True})).decode())
    assert frames[-1]["data"] == {
        "event": "error",
        "message": "upstream said: overloaded",
        "snapshot": {"kept": True},
        "exception": "StreamError",
    }
    # without a snapshot callable, the last complete document is kept
    frames = parse_sse(b"".join(fs.to_sse(source())).decode())
    assert frames[-1]["data"]["snapshot"] == {"a": 1}


def test_other_exceptions_propagate() -> None:
    def source() -> Iterator[fs.Event]:
        raise KeyError("caller's bug")
        yield  # pragma: no cover

    with pytest.raises(KeyError):
        list(fs.to_sse(source()))


async def collect(frames: AsyncIterator[bytes]) -> list[dict[str, Any]]:
    return parse_sse(b"".join([f async for f in frames]).decode())


def test_async_source_gets_the_same_frames() -> None:
    events = parse_events(DOC, "random-1")

    async def source() -> AsyncIterator[fs.Event]:
        for event in events:
            await asyncio.sleep(0)
            yield event

    frames = asyncio.run(collect(fs.to_sse(source())))
    # the pump runs ahead of the writer, so adjacent deltas may arrive coalesced
    assert joined(frames) == joined(parse_sse(fs.sse_encode(events).decode()))
    ids = [int(f["id"]) for f in frames]
    assert ids == list(range(1, len(frames) + 1))


def joined(frames: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Frames without ids, adjacent deltas of one path joined (their split carries no meaning)."""
    out: list[tuple[str, Any]] = []
    for frame in frames:
        data = frame["data"]
        if out and frame["event"] == "delta" and out[-1][0] == "delta" and out[-1][1]["path"] == data["path"]:
            out[-1] = ("delta", {**data, "text": out[-1][1]["text"] + data["text"]})
        else:
            out.append((frame["event"], data))
    return out


def test_async_keepalive_is_sent_while_the_source_is_quiet() -> None:
    events = parse_events('{"a": 1}')

    async def main() -> list[bytes]:
        gate = asyncio.Event()

        async def source() -> AsyncIterator[fs.Event]:
            yield events[0]
            await gate.wait()  # quiet until the consumer has seen a keep-alive
            for event in events[1:]:
                yield event

        out = []
        async for frame in fs.to_sse(source(), keepalive=0.01):
            out.append(frame)
            if frame == b": keepalive\n\n":
                gate.set()
        return out

    out = asyncio.run(main())
    assert out[1] == b": keepalive\n\n"
    frames = parse_sse(b"".join(out).decode())
    assert [f["data"] for f in frames if "data" in f][:-1] == [event_to_json(e) for e in events]
    assert [int(f["id"]) for f in frames if "id" in f] == list(range(1, len(events) + 2))


def test_async_mid_stream_error() -> None:
    async def source() -> AsyncIterator[fs.Event]:
        for event in broken_source('{"a": "ok", "b": ]'):
            yield event

    frames = asyncio.run(collect(fs.to_sse(source())))
    assert frames[-1]["event"] == "error"
    assert frames[-1]["data"]["snapshot"] == {"a": "ok"}


def test_closing_the_frames_closes_the_async_source() -> None:
    closed = []

    async def main() -> None:
        gate = asyncio.Event()

        async def source() -> AsyncIterator[fs.Event]:
            try:
                yield parse_events("[1]")[0]
                await gate.wait()  # never set: the consumer leaves first
                yield parse_events("[1]")[1]  # pragma: no cover
            finally:
                closed.append(True)

        frames = fs.to_sse(source(), keepalive=0.01)
        assert b"event: field" in await anext(frames)
        assert await anext(frames) == b": keepalive\n\n"  # the source is now parked at gate.wait()
        await frames.aclose()

    asyncio.run(main())
    assert closed == [True]


def test_sse_dicts_for_sse_starlette() -> None:
    events = parse_events("[1]")
    dicts = list(fs.to_sse_dicts(events))
    assert dicts[0] == {"event": "field", "data": '{"event":"field","path":"$[0]","value":1}', "id": "1"}
    assert dicts[-1]["event"] == "end"

    async def source() -> AsyncIterator[fs.Event]:
        for event in events:
            yield event

    async def main() -> list[dict[str, Any]]:
        return [d async for d in fs.to_sse_dicts(source())]

    assert asyncio.run(main()) == dicts


# -- over a real server -------------------------------------------------------------------------


def make_app() -> Any:
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def events(request: Any) -> AsyncIterator[fs.Event]:
        parser = fs.Parser()
        text = request.query_params["json"]
        for i in range(0, len(text), 3):
            await asyncio.sleep(0)
            for event in parser.feed(text[i : i + 3]):
                yield event
        for event in parser.close():
            yield event

    async def plain(request: Any) -> StreamingResponse:
        return StreamingResponse(fs.to_sse(events(request)), headers=fs.SSE_HEADERS)

    def sync_events(text: str) -> Iterator[fs.Event]:
        parser = fs.Parser()
        for i in range(0, len(text), 3):
            yield from parser.feed(text[i : i + 3])
        yield from parser.close()

    async def plain_sync(request: Any) -> StreamingResponse:
        # a sync iterator: Starlette runs it in a worker thread
        return StreamingResponse(fs.to_sse(sync_events(request.query_params["json"])), headers=fs.SSE_HEADERS)

    async def sse_starlette(request: Any) -> EventSourceResponse:
        return EventSourceResponse(fs.to_sse_dicts(events(request)), headers={"X-Accel-Buffering": "no"})

    return Starlette(
        routes=[Route("/plain", plain), Route("/plain-sync", plain_sync), Route("/sse-starlette", sse_starlette)]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    pytest.importorskip("starlette")
    pytest.importorskip("sse_starlette")
    pytest.importorskip("uvicorn")
    with serve(make_app()) as url:
        yield url


@pytest.mark.parametrize("route", ["/plain", "/plain-sync", "/sse-starlette"])
@pytest.mark.parametrize("doc", [DOC, '{"a": [1, {"b": "x"}] ', '{"a": "cut'])
def test_served_over_http(base_url: str, route: str, doc: str) -> None:
    import httpx

    with httpx.Client(timeout=60) as client, client.stream("GET", base_url + route, params={"json": doc}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] in ("no-cache", "no-store")  # sse-starlette sends no-store
        assert r.headers["x-accel-buffering"] == "no"
        body = "".join(r.iter_text())
    frames = [f for f in parse_sse(body) if "data" in f]  # sse-starlette may add pings
    expected = parse_sse(b"".join(fs.to_sse(broken_source(doc))).decode())

    # chunking differs (3 characters vs 1): compare completed values and the ending
    def settled(fs_: list[dict[str, Any]]) -> list[Any]:
        return [(f["event"], f["data"]) for f in fs_ if f["event"] != "delta"]

    assert settled(frames) == settled(expected)
    assert [int(f["id"]) for f in frames] == list(range(1, len(frames) + 1))


def test_non_finite_numbers_are_null_for_browsers() -> None:
    parser = fs.Parser()
    events = parser.feed('{"big": [1e400, -1e400, 2.5]}') + parser.close()
    frames = fs.sse_encode(events).decode()
    assert "Infinity" not in frames
    assert '"value":[null,null,2.5]' in frames
