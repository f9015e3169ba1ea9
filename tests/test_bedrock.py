"""Bedrock ConverseStream end to end: boto3 and fieldstream on the same recorded streams.

A real boto3 ``bedrock-runtime`` client (dummy credentials, ``endpoint_url`` = a
loopback server) calls ``converse_stream()`` for each recorded body (the 10
pydantic-ai bodies byte for byte, the 12 vercel/ai chunk lists encoded by
tests/eventstream_wire.py).  :func:`reference` assembles boto3's own event dicts
into final texts, reasoning, tool inputs, stop reason and usage; fieldstream
must give the same through every way in: the binary body fed whole, per byte
and at random splits, ``from_boto3`` over boto3's EventStream, ``connect()``
over HTTP with a bearer key, and the chunk lists as NDJSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import fieldstream as fs
from fieldstream._providers.bedrock import structured_output_request
from tests.eventstream_wire import CHUNK_LISTS, CORPUS, RECORDED, body_from_events, chunk_list, event, exception
from tests.splits import SPLITS, chunked
from tests.streamserver import Script, StreamServer, running

boto3 = pytest.importorskip("boto3")
Config = pytest.importorskip("botocore.config").Config
EventStreamError = pytest.importorskip("botocore.exceptions").EventStreamError

EVENTSTREAM = "application/vnd.amazon.eventstream"


def wire_events(path: Path) -> list[dict[str, Any]]:
    """A chunk list as Bedrock would send it: an empty ``contentBlockStart`` (which vercel/ai's
    fixture has before a text block, and which boto3 rejects as an invalid union) is not sent."""
    return [e for e in chunk_list(path) if e.get("contentBlockStart", {"start": 1}).get("start")]


STREAMS = [(p.name, p.read_bytes()) for p in RECORDED] + [
    (p.name, body_from_events(wire_events(p))) for p in CHUNK_LISTS
]
IDS = [name for name, _ in STREAMS]


@pytest.fixture(scope="module")
def server() -> Iterator[StreamServer]:
    yield from running()


@pytest.fixture(scope="module")
def client(server: StreamServer) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.url(""),
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1}, read_timeout=10),
    )


def serve(server: StreamServer, model: str, body: bytes, **script: Any) -> None:
    options: dict[str, Any] = {"content_type": EVENTSTREAM, **script}
    server.serve(f"/model/{quote(model, safe='')}/converse-stream", Script(chunked(body, "random-1"), **options))


def converse(client: Any, model: str, **fields: Any) -> Any:
    messages = [{"role": "user", "content": [{"text": "hello"}]}]
    return client.converse_stream(modelId=model, messages=messages, **fields)


# -- the reference: boto3's event dicts, assembled here ----------------------------


def reference(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Final texts, reasoning, tool inputs, stop reason and usage from boto3's event dicts.

    Text and reasoning are joined per ``contentBlockIndex``; a tool's input fragments
    are joined and parsed (nothing means ``{}``).  Blocks whose text stays empty are
    left out: fieldstream opens no target for them.
    """
    texts: dict[int, list[str]] = {}
    kinds: dict[int, str] = {}
    tools: dict[int, dict[str, Any]] = {}
    out: dict[str, Any] = {"stop": None, "usage": None}
    for item in events:
        ((kind, body),) = item.items()
        if kind == "contentBlockStart" and "toolUse" in body.get("start", {}):
            start = body["start"]["toolUse"]
            tools[body["contentBlockIndex"]] = {"id": start["toolUseId"], "name": start["name"], "input": ""}
        elif kind == "contentBlockDelta":
            index, delta = body["contentBlockIndex"], body["delta"]
            if "text" in delta:
                kinds[index] = "content"
                texts.setdefault(index, []).append(delta["text"])
            elif "text" in delta.get("reasoningContent", {}):
                kinds[index] = "reasoning"
                texts.setdefault(index, []).append(delta["reasoningContent"]["text"])
            elif "toolUse" in delta:
                tools[index]["input"] += delta["toolUse"]["input"]
        elif kind == "messageStop":
            out["stop"] = body["stopReason"]
        elif kind == "metadata":
            out["usage"] = body["usage"]
    out["texts"] = {i: (kinds[i], "".join(t)) for i, t in texts.items() if "".join(t)}
    out["tools"] = {
        i: {"id": t["id"], "name": t["name"], "value": json.loads(t["input"]) if t["input"].strip() else {}}
        for i, t in tools.items()
    }
    return out


