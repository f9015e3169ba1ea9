"""`fieldstream record` as a real subprocess against the loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .streamserver import Script, StreamServer, running

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
RECORDING = CORPUS / "openai_chat_completions" / "oai_py_json_schema_location.sse"


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def events_of(body: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in body.split(b"\n\n")[:-1]]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldstream", *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_record_saves_body_and_timing(server: StreamServer, tmp_path: Path) -> None:
    body = RECORDING.read_bytes()
    server.serve("/v1/chat/completions", Script(events_of(body), delay=0.005))
    out = tmp_path / "loc.sse"
    request = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "weather?"}]}
    result = cli(
        "record",
        server.url("/v1/chat/completions"),
        "--data",
        json.dumps(request),
        "-H",
        "Authorization: Bearer sk-test",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert f"saved {len(body)} bytes" in result.stderr
    assert out.read_bytes() == body
    reads = [json.loads(line) for line in (tmp_path / "loc.sse.timing.jsonl").read_text().splitlines()]
    assert sum(r["n"] for r in reads) == len(body)
    assert len(reads) > 1 and all(r["n"] > 0 for r in reads)
    times = [r["t"] for r in reads]
    assert times == sorted(times) and times[0] > 0
    visit = server.last_visit()
    assert visit.method == "POST" and visit.json == request
    assert visit.headers["Authorization"] == "Bearer sk-test" and visit.headers["content-type"] == "application/json"


def test_record_data_from_file_and_default_name(server: StreamServer, tmp_path: Path) -> None:
    server.serve("/api/chat", Script([b'{"a": 1}\n', b'{"a": 2}\n'], content_type="application/x-ndjson", delay=0.001))
    (tmp_path / "req.json").write_text('{"model": "llama3.2"}')
    result = cli("record", server.url("/api/chat"), "-d", "@req.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "recording.ndjson").read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert (tmp_path / "recording.ndjson.timing.jsonl").is_file()
    assert server.last_visit().json == {"model": "llama3.2"}


def test_record_error_status(server: StreamServer, tmp_path: Path) -> None:
    error = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
    server.serve("/v1/chat/completions", Script([error], status=401, content_type="application/json"))
    result = cli("record", server.url("/v1/chat/completions"), "-d", "{}", "-o", str(tmp_path / "x.sse"))
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "Incorrect API key provided" in result.stderr
    assert not (tmp_path / "x.sse").exists()


@pytest.mark.parametrize("args", [["-d", "{nope"], ["-H", "no colon"]])
def test_record_bad_arguments(args: list[str]) -> None:
    result = cli("record", "http://127.0.0.1:9/", *args)
    assert result.returncode != 0 and "fieldstream record:" in result.stderr
