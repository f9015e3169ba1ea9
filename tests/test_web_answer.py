"""Answer streams to the browser: to_sse(stream) and to_sse(aconnect(...)) in FastAPI/Starlette over real HTTP.

Two real servers on 127.0.0.1: the upstream (a StreamServer replaying a recorded
OpenAI stream) and the app under uvicorn; the test reads the app's SSE body with httpx.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import fieldstream as fs

from .asgi_server import parse_sse, serve
from .streamserver import Script, StreamServer, running, sse

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "tests" / "corpus" / "streams" / "openai_chat_completions" / "oai_py_json_schema_location.sse"
WAIT = 10.0


@pytest.fixture
def upstream() -> Iterator[StreamServer]:
    yield from running()


def replaying(upstream: StreamServer, delay: float = 0.001) -> None:
    body = RECORDING.read_bytes()
    upstream.serve("/v1/chat/completions", Script([body[i : i + 80] for i in range(0, len(body), 80)], delay=delay))


def load_example(monkeypatch: pytest.MonkeyPatch, upstream: StreamServer) -> Any:
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.url("/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    spec = importlib.util.spec_from_file_location("fastapi_app", ROOT / "examples" / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fastapi_example_streams_a_typed_answer(monkeypatch: pytest.MonkeyPatch, upstream: StreamServer) -> None:
    replaying(upstream)
    app = load_example(monkeypatch, upstream).app
    with serve(app) as base:
        response = httpx.get(f"{base}/weather", params={"q": "San Francisco"}, timeout=30)
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse_sse(response.text)
    records = [f["data"] for f in frames]
    assert [r["event"] for r in records[:1]] == ["delta"] and records[0]["path"] == "$.city"
    fields = {r["path"]: r["value"] for r in records if r["event"] == "field"}
    assert fields["$.temperature"] == 61 and fields["$"] == {"city": "San Francisco", "temperature": 61, "units": "f"}
    done = [r for r in records if r["event"] == "done"]
    assert done == [{"event": "done", "value": {"city": "San Francisco", "temperature": 61, "units": "f"}}]
    assert records[-1]["event"] == "end" and records[-1]["finish_reasons"] == {"choices[0]": "stop"}
    assert [int(f["id"]) for f in frames] == list(range(1, len(frames) + 1))
    assert upstream.last_visit().json["response_format"]["json_schema"]["name"] == "Location"


class Letters(BaseModel):
    a: str


class Location(BaseModel):
    city: str
    temperature: int
    units: str


def make_app(upstream: StreamServer) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    url = upstream.url("/v1/chat/completions")

    async def via_aconnect(request: Request) -> StreamingResponse:
        events = fs.aconnect(None, "POST", url, json={"stream": True})
        return StreamingResponse(fs.to_sse(events), headers=fs.SSE_HEADERS)

    async def via_connect(request: Request) -> StreamingResponse:  # sync: Starlette iterates it in a thread
        events = fs.connect(None, "POST", url, json={"stream": True})
        return StreamingResponse(fs.to_sse(events), headers=fs.SSE_HEADERS)

    async def via_sync_stream(request: Request) -> StreamingResponse:
        answer = fs.stream(upstream.url("/v1"), Letters, model="m", prompt="q")
        return StreamingResponse(fs.to_sse(answer), headers=fs.SSE_HEADERS)

    async def via_sync_location(request: Request) -> StreamingResponse:
        answer = fs.stream(upstream.url("/v1"), Location, model="m", prompt="q")
        return StreamingResponse(fs.to_sse(answer), headers=fs.SSE_HEADERS)

    async def via_astream(request: Request) -> StreamingResponse:
        answer = fs.astream(upstream.url("/v1"), Letters, model="m", prompt="q")
        return StreamingResponse(fs.to_sse(answer), headers=fs.SSE_HEADERS)

    routes = [Route("/aconnect", via_aconnect), Route("/connect", via_connect), Route("/sync", via_sync_stream)]
    routes += [Route("/astream", via_astream), Route("/sync-location", via_sync_location)]
    return Starlette(routes=routes)


@pytest.mark.parametrize("route", ["/aconnect", "/connect"])
def test_to_sse_takes_connect_and_aconnect_directly(upstream: StreamServer, route: str) -> None:
    replaying(upstream)
    with serve(make_app(upstream)) as base:
        records = [f["data"] for f in parse_sse(httpx.get(base + route, timeout=30).text)]
    assert records[0] == {"event": "start", "source": "choices[0]", "kind": "content", "id": None, "name": None}
    done = [r for r in records if r["event"] == "done"]
    assert done[0]["value"]["city"] == "San Francisco" and done[0]["source"] == "choices[0]"
    assert records[-1]["event"] == "end" and records[-1]["complete"] is True


def test_an_upstream_error_after_the_headers_is_an_error_frame(upstream: StreamServer) -> None:
    error = b'{"error": {"message": "Rate limit reached", "type": "requests"}}'
    upstream.serve("/v1/chat/completions", Script([error], status=429, content_type="application/json"))
    with serve(make_app(upstream)) as base:
        for route in ("/aconnect", "/sync", "/astream"):
            records = [f["data"] for f in parse_sse(httpx.get(base + route, timeout=30).text)]
            assert [r["event"] for r in records] == ["error"]
            assert "Rate limit reached" in records[0]["message"] and records[0]["exception"] == "StreamError"


def test_a_browser_going_away_closes_the_upstream(upstream: StreamServer) -> None:
    pieces = [{"choices": [{"index": 0, "delta": {"content": '{"a": "'}}]}]
    pieces += [{"choices": [{"index": 0, "delta": {"content": "xy"}}]}] * 3000
    upstream.serve("/v1/chat/completions", Script(sse(*pieces), delay=0.005))
    with serve(make_app(upstream)) as base:
        # Async sources only: Starlette never closes a sync iterator when the client leaves.
        for route in ("/aconnect", "/astream"):
            before = len(upstream.visits)
            with httpx.stream("GET", base + route, timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("data:") and '"delta"' in line:
                        break
            deadline = time.monotonic() + WAIT
            while len(upstream.visits) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert upstream.visits[-1].disconnected.wait(WAIT), route


def test_to_sse_takes_a_sync_answer_stream(upstream: StreamServer) -> None:
    replaying(upstream)
    with serve(make_app(upstream)) as base:
        records = [f["data"] for f in parse_sse(httpx.get(base + "/sync-location", timeout=30).text)]
    assert records[-2] == {"event": "done", "value": {"city": "San Francisco", "temperature": 61, "units": "f"}}
    assert records[-1]["event"] == "end" and "source" not in records[0]


def test_an_answer_stream_in_every_protocol_rebuilds_the_answer() -> None:
    import jsonpatch

    class Now(BaseModel):
        temperature: str
        condition: str

    class Report(BaseModel):
        location: str
        weather: Now

    def answer() -> fs.AnswerStream[Report]:
        return fs.stream(fs.Recording.bundled(speed=None), Report)

    final = answer().final.model_dump(mode="json")
    document: Any = None
    for frame in parse_sse(b"".join(fs.to_sse(answer(), protocol="json-patch")).decode()):
        if frame.get("event") == "patch":
            document = jsonpatch.apply_patch(document, [op for op in frame["data"] if op["op"] != "append"])
            for op in (op for op in frame["data"] if op["op"] == "append"):  # fieldstream's string append
                parent, _, key = op["path"].rpartition("/")
                target = jsonpatch.JsonPointer(parent).resolve(document) if parent else document
                target[key] += op["value"]
    assert document == final
    for protocol in fs.PROTOCOLS:  # every protocol takes an answer stream to its end
        frames = [f for f in b"".join(fs.to_sse(answer(), protocol=protocol)).split(b"\n\n") if f.strip()]
        assert len(frames) > 5 and not any(b"event: error" in f for f in frames), protocol
