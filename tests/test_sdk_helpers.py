"""The SDKs' own stream objects: helper streams (teed, their final message intact), raw and streaming responses.

Real SDK clients against the loopback server replaying corpus recordings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anthropic
import openai
import pytest
from pydantic import BaseModel

import fieldstream as fs
from fieldstream._recording import to_wire_bytes

from .sdk_clients import _close_clients, made, run  # noqa: F401 (an autouse fixture)
from .streamserver import Script, StreamServer, running

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"


class Location(BaseModel):
    city: str
    temperature: int
    units: Literal["c", "f"]


LOCATION = Location(city="San Francisco", temperature=61, units="f")


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def serve(server: StreamServer, route: str, name: str) -> None:
    path = CORPUS / name
    body = to_wire_bytes(path, path.read_bytes())
    server.serve(route, Script([body[i : i + 50] for i in range(0, len(body), 50)], delay=0.0005))


def openai_client(server: StreamServer) -> openai.OpenAI:
    return made(openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0))


def chat_stream(client: openai.OpenAI) -> Any:
    # The helper moved from client.beta.chat.completions (openai < 1.92) to client.chat.completions.
    return getattr(client.chat.completions, "stream", None) or client.beta.chat.completions.stream


#: openai's Responses helper stream needs a newer SDK than the lowest supported one.
RESPONSES_HELPER = tuple(int(x) for x in openai.__version__.split(".")[:2]) >= (1, 80)


def test_openai_chat_helper_stream_is_teed_and_its_final_completion_still_works(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    client = openai_client(server)
    with chat_stream(client)(model="gpt-4o", messages=[], response_format=Location) as helper:
        events = list(fs.from_sdk(helper, schema=Location))
        final = helper.get_final_completion()
    assert final.choices[0].message.parsed == LOCATION
    assert events[-1].values == {"choices[0]": LOCATION} and events[-1].usage["total_tokens"] > 0


def test_answer_helpers_take_the_helper_stream(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    with chat_stream(openai_client(server))(model="m", messages=[], response_format=Location) as helper:
        assert list(fs.iter_snapshots(helper, Location))[-1] == LOCATION
        assert helper.get_final_completion().choices[0].message.parsed == LOCATION


if RESPONSES_HELPER:  # where the installed openai has it (not at the lowest supported version)

    def test_openai_responses_helper_stream(server: StreamServer) -> None:
        serve(server, "/v1/responses", "openai_responses/llm_gpt4omini_json_schema_dog.sse")
        with openai_client(server).responses.stream(model="gpt-4o-mini", input="a dog") as helper:
            events = list(fs.from_sdk(helper))
            final = helper.get_final_response()
        done = [e for e in events if isinstance(e, fs.TargetCompleted)]
        assert done[0].value["name"] == "Barkley" and final.output_text == done[0].raw


def test_anthropic_message_stream_is_teed_and_get_final_message_still_works(server: StreamServer) -> None:
    serve(server, "/v1/messages", "anthropic_messages/ant_sdk_tool_use_get_weather.sse")
    client = made(anthropic.Anthropic(base_url=server.url(), api_key="sk-ant-test", max_retries=0))
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=100, messages=[]) as helper:
        events = list(fs.from_sdk(helper))
        message = helper.get_final_message()
    assert message.content[1].input == {"location": "Paris"}
    assert events[-1].values["content[1]"] == {"location": "Paris"} and events[-1].finish_reasons == {
        "message": "tool_use"
    }


def test_async_anthropic_message_stream(server: StreamServer) -> None:
    serve(server, "/v1/messages", "anthropic_messages/ant_sdk_tool_use_get_weather.sse")

    async def main() -> tuple[list[object], object]:
        async with (
            anthropic.AsyncAnthropic(base_url=server.url(), api_key="sk-ant-test", max_retries=0) as client,
            client.messages.stream(model="claude-sonnet-4-6", max_tokens=100, messages=[]) as helper,
        ):
            events = [e async for e in fs.afrom_sdk(helper)]
            message = await helper.get_final_message()
        await asyncio.sleep(0.05)  # older httpx closes the pooled transport on a later turn of the loop
        return events, message

    events, message = run(main())
    assert isinstance(events[-1], fs.StreamCompleted) and message.content[1].input == {"location": "Paris"}  # type: ignore[attr-defined]


def test_raw_and_streaming_responses(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    client = openai_client(server)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=[], stream=True)
    with fs.from_sdk(raw, schema=Location) as events:
        assert list(events)[-1].values == {"choices[0]": LOCATION}
    with client.chat.completions.with_streaming_response.create(model="m", messages=[], stream=True) as response:
        assert list(fs.iter_items(response))[:0] == [] and response.http_response.is_closed


def test_an_unentered_manager_says_what_to_pass(server: StreamServer) -> None:
    manager = chat_stream(openai_client(server))(model="m", messages=[])
    with pytest.raises(fs.UsageError, match="enter it"):
        fs.from_sdk(manager)
