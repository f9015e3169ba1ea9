"""Fuzzing in CI: the fuzz targets' invariants under hypothesis, the committed corpus, a short atheris run.

The invariants live in fuzz/targets.py (parse or library error; chunking does not
change the result; nothing emitted is contradicted; json.loads as an oracle).  The
long runs and their figures come from ``python -m fuzz.run`` (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.targets import (
    TARGETS,
    fuzz_connect,
    fuzz_eventstream,
    fuzz_lenient,
    fuzz_ndjson,
    fuzz_parser,
    fuzz_shapes,
    fuzz_sse,
    fuzz_stream,
)

from .test_properties import documents

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fuzz" / "corpus"
SHARED = Path(__file__).resolve().parent / "corpus"
JSONTESTSUITE = SHARED / "jsontestsuite" / "test_parsing"
# Recorded provider bodies (read in place), cut to a few kB so mutations stay cheap.
RECORDED = sorted(p for p in (SHARED / "streams").rglob("*") if p.suffix in (".sse", ".ndjson", ".jsonl"))

header = st.tuples(st.integers(0, 127), st.integers(0, 255)).map(bytes)
# Bytes that break JSON in interesting ways when spliced into a valid document.
splices = st.sampled_from(
    [b'"', b"\\", b"[", b"{", b"}", b"]", b",", b":", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\u", b"\\ud800",
     b"NaN", b"1e999", b"-", b".", b"\x00", b"\n", b"```"]
)  # fmt: skip


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    """A valid JSON document with a few bytes deleted, replaced or spliced in."""
    data = bytearray(json.dumps(draw(documents), ensure_ascii=draw(st.booleans())).encode())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["delete", "insert", "splice"]))
        if how == "delete" and data:
            del data[min(at, len(data) - 1)]
        elif how == "insert":
            data[at:at] = bytes([draw(st.integers(0, 255))])
        else:
            data[at:at] = draw(splices)
    return bytes(data)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(head=header, body=mutated_documents())
def test_parser_mutated_documents(head: bytes, body: bytes) -> None:
    fuzz_parser(head + body)


@settings(max_examples=300, deadline=None)
@given(head=header, body=st.binary(max_size=200))
def test_parser_random_bytes(head: bytes, body: bytes) -> None:
    fuzz_parser(head + body)


lenient_splices = st.sampled_from(
    [b"'", b"True", b"None", b"NaN", b"-Infinity", b"// c\n", b"/* c */", b"# c\n", b",", b",,", b" ", b"\n", b"\t",
     b"key: ", b"word", b'"', b"}", b"]", b"/", b"*/", b"\\", b"```json\n", b"\xff", b":", b"(", b")", b"{", b"[",
     b". ", b"?", b"\xe2\x80\x9c", b"007"]
)  # fmt: skip


@st.composite
def lenient_documents(draw: st.DrawFn) -> bytes:
    """A valid document with what models write outside a grammar spliced in, or bytes deleted."""
    data = bytearray(json.dumps(draw(documents)).encode())
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()) and data:
            del data[min(at, len(data) - 1)]
        else:
            data[at:at] = draw(lenient_splices)
    return bytes(data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(head=header, body=lenient_documents())
def test_lenient_mutated_documents(head: bytes, body: bytes) -> None:
    fuzz_lenient(head + body)


@settings(max_examples=200, deadline=None)
@given(head=header, body=st.binary(max_size=200))
def test_lenient_random_bytes(head: bytes, body: bytes) -> None:
    fuzz_lenient(head + body)


# what reaches the schema's say on unquoted words: the model's keys, words with two readings, structure
_typed_tokens = st.sampled_from(
    ["{", "}", "[", "]", "(", ")", ",", ":", " ", "\n", "'", '"', "//", "\u201c", "a", "b", "c", "d", "e", "f", "g",
     "h", "t", "name", "tags", "True", "None", "NaN", "007", "01", "1", "x", "yes", "tr", "-", "1_000"]
)  # fmt: skip


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(flags=st.integers(0, 255), seed=st.integers(0, 255), tokens=st.lists(_typed_tokens, max_size=40))
def test_lenient_with_a_schema(flags: int, seed: int, tokens: list[str]) -> None:
    fuzz_lenient(bytes([flags | 128, seed]) + "".join(tokens).encode())


wire_splices = st.sampled_from(
    [b"\n", b"\r", b"\r\n", b"\n\n", b"data: ", b"event: error\n", b": ping\n", b"[DONE]", b"\xff", b"\xef\xbb\xbf",
     b'{"error": {"message": "boom"}}', b'"', b"{", b"}", b"[", b"]", b"null", b"0"]
)  # fmt: skip


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """A recorded provider body (or a prefix of it) with a few bytes changed or spliced in."""
    data = bytearray(draw(st.sampled_from(RECORDED)).read_bytes()[: draw(st.integers(0, 3000))])
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["delete", "insert", "splice"]))
        if how == "delete" and data:
            del data[min(at, len(data) - 1)]
        elif how == "insert":
            data[at:at] = bytes([draw(st.integers(0, 255))])
        else:
            data[at:at] = draw(wire_splices)
    return bytes(data)


WIRE = [fuzz_sse, fuzz_ndjson, fuzz_stream]


@pytest.mark.parametrize("target", WIRE, ids=lambda t: t.__name__)
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_wire_targets_on_mutated_recordings(target: object, data: st.DataObject) -> None:
    target(data.draw(mutated_streams()))  # type: ignore[operator]


@pytest.mark.parametrize("target", WIRE, ids=lambda t: t.__name__)
@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_wire_targets_on_random_bytes(target: object, body: bytes) -> None:
    target(body)  # type: ignore[operator]


# Payload shapes: a recorded stream with fields of other types, deep or large values, missing
# fields; decoded from bytes (whole, split, per byte), from objects (feed_payload), typed.
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(min_size=2, max_size=40))
def test_shapes_target(data: bytes) -> None:
    fuzz_shapes(data)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(min_size=2, max_size=40))
def test_connect_target_through_a_loopback_server(data: bytes) -> None:
    fuzz_connect(data)


# Binary Bedrock bodies (tests/corpus/streams/bedrock), damaged: the event-stream decoder against botocore.
EVENTSTREAMS = sorted((SHARED / "streams" / "bedrock").glob("*.eventstream"))


@st.composite
def damaged_eventstreams(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(EVENTSTREAMS)).read_bytes()[: draw(st.integers(0, 3000))])
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "delete", "insert"]))
        if how == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif how == "delete" and data:
            del data[min(at, len(data) - 1)]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@pytest.mark.parametrize("target", [fuzz_eventstream, fuzz_stream], ids=lambda t: t.__name__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=damaged_eventstreams())
def test_eventstream_targets_on_damaged_bedrock_bodies(target: object, body: bytes) -> None:
    target(body)  # type: ignore[operator]


def _corpus() -> list[tuple[str, Path]]:
    return [(target, path) for target in sorted(TARGETS) for path in sorted((CORPUS / target).glob("*"))]


@pytest.mark.parametrize(("target", "path"), _corpus(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_corpus_replays_clean(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


def test_every_target_has_a_seed_corpus() -> None:
    for target in TARGETS:
        assert any((CORPUS / target).iterdir()), target


def test_jsontestsuite_through_the_parser_target() -> None:
    # Every header choice over JSONTestSuite's accept/reject/either files.
    for path in sorted(JSONTESTSUITE.glob("*.json")):
        data = path.read_bytes()
        if len(data) > 4096:  # the huge nesting files are tested in test_jsontestsuite.py
            continue
        for flags in (0, 1, 2, 4, 16, 32, 64):
            fuzz_parser(bytes([flags, len(data) % 256]) + data)


def test_atheris_bounded_run(tmp_path: Path) -> None:
    """A short coverage-guided run of every target; the long run is `python -m fuzz.run --seconds 600`."""
    pytest.importorskip("atheris", reason="pip install 'fieldstream[fuzz]'")
    summary = tmp_path / "fuzz.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz.run", "--runs", "800", "--json", str(summary)],
        check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(summary.read_text())["results"]
    assert {r["target"] for r in results} == set(TARGETS)
    for result in results:
        assert result["ok"] and result["executions"] >= 800, result
