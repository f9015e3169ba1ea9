"""To the browser: a page where the answer builds itself field by field.

Run it (one command; needs ``pip install 'fieldstream[web]'``)::

    python examples/web/app.py            # then open http://127.0.0.1:8000
    uvicorn examples.web.app:app          # the same, from the repository root

The answer is validated against ``Report`` field by field (``invalid`` events
mark a value that failed).  Without configuration it replays the bundled recording of a real gpt-4o stream
with its timing sidecar (synthesized for the bundled recording, which came
without timing; see ``src/fieldstream/_data/README.md``), or the recording named by
``FIELDSTREAM_RECORDING`` (any provider format, e.g. made with ``fieldstream record``).  With ``OPENAI_API_KEY`` set it streams from the
OpenAI-compatible endpoint at ``OPENAI_BASE_URL`` (default
``https://api.openai.com/v1``), model ``FIELDSTREAM_MODEL`` (default ``gpt-4o-mini``).

``GET /stream?prompt=...`` is the event stream, resumable: its frames go to a store, so
a dropped connection (or a page reload) continues where it was, ``POST /stop`` with
``{"stream": id}`` closes the upstream call, and the page is the packaged browser client
(``fieldstream.js``, served under ``/fieldstream/``).  The store is Redis when
``FIELDSTREAM_REDIS`` names one (``redis://127.0.0.1:6379/0``), shared by every server
process behind one port, so a reconnect may land on another process; without it, an
in-process store serves this one process (the single-instance fallback).  An unreachable
Redis stops the server at start with a clear message.
Query options for demos and tests (the page passes its own query string on):

    fail_after=N    cut the stream with an error after N events
    stall_after=N   let the upstream go quiet after N events (a slow model), until stopped
    speed=X         replay X times faster than recorded (default 1)
    throttle=S      send at most one batch of frames per S seconds (deltas coalesced)
    hold_after=N    pause the upstream after N events until ``POST /release`` (to cut a
                    connection, or reload the page, mid-answer at a known point)

``GET /stats`` counts upstream calls: ``open``, ``completed``, ``closed_early``
(Stop was pressed, no client came back within the grace period, or an error), and
``resumed`` (reconnects served by this process).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fieldstream

try:
    from pydantic import BaseModel
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
except ImportError:  # pragma: no cover - the example's own install hint
    raise SystemExit("this example needs the web extra: pip install 'fieldstream[web]'") from None

log = logging.getLogger("fieldstream.web")

PAGE = Path(__file__).with_name("index.html")
SYSTEM = "You report the weather as JSON: the place, the weather now, and a forecast for the next days."


class Now(BaseModel):
    temperature: str
    condition: str
    humidity: str
    windSpeed: str
    windDirection: str


class Day(BaseModel):
    day: str
    high: str
    low: str
    condition: str


class Report(BaseModel):
    """The answer's shape: each field is validated the moment it completes."""

    location: str
    weather: Now
    forecast: list[Day]


#: Upstream calls, for the page's Stop button to be checkable from outside.
STATS = {"started": 0, "open": 0, "completed": 0, "closed_early": 0, "resumed": 0}


def make_store() -> fieldstream.FrameStore:
    """Redis (``FIELDSTREAM_REDIS``) for several processes, else this process's memory."""
    grace = float(os.environ.get("FIELDSTREAM_GRACE", "30"))
    url = os.environ.get("FIELDSTREAM_REDIS")
    if url:
        return fieldstream.RedisStore(url, grace=grace)
    return fieldstream.MemoryStore(grace=grace)


STORE = make_store()
#: Set by ``POST /release``: upstreams paused by ``hold_after`` go on.
RELEASE = asyncio.Event()


class InjectedError(fieldstream.StreamError):
    """The error ``?fail_after=N`` injects, standing in for a provider that breaks off."""