def assembled(decoder: fs.StreamDecoder) -> dict[str, Any]:
    """The same facts from fieldstream's targets and result."""
    out: dict[str, Any] = {"stop": decoder.result.finish_reasons.get("message"), "usage": decoder.result.usage}
    out["texts"], out["tools"] = {}, {}
    for source, target in decoder.targets.items():
        index = int(source.path.removeprefix("content[").removesuffix("]"))
        assert target.done, (source, target.fault)
        if source.kind == "tool_call":
            out["tools"][index] = {"id": source.id, "name": source.name, "value": target.value}
        else:
            out["texts"][index] = (source.kind, target.raw)
            if target.is_json:  # content="auto" parsed a JSON answer: the value is json.loads of the text
                assert target.value == json.loads(target.raw)
    assert not decoder.faults, decoder.faults
    assert decoder.result.complete and decoder.result.format == "bedrock"
    return out


def same(usage: dict[str, Any] | None, boto: dict[str, Any] | None) -> bool:
    """fieldstream keeps the usage object as sent; boto3 drops the members its model lacks (``serverToolUsage``)."""
    if usage is None or boto is None:
        return usage is boto
    return {key: usage.get(key) for key in boto} == boto and all(key in boto or not usage[key] for key in usage)


def check(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert same(got.pop("usage"), expected["usage"])
    assert got == {key: value for key, value in expected.items() if key != "usage"}


def decode(chunks: list[bytes], **options: Any) -> fs.StreamDecoder:
    decoder = fs.StreamDecoder(**options)
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()
    return decoder


@pytest.mark.parametrize(("name", "body"), STREAMS, ids=IDS)
def test_every_way_in_matches_boto3s_own_events(
    name: str, body: bytes, server: StreamServer, client: Any, tmp_path: Path
) -> None:
    model = f"test.{name.split('.')[0]}-v1:0"
    serve(server, model, body)
    events = list(converse(client, model)["stream"])
    expected = reference(events)
    assert expected["texts"] or expected["tools"]
    # The stored summary (from the raw frames, at import time) tells the same story.
    stored = json.loads((CORPUS / f"{name.split('.')[0]}.expected.json").read_text("utf-8"))["assembled"]
    assert stored["stop_reason"] == expected["stop"] and same(stored["usage"], expected["usage"])

    for how in SPLITS:  # the binary body, as the network may cut it
        decoder = decode(chunked(body, how))
        assert decoder.framing == "eventstream"
        check(assembled(decoder), expected)

    with fs.from_boto3(converse(client, model)) as stream:  # boto3's EventStream, through the adapter
        list(stream)
    check(assembled(stream.decoder), expected)

    request = fs.bedrock_request(model, {"messages": []}, endpoint_url=server.url(""), api_key="bedrock-api-key")
    with fs.connect(None, **request) as http_events:  # plain HTTP with a Bedrock API key
        list(http_events)
    check(assembled(http_events.decoder), expected)
    assert server.last_visit().headers["authorization"] == "Bearer bedrock-api-key"

    if name.endswith(".chunks.txt"):  # the chunk list itself reads as NDJSON
        for how in ("whole", "random-2"):
            decoder = decode(chunked((CORPUS / name).read_bytes(), how))
            assert decoder.framing == "ndjson"
            check(assembled(decoder), expected)


def test_tool_targets_carry_id_name_and_partial_inputs() -> None:
    body = dict(STREAMS)["vercel_tool_call_1.chunks.txt"]
    decoder = fs.StreamDecoder()
    seen, snapshots = [], []
    for chunk in chunked(body, "per-char"):
        for e in decoder.feed(chunk):
            if isinstance(e, fs.TargetStarted):
                assert (e.source.kind, e.source.id, e.source.name) == ("tool_call", "tool-use-id", "test-tool")
            elif isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.StringDelta):
                seen.append(e.event.text)
        target = decoder.targets.get("content[0]")
        if target is not None and (not snapshots or snapshots[-1] != target.snapshot):
            snapshots.append(dict(target.snapshot) if isinstance(target.snapshot, dict) else target.snapshot)
    decoder.close()
    assert "".join(seen) == "Sparkle Day"
    assert snapshots == [None, {}, {"value": "Sparkle Day"}]  # '{"value":' showed before its value came


