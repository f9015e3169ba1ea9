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

``GET /stream?prompt=...`` is the event stream; the server side is one line,
``StreamingResponse(fieldstream.to_sse(events), headers=fieldstream.SSE_HEADERS)``.
Query options for demos and tests (the page passes its own query string on):

    fail_after=N    cut the stream with an error after N events
    stall_after=N   let the upstream go quiet after N events (a slow model), until stopped
    speed=X         replay X times faster than recorded (default 1)

``GET /stats`` counts upstream calls: ``open``, ``completed``, ``closed_early``
(the client left or pressed Stop, and the upstream call was closed).
"""

from __future__ import annotations

import asyncio
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
    from starlette.routing import Route
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
STATS = {"started": 0, "open": 0, "completed": 0, "closed_early": 0}


class InjectedError(fieldstream.StreamError):
    """The error ``?fail_after=N`` injects, standing in for a provider that breaks off."""


def answer_stream(prompt: str, speed: float) -> fieldstream.AsyncAnswerStream[Any]:
    """The answer: from a live OpenAI-compatible endpoint, or a recording replayed at its pace."""
    if os.environ.get("OPENAI_API_KEY"):  # the key, and OPENAI_BASE_URL if set, are read from the environment
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return fieldstream.astream(
            None, Report, model=os.environ.get("FIELDSTREAM_MODEL", "gpt-4o-mini"), messages=messages
        )
    path = os.environ.get("FIELDSTREAM_RECORDING")
    if path:  # a recording of your own may be any provider format or shape
        return fieldstream.astream(fieldstream.Recording(path, speed=speed), None)
    return fieldstream.astream(fieldstream.Recording.bundled(speed=speed), Report)


async def upstream(
    answer: fieldstream.AsyncAnswerStream[Any], *, fail_after: int | None, stall_after: int | None
) -> AsyncIterator[Any]:
    """The answer's events; counts how the upstream call ended."""
    STATS["started"] += 1
    STATS["open"] += 1
    finished = False
    events = aiter(answer)
    try:
        count = 0
        async for event in events:
            if fail_after is not None and count >= fail_after:
                raise InjectedError(f"injected failure after {count} events (fail_after={fail_after})")
            if stall_after is not None and count >= stall_after:
                await asyncio.Event().wait()  # quiet until the client leaves
            count += 1
            yield event
        finished = True
    finally:
        await events.aclose()  # type: ignore[attr-defined]  # closes the HTTP response (or stops the replay)
        STATS["open"] -= 1
        if finished:
            STATS["completed"] += 1
        else:
            STATS["closed_early"] += 1
            log.warning("upstream closed before its end (client left, pressed Stop, or an error)")


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
    try:
        speed = _number(request, "speed", float, 1.0)
        fail_after = _number(request, "fail_after", int)
        stall_after = _number(request, "stall_after", int)
    except ValueError as exc:
        return PlainTextResponse(f"bad query option: {exc}", status_code=400)
    if speed <= 0:
        return PlainTextResponse("speed must be positive", status_code=400)
    answer = answer_stream(request.query_params.get("prompt", ""), speed)
    events = upstream(answer, fail_after=fail_after, stall_after=stall_after)
    frames = fieldstream.to_sse(events, keepalive=5.0, snapshot=lambda: last_good(answer))
    return StreamingResponse(frames, headers=fieldstream.SSE_HEADERS)


def last_good(answer: fieldstream.AsyncAnswerStream[Any]) -> Any:
    """The answer's last good partial value, for an error frame: its completed fields."""
    snapshot = answer.snapshot
    return snapshot.model_dump(mode="json", exclude_unset=True) if isinstance(snapshot, BaseModel) else snapshot


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