def the_recording(speed: float | None) -> fieldstream.Recording:
    """The bundled recording, or the raw body file named by ``FIELDSTREAM_RECORDING``
    (made with ``fieldstream record``) with its ``NAME.timing.jsonl`` sidecar."""
    path = os.environ.get("FIELDSTREAM_RECORDING")
    return fieldstream.Recording(path, speed=speed) if path else fieldstream.Recording.bundled(speed=speed)


def recording() -> tuple[bytes, list[dict[str, float]]]:
    """The recording's bytes and its timing lines ``{"t": seconds, "n": bytes}``."""
    recorded = the_recording(None)
    return recorded.body, [{"t": t, "n": n} for t, n in recorded.timing or []]


async def replay(speed: float) -> AsyncIterator[bytes]:
    """The recording's chunks, each at its recorded moment (divided by ``speed``): fieldstream.Recording paces them."""
    async for chunk in the_recording(speed).achunks():
        yield chunk


async def replayed(decoder: fieldstream.StreamDecoder, speed: float) -> AsyncIterator[Any]:
    """Events of the replayed recording."""
    chunks = replay(speed)
    try:
        async for chunk in chunks:
            for event in decoder.feed(chunk):
                yield event
        for event in decoder.close():
            yield event
    finally:
        await chunks.aclose()


async def live(decoder: fieldstream.StreamDecoder, prompt: str) -> AsyncIterator[Any]:
    """Events of a streamed chat completion from an OpenAI-compatible endpoint."""
    import httpx

    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    request = {
        "model": os.environ.get("FIELDSTREAM_MODEL", "gpt-4o-mini"),
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "weather_report", "schema": Report.model_json_schema()},
        },
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
    }
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    url = f"{base}/chat/completions"
    # leaving this block (end, error, or the client went away) closes the response
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0)) as client,
        fieldstream.aconnect(client, "POST", url, decoder=decoder, json=request, headers=headers) as stream,
    ):
        async for event in stream:
            yield event


async def upstream(
    prompt: str,
    decoder: fieldstream.StreamDecoder,
    *,
    speed: float,
    fail_after: int | None,
    stall_after: int | None,
    hold_after: int | None = None,
) -> AsyncIterator[Any]:
    """The upstream's events; counts how the upstream call ended."""
    events = live(decoder, prompt) if os.environ.get("OPENAI_API_KEY") else replayed(decoder, speed)
    STATS["started"] += 1
    STATS["open"] += 1
    finished = False
    try:
        count = 0
        async for event in events:
            if fail_after is not None and count >= fail_after:
                raise InjectedError(f"injected failure after {count} events (fail_after={fail_after})")
            if stall_after is not None and count >= stall_after:
                await asyncio.Event().wait()  # quiet until the client leaves
            if hold_after is not None and count == hold_after:
                await RELEASE.wait()
            count += 1
            yield event
        finished = True
    finally:
        await events.aclose()  # closes the HTTP response (or stops the replay)
        STATS["open"] -= 1
        if finished:
            STATS["completed"] += 1
        else:
            STATS["closed_early"] += 1
            log.warning("upstream closed before its end (client left, pressed Stop, or an error)")


def make_decoder() -> fieldstream.StreamDecoder:
    """Provider bytes in, typed stream events out (a recording of your own may be any format or shape)."""
    if os.environ.get("OPENAI_API_KEY"):
        return fieldstream.StreamDecoder("openai-chat", schema=Report)
    if os.environ.get("FIELDSTREAM_RECORDING"):
        return fieldstream.StreamDecoder("auto")
    return fieldstream.StreamDecoder("openai-chat", schema=Report)


async def index(request: Request) -> HTMLResponse:
    if os.environ.get("OPENAI_API_KEY"):
        mode = f"Asking a live model ({os.environ.get('FIELDSTREAM_MODEL', 'gpt-4o-mini')})."
    else:
        mode = "Replaying a recorded stream with its timing; the prompt is not sent (set OPENAI_API_KEY)."
    return HTMLResponse(PAGE.read_text("utf-8").replace("{{mode}}", html.escape(mode)))