def test_a_tool_without_input_completes_with_an_empty_object() -> None:
    decoder = decode([dict(STREAMS)["vercel_tool_no_args.chunks.txt"]])
    assert decoder.result.values["content[1]"] == {}


# -- faults --------------------------------------------------------------------------

EXCEPTIONS = [
    ("throttlingException", {}),
    ("validationException", {}),
    ("modelStreamErrorException", {"originalStatusCode": 529, "originalMessage": "Overloaded"}),
    ("internalServerException", {}),
    ("serviceUnavailableException", {}),
]


@pytest.mark.parametrize(("kind", "extra"), EXCEPTIONS, ids=[k for k, _ in EXCEPTIONS])
def test_exception_events_are_error_faults(kind: str, extra: dict[str, Any], server: StreamServer, client: Any) -> None:
    events = chunk_list(CORPUS / "vercel_tool_call_1.chunks.txt")
    body = body_from_events(events[:2]) + exception(kind, f"{kind} happened", **extra) + body_from_events(events[2:])
    model = f"test.{kind}-v1:0"
    serve(server, model, body)
    with pytest.raises(EventStreamError) as boto_error:  # boto3 raises at the exception event
        list(converse(client, model)["stream"])
    assert boto_error.value.response["Error"]["Code"] == kind

    with fs.from_boto3(converse(client, model)) as stream:
        via_boto3 = list(stream)
    for how in ("whole", "per-char"):
        direct = decode(chunked(body, how))
        for decoder, evs in ((direct, None), (stream.decoder, via_boto3)):
            (error,) = [f for f in decoder.faults if isinstance(f, fs.ErrorReceived)]
            assert (error.error_type, error.message) == (kind, f"{kind} happened")
            cut = decoder.targets["content[0]"].fault
            assert isinstance(cut, fs.Truncated) and cut.reason == "error"
            assert cut.snapshot == {}  # '{"value":' came before the exception: the object had begun
            assert not decoder.result.complete
            with pytest.raises(fs.StreamError, match=kind):
                decoder.raise_for_faults()
    assert direct.faults[0].code == extra.get("originalStatusCode")


def test_max_tokens_cuts_the_open_tool_input() -> None:
    body = (
        event("messageStart", {"role": "assistant"})
        + event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}})
        + event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"items": ["a", "b'}}})
        + event("messageStop", {"stopReason": "max_tokens"})
        + event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14}})
    )
    for how in SPLITS:
        decoder = decode(chunked(body, how))
        fault = decoder.targets["content[0]"].fault
        assert isinstance(fault, fs.Truncated) and fault.reason == "max_tokens"
        assert fault.snapshot == {"items": ["a", "b"]}
        assert decoder.result.finish_reasons == {"message": "max_tokens"}
        assert decoder.result.usage == {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14}


def test_http_error_body(server: StreamServer) -> None:
    body = (CORPUS / "pai_streaming_error.error.json").read_bytes()
    decoder = decode([body], status_code=400)
    (error,) = decoder.faults
    assert isinstance(error, fs.ErrorReceived) and error.message == "The provided model identifier is invalid."
    model = "us.does-not-exist-model-v1:0"
    server.serve(
        f"/model/{quote(model, safe='')}/converse-stream", Script([body], status=400, content_type="application/json")
    )
    request = fs.bedrock_request(model, {"messages": []}, endpoint_url=server.url(""), api_key="k")
    with pytest.raises(fs.StreamError) as info, fs.connect(None, **request):
        pass
    assert info.value.status_code == 400 and info.value.provider_message == error.message


def test_from_boto3_usage_and_transport_errors() -> None:
    with pytest.raises(fs.UsageError, match="converse_stream"):
        fs.from_boto3({"body": b""})

    class Broken:
        closed = False

        def __iter__(self) -> Iterator[dict[str, Any]]:
            yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hel"}}}
            raise ConnectionResetError("peer reset")

        def close(self) -> None:
            self.closed = True

    broken = Broken()
    stream = fs.from_boto3({"stream": broken})
    with pytest.raises(fs.TransportError, match="peer reset") as info:
        list(stream)
    assert info.value.snapshot == {"content[0]": "Hel"} and broken.closed
    with pytest.raises(fs.UsageError, match="only once"):
        iter(stream)


