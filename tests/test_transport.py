"""The httpx shell against a real server on 127.0.0.1: events as bytes arrive, errors, and closing.

The closing tests are the point: whichever way the caller stops (leaving the block,
``break``, an exception, ``close()``, task cancellation), the server must see the
connection close while it still had most of the body to send.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import fieldstream as fs

from .streamserver import Script, StreamServer, running, sse

SLOW_ITEMS = 2000  # 2000 chunks x 10 ms: 20 s if nobody hangs up
WAIT = 10.0  # generous upper bound for the server to notice; a pass is usually milliseconds


def slow_array() -> list[bytes]:
    return [b"["] + [f'"item-{i:04d}", '.encode() for i in range(SLOW_ITEMS)] + [b'"last"]']


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


@pytest.fixture
def slow(server: StreamServer) -> str:
    server.serve("/slow", Script(slow_array(), content_type="application/json", delay=0.01))
    return server.url("/slow")


def assert_hung_up(server: StreamServer) -> None:
    visit = server.last_visit()
    assert visit.disconnected.wait(WAIT), "the server never saw the client hang up"
    assert not visit.completed.is_set()
    assert visit.sent < SLOW_ITEMS


# -- events as bytes arrive ------------------------------------------------------------


def test_bare_json_through_a_parser(server: StreamServer) -> None:
    doc = b'{"city": "Lisbon", "days": [1, 2, 3]}'
    server.serve("/doc", Script([doc[i : i + 5] for i in range(0, len(doc), 5)], delay=0.001))
    with httpx.Client() as client, fs.connect(client, "POST", server.url("/doc"), decoder=fs.Parser()) as stream:
        events = list(stream)
    assert events[-1] == fs.DocumentCompleted({"city": "Lisbon", "days": [1, 2, 3]})
    assert fs.ValueCompleted(("city",), "Lisbon") in events


def test_events_arrive_before_the_body_ends(server: StreamServer, slow: str) -> None:
    with fs.connect(None, "GET", slow, decoder=fs.Parser()) as stream:
        first = next(iter(stream))
        visit = server.last_visit()
        assert first == fs.StringDelta((0,), "item-0000")
        assert not visit.completed.is_set()  # the server is still streaming
    assert_hung_up(server)


def test_request_options_reach_the_server(server: StreamServer) -> None:
    server.serve("/echo", Script([b"[1]"], content_type="application/json"))
    with fs.connect(
        None, "POST", server.url("/echo"), json={"stream": True}, headers={"x-key": "k"}, decoder=fs.Parser()
    ) as stream:
        assert [type(e).__name__ for e in stream][-1] == "DocumentCompleted"
    visit = server.last_visit()
    assert visit.method == "POST" and visit.json == {"stream": True} and visit.headers["x-key"] == "k"


# -- closing: sync ---------------------------------------------------------------------


def test_leaving_the_block_closes(server: StreamServer, slow: str) -> None:
    with httpx.Client() as client:
        with fs.connect(client, "GET", slow, decoder=fs.Parser()) as stream:
            for i, _ in enumerate(stream):
                if i == 3:
                    break
        assert_hung_up(server)


def test_breaking_the_loop_closes_inside_the_block(server: StreamServer, slow: str) -> None:
    with fs.connect(None, "GET", slow, decoder=fs.Parser()) as stream:
        for _ in stream:
            break
        assert_hung_up(server)  # before the block is left
        assert stream.response.is_closed


def test_an_exception_closes(server: StreamServer, slow: str) -> None:
    with pytest.raises(KeyError), fs.connect(None, "GET", slow, decoder=fs.Parser()) as stream:
        for _ in stream:
            raise KeyError("caller's own error")
    assert_hung_up(server)


def test_close_closes(server: StreamServer, slow: str) -> None:
    with fs.connect(None, "GET", slow, decoder=fs.Parser()) as stream:
        events = iter(stream)
        next(events)
        stream.close()
        assert_hung_up(server)
        with pytest.raises(fs.UsageError, match="no longer readable"):
            list(events)


def test_iterating_twice_is_a_usage_error(server: StreamServer) -> None:
    server.serve("/doc", Script([b"[1]"], content_type="application/json"))
    with fs.connect(None, "GET", server.url("/doc"), decoder=fs.Parser()) as stream:
        assert len(list(stream)) == 3
        with pytest.raises(fs.UsageError, match="only once"):
            iter(stream)


# -- closing: async --------------------------------------------------------------------


def test_async_leaving_the_block_closes(server: StreamServer, slow: str) -> None:
    async def main() -> int:
        n = 0
        async with httpx.AsyncClient() as client:
            async with fs.aconnect(client, "GET", slow, decoder=fs.Parser()) as stream:
                async for _ in stream:
                    n += 1
                    if n == 3:
                        break
            await asyncio.to_thread(assert_hung_up, server)
        return n

    assert asyncio.run(main()) == 3


def test_async_task_cancellation_closes(server: StreamServer, slow: str) -> None:
    async def consume(seen: asyncio.Event) -> None:
        async with fs.aconnect(None, "GET", slow, decoder=fs.Parser()) as stream:
            async for _ in stream:
                seen.set()

    async def main() -> None:
        seen = asyncio.Event()
        task = asyncio.create_task(consume(seen))
        await seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(assert_hung_up, server)

    asyncio.run(main())


def test_async_wait_for_timeout_closes(server: StreamServer, slow: str) -> None:
    async def consume() -> None:
        async with fs.aconnect(None, "GET", slow, decoder=fs.Parser()) as stream:
            async for _ in stream:
                pass

    async def main() -> None:
        # asyncio.TimeoutError is the builtin TimeoutError only from Python 3.11.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(consume(), timeout=0.2)
        await asyncio.to_thread(assert_hung_up, server)

    asyncio.run(main())


def test_async_exception_closes(server: StreamServer, slow: str) -> None:
    async def main() -> None:
        with pytest.raises(KeyError):
            async with fs.aconnect(None, "GET", slow, decoder=fs.Parser()) as stream:
                async for _ in stream:
                    raise KeyError("caller's own error")
        await asyncio.to_thread(assert_hung_up, server)

    asyncio.run(main())


# -- errors ----------------------------------------------------------------------------

ERROR_BODIES = [
    # (status, body, the provider's message)
    (
        401,
        b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}',
        "Incorrect API key provided",
    ),  # OpenAI
    (
        529,
        b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
        "Overloaded",
    ),  # Anthropic
    (
        429,
        b'[{"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}]',
        "Resource exhausted",
    ),  # Gemini
    (502, b"Bad gateway", "Bad gateway"),  # a proxy's plain text
]


@pytest.mark.parametrize(("status", "body", "message"), ERROR_BODIES)
def test_error_status_is_a_stream_error(server: StreamServer, status: int, body: bytes, message: str) -> None:
    server.serve("/err", Script([body], status=status, content_type="application/json"))
    with pytest.raises(fs.StreamError) as info, fs.connect(None, "POST", server.url("/err"), decoder=fs.Parser()):
        pytest.fail("no stream on an error status")
    assert type(info.value) is fs.StreamError
    assert info.value.status_code == status and info.value.provider_message == message
    assert f"HTTP {status}" in str(info.value) and message in str(info.value)


@pytest.mark.parametrize(("status", "body", "message"), ERROR_BODIES[:1])
def test_async_error_status_is_a_stream_error(server: StreamServer, status: int, body: bytes, message: str) -> None:
    server.serve("/err", Script([body], status=status, content_type="application/json"))

    async def main() -> None:
        async with fs.aconnect(None, "POST", server.url("/err"), decoder=fs.Parser()):
            pytest.fail("no stream on an error status")

    with pytest.raises(fs.StreamError) as info:
        asyncio.run(main())
    assert info.value.status_code == status and info.value.provider_message == message


def test_html_page_is_a_stream_error(server: StreamServer) -> None:
    server.serve("/login", Script([b"<html><body>Sign in</body></html>"], content_type="text/html; charset=utf-8"))
    with pytest.raises(fs.StreamError, match="got text/html") as info:
        with fs.connect(None, "GET", server.url("/login"), decoder=fs.Parser()):
            pass
    assert info.value.status_code == 200


def test_reset_mid_stream_is_a_transport_error_with_snapshot(server: StreamServer) -> None:
    server.serve("/reset", Script([b'{"city": "Lis', b'bon", "days": [1, '], delay=0.01, end="reset"))
    seen = []
    with pytest.raises(fs.TransportError) as info:
        with fs.connect(None, "GET", server.url("/reset"), decoder=fs.Parser()) as stream:
            seen.extend(stream)
    assert info.value.snapshot == {"city": "Lisbon", "days": [1]}
    assert fs.ValueCompleted(("city",), "Lisbon") in seen
    assert isinstance(info.value.__cause__, httpx.HTTPError)


def test_async_reset_mid_stream_is_a_transport_error(server: StreamServer) -> None:
    server.serve("/reset", Script([b'{"city": "Lis', b'bon", "days": [1, '], delay=0.01, end="reset"))

    async def main() -> None:
        async with fs.aconnect(None, "GET", server.url("/reset"), decoder=fs.Parser()) as stream:
            async for _ in stream:
                pass

    with pytest.raises(fs.TransportError) as info:
        asyncio.run(main())
    assert info.value.snapshot == {"city": "Lisbon", "days": [1]}


def test_read_timeout_is_a_transport_error_and_hangs_up(server: StreamServer) -> None:
    server.serve("/stall", Script([b'{"city": "Lis'], delay=0.001, end="stall"))
    with pytest.raises(fs.TransportError, match="ReadTimeout") as info:
        with fs.connect(None, "GET", server.url("/stall"), timeout=0.3, decoder=fs.Parser()) as stream:
            list(stream)
    assert info.value.snapshot == {"city": "Lis"}
    assert server.last_visit().disconnected.wait(WAIT)


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(fs.TransportError, match="ConnectError"):
        with fs.connect(None, "GET", f"http://127.0.0.1:{port}/", decoder=fs.Parser()):
            pass

    async def main() -> None:
        async with fs.aconnect(None, "GET", f"http://127.0.0.1:{port}/", decoder=fs.Parser()):
            pass

    with pytest.raises(fs.TransportError, match="ConnectError"):
        asyncio.run(main())


# -- provider streams through the default StreamDecoder --------------------------------

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
PROVIDER_STREAMS = [
    # (recording, format), one per wire format
    ("openai_chat_completions/oai_py_tools_parallel_two.sse", "openai-chat"),
    ("openai_responses/llm_gpt4omini_json_schema_dog.sse", "openai-responses"),
    ("anthropic_messages/ant_sdk_tool_use_get_weather.sse", "anthropic"),
    ("gemini/pai_gemini3_json_schema_text.sse", "gemini"),
    ("ollama/sk_llama32_tool_call.ndjson", "ollama"),
]


def split_reads(body: bytes) -> list[bytes]:
    # uneven reads that cut events, lines and UTF-8 sequences anywhere
    cuts = [0, *range(7, len(body), 97), len(body)]
    return [body[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


@pytest.mark.parametrize(("name", "format"), PROVIDER_STREAMS)
def test_provider_stream_matches_the_decoder_fed_whole(server: StreamServer, name: str, format: str) -> None:
    body = (CORPUS / name).read_bytes()
    ctype = "application/x-ndjson" if name.endswith(".ndjson") else "text/event-stream"
    server.serve("/v1/stream", Script(split_reads(body), content_type=ctype, delay=0.0005))
    with fs.connect(None, "POST", server.url("/v1/stream"), json={"stream": True}) as stream:
        events = list(stream)
        targets = {str(s): t.snapshot for s, t in stream.decoder.targets.items()}
    whole = fs.StreamDecoder()
    expected = whole.feed(body) + whole.close()
    assert [fs.stream_event_to_json(e) for e in events if not isinstance(e, fs.StreamCompleted)] == [
        fs.stream_event_to_json(e) for e in expected if not isinstance(e, fs.StreamCompleted)
    ] or _same_after_merging(events, expected)
    assert isinstance(events[-1], fs.StreamCompleted) and events[-1].format == format
    assert events[-1].values == expected[-1].values and events[-1].values
    assert targets == {str(s): t.snapshot for s, t in whole.targets.items()}


def _same_after_merging(a: list[object], b: list[object]) -> bool:
    # Deltas may be cut differently by different reads; their joined text may not.
    def merged(events: list[object]) -> list[object]:
        out: list[object] = []
        for e in events:
            r = fs.stream_event_to_json(e)  # type: ignore[arg-type]
            if r["event"] == "end":
                continue
            if (
                out
                and r["event"] == "delta"
                and out[-1]["event"] == "delta"
                and (  # type: ignore[index]
                    out[-1]["source"],
                    out[-1]["path"],
                )
                == (r["source"], r["path"])
            ):  # type: ignore[index]
                out[-1]["text"] += r["text"]  # type: ignore[index]
            else:
                out.append(r)
        return out

    return merged(a) == merged(b)


def slow_chat() -> list[bytes]:
    head = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": '{"items": ['}}]}
    items = [{"choices": [{"index": 0, "delta": {"content": f'"item-{i:04d}", '}}]} for i in range(SLOW_ITEMS)]
    return sse(head, *items)


def test_provider_stream_cancellation_sync_and_async(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(slow_chat(), delay=0.01))
    url = server.url("/v1/chat/completions")
    with fs.connect(None, "POST", url, json={"stream": True}) as stream:
        for event in stream:
            if isinstance(event, fs.TargetEvent) and event.event.path == ("items", 2):
                break
        assert_hung_up(server)
        assert stream.decoder.targets["choices[0]"].snapshot["items"][:2] == ["item-0000", "item-0001"]

    async def consume(seen: asyncio.Event) -> None:
        async with fs.aconnect(None, "POST", url, json={"stream": True}) as stream:
            async for event in stream:
                if isinstance(event, fs.TargetEvent):
                    seen.set()

    async def main() -> None:
        seen = asyncio.Event()
        task = asyncio.create_task(consume(seen))
        await seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(assert_hung_up, server)

    asyncio.run(main())


def test_provider_reset_keeps_per_target_snapshots(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(slow_chat()[:4], delay=0.005, end="reset"))
    with pytest.raises(fs.TransportError) as info:
        with fs.connect(None, "POST", server.url("/v1/chat/completions")) as stream:
            list(stream)
    assert info.value.snapshot == {"choices[0]": {"items": ["item-0000", "item-0001", "item-0002"]}}


def test_bad_decoder_options_fail_before_the_request(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(slow_chat()[:3]))
    with pytest.raises(fs.UsageError, match="format must be one of"):
        with fs.connect(None, "POST", server.url("/v1/chat/completions"), format="openai"):
            pass
    assert server.visits == []


def test_decoder_options_reach_the_decoder(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(slow_chat()[:3]))
    with fs.connect(None, "POST", server.url("/v1/chat/completions"), format="openai-chat", content="text") as stream:
        events = list(stream)
    assert [e.text for e in events if isinstance(e, fs.TextDelta)] == ['{"items": [', '"item-0000", ', '"item-0001", ']