def _number(request: Request, name: str, kind: type, default: Any = None) -> Any:
    value = request.query_params.get(name)
    return kind(value) if value not in (None, "") else default


async def stream(request: Request) -> Response:
    # A reconnect (EventSource's own, or the client's Last-Event-ID) or a reloaded page continues
    # the stored stream, on whichever process it lands.
    last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if last:
        if fieldstream.parse_event_id(last) is None:
            return PlainTextResponse(f"not a stream position: {last!r}", status_code=400)
        STATS["resumed"] += 1
        return StreamingResponse(fieldstream.resume_sse(STORE, last, keepalive=5.0), headers=fieldstream.SSE_HEADERS)
    try:
        speed = _number(request, "speed", float, 1.0)
        fail_after = _number(request, "fail_after", int)
        stall_after = _number(request, "stall_after", int)
        throttle = _number(request, "throttle", float)
        hold_after = _number(request, "hold_after", int)
    except ValueError as exc:
        return PlainTextResponse(f"bad query option: {exc}", status_code=400)
    if speed <= 0 or (throttle is not None and throttle <= 0):
        return PlainTextResponse("speed and throttle must be positive", status_code=400)
    decoder = make_decoder()
    prompt = request.query_params.get("prompt", "")
    events = upstream(
        prompt, decoder, speed=speed, fail_after=fail_after, stall_after=stall_after, hold_after=hold_after
    )
    stream_id = fieldstream.new_stream_id()
    frames = fieldstream.to_sse(
        events,
        keepalive=5.0,
        snapshot=lambda: snapshot(decoder),
        store=STORE,
        stream_id=stream_id,
        throttle=throttle,
    )
    headers = {**fieldstream.SSE_HEADERS, "X-Fieldstream-Stream": stream_id}
    return StreamingResponse(frames, headers=headers)


async def stop(request: Request) -> JSONResponse:
    """The explicit Stop: close the stream's upstream call now, on whichever process runs it."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    stream_id = body.get("stream") if isinstance(body, dict) else None
    if not isinstance(stream_id, str) or fieldstream.parse_event_id(f"{stream_id}:0") is None:
        return JSONResponse({"error": 'send {"stream": "<stream id>"}'}, status_code=400)
    return JSONResponse({"stopped": await STORE.stop(stream_id)})


def snapshot(decoder: fieldstream.StreamDecoder) -> dict[str, Any]:
    """The last good partial value of each target, for an error frame."""
    return {str(source): target.snapshot for source, target in decoder.targets.items()}


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(STATS)


async def release(request: Request) -> JSONResponse:
    """Let upstreams paused by ``hold_after`` go on (in this process); later ones pause again."""
    global RELEASE
    RELEASE.set()
    RELEASE = asyncio.Event()
    return JSONResponse({"released": True})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if isinstance(STORE, fieldstream.RedisStore):
        await STORE.check()  # an unreachable Redis is a clear error now, not at the first request
    yield
    await STORE.aclose()


app = Starlette(
    routes=[
        Route("/", index),
        Route("/stream", stream),
        Route("/stop", stop, methods=["POST"]),
        Route("/stats", stats),
        Route("/release", release, methods=["POST"]),
        Mount("/fieldstream", app=fieldstream.client_app),  # the packaged browser client
    ],
    lifespan=lifespan,
)


async def check_redis(url: str) -> None:
    store = fieldstream.RedisStore(url)
    try:
        await store.check()
    finally:
        await store.aclose()


def main(argv: list[str] | None = None) -> None:
    import argparse

    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    print(f"fieldstream web example on http://{args.host}:{args.port}", file=sys.stderr)
    if isinstance(STORE, fieldstream.RedisStore):
        try:  # a store of its own: the server's store belongs to the server's event loop
            asyncio.run(check_redis(STORE.url or ""))
        except fieldstream.TransportError as exc:
            raise SystemExit(f"fieldstream web example: {exc}") from None
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
