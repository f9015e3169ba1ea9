"""Protocols: JSON Patch frames rebuild the value exactly (PyPI's jsonpatch, npm's fast-json-patch, plus the
append op), and the AI SDK and AG-UI streams are accepted by those projects' own parsers (npm packages,
installed by the tests), read over a real loopback HTTP server.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldstream as fs
from fieldstream._protocols import dumps

from .asgi_server import parse_sse, serve
from .node_env import node_modules, run_node
from .splits import at_splits
from .test_properties import documents

jsonpatch = pytest.importorskip("jsonpatch", reason="jsonpatch is not installed (it is in the test extra)")
jsonpointer = pytest.importorskip("jsonpointer", reason="jsonpointer is not installed (it comes with jsonpatch)")

CI = os.environ.get("CI") == "true"

DOC = {
    "title": 'Café "Nord" 😀 \u2028 end',
    "items": [{"name": "a" * 30, "n": 1.5}, {"name": "b\nc", "n": None}, {"name": "", "n": True}],
    "empty": {},
    "list": [],
    "deep": {"a": {"b": ["x", "yy", 3, [], {}]}},
    "slash/key": "~tilde/",
    "big": 1e300,
}


def parsed(text: str, points: list[int] | None = None, piece: int = 3) -> list[fs.Event]:
    parser = fs.Parser()
    chunks = (
        at_splits(text, points) if points is not None else [text[i : i + piece] for i in range(0, len(text), piece)]
    )
    events: list[fs.Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events + parser.close()


def apply_op(doc: Any, op: dict[str, Any]) -> Any:
    """One operation: RFC 6902 by jsonpatch, and the documented ``append`` extension."""
    if op["op"] == "append":
        current = jsonpointer.resolve_pointer(doc, op["path"])
        assert isinstance(current, str), op
        op = {"op": "replace", "path": op["path"], "value": current + op["value"]}
    return jsonpatch.apply_patch(doc, [op], in_place=True)


def rebuild(frames: list[dict[str, Any]]) -> Any:
    doc = None
    for frame in frames:
        if frame.get("event") == "patch":
            for op in frame["data"]:
                doc = apply_op(doc, op)
    return doc


def patch_frames(events: list[Any]) -> list[dict[str, Any]]:
    return parse_sse(b"".join(fs.to_sse(events, protocol="json-patch")).decode())


def expected(value: Any) -> Any:
    """The final value as the output rule writes it (what "rebuild exactly" is compared with)."""
    return json.loads(dumps(value))


@settings(
    max_examples=150, derandomize=CI, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # more locally: --hypothesis-seed=random and a larger max_examples
@given(data=st.data(), value=documents)
def test_json_patch_frames_rebuild_the_value_exactly(data: st.DataObject, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    frames = patch_frames(parsed(text, points))
    assert rebuild(frames) == expected(value)
    assert json.dumps(rebuild(frames)) == json.dumps(expected(value))  # True stays true, 1 stays 1
    assert [f["event"] for f in frames][-1] == "end"


def test_json_patch_ops_are_standard_but_for_append() -> None:
    frames = patch_frames(parsed(json.dumps(DOC), piece=1))
    ops = [op for f in frames if f["event"] == "patch" for op in f["data"]]
    assert {op["op"] for op in ops} == {"replace", "add", "append"}
    assert ops[0] == {"op": "replace", "path": "", "value": {}}
    assert {"op": "add", "path": "/slash~1key", "value": "~"} in ops  # RFC 6901 escapes
    assert rebuild(frames) == expected(DOC)
    assert DOC["big"] == 1e300 and rebuild(frames)["big"] == 1e300


def test_json_patch_over_a_stream_decoder_keys_the_document_by_target() -> None:
    from importlib import resources

    body = resources.files("fieldstream").joinpath("_data", "openai_chat_json_object.sse").read_bytes()
    decoder = fs.StreamDecoder("openai-chat")
    events = decoder.feed(body) + decoder.close()
    values = {str(e.source): e.value for e in events if isinstance(e, fs.TargetCompleted)}
    frames = patch_frames(events)
    assert rebuild(frames) == expected(values)
    assert frames[-1]["event"] == "end" and frames[-1]["data"]["complete"] is True


def test_ndjson_documents_each_replace_the_last() -> None:
    parser = fs.Parser(multiple=True) if "multiple" in fs.Parser.__init__.__code__.co_varnames else None
    if parser is None:
        pytest.skip("this Parser has no multiple-document mode")
    events = parser.feed('{"a": "x"} {"b": ["y"]}') + parser.close()
    assert rebuild(patch_frames(events)) == {"b": ["y"]}


# ---------------------------------------------------------------- the protocols' own npm parsers


def app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> StreamingResponse:
        protocol = request.path_params["protocol"]
        fail = "fail" in request.query_params

        async def events() -> AsyncIterator[Any]:
            for i, event in enumerate(parsed(json.dumps(DOC), piece=2)):
                if fail and i == 40:
                    raise fs.StreamError("the model broke off")
                yield event

        headers = dict(fs.SSE_HEADERS)
        if protocol == "ai-sdk":
            headers["x-vercel-ai-ui-message-stream"] = "v1"
        return StreamingResponse(fs.to_sse(events(), protocol=protocol), headers=headers)

    return Starlette(routes=[Route("/{protocol}", endpoint, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    node_modules()
    with serve(app()) as url:
        yield url


def read_with_node(mode: str, url: str) -> Any:
    result = run_node("protocols.mjs", mode, url)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_json_patch_frames_rebuild_the_value_with_fast_json_patch(server: str) -> None:
    out = read_with_node("json-patch", f"{server}/json-patch")
    assert out["doc"] == expected(DOC)
    assert out["kinds"][-1] == "end"


def test_the_ai_sdk_reads_the_ui_message_stream(server: str) -> None:
    out = read_with_node("ai-sdk", f"{server}/ai-sdk")
    assert out["header"] == "v1"
    assert out["chunks"][0] == "start" and out["chunks"][-1] == "finish"
    assert set(out["chunks"][1:-1]) == {"data-object"}
    parts = [p for p in out["message"]["parts"] if p["type"] == "data-object"]
    assert len(parts) == 1  # one part, updated in place
    assert parts[0]["data"] == expected(DOC)


def test_the_ai_sdk_reads_an_error(server: str) -> None:
    result = run_node("protocols.mjs", "ai-sdk", f"{server}/ai-sdk?fail")
    assert result.returncode != 0  # terminateOnError: the SDK raised the stream's error
    assert "the model broke off" in result.stderr


def test_ag_ui_runs_the_stream_and_rebuilds_the_state(server: str) -> None:
    out = read_with_node("ag-ui", f"{server}/ag-ui")
    assert out["runError"] is None
    assert out["types"][:2] == ["RUN_STARTED", "STATE_SNAPSHOT"] and out["types"][-1] == "RUN_FINISHED"
    assert set(out["types"][2:-1]) == {"STATE_DELTA"}
    assert out["state"] == expected(DOC)


def test_ag_ui_reads_an_error(server: str) -> None:
    out = read_with_node("ag-ui", f"{server}/ag-ui?fail")
    assert "the model broke off" in out["runError"]
    assert out["types"][-1] == "RUN_ERROR"


@pytest.mark.parametrize("protocol", fs.PROTOCOLS)
def test_a_lone_surrogate_goes_out_as_its_json_escape(protocol: str) -> None:
    parser = fs.Parser()
    events = parser.feed('{"a": "x\\ud800y", "b": "\\udfff"}') + parser.close()
    body = b"".join(fs.to_sse(events, protocol=protocol)).decode("utf-8")  # valid UTF-8
    assert "\\ud800" in body
    datas = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
    assert any("x\ud800y" in json.dumps(d, ensure_ascii=False) for d in datas)  # JSON.parse gives the same string


def stored(body: bytes) -> list[Any]:
    """The frames of an SSE body as a store keeps them (numbered from 1)."""
    from fieldstream._store import StoredFrame

    frames = []
    for i, block in enumerate(b for b in body.decode().split("\n\n") if b):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        frames.append(StoredFrame(i + 1, lines.get("event", ""), lines["data"]))
    return frames


@settings(max_examples=100, derandomize=CI, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=documents, protocol=st.sampled_from(["fieldstream", "json-patch", "ag-ui"]))
def test_coalescing_keeps_every_completion_in_order_and_the_same_result(
    data: st.DataObject, value: Any, protocol: str
) -> None:
    from fieldstream._resume import coalesce

    text = json.dumps(value, ensure_ascii=False)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    frames = stored(b"".join(fs.to_sse(parsed(text, points), protocol=protocol)))
    # a reader that is late by a random number of frames at a time
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(frames)), max_size=6))) | {len(frames)})
    merged = [f for a, b in zip([0, *cuts], cuts) for f in coalesce(frames[a:b])]
    assert [f.seq for f in merged] == sorted({f.seq for f in merged}) and merged[-1].seq == frames[-1].seq
    growth = ("delta", "patch", "")
    assert [(f.event, f.data) for f in merged if f.event not in growth] == [
        (f.event, f.data) for f in frames if f.event not in growth
    ]
    if protocol == "fieldstream":
        done = [json.loads(f.data) for f in merged if f.event == "done"]
        assert done[-1]["value"] == expected(value)
    elif protocol == "json-patch":
        assert rebuild([{"event": f.event, "data": json.loads(f.data)} for f in merged]) == expected(value)
    else:
        doc = None
        for f in merged:
            record = json.loads(f.data)
            if record["type"] == "STATE_DELTA":
                doc = jsonpatch.apply_patch(doc, record["delta"], in_place=True)
        assert doc == expected(value)


CORPUS = sorted(
    p
    for p in (Path(__file__).resolve().parent / "corpus" / "streams").glob("*/*")
    if p.suffix in (".sse", ".ndjson", ".jsonl") and not p.name.endswith(".timing.jsonl")
)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_json_patch_over_every_recorded_stream_rebuilds_each_target(path: Path) -> None:
    body = path.read_bytes()
    decoder = fs.StreamDecoder("auto")
    events = [e for chunk in (body[i : i + 97] for i in range(0, len(body), 97)) for e in decoder.feed(chunk)]
    events += decoder.close()
    values = {str(e.source): e.value for e in events if isinstance(e, fs.TargetCompleted)}
    frames = patch_frames(events)
    doc = rebuild(frames)
    for source, value in values.items():  # a target that never completed keeps its partial value
        assert doc[source] == expected(value), source