# -- the request side ---------------------------------------------------------------


class CityInfo(BaseModel):
    """Information about a city."""

    city: str
    country: str
    population: int


class Value(BaseModel):
    value: str


def test_native_structured_output_request_and_stream(server: StreamServer, client: Any) -> None:
    fields = structured_output_request(CityInfo, native=True)
    model = "test.native-v1:0"
    serve(server, model, (CORPUS / "pai_native_output_stream.eventstream").read_bytes())
    with fs.from_boto3(converse(client, model, **fields), schema=CityInfo) as stream:
        list(stream)
    sent = json.loads(server.last_visit().body)["outputConfig"]["textFormat"]
    recorded = json.loads((CORPUS / "pai_native_output_stream.expected.json").read_text())["request"]["outputConfig"]
    assert sent["type"] == recorded["textFormat"]["type"] == "json_schema"
    mine, theirs = sent["structure"]["jsonSchema"], recorded["textFormat"]["structure"]["jsonSchema"]
    assert (mine["name"], mine["description"]) == (theirs["name"], theirs["description"])
    assert json.loads(mine["schema"])["required"] == json.loads(theirs["schema"])["required"]
    value = stream.decoder.result.values["content[0]"]
    assert value == CityInfo(city="Paris", country="France", population=2161000)


def test_forced_tool_request_and_stream(server: StreamServer, client: Any) -> None:
    fields = structured_output_request(Value, name="json")
    assert fields["toolConfig"]["toolChoice"] == {"tool": {"name": "json"}}
    model = "test.forced-tool-v1:0"
    serve(server, model, dict(STREAMS)["vercel_json_tool_1.chunks.txt"])
    with fs.from_boto3(converse(client, model, **fields), tools={"json": Value}) as stream:
        list(stream)
    sent = json.loads(server.last_visit().body)["toolConfig"]  # boto3 validated and sent it as is
    assert sent == fields["toolConfig"]
    assert stream.decoder.result.values["content[0]"] == Value(value="test")
    with pytest.raises(fs.UsageError, match="object"):
        structured_output_request(list[int])


