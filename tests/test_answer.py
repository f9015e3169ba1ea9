"""fieldstream.stream()/astream(): requests built from a type, answer events, .final, closing, composing.

Real HTTP throughout: a loopback server replays corpus recordings (tests/corpus/streams)
and records what it was sent and when the client hung up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import anthropic
import httpx
import ollama
import openai
import pytest
from pydantic import BaseModel

import fieldstream as fs
from fieldstream._recording import to_wire_bytes

from .sdk_clients import _close_clients, made, run  # noqa: F401 (an autouse fixture)
from .streamserver import Script, StreamServer, running, sse

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
WAIT = 10.0


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def body_of(name: str) -> bytes:
    path = CORPUS / name
    return to_wire_bytes(path, path.read_bytes())


def serve(server: StreamServer, route: str, name: str, *, size: int = 61, delay: float = 0.0005) -> None:
    body = body_of(name)
    server.serve(route, Script([body[i : i + size] for i in range(0, len(body), size)], delay=delay))


class Location(BaseModel):
    city: str
    temperature: int
    units: Literal["c", "f"]


class StrictUnits(BaseModel):
    city: str
    temperature: int
    units: Literal["c"]


class Answer(BaseModel):
    label: str
    answer: str


class FinalResult(BaseModel):
    answers: list[Answer]


# -- the answer events, .final, usage, finish reason ---------------------------------


def test_answer_events_are_the_parsers_events_with_paths_inside_the_answer(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    with fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="weather in SF") as answer:
        events = list(answer)
    text = '{"city":"San Francisco","temperature":61,"units":"f"}'
    parser_events = fs.Parser(Location).feed(text)
    core = [e for e in events if isinstance(e, fs.Event)]
    joined = "".join(e.text for e in core if isinstance(e, fs.StringDelta))
    assert joined == "San Francisco"  # units is a Literal: it completes whole
    assert [e for e in core if not isinstance(e, fs.StringDelta)] == [
        e for e in parser_events if not isinstance(e, fs.StringDelta)
    ]
    assert isinstance(events[-1], fs.StreamCompleted)
    assert answer.final == Location(city="San Francisco", temperature=61, units="f")
    assert answer.snapshot == answer.final and answer.text == text
    assert answer.finish_reason == "stop" and answer.usage is not None and answer.usage["total_tokens"] > 0
    assert isinstance(answer.decoder, fs.StreamDecoder) and answer.done
    sent = server.last_visit()
    assert sent.json["messages"] == [{"role": "user", "content": "weather in SF"}]
    assert sent.json["response_format"]["json_schema"]["strict"] is True


def test_final_reads_the_rest_and_the_stream_iterates_once(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    answer = fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="x")
    assert repr(answer) == "<AnswerStream openai-chat not started>" and server.visits == []
    assert answer.final.city == "San Francisco"
    with pytest.raises(fs.UsageError, match="only once"):
        iter(answer)


def test_the_tool_way_answers_with_the_forced_tools_arguments(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/pai_gpt4o_final_result_structured.sse")
    answer = fs.stream(server.url("/v1"), FinalResult, via="tool", name="final_result", model="gpt-4o", prompt="q")
    events = list(answer)
    assert isinstance(answer.final, FinalResult) and answer.final.answers[0].answer == "Mexico City"
    items = [e for e in events if isinstance(e, fs.ItemCompleted) and e.path[:1] == ("answers",)]
    assert [type(e.value) for e in items] == [Answer] * len(answer.final.answers)
    sent = server.last_visit().json
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "final_result"}}
    assert "response_format" not in sent and sent["tools"][0]["function"]["name"] == "final_result"


class GetWeatherArgs(BaseModel):
    """Get the weather."""

    city: str
    country: str
    units: Literal["c", "f"] = "c"


def get_stock_price(ticker: str, exchange: str) -> float:
    """Look up a stock price."""
    return 0.0


def test_tool_calls_stream_as_typed_targets_by_name_with_their_id(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_tools_parallel_two.sse")
    answer = fs.stream(server.url("/v1"), None, tools=[GetWeatherArgs, get_stock_price], model="gpt-4o", prompt="q")
    events = list(answer)
    starts = [e.source for e in events if isinstance(e, fs.TargetStarted)]
    assert [(s.name, s.kind) for s in starts] == [("GetWeatherArgs", "tool_call"), ("get_stock_price", "tool_call")]
    assert all(s.id for s in starts)
    weather, stock = answer.tool_calls
    assert weather.value == GetWeatherArgs(city="Edinburgh", country="GB", units="c")
    assert stock.value.ticker == "AAPL" and stock.value.exchange == "NASDAQ"
    sent = server.last_visit().json
    assert [t["function"]["name"] for t in sent["tools"]] == ["GetWeatherArgs", "get_stock_price"]
    assert sent["tools"][1]["function"]["description"] == "Look up a stock price."
    with pytest.raises(fs.StreamError, match="no answer"):
        _ = answer.final


def test_other_choices_stay_reachable_as_stream_events(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_n3_choices.sse")
    answer = fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="q", n=3)
    events = list(answer)
    others = {e.source.path for e in events if isinstance(e, fs.TargetCompleted)}
    assert others == {"choices[1]", "choices[2]"}
    assert answer.final.temperature == 65


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("oai_py_json_schema_refusal.sse", fs.StreamError, "Refused"),
        ("oai_py_json_schema_max_tokens_1.sse", fs.StreamError, "Truncated"),
        ("oai_py_parse_nothing.sse", fs.StreamError, "Malformed"),
    ],
)
def test_final_raises_a_typed_error_carrying_what_arrived(
    server: StreamServer, name: str, error: type[Exception], match: str
) -> None:
    serve(server, "/v1/chat/completions", f"openai_chat_completions/{name}")
    answer = fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="q")
    events = list(answer)  # faults are events; .final is where they become an exception
    assert any(isinstance(e, fs.Fault) for e in events)
    with pytest.raises(error, match=match) as info:
        _ = answer.final
    assert isinstance(info.value, fs.StreamError)
    if "refusal" in name:
        assert info.value.provider_message.startswith("I'm sorry")
    if "max_tokens" in name:
        assert info.value.raw == '{"' and answer.finish_reason == "length"


def test_an_invalid_answer_is_a_schema_error_with_the_errors_and_the_text(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    answer = fs.stream(server.url("/v1"), StrictUnits, model="gpt-4o", prompt="q")
    events = list(answer)
    assert [e.path_text for e in events if isinstance(e, fs.ValueInvalid)] == ["$.units", "$"]
    with pytest.raises(fs.SchemaError) as info:
        _ = answer.final
    assert info.value.errors[0]["loc"] == ("units",) and info.value.raw.startswith('{"city"')  # type: ignore[attr-defined]


def test_http_errors_raise_stream_error_on_iteration(server: StreamServer) -> None:
    error = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
    server.serve("/v1/chat/completions", Script([error], status=401, content_type="application/json"))
    answer = fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="q")
    with pytest.raises(fs.StreamError, match="Incorrect API key") as info:
        list(answer)
    assert info.value.status_code == 401


# -- official SDK clients ------------------------------------------------------------------


def test_openai_sdk_client_sends_and_the_bytes_are_decoded(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse")
    client = made(openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0))
    answer = fs.stream(client, Location, model="gpt-4o", prompt="q")
    assert answer.final.units == "f"
    headers = {k.lower(): v for k, v in server.last_visit().headers.items()}
    assert headers["authorization"] == "Bearer sk-test"


def test_azure_openai_client(server: StreamServer) -> None:
    serve(
        server, "/openai/deployments/gpt-4o/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse"
    )
    client = made(
        openai.AzureOpenAI(azure_endpoint=server.url(), api_key="az-test", api_version="2024-10-21", max_retries=0)
    )
    assert fs.stream(client, Location, model="gpt-4o", prompt="q").final.city == "San Francisco"
    visit = server.last_visit()
    assert visit.path.endswith("?api-version=2024-10-21") and visit.json["response_format"]["type"] == "json_schema"


def test_sdk_errors_become_fieldstreams(server: StreamServer) -> None:
    error = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
    server.serve("/v1/chat/completions", Script([error], status=401, content_type="application/json"))
    client = made(openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0))
    with pytest.raises(fs.StreamError, match="Incorrect API key") as info:
        _ = fs.stream(client, Location, model="gpt-4o", prompt="q").final
    assert info.value.status_code == 401
    dead = made(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test", max_retries=0))
    with pytest.raises(fs.TransportError):
        _ = fs.stream(dead, Location, model="gpt-4o", prompt="q").final


def test_async_clients(server: StreamServer) -> None:
    serve(server, "/v1/messages", "anthropic_messages/ant_sdk_structured_output_int_array.sse")

    async def main() -> tuple[list[int], list[int]]:
        # The client is closed inside the loop: its pooled connection must not outlive asyncio.run().
        async with (
            anthropic.AsyncAnthropic(base_url=server.url(), api_key="sk-ant-test", max_retries=0) as client,
            fs.astream(client, list[int], model="claude-sonnet-4-6", prompt="two numbers") as answer,
        ):
            items = [e.value async for e in answer if isinstance(e, fs.ItemCompleted)]
        async with httpx.AsyncClient(base_url=server.url()) as http:
            again = await fs.astream(http, list[int], provider="anthropic", model="m", prompt="q").get_final()
        return items, again

    items, again = run(main())
    assert items == [12345, 67890] == again
    sent = server.last_visit()
    assert sent.json["output_config"]["format"]["schema"] == {"type": "array", "items": {"type": "integer"}}
    assert sent.headers["anthropic-version"] == "2023-06-01"


def test_sync_and_async_are_not_mixed(server: StreamServer) -> None:
    with pytest.raises(fs.UsageError, match="astream"):
        fs.stream(openai.AsyncOpenAI(api_key="k", base_url=server.url("/v1")), Location, model="m")
    with pytest.raises(fs.UsageError, match=r"stream\(\)"):
        fs.astream(made(openai.OpenAI(api_key="k", base_url=server.url("/v1"))), Location, model="m")


# -- closing the upstream call on every way out ---------------------------------------------


def slow_stream(server: StreamServer) -> None:
    pieces = [{"choices": [{"index": 0, "delta": {"content": '{"city": "'}}]}]
    pieces += [{"choices": [{"index": 0, "delta": {"content": "ab"}}]}] * 2000
    server.serve("/v1/chat/completions", Script(sse(*pieces), delay=0.005))


def test_breaking_out_closes_the_upstream(server: StreamServer) -> None:
    slow_stream(server)
    with fs.stream(server.url("/v1"), Location, model="m", prompt="q") as answer:
        for event in answer:
            if isinstance(event, fs.StringDelta):
                break
    assert server.last_visit().disconnected.wait(WAIT)
    assert answer.text.startswith('{"city": "ab')  # what arrived before the break
    assert [(type(f), f.reason) for f in answer.decoder.faults] == [(fs.Truncated, "cancelled")]


def test_an_exception_in_the_loop_closes_the_upstream_sdk_client(server: StreamServer) -> None:
    slow_stream(server)
    client = made(openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0))
    with pytest.raises(KeyError), fs.stream(client, Location, model="m", prompt="q") as answer:
        for _ in answer:
            raise KeyError("stop")
    assert server.last_visit().disconnected.wait(WAIT)


def test_cancelling_the_task_closes_the_upstream(server: StreamServer) -> None:
    slow_stream(server)

    async def main() -> None:
        seen = asyncio.Event()

        async def consume() -> None:
            async for event in fs.astream(server.url("/v1"), Location, model="m", prompt="q"):
                if isinstance(event, fs.StringDelta):
                    seen.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(seen.wait(), WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert server.last_visit().disconnected.wait(WAIT)


# -- recording and replaying -----------------------------------------------------------------


def test_record_then_replay_gives_the_same_events(server: StreamServer, tmp_path: Path) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_location.sse", delay=0.002)
    target = tmp_path / "location.sse"
    live = list(fs.stream(server.url("/v1"), Location, model="m", prompt="q", record_to=target))
    assert target.read_bytes() == body_of("openai_chat_completions/oai_py_json_schema_location.sse")
    timing = [json.loads(line) for line in (tmp_path / "location.sse.timing.jsonl").read_text().splitlines()]
    assert sum(t["n"] for t in timing) == len(target.read_bytes()) and timing == sorted(timing, key=lambda t: t["t"])
    replayed = list(fs.stream(fs.Recording(target, speed=None), Location))
    assert replayed == live
    assert fs.Recording(target, speed=None, chunk_size=7).timing is not None  # the sidecar wins...
    paced = fs.Recording(target, sidecar=False, chunk_size=7, gap=0.0)  # ...unless a fixed pace is asked for
    assert [len(c) for c in paced.chunks()][:2] == [7, 7]
    assert list(fs.stream(paced, Location)) == live


def test_a_recording_sends_nothing_and_detects_its_format() -> None:
    answer = fs.stream(fs.Recording(CORPUS / "gemini" / "pai_gemini3_json_schema_text.sse", speed=None), dict)
    assert answer.final == {"city": "Mexico City", "country": "Mexico"}
    with pytest.raises(fs.UsageError, match="sends nothing"):
        fs.stream(fs.Recording.bundled(), dict, model="m")


# -- composing: iter_snapshots, iter_items, provider streams -------------------------------------


def test_iter_helpers_take_answer_streams_and_provider_streams(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/pai_gpt4o_final_result_structured.sse")
    answer = fs.stream(server.url("/v1"), FinalResult, via="tool", name="final_result", model="m", prompt="q")
    snapshots = [s.model_copy(deep=True) for s in fs.iter_snapshots(answer)]
    assert snapshots[-1] == answer.final and len(snapshots) > 10

    url = server.url("/v1/chat/completions")
    items = list(fs.iter_items(fs.connect(None, "POST", url, json={}), dict))  # a connect() result, not entered
    assert items == []  # the tool call is not the answer: nothing in the content
    with fs.connect(None, "POST", url, json={}, tools={"final_result": FinalResult}) as events:
        assert list(fs.iter_snapshots(events)) == []

    serve(server, "/v1/chat/completions", "openai_chat_completions/oai_py_json_schema_n3_choices.sse")
    client = made(openai.OpenAI(base_url=server.url("/v1"), api_key="sk-test", max_retries=0))
    sdk_stream = client.chat.completions.create(model="m", messages=[], stream=True)
    snaps = list(fs.iter_snapshots(sdk_stream, Location))
    assert snaps[-1] == Location(city="San Francisco", temperature=65, units="f")


def test_async_iter_helpers_take_answer_streams_and_aconnect(server: StreamServer) -> None:
    serve(server, "/v1/chat/completions", "openai_chat_completions/pai_gpt4o_final_result_structured.sse")

    async def main() -> tuple[list[Answer], list[object]]:
        answer = fs.astream(server.url("/v1"), FinalResult, via="tool", name="final_result", model="m", prompt="q")
        snapshots = [s.model_copy(deep=True) async for s in fs.aiter_snapshots(answer)]
        assert snapshots[-1] == await answer.get_final()
        url = server.url("/v1/chat/completions")
        items = [i async for i in fs.aiter_items(fs.aconnect(None, "POST", url, json={}))]
        return snapshots[-1].answers, items

    answers, items = run(main())
    assert answers[0] == Answer(label="Capital of the country", answer="Mexico City") and items == []


class Country(BaseModel):
    name: str
    capital: str
    languages: list[str]


def test_the_ollama_client_is_teed_chunk_by_chunk(server: StreamServer, tmp_path: Path) -> None:
    from .test_main_job import OLLAMA_BODY

    server.serve("/api/chat", Script([OLLAMA_BODY], content_type="application/x-ndjson", delay=0.001))
    target = tmp_path / "canada.ndjson"
    answer = fs.stream(
        made(ollama.Client(host=server.url())), Country, model="llama3.2", prompt="Canada", record_to=target
    )
    events = list(answer)
    assert answer.final == Country(name="Canada", capital="Ottawa", languages=["English", "French"])
    assert answer.finish_reason == "stop" and answer.usage is not None
    sent = server.last_visit().json
    assert sent["format"] == Country.model_json_schema() and sent["stream"] is True
    assert list(fs.stream(fs.Recording(target, speed=None), Country)) == events  # recorded as NDJSON lines

    async def main() -> Country:
        client = ollama.AsyncClient(host=server.url())
        try:
            return await fs.astream(client, Country, model="m", prompt="q").get_final()
        finally:  # its pooled connection must not outlive the loop (a ResourceWarning in a later test)
            await client._client.aclose()

    assert run(main()) == answer.final
    server.serve(
        "/api/chat", Script([b'{"error": "model \'m\' not found"}'], status=404, content_type="application/json")
    )
    with pytest.raises(fs.StreamError, match="not found") as info:
        _ = fs.stream(made(ollama.Client(host=server.url())), Country, model="m", prompt="q").final
    assert info.value.status_code == 404


class Weather(BaseModel):
    location: str
    temperature: int
    condition: str


class Elements(BaseModel):
    elements: list[Weather]


class Ingredient(BaseModel):
    amount: str
    name: str


class Recipe(BaseModel):
    name: str
    ingredients: list[Ingredient]
    steps: list[str]


class Cook(BaseModel):
    recipe: Recipe


class Result(BaseModel):
    result: int


TOOL_WAY = [
    ("anthropic", "/v1/messages", "anthropic_messages/vercel_haiku45_json_tool.chunks.jsonl", "json", Elements),
    ("gemini", "/v1beta/models/m:streamGenerateContent", "gemini/vercel_gemini_partial_args_nested.chunks.jsonl",
     "cookRecipe", Cook),
    ("openai-responses", "/v1/responses", "openai_responses/pai_responses_final_result_tool.sse", "final_result",
     Result),
]  # fmt: skip


@pytest.mark.parametrize(("provider", "route", "name", "tool", "output_type"), TOOL_WAY, ids=[c[0] for c in TOOL_WAY])
def test_the_tool_way_per_provider(
    server: StreamServer, provider: str, route: str, name: str, tool: str, output_type: type[BaseModel]
) -> None:
    serve(server, route, name)
    base = server.url("/v1") if provider.startswith("openai") else server.url()
    answer = fs.stream(base, output_type, provider=provider, via="tool", name=tool, model="m", prompt="q")
    events = list(answer)
    assert isinstance(answer.final, output_type)
    assert isinstance(events[-2], fs.DocumentCompleted) or any(isinstance(e, fs.DocumentCompleted) for e in events)
    replayed = fs.stream(fs.Recording(CORPUS / name, speed=None), output_type, via="tool", name=tool)
    assert replayed.final == answer.final  # a recording of the tool way is read the same way
    sent = server.last_visit().json
    forced = {
        "anthropic": lambda b: b["tool_choice"] == {"type": "tool", "name": tool},
        "gemini": lambda b: b["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == [tool],
        "openai-responses": lambda b: b["tool_choice"] == {"type": "function", "name": tool},
    }
    assert forced[provider](sent)


def test_close_mid_loop_closes_the_upstream(server: StreamServer) -> None:
    slow_stream(server)
    answer = fs.stream(server.url("/v1"), Location, model="m", prompt="q")
    for event in answer:
        if isinstance(event, fs.StringDelta):
            answer.close()
            break
    assert server.last_visit().disconnected.wait(WAIT)
    answer.close()  # twice is fine


def test_recording_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(fs.UsageError, match="cannot read the recording"):
        fs.Recording(tmp_path / "missing.sse")
    with pytest.raises(fs.UsageError, match="speed must be"):
        fs.Recording.bundled(speed=0)
    with pytest.raises(fs.UsageError, match="chunk_size"):
        fs.Recording(CORPUS / "gemini" / "pai_gemini2_text.sse", chunk_size=0)
    bad = tmp_path / "bad.sse"
    bad.write_bytes(b"data: {}\n\n")
    (tmp_path / "bad.sse.timing.jsonl").write_text("not json\n")
    with pytest.raises(fs.UsageError, match="expected"):
        fs.Recording(bad)
    assert repr(fs.Recording.bundled(speed=None)).startswith("<Recording openai_chat_json_object.sse")


class CityLocation(BaseModel):
    city: str
    country: str


try:
    from google import genai
except ImportError:  # the gemini extra (google-genai) is not in the test extra: its lowest versions need newer
    genai = None  # pydantic and httpx than the suite's floors.  Where it is installed, this test runs.

if genai is not None:

    def test_the_google_genai_client_is_teed_chunk_by_chunk(server: StreamServer) -> None:
        for version in ("v1", "v1beta"):  # the SDK's default API version changes between releases
            serve(
                server,
                f"/{version}/models/gemini-3-flash-preview:streamGenerateContent",
                "gemini/pai_gemini3_json_schema_text.sse",
            )
        client = made(genai.Client(api_key="g-test", http_options={"base_url": server.url()}))
        answer = fs.stream(client, CityLocation, model="gemini-3-flash-preview", prompt="Where?")
        events = list(answer)
        assert answer.final == CityLocation(city="Mexico City", country="Mexico") and answer.finish_reason == "STOP"
        assert [e for e in events if isinstance(e, fs.DocumentCompleted)][0].value == answer.final
        sent = server.last_visit()
        assert sent.json["generationConfig"]["responseJsonSchema"] == CityLocation.model_json_schema()
        assert sent.json["contents"] == [{"role": "user", "parts": [{"text": "Where?"}]}]

        async def main() -> CityLocation:
            stream = fs.astream(client.aio, CityLocation, model="gemini-3-flash-preview", prompt="Where?")
            return await stream.get_final()

        assert run(main()) == answer.final
        with pytest.raises(fs.StreamError, match="no such route") as info:
            _ = fs.stream(client, CityLocation, model="missing", prompt="q").final
        assert info.value.status_code == 404
