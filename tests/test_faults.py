"""Faults against a real server on 127.0.0.1: each gives a typed error with the partial result intact.

For every fault the application sees a fieldstream error (raised, or a ``Fault``
event that ``raise_for_faults()`` raises) carrying the provider's message where it
sent one, the last good snapshot and the raw text received; and every event
emitted before the fault agrees with that snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import fieldstream as fs

from .streamserver import Script, StreamServer, running

CONTENT = '{"city": "Lisbon", "days": [1, 2, 3], "note": "sunny and warm"}'
CUT = 34  # CONTENT[:CUT] == '{"city": "Lisbon", "days": [1, 2, '
PARTIAL = {"city": "Lisbon", "days": [1, 2]}


def chat(text: str) -> bytes:
    chunk = {"object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def pieces(text: str, size: int = 6) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def chat_body(text: str) -> list[bytes]:
    return [chat(piece) for piece in pieces(text)]


def anthropic(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_body(text: str) -> list[bytes]:
    head = [
        anthropic("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude"}}),
        anthropic("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]  # fmt: skip
    deltas = [
        anthropic("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
        for p in pieces(text)
    ]  # fmt: skip
    return head + deltas


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def consume(server: StreamServer, path: str, **options: Any) -> tuple[list[Any], BaseException | None, Any]:
    """Stream ``path`` through ``fs.connect``; the events seen, the error raised, the decoder."""
    events: list[Any] = []
    stream = None
    try:
        with fs.connect(None, "POST", server.url(path), **options) as stream:
            events.extend(stream)
    except fs.FieldstreamError as exc:
        return events, exc, stream.decoder if stream else None
    return events, None, stream.decoder if stream else None


def assert_not_contradicted(events: list[Any], snapshot: Any) -> None:
    """Whatever was emitted for the content target agrees with the last good snapshot."""
    texts: dict[tuple, str] = {}
    for e in events:
        if isinstance(e, fs.TargetEvent):
            inner = e.event
            if isinstance(inner, fs.StringDelta):
                texts[inner.path] = texts.get(inner.path, "") + inner.text
            elif isinstance(inner, fs.ValueCompleted):
                value = snapshot
                for step in inner.path:
                    value = value[step]
                assert value == inner.value, (inner, snapshot)
    for path, text in texts.items():
        value = snapshot
        for step in path:
            value = value[step]
        assert value.startswith(text)


# -- the wire fails --------------------------------------------------------------


@pytest.mark.parametrize("body", [chat_body, anthropic_body], ids=["openai", "anthropic"])
def test_reset_mid_json(server: StreamServer, body: Any) -> None:
    server.serve("/v1/stream", Script(body(CONTENT[:CUT]), delay=0.002, end="reset"))
    events, error, _ = consume(server, "/v1/stream")
    assert type(error) is fs.TransportError
    (snapshot,) = error.snapshot.values()
    assert snapshot == PARTIAL and error.raw == CONTENT[:CUT]
    assert_not_contradicted(events, snapshot)


def test_reset_mid_json_async(server: StreamServer) -> None:
    server.serve("/v1/stream", Script(chat_body(CONTENT[:CUT]), delay=0.002, end="reset"))
    events: list[Any] = []

    async def main() -> None:
        async with fs.aconnect(None, "POST", server.url("/v1/stream")) as stream:
            async for event in stream:
                events.append(event)

    with pytest.raises(fs.TransportError) as info:
        asyncio.run(main())
    assert info.value.snapshot == {"choices[0]": PARTIAL} and info.value.raw == CONTENT[:CUT]
    assert_not_contradicted(events, PARTIAL)


def test_stall_is_a_read_timeout(server: StreamServer) -> None:
    server.serve("/v1/stream", Script(chat_body(CONTENT[:CUT]), delay=0.002, end="stall"))
    events, error, _ = consume(server, "/v1/stream", timeout=0.5)
    assert type(error) is fs.TransportError and "ReadTimeout" in str(error)
    assert error.snapshot == {"choices[0]": PARTIAL} and error.raw == CONTENT[:CUT]
    assert_not_contradicted(events, PARTIAL)


# -- the provider says no ------------------------------------------------------------

ERROR_BODIES = [
    # (status, body, the provider's words)
    (400, {"error": {"message": "Invalid schema for response_format", "type": "invalid_request_error"}},
     "Invalid schema for response_format"),  # OpenAI
    (500, {"error": {"message": "The server had an error", "type": "server_error"}}, "The server had an error"),
    (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}, "Rate limited"),  # Anthropic
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "Overloaded"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "message"), ERROR_BODIES)
def test_error_status_with_a_provider_json_body(server: StreamServer, status: int, body: Any, message: str) -> None:
    server.serve("/v1/stream", Script([json.dumps(body).encode()], status=status, content_type="application/json"))
    events, error, _ = consume(server, "/v1/stream")
    assert type(error) is fs.StreamError and events == []
    assert error.status_code == status and error.provider_message == message


def test_error_event_mid_stream_keeps_the_partial_result(server: StreamServer) -> None:
    overloaded = anthropic("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    server.serve("/v1/messages", Script([*anthropic_body(CONTENT[:CUT]), overloaded], delay=0.002))
    events, error, decoder = consume(server, "/v1/messages")
    assert error is None  # in-band faults are events; raise_for_faults() makes them an exception
    fault = next(e for e in events if isinstance(e, fs.ErrorReceived))
    assert fault.message == "Overloaded" and fault.error_type == "overloaded_error"
    truncated = next(e for e in events if isinstance(e, fs.Truncated))
    assert truncated.snapshot == PARTIAL and truncated.raw == CONTENT[:CUT]
    with pytest.raises(fs.StreamError) as info:
        decoder.raise_for_faults()
    assert info.value.provider_message == "Overloaded"
    assert_not_contradicted(events, PARTIAL)


# -- the body is not what was promised --------------------------------------------------


def test_200_with_an_html_content_type(server: StreamServer) -> None:
    page = b"<!doctype html><html><body>Please sign in</body></html>"
    server.serve("/v1/stream", Script([page], content_type="text/html; charset=utf-8"))
    _, error, _ = consume(server, "/v1/stream")
    assert type(error) is fs.StreamError and error.status_code == 200 and "text/html" in str(error)


def test_200_with_an_html_body_labelled_as_a_stream(server: StreamServer) -> None:
    # A proxy's login page sent as text/event-stream: a Malformed fault with the text.
    page = "<!doctype html><html><body>Please sign in</body></html>"
    server.serve("/v1/stream", Script([page.encode()]))
    events, error, decoder = consume(server, "/v1/stream")
    assert error is None
    fault = next(e for e in events if isinstance(e, fs.Malformed))
    assert fault.raw == page and "not a provider stream" in fault.message
    with pytest.raises(fs.StreamError, match="not a provider stream") as info:
        decoder.raise_for_faults()
    assert info.value.raw == page


def test_invalid_utf8_in_an_sse_stream_is_replaced(server: StreamServer) -> None:
    # The SSE standard decodes with replacement: the stream goes on, the damage is visible.
    body = chat_body('{"city": "Lis') + [b'data: {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "\xff"}}]}\n\n'] + chat_body('bon"}') + [b"data: [DONE]\n\n"]  # fmt: skip
    server.serve("/v1/stream", Script(body, delay=0.001))
    events, error, _ = consume(server, "/v1/stream")
    assert error is None
    done = next(e for e in events if isinstance(e, fs.TargetCompleted))
    assert done.value == {"city": "Lis\ufffdbon"}


def test_invalid_utf8_in_a_bare_json_body_is_a_parse_error_with_the_prefix(server: StreamServer) -> None:
    server.serve("/doc.json", Script([b'{"city": "Lisbon", "days": [1, 2, ', b'"\xff"]}'], delay=0.001, content_type="application/json"))  # fmt: skip
    events, error, _ = consume(server, "/doc.json", decoder=fs.Parser())
    assert type(error) is fs.ParseError and "invalid UTF-8" in str(error)
    assert error.snapshot == {"city": "Lisbon", "days": [1, 2, ""]}
    assert fs.ValueCompleted(("city",), "Lisbon") in events


@pytest.mark.parametrize("body", [chat_body, anthropic_body], ids=["openai", "anthropic"])
def test_stream_ends_without_its_terminator_mid_json(server: StreamServer, body: Any) -> None:
    server.serve("/v1/stream", Script(body(CONTENT[:CUT]), delay=0.001))
    events, error, decoder = consume(server, "/v1/stream")
    assert error is None
    truncated = next(e for e in events if isinstance(e, fs.Truncated))
    assert truncated.reason == "eof" and truncated.snapshot == PARTIAL and truncated.raw == CONTENT[:CUT]
    assert events[-1].complete is False
    with pytest.raises(fs.StreamError) as info:
        decoder.raise_for_faults()
    assert info.value.snapshot == PARTIAL and info.value.raw == CONTENT[:CUT]
    assert_not_contradicted(events, PARTIAL)


def test_stream_ends_without_its_terminator_after_the_json(server: StreamServer) -> None:
    # The value is whole, so it stands; the stream is marked incomplete ([DONE] never came).
    server.serve("/v1/stream", Script(chat_body(CONTENT), delay=0.001))
    events, error, decoder = consume(server, "/v1/stream")
    assert error is None and not decoder.faults
    assert events[-1].complete is False and events[-1].values == {"choices[0]": json.loads(CONTENT)}