def test_sigv4_signature_covers_the_request_as_sent(server: StreamServer) -> None:
    """The signature from botocore's signer verifies against the request the server received."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    serve(server, model, dict(STREAMS)["pai_model_stream.eventstream"])
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    request = fs.bedrock_request(model, body, region="us-east-1", endpoint_url=server.url(""), credentials=credentials)
    with httpx.Client() as http, fs.connect(http, **request) as events:
        assert any(isinstance(e, fs.StreamCompleted) for e in events)
    visit = server.last_visit()
    headers = {key.lower(): value for key, value in visit.headers.items()}
    assert visit.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    # Re-sign what arrived, at the time it claims: the same signature.
    check = AWSRequest(method="POST", url=server.url(visit.path), data=visit.body)
    for key in ("content-type", "accept", "x-amz-date"):
        check.headers[key] = headers[key]
    check.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, "bedrock", "us-east-1")
    signer._modify_request_before_signing = lambda r: None  # keep the received headers as they are
    check.headers["host"] = headers["host"]
    expected = signer.signature(signer.string_to_sign(check, signer.canonical_request(check)), check)
    assert headers["authorization"].endswith(f"Signature={expected}")
    assert "SignedHeaders=accept;content-type;host;x-amz-date," in headers["authorization"]
    check.data = visit.body + b" "  # one byte more, and it no longer verifies
    assert signer.signature(signer.string_to_sign(check, signer.canonical_request(check)), check) != expected
    with pytest.raises(fs.UsageError, match="region"):
        fs.bedrock_request(model, body, api_key="k")


# -- the CLI -------------------------------------------------------------------------


def test_replay_shows_a_bedrock_recording(tmp_path: Path) -> None:
    recording = tmp_path / "bedrock.eventstream"
    recording.write_bytes((CORPUS / "pai_model_iter_stream_0.eventstream").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "fieldstream", "replay", str(recording), "--no-delay"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "content[1] started (tool_call get_temperature)" in proc.stdout
    assert 'content[1] done: {"city": "Paris"}' in proc.stdout
    assert "finish {'message': 'tool_use'}" in proc.stdout and "inputTokens" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "fieldstream", "replay", str(recording), "--no-delay", "--format", "bedrock", "--jsonl"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1])["format"] == "bedrock"


def test_record_saves_an_event_stream(server: StreamServer, tmp_path: Path) -> None:
    model = "test.record-v1:0"
    serve(server, model, dict(STREAMS)["pai_model_stream.eventstream"], delay=0.001)
    proc = subprocess.run(
        [sys.executable, "-m", "fieldstream", "record", server.url(f"/model/{quote(model, safe='')}/converse-stream"),
         "-d", '{"messages": []}'],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    saved = tmp_path / "recording.eventstream"
    assert saved.read_bytes() == dict(STREAMS)["pai_model_stream.eventstream"]
    assert (tmp_path / "recording.eventstream.timing.jsonl").is_file()
    decoder = decode([saved.read_bytes()])
    assert decoder.result.finish_reasons == {"message": "end_turn"}


# -- InvokeModelWithResponseStream and the content type ---------------------------------


def test_invoke_model_chunks_carry_the_models_own_events() -> None:
    """``chunk`` events wrap the model's native events in base64: Anthropic's, here, decoded as Anthropic."""
    import base64

    sse = (Path(__file__).parent / "corpus/streams/anthropic_messages/ant_sdk_tool_use_get_weather.sse").read_bytes()
    payloads = [line[6:] for line in sse.splitlines() if line.startswith(b"data: ")]
    body = b"".join(event("chunk", {"bytes": base64.b64encode(p).decode(), "p": "abc"}) for p in payloads)
    direct = decode([sse])
    for how in ("whole", "random-2"):
        wrapped = decode(chunked(body, how))
        assert (wrapped.framing, wrapped.format) == ("eventstream", "anthropic")
        assert wrapped.result.values == direct.result.values and wrapped.result.values
        assert wrapped.result.finish_reasons == direct.result.finish_reasons
    bad = decode([event("chunk", {"bytes": "not base64!"})])
    assert isinstance(bad.faults[0], fs.Malformed) and "base64" in bad.faults[0].message


def test_connect_tells_the_decoder_the_content_type(server: StreamServer) -> None:
    body = dict(STREAMS)["pai_model_stream.eventstream"]
    damaged = body[:8] + b"\x00\x00\x00\x00" + body[12:]  # the first prelude's CRC is wrong
    model = "test.damaged-v1:0"
    serve(server, model, damaged)
    request = fs.bedrock_request(model, {"messages": []}, endpoint_url=server.url(""), api_key="k")
    with fs.connect(None, **request) as events:
        faults = [e for e in events if isinstance(e, fs.Fault)]
    assert events.decoder.framing == "eventstream"  # not "text": the server said what it is
    assert "prelude CRC mismatch" in faults[0].message


# -- hostile payload shapes ------------------------------------------------------------

_KEYS = st.sampled_from(
    ["contentBlockIndex", "delta", "start", "text", "toolUse", "toolUseId", "name", "input", "reasoningContent",
     "stopReason", "usage", "message", "p", "error", "x"]
)  # fmt: skip
_VALUES = st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from(["", "{", '{"a": 1}', "max_tokens", "x"])
_BODIES = st.recursive(_VALUES, lambda inner: st.dictionaries(_KEYS, inner, max_size=4) | st.lists(inner, max_size=2))
_EVENTS = st.dictionaries(
    st.sampled_from(
        ["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
         "throttlingException", "error", "other"]
    ),
    _BODIES,
    min_size=1,
    max_size=2,
)  # fmt: skip


@settings(max_examples=200, deadline=None, derandomize=bool(os.environ.get("CI")))
@given(events=st.lists(_EVENTS, max_size=8))
def test_any_event_shape_is_reported_never_raised(events: list[dict[str, Any]]) -> None:
    """Through boto3's shape (feed_payload) and the binary framing alike: faults, never exceptions."""
    via_dicts = fs.StreamDecoder("bedrock")
    for item in events:
        via_dicts.feed_payload(item)
    via_dicts.close()
    single = [item for item in events if len(item) == 1]  # a message carries one event
    body = b"".join(event(next(iter(item)), next(iter(item.values()))) for item in single)
    via_bytes = decode(chunked(body, "random-1"), format="bedrock")
    assert via_bytes.result.values == decode([body], format="bedrock").result.values
    for decoder in (via_dicts, via_bytes):
        for target in decoder.targets.values():
            assert target.done or target.fault is not None


