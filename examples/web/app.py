"""To the browser: a page where the answer builds itself field by field.

Run it (one command; needs ``pip install 'fieldstream[web]'``)::

    python examples/web/app.py            # then open http://127.0.0.1:8000

Without configuration it replays the bundled recording of a real gpt-4o stream
with its recorded timing.  With ``OPENAI_API_KEY`` set it streams from the
OpenAI-compatible endpoint at ``OPENAI_BASE_URL`` (default
``https://api.openai.com/v1``), model ``FIELDSTREAM_MODEL`` (default ``gpt-4o-mini``).

``GET /stream?prompt=...`` is the event stream; the server side is one line,
``StreamingResponse(fieldstream.to_sse(events), headers=fieldstream.SSE_HEADERS)``.
Query options for demos and tests (the page passes its own query string on):

    fail_after=N    cut the stream with an error after N upstream chunks
    stall_after=N   let the upstream go quiet after N chunks (a slow model), until stopped
    speed=X         replay X times faster than recorded (default 1)

``GET /stats`` counts upstream calls: ``open``, ``completed``, ``closed_early``
(the client left or pressed Stop, and the upstream call was closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import fieldstream

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
    from starlette.routing import Route
except ImportError:  # pragma: no cover - the example's own install hint
    raise SystemExit("this example needs the web extra: pip install 'fieldstream[web]'") from None

log = logging.getLogger("fieldstream.web")

PAGE = Path(__file__).with_name("index.html")
#: The bundled recording (in the package) and its timing sidecar.
RECORDING = "openai_chat_weather"
SYSTEM = "Answer with one JSON object only."

#: Upstream calls, for the page's Stop button to be checkable from outside.
STATS = {"started": 0, "open": 0, "completed": 0, "closed_early": 0}


class InjectedError(fieldstream.StreamError):
    """The error ``?fail_after=N`` injects, standing in for a provider that breaks off."""


def recording() -> tuple[bytes, list[dict[str, float]]]:
    """The recording's bytes and its timing lines ``{"t": seconds, "n": bytes}``.

    The bundled one, or the ``.sse`` file named by ``FIELDSTREAM_RECORDING``
    (with its ``.timing.jsonl`` sidecar, or else one SSE event every 30 ms).
    """
    path = os.environ.get("FIELDSTREAM_RECORDING")
    if path:
        body = Path(path).read_bytes()
        sidecar = Path(path).with_suffix(".timing.jsonl")
        timing_text = sidecar.read_text() if sidecar.exists() else None
    else:
        data = resources.files("fieldstream").joinpath("_data")
        body = data.joinpath(f"{RECORDING}.sse").read_bytes()
        timing_text = data.joinpath(f"{RECORDING}.timing.jsonl").read_text()
    if timing_text is None:
        frames = body.split(b"\n\n")
        timing = [{"t": 0.03 * i, "n": len(f) + 2} for i, f in enumerate(frames)]
    else:
        timing = [json.loads(line) for line in timing_text.splitlines() if line.strip()]
    return body, timing


async def replay(speed: float) -> AsyncIterator[bytes]:
    """The recording's chunks, each at its recorded moment (divided by ``speed``)."""
    body, timing = recording()
    loop = asyncio.get_running_loop()
    start, offset = loop.time(), 0
    for step in timing:
        delay = start + step["t"] / speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        n = int(step["n"])
        yield body[offset : offset + n]
        offset += n
    if offset < len(body):
        yield body[offset:]


async def live(prompt: str) -> AsyncIterator[bytes]:
    """The raw body of a streamed chat completion from an OpenAI-compatible endpoint."""
    import httpx

    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    request = {
        "model": os.environ.get("FIELDSTREAM_MODEL", "gpt-4o-mini"),
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
    }
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    timeout = httpx.Timeout(600.0, connect=10.0)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            async with client.stream("POST", f"{base}/chat/completions", json=request, headers=headers) as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode("utf-8", "replace")
                    raise fieldstream.StreamError(f"the endpoint answered {response.status_code}: {body[:300]}")
                async for chunk in response.aiter_bytes():
                    yield chunk
    except httpx.HTTPError as exc:
        raise fieldstream.TransportError(f"{type(exc).__name__}: {exc}") from exc


async def upstream(
    prompt: str, decoder: Any, *, speed: float, fail_after: int | None, stall_after: int | None
) -> AsyncIterator[Any]:
    """Events decoded from the upstream body; counts how the upstream call ended."""
    source = live(prompt) if os.environ.get("OPENAI_API_KEY") else replay(speed)
    STATS["started"] += 1
    STATS["open"] += 1
    finished = False
    try:
        count = 0
        async for chunk in source:
            if fail_after is not None and count >= fail_after:
                raise InjectedError(f"injected failure after {count} upstream chunks (fail_after={fail_after})")
            if stall_after is not None and count >= stall_after:
                await asyncio.Event().wait()  # quiet until the client leaves
            count += 1
            for event in decoder.feed(chunk):
                yield event
        for event in decoder.close():
            yield event
        finished = True
    finally:
        await source.aclose()  # closes the HTTP response (or stops the replay)
        STATS["open"] -= 1
        if finished:
            STATS["completed"] += 1
        else:
            STATS["closed_early"] += 1
            log.warning("upstream closed before its end (client left, pressed Stop, or an error)")


def make_decoder() -> Any:
    """Chat-completion SSE bytes in, fieldstream events out."""
    if hasattr(fieldstream, "StreamDecoder"):
        return fieldstream.StreamDecoder("openai-chat")
    return _ChatContent()


class _ChatContent:
    """TEMPORARY until StreamDecoder lands: SSE data lines -> choices[0].delta.content -> Parser."""

    def __init__(self) -> None:
        self.parser = fieldstream.Parser()
        self.buffer = b""

    def feed(self, chunk: bytes) -> list[Any]:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        events: list[Any] = []
        for line in lines:
            if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                continue
            for choice in json.loads(line[5:]).get("choices", []):
                content = (choice.get("delta") or {}).get("content")
                if choice.get("index", 0) == 0 and content:
                    events.extend(self.parser.feed(content))
        return events

    def close(self) -> list[Any]:
        return self.parser.close()


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE.read_text("utf-8"))


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    return int(value) if value not in (None, "") else None


async def stream(request: Request) -> StreamingResponse:
    decoder = make_decoder()
    events = upstream(
        request.query_params.get("prompt", ""),
        decoder,
        speed=float(request.query_params.get("speed") or 1.0),
        fail_after=_int(request, "fail_after"),
        stall_after=_int(request, "stall_after"),
    )
    frames = fieldstream.to_sse(events, keepalive=5.0, snapshot=lambda: snapshot(decoder))
    return StreamingResponse(frames, headers=fieldstream.SSE_HEADERS)


def snapshot(decoder: Any) -> Any:
    """The last good partial value, for an error frame."""
    targets = getattr(decoder, "targets", None)
    return {str(k): v for k, v in targets.items()} if targets is not None else decoder.parser.snapshot


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(STATS)


app = Starlette(routes=[Route("/", index), Route("/stream", stream), Route("/stats", stats)])


def main(argv: list[str] | None = None) -> None:
    import argparse

    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    print(f"fieldstream web example on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
