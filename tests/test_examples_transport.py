"""examples/stream_fields.py, run as a real program against the loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .streamserver import Script, StreamServer, running

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "streams"


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def run_example(*args: str, key: str | None = "sk-test") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    if key is not None:
        env["OPENAI_API_KEY"] = key
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "stream_fields.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_stream_fields_example(server: StreamServer) -> None:
    body = (CORPUS / "openai_chat_completions" / "oai_py_json_object_mode.sse").read_bytes()
    server.serve("/v1/chat/completions", Script([body[i : i + 500] for i in range(0, len(body), 500)], delay=0.001))
    result = run_example("--base-url", server.url("/v1"), "weather in SF as JSON")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "$.location = 'San Francisco, CA'"
    assert lines[1].startswith("$.weather = {'temperature': '18°C'")
    assert lines[-1].startswith("-- {'choices[0]': 'stop'}, usage {'prompt_tokens': 19")
    visit = server.last_visit()
    assert visit.headers["Authorization"] == "Bearer sk-test" and visit.json["response_format"] == {
        "type": "json_object"
    }


def test_stream_fields_example_error(server: StreamServer) -> None:
    error = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
    server.serve("/v1/chat/completions", Script([error], status=401, content_type="application/json"))
    result = run_example("--base-url", server.url("/v1"), "hi")
    assert result.returncode == 1 and "HTTP 401" in result.stdout and "Incorrect API key provided" in result.stdout


def test_stream_fields_example_without_a_key(server: StreamServer) -> None:
    # A keyless local server (llama.cpp, vLLM, Ollama's /v1): no Authorization header at all.
    body = (CORPUS / "openai_chat_completions" / "oai_py_json_object_mode.sse").read_bytes()
    server.serve("/v1/chat/completions", Script([body], delay=0.001))
    result = run_example("--base-url", server.url("/v1"), "weather in SF as JSON", key=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "$.location = 'San Francisco, CA'"
    assert "authorization" not in {k.lower() for k in server.last_visit().headers}