def test_from_sdk_points_boto3_users_to_from_boto3() -> None:
    with pytest.raises(fs.UsageError, match="from_boto3"):
        fs.from_sdk({"stream": []})


def test_replay_live_view_of_a_bedrock_recording_in_a_terminal() -> None:
    from tests.test_cli_replay import run_in_terminal

    path = CORPUS / "pai_model_iter_stream_0.eventstream"
    status, screen = run_in_terminal(
        f"from fieldstream._cli import main; raise SystemExit(main(['replay', {str(path)!r}, '--speed', '20']))"
    )
    assert status == 0
    final = screen.rsplit("content[0]  content", 1)[-1].replace("\r\n", " ")  # the last frame, lines joined
    assert "content[1]  tool_call get_temperature  ✓ done" in final and '"city": "Paris" ✓' in final
    assert "5,150/5,150 bytes" in final and "message=tool_use" in final
    assert "inputTokens=471" in final  # Bedrock's token counts in the status line
    assert "▌" in screen  # text was drawn while it streamed


def test_aconnect_reads_bedrock_too(server: StreamServer) -> None:
    import asyncio

    body = dict(STREAMS)["pai_model_thinking_part_stream.eventstream"]
    model = "test.async-v1:0"
    serve(server, model, body)
    request = fs.bedrock_request(model, {"messages": []}, endpoint_url=server.url(""), api_key="k")

    async def main() -> fs.StreamDecoder:
        async with httpx.AsyncClient() as http, fs.aconnect(http, **request) as events:
            async for _ in events:
                pass
        return events.decoder  # type: ignore[no-any-return]

    decoder = asyncio.run(main())
    assert decoder.framing == "eventstream"
    assert [s.kind for s in decoder.targets] == ["reasoning", "content"]
    check(assembled(decoder), assembled(decode([body])))


def test_build_request_makes_a_request_boto3_accepts(server: StreamServer, client: Any) -> None:
    """The builder in the other providers' shape: boto3 validates its body against Bedrock's model and sends it."""
    from fieldstream._providers.bedrock import build_request

    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    body = {"model": model, "messages": [{"role": "user", "content": [{"text": "weather?"}]}], "stream": True}
    path, headers = build_request(body, CityInfo, None, [("json", "The answer.", Value)], "json")
    assert path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert headers == {"accept": EVENTSTREAM} and "model" not in body and "stream" not in body
    serve(server, model, dict(STREAMS)["vercel_json_tool_1.chunks.txt"])
    with fs.from_boto3(client.converse_stream(modelId=model, **body), tools={"json": Value}) as stream:
        list(stream)
    assert server.last_visit().path == path
    assert json.loads(server.last_visit().body) == body  # sent as built
    assert stream.decoder.result.values == {"content[0]": Value(value="test")}
    with pytest.raises(fs.UsageError, match="model="):
        build_request({"messages": []}, None, None, [], None)


def test_boto3_blobs_reach_the_decoder_as_the_wire_had_them(server: StreamServer, client: Any) -> None:
    """boto3 decodes ``redactedContent`` to bytes; the adapter hands it on base64, byte for byte as sent."""
    from fieldstream._bedrock import _as_sent

    body = dict(STREAMS)["pai_model_thinking_part_redacted_stream.eventstream"]
    model = "test.redacted-v1:0"
    serve(server, model, body)
    events = list(converse(client, model)["stream"])
    wire = [
        (m.event_type, json.loads(m.payload)["delta"]["reasoningContent"]["redactedContent"])
        for m in fs.EventStreamDecoder().feed(body)
        if b"redactedContent" in m.payload
    ]
    got = [
        (kind, _as_sent(item)[kind]["delta"]["reasoningContent"]["redactedContent"])
        for item in events
        for kind, value in item.items()
        if isinstance(value.get("delta", {}).get("reasoningContent", {}).get("redactedContent"), bytes)
    ]
    assert got == wire and len(wire) == 2
    json.dumps(_as_sent(events))  # plain JSON all through
    with fs.from_boto3(converse(client, model)) as stream:
        list(stream)
    assert not stream.decoder.faults and stream.decoder.result.complete
