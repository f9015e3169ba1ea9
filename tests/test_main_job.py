"""The main job per provider: the code in docs/providers.md, run as real programs against a loopback server.

Each ``examples/<provider>.py`` is the exact code of its block in ``docs/providers.md``
(checked here), run in a subprocess whose SDK or fieldstream reads its base URL from
the environment, against a server replaying a recorded stream of that provider.  The
request the server received is checked too: it asks for the output type's schema.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fieldstream._recording import to_wire_bytes

from .streamserver import Script, StreamServer, running

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "streams"
DOCS = [ROOT / "docs" / "providers.md", ROOT / "README.md"]

# No Ollama structured-output recording exists in the corpus: this body follows the
# recorded Ollama /api/chat lines (tests/corpus/streams/ollama/sk_phi3_chat_stream.ndjson)
# with a JSON answer split into token-sized pieces.  Synthesized, not recorded.
_OLLAMA_PIECES = ['{"name": "Can', 'ada", "capital": "Ott', 'awa", "languages": ["Eng', 'lish", "Fr', 'ench"]}']
OLLAMA_BODY = b"".join(
    json.dumps(
        {"model": "llama3.2", "created_at": "2024-07-02T11:45:16Z", "message": {"role": "assistant", "content": p}}
        | {"done": False}
    ).encode()
    + b"\n"
    for p in _OLLAMA_PIECES
) + (
    b'{"model":"llama3.2","created_at":"2024-07-02T11:45:17Z","message":{"role":"assistant","content":""},'
    b'"done_reason":"stop","done":true,"prompt_eval_count":10,"eval_count":24}\n'
)


@dataclass
class Case:
    example: str
    route: str
    body: bytes
    content_type: str
    env: dict[str, str]
    final: str  # the last line the program prints: the validated answer
    first: str  # its first line: the first answer event


def _corpus(path: str) -> bytes:
    file = CORPUS / path
    return to_wire_bytes(file, file.read_bytes())


CASES = [
    Case(
        "openai_chat.py",
        "/v1/chat/completions",
        _corpus("openai_chat_completions/oai_py_json_schema_location.sse"),
        "text/event-stream",
        {"OPENAI_BASE_URL": "{url}/v1", "OPENAI_API_KEY": "sk-test"},
        "city='San Francisco' temperature=61 units='f'",
        "StringDelta($.city, 'San')",
    ),
    Case(
        "openai_responses.py",
        "/v1/responses",
        _corpus("openai_responses/llm_gpt4omini_json_schema_dog.sse"),
        "text/event-stream",
        {"OPENAI_BASE_URL": "{url}/v1", "OPENAI_API_KEY": "sk-test"},
        "name='Barkley' age=5 bio='Barkley is a playful",
        "StringDelta($.name, 'B",
    ),
    Case(
        "anthropic_messages.py",
        "/v1/messages",
        _corpus("anthropic_messages/vercel_sonnet45_json_output_format.chunks.jsonl"),
        "text/event-stream",
        {"ANTHROPIC_BASE_URL": "{url}", "ANTHROPIC_API_KEY": "sk-ant-test"},
        "characters=[Character(name='Theron Ironheart', description='A battle-scarred",
        "StringDelta($.characters[0].name, ",
    ),
    Case(
        "gemini.py",
        "/v1beta/models/gemini-3-flash-preview:streamGenerateContent",
        _corpus("gemini/pai_gemini3_json_schema_text.sse"),
        "text/event-stream",
        {"GOOGLE_GEMINI_BASE_URL": "{url}", "GEMINI_API_KEY": "g-test"},
        "city='Mexico City' country='Mexico'",
        "StringDelta($.city, ",
    ),
    Case(
        "ollama.py",
        "/api/chat",
        OLLAMA_BODY,
        "application/x-ndjson",
        {"OLLAMA_HOST": "{host}"},
        "name='Canada' capital='Ottawa' languages=['English', 'French']",
        "StringDelta($.name, 'Can')",
    ),
]


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def doc_blocks(doc: Path) -> dict[str, str]:
    """``examples/NAME.py`` -> the code block that follows ``<!-- example: examples/NAME.py -->``."""
    text = doc.read_text("utf-8")
    pattern = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.DOTALL)
    return {name: code for name, code in pattern.findall(text)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_provider_has_its_block_in_the_docs(doc: Path) -> None:
    blocks = doc_blocks(doc)
    for case in CASES:
        path = f"examples/{case.example}"
        assert blocks.get(path) == (ROOT / path).read_text("utf-8"), f"{doc.name} and {path} differ"
        assert len([line for line in blocks[path].splitlines() if line.strip()]) <= 10


def run(example: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("_BASE_URL", "_API_KEY")) and k != "OLLAMA_HOST"}
    full = {**clean, **env, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
        check=False,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.example for c in CASES])
def test_main_job(server: StreamServer, case: Case) -> None:
    chunks = [case.body[i : i + 97] for i in range(0, len(case.body), 97)]  # reads split anywhere
    server.serve(case.route, Script(chunks, content_type=case.content_type, delay=0.001))
    env = {k: v.format(url=server.url(""), host=f"127.0.0.1:{server.port}") for k, v in case.env.items()}
    result = run(case.example, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(case.first)
    assert lines[-1].startswith(case.final)
    assert any(line.startswith("ValueCompleted($, ") for line in lines)
    assert lines[-2].startswith("StreamCompleted(")
    visit = server.last_visit()
    body = visit.json
    schema_keys = {
        "openai_chat.py": lambda b: b["response_format"]["json_schema"]["schema"],
        "openai_responses.py": lambda b: b["text"]["format"]["schema"],
        "anthropic_messages.py": lambda b: b["output_config"]["format"]["schema"],
        "gemini.py": lambda b: b["generationConfig"]["responseJsonSchema"],
        "ollama.py": lambda b: b["format"],
    }
    schema = schema_keys[case.example](body)
    assert schema["type"] == "object" and schema["required"]
    if case.example != "gemini.py":
        assert body["stream"] is True
