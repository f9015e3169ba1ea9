"""The official openai and anthropic SDKs, pointed at the loopback server, through from_sdk()/afrom_sdk().

Real SDK clients, real HTTP: the server plays corpus recordings at the SDKs' own
endpoints, and records when the client hangs up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import fieldstream as fs

from .streamserver import Script, StreamServer, running, sse

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
SLOW_ITEMS = 2000
WAIT = 10.0


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def events_of(body: bytes) -> list[bytes]:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    parts = body.split(sep)
    return [p + sep for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def serve_recording(server: StreamServer, path: str, name: str, delay: float = 0.0005) -> Any:
    server.serve(path, Script(events_of((CORPUS / name).read_bytes()), delay=delay))
    expected = json.loads((CORPUS / name).with_name(name.split("/")[-1].split(".")[0] + ".expected.json").read_text())
    return expected["assembled"]


def openai_client(server: StreamServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0)


def anthropic_client(server: StreamServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url(), api_key="sk-ant-test", max_retries=0)


def values(events: list[Any]) -> dict[str, Any]:
    assert isinstance(events[-1], fs.StreamCompleted)
    return dict(events[-1].values)


def test_openai_chat_completions(server: StreamServer) -> None:
    assembled = serve_recording(server, "/v1/chat/completions", "openai_chat_completions/oai_py_tools_parallel_two.sse")
    client = openai_client(server)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather and stock"}], stream=True
    )
    with fs.from_sdk(stream) as events:
        seen = list(events)
    calls = {
        f"choices[0].tool_calls[{c['index']}]": json.loads(c["arguments"])
        for c in assembled["choices"][0]["tool_calls"]
    }
    assert values(seen) == calls
    assert seen[-1].finish_reasons == {"choices[0]": "tool_calls"}
    assert server.last_visit().json["stream"] is True
    assert stream.response.is_closed


def test_openai_responses(server: StreamServer) -> None:
    serve_recording(server, "/v1/responses", "openai_responses/llm_gpt4omini_json_schema_dog.sse")
    stream = openai_client(server).responses.create(model="gpt-4o-mini", input="a dog", stream=True)
    with fs.from_sdk(stream) as events:
        seen = list(events)
    (value,) = values(seen).values()
    assert value["name"] == "Barkley" and value["age"] == 5
    assert seen[-1].format == "openai-responses"


def test_anthropic_messages(server: StreamServer) -> None:
    serve_recording(server, "/v1/messages", "anthropic_messages/ant_sdk_tool_use_get_weather.sse")
    stream = anthropic_client(server).messages.create(
        model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "weather?"}], stream=True
    )
    with fs.from_sdk(stream) as events:
        seen = list(events)
    assert seen[-1].format == "anthropic"
    assert any(isinstance(e, fs.TargetCompleted) and isinstance(e.value, dict) for e in seen)


def test_async_openai_chat_completions(server: StreamServer) -> None:
    serve_recording(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")

    async def main() -> list[Any]:
        # The client is closed inside the loop: its pooled connection must not outlive asyncio.run().
        async with openai.AsyncOpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0) as client:
            stream = await client.chat.completions.create(model="gpt-4o", messages=[], stream=True)
            async with fs.afrom_sdk(stream) as events:
                return [e async for e in events]

    seen = asyncio.run(main())
    assert values(seen) == {"choices[0]": {"city": "San Francisco", "temperature": 61, "units": "f"}}


def slow_chat() -> list[bytes]:
    head = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": '{"items": ['}}]}
    items = [{"choices": [{"index": 0, "delta": {"content": f'"item-{i:04d}", '}}]} for i in range(SLOW_ITEMS)]
    return sse(head, *items)


def assert_hung_up(server: StreamServer) -> None:
    visit = server.last_visit()
    assert visit.disconnected.wait(WAIT), "the server never saw the client hang up"
    assert not visit.completed.is_set() and visit.sent < SLOW_ITEMS


def test_breaking_closes_the_sdk_stream(server: StreamServer) -> None:
    server.serve("/v1/chat/completions", Script(slow_chat(), delay=0.01))
    stream = openai_client(server).chat.completions.create(model="gpt-4o", messages=[], stream=True)
    with fs.from_sdk(stream) as events:
        for event in events:
            if isinstance(event, fs.TargetEvent):
                break
        assert_hung_up(server)
    assert stream.response.is_closed


def test_async_cancellation_closes_the_sdk_stream(server: StreamServer) -> None:
    server.serve("/v1/messages", Script(slow_anthropic(), delay=0.01))

    async def consume(seen: asyncio.Event) -> None:
        async with anthropic.AsyncAnthropic(base_url=server.url(), api_key="sk-ant-test", max_retries=0) as client:
            stream = await client.messages.create(model="claude-test", max_tokens=10, messages=[], stream=True)
            async with fs.afrom_sdk(stream) as events:
                async for event in events:
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


def slow_anthropic() -> list[bytes]:
    def event(kind: str, **data: Any) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

    start = event(
        "message_start",
        message={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude",
            "usage": {"input_tokens": 1, "output_tokens": 0},
        },
    )
    block = event("content_block_start", index=0, content_block={"type": "text", "text": ""})
    first = event("content_block_delta", index=0, delta={"type": "text_delta", "text": '{"items": ['})
    items = [
        event("content_block_delta", index=0, delta={"type": "text_delta", "text": f'"item-{i:04d}", '})
        for i in range(SLOW_ITEMS)
    ]
    return [start, block, first, *items]


def test_wrong_objects_are_usage_errors(server: StreamServer) -> None:
    with pytest.raises(fs.UsageError, match="SDK stream"):
        fs.from_sdk(["not", "a", "stream"])
    serve_recording(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    stream = openai_client(server).chat.completions.create(model="gpt-4o", messages=[], stream=True)
    with stream:
        with pytest.raises(fs.UsageError, match="use fieldstream.from_sdk"):
            fs.afrom_sdk(stream)
        next(iter(stream))  # the SDK read the body first
        with pytest.raises(fs.UsageError, match="no longer readable"):
            list(fs.from_sdk(stream))
