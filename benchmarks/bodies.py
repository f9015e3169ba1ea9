"""Raw provider response bodies for the end-to-end case, cut into network reads.

Two groups:

* ``corpus``: every recorded stream in ``tests/corpus/streams`` (and the bundled
  recording in ``src/fieldstream/_data``), as the bytes that went over the wire
  (``.chunks.jsonl`` lists framed again as SSE).  Where a timing sidecar
  (``NAME.timing.jsonl``) exists the body is cut at its real network reads;
  otherwise one read per SSE event (blank-line terminated) or NDJSON line, the
  way a token-paced stream arrives.  Bedrock's binary AWS event stream bodies are
  left out: the peers here read SSE and NDJSON (``benchmarks/eventstream.py``
  measures that framing).
* ``generated``: OpenAI Chat Completions streams whose content is a JSON answer
  of 4 KB to 1 MB (the ``records`` kind of :mod:`.generate`), cut into realistic
  token deltas (1 to 8 characters, words with their leading space, punctuation
  runs), one ``chat.completion.chunk`` per delta and one read per event, with
  the envelope fields real chunks carry; and ``tool-100``: 40 streams of one tool
  call each whose ~100-character arguments arrive in token deltas.

Every body knows how many events it holds (for per-event costs) and where its
answer is still open (``open_reads``: the reads before the last content delta),
for the memory of an open stream.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .generate import generate

__all__ = ["GENERATED_SIZES", "Body", "corpus_bodies", "generated_body", "token_deltas", "tool_bodies"]

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "streams"
BUNDLED = ROOT / "src" / "fieldstream" / "_data" / "openai_chat_json_object.sse"

#: Answer sizes of the generated streams, in characters.
GENERATED_SIZES = (4_000, 16_000, 64_000, 256_000, 1_000_000)

# The corpus's format names -> StreamDecoder's.
_FORMATS = {
    "openai_chat": "openai-chat",
    "openai_responses": "openai-responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
# A rough BPE: a word with its leading space (cut at 8 letters), up to 3 digits, a run of up
# to 3 punctuation characters, or whitespace.  Mean token ~3.5 characters on JSON answers.
_TOKEN = re.compile(r" ?[A-Za-z]{1,8}| ?[0-9]{1,3}|[^\sA-Za-z0-9]{1,3}|\s+")


@dataclass
class Body:
    name: str
    group: str  # "corpus", "generated" or "tool"
    format: str  # StreamDecoder's format name
    reads: list[bytes]
    events: int  # SSE messages or NDJSON lines
    answer: int = 0  # characters of the streamed JSON answer (generated bodies)
    kind: str | None = None  # the generated kind (selects the schema); None: no schema known
    tools: list[str] = field(default_factory=list)  # tool names seen (typed peers map each to Any)
    open_reads: int = 0  # reads fed for the "open stream" memory measurement
    timed: bool = False  # cut at real network reads (timing sidecar)

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.reads)


def token_deltas(text: str, seed: int = 0) -> list[str]:
    """``text`` cut into token-sized deltas (joined, they give ``text`` back)."""
    deltas = [m.group() for m in _TOKEN.finditer(text)]
    assert "".join(deltas) == text
    return deltas


def _split_events(body: bytes, ndjson: bool) -> list[bytes]:
    if ndjson:
        return [line + b"\n" for line in body.split(b"\n") if line.strip()]
    reads, pos = [], 0
    for match in _EVENT_END.finditer(body):
        reads.append(body[pos : match.end()])
        pos = match.end()
    if pos < len(body):
        reads.append(body[pos:])
    return reads


def _tool_names(body: bytes) -> list[str]:
    names = set(re.findall(rb'"name"\s*:\s*"([^"\\]{1,80})"', body))
    return sorted(n.decode("utf-8", "replace") for n in names)


@lru_cache(maxsize=1)
def corpus_bodies() -> tuple[Body, ...]:
    """Every recorded stream, cut at its network reads (sidecar) or per event."""
    from fieldstream._recording import read_timing, to_wire_bytes

    bodies = []
    sources = [(p, json.loads(p.read_text("utf-8"))) for p in sorted(CORPUS.glob("*/*.expected.json"))]
    for expected_path, expected in sources:
        if expected["format"] not in _FORMATS:
            continue  # Bedrock's binary event stream: no SSE peer reads it (benchmarks/eventstream.py does)
        path = expected_path.with_name(expected["file"])
        body = to_wire_bytes(path, path.read_bytes())
        bodies.append(_body(path, body, _FORMATS[expected["format"]], read_timing(path)))
    if BUNDLED.is_file():
        bodies.append(_body(BUNDLED, BUNDLED.read_bytes(), "openai-chat", read_timing(BUNDLED)))
    return tuple(bodies)


def _body(path: Path, body: bytes, format: str, timing: Any) -> Body:
    from fieldstream._recording import timed_reads

    ndjson = format == "ollama"
    events = len(_split_events(body, ndjson))
    reads = [chunk for _, chunk in timed_reads(body, timing)] if timing else _split_events(body, ndjson)
    name = path.name.split(".")[0]
    return Body(
        name, "corpus", format, reads, events, tools=_tool_names(body), open_reads=len(reads) // 2, timed=bool(timing)
    )


_ENVELOPE = {
    "id": "chatcmpl-BenchK7dXq2Zr1nVwYt8mPa4sLf",
    "object": "chat.completion.chunk",
    "created": 1764500000,
    "model": "gpt-4.1-2025-04-14",
    "service_tier": "default",
    "system_fingerprint": "fp_b3f1157249",
}


def _chunk(delta: dict[str, Any], finish: str | None = None, obfuscation: str = "") -> bytes:
    chunk = dict(_ENVELOPE)
    chunk["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    if obfuscation:
        chunk["obfuscation"] = obfuscation
    return b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def _chat_body(name: str, group: str, deltas: list[str], *, tool: str | None, kind: str | None, answer: int) -> Body:
    rng = random.Random(name)
    reads = [_chunk({"role": "assistant", "content": "", "refusal": None})]
    if tool is not None:
        first = {"index": 0, "id": "call_bench0", "type": "function", "function": {"name": tool, "arguments": ""}}
        reads = [_chunk({"role": "assistant", "content": None, "tool_calls": [first]})]
    for text in deltas:
        pad = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(4))
        if tool is None:
            reads.append(_chunk({"content": text}, obfuscation=pad))
        else:
            reads.append(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": text}}]}, obfuscation=pad))
    open_reads = len(reads) - 1  # everything but the last delta: the answer is still open
    reads.append(_chunk({}, "tool_calls" if tool else "stop"))
    usage = dict(
        _ENVELOPE,
        choices=[],
        usage={"prompt_tokens": 91, "completion_tokens": len(deltas), "total_tokens": 91 + len(deltas)},
    )
    reads.append(b"data: " + json.dumps(usage, separators=(",", ":")).encode() + b"\n\n")
    reads.append(b"data: [DONE]\n\n")
    return Body(name, group, "openai-chat", reads, len(reads), answer, kind, [tool] if tool else [], open_reads)


def _label(size: int) -> str:
    return f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"


@lru_cache(maxsize=8)
def generated_body(size: int) -> Body:
    """An OpenAI chat stream whose content is a ``records`` JSON answer of ``size`` characters."""
    text = generate("records", size)
    return _chat_body(
        f"answer-{_label(size)}", "generated", token_deltas(text), tool=None, kind="records", answer=len(text)
    )


_CITIES = ["Paris", "Zürich", "Tokyo", "São Paulo", "Nairobi", "Vancouver", "Kraków", "Lagos"]


@lru_cache(maxsize=1)
def tool_bodies(count: int = 40) -> tuple[Body, ...]:
    """``count`` streams of one tool call each, ~100-character arguments in token deltas."""
    rng = random.Random("tool-100")
    bodies = []
    for i in range(count):
        args = json.dumps(
            {
                "location": rng.choice(_CITIES),
                "unit": rng.choice(["celsius", "fahrenheit"]),
                "days": rng.randint(1, 14),
                "include": rng.sample(["wind", "humidity", "uv", "rain"], 2),
            },
            ensure_ascii=False,
        )
        bodies.append(
            _chat_body(f"tool-{i}", "tool", token_deltas(args), tool="get_forecast", kind=None, answer=len(args))
        )
    return tuple(bodies)
