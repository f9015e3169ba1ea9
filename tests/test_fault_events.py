"""What a fault carries: everything that arrived before it, delivered as events, whatever the chunking.

The core parser emits the text of a string before a fault in the failing chunk as a
``StringDelta`` (a per-character feed would); ``StreamDecoder`` delivers the target
events completed before a fault in the same delta, and with a schema its fault's
snapshot is the typed one.  ``connect()``/``aconnect()`` on an error status whose body
is nested 100,000 deep raise :class:`StreamError`, nothing else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import fieldstream as fs

from .splits import SPLITS, chunked, normalize
from .streamserver import Script, StreamServer, running

# (text, deltas before the fault, snapshot after it); the fault is inside or right after a string.
STRING_FAULTS = [
    ('{"a": "hello\x01', "hello", {"a": "hello"}),  # a control character
    ('["ab\\qc"]', "ab", ["ab"]),  # a bad escape
    ('["abc\\u12G4"]', "abc", ["abc"]),  # a bad \u escape
    ('{"k": "vw"x', "vw", {"k": "vw"}),  # after the string: the delta still came
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("text", "deltas", "snapshot"), STRING_FAULTS)
def test_string_text_before_a_fault_is_delivered_as_deltas(text: str, deltas: str, snapshot: Any, how: str) -> None:
    parser = fs.Parser()
    events: list[fs.Event] = []
    with pytest.raises(fs.ParseError) as info:
        for chunk in chunked(text, how):
            events += parser.feed(chunk)
    events += info.value.events
    assert "".join(e.text for e in events if isinstance(e, fs.StringDelta)) == deltas
    assert parser.snapshot == snapshot == info.value.snapshot


def test_string_limit_fault_delivers_the_text_within_the_limit() -> None:
    for how in SPLITS:
        parser = fs.Parser(max_string_length=5)
        events: list[fs.Event] = []
        with pytest.raises(fs.LimitError) as info:
            for chunk in chunked('["1234567"]', how):
                events += parser.feed(chunk)
        events += info.value.events
        assert "".join(e.text for e in events if isinstance(e, fs.StringDelta)) == "12345", how


def _content(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}).encode() + b"\n\n"


def _decode(deltas: list[str], how: str, **options: Any) -> list[Any]:
    decoder = fs.StreamDecoder(**options)
    events: list[Any] = []
    for chunk in chunked(b"".join(_content(d) for d in deltas), how):
        events += decoder.feed(chunk)
    return events + decoder.close()


def _summary(events: list[Any]) -> list[Any]:
    out = []
    for e in events:
        if isinstance(e, fs.TargetEvent):
            out.extend(normalize([e.event]))
        elif isinstance(e, fs.Fault):
            out.append((type(e).__name__, e.snapshot, e.raw))
        else:
            out.append(type(e).__name__)
    return out


@pytest.mark.parametrize("how", SPLITS)
def test_target_events_completed_before_a_fault_in_the_same_delta_are_delivered(how: str) -> None:
    one = _summary(_decode(['{"a": 1, "b": x}'], how))
    assert ("ValueCompleted", ("a",), 1) in one
    assert ("Malformed", {"a": 1}, '{"a": 1, "b": x}') in one
    # the same text in smaller deltas gives the same events
    assert one == _summary(_decode(['{"a": 1', ', "b": x}'], how))


@pytest.mark.parametrize("how", SPLITS)
def test_with_a_schema_the_fault_snapshot_is_typed(how: str) -> None:
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        a: int
        b: int | None = None

    events = _decode(['{"a": 1, "b": x}'], how, schema=M)
    fault = next(e for e in events if isinstance(e, fs.Malformed))
    assert isinstance(fault.snapshot, M) and fault.snapshot.a == 1
    assert any(isinstance(e, fs.TargetEvent) and e.event == fs.ValueCompleted(("a",), 1) for e in events)


# -- connect/aconnect on an error body nested 100k deep ---------------------------------------


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


DEEP = [b"[" * 100_000]


@pytest.mark.parametrize("body", [DEEP, [b'{"error": ' + b"[" * 50_000]])
def test_connect_on_a_deep_error_body(server: StreamServer, body: list[bytes]) -> None:
    server.serve("/deep", Script(body, status=500, content_type="application/json"))
    with (
        httpx.Client() as client,
        pytest.raises(fs.StreamError) as info,
        fs.connect(client, "POST", server.url("/deep")),
    ):
        pass
    assert info.value.status_code == 500


def test_aconnect_on_a_deep_error_body(server: StreamServer) -> None:
    server.serve("/deep", Script(DEEP, status=500, content_type="application/json"))

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            with pytest.raises(fs.StreamError) as info:
                async with fs.aconnect(client, "POST", server.url("/deep")):
                    pass
            assert info.value.status_code == 500

    asyncio.run(main())


def test_connect_on_a_whole_json_response(server: StreamServer) -> None:
    # A request that forgot stream: true gets one JSON document: it is decoded, and says so.
    body = {"id": "c", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}  # fmt: skip
    server.serve("/whole", Script([json.dumps(body, indent=2).encode()], content_type="application/json"))
    with httpx.Client() as client, fs.connect(client, "POST", server.url("/whole")) as stream:
        events = list(stream)
    assert events[-1].values == {"choices[0]": "hi"} and events[-1].complete and not events[-1].streamed
