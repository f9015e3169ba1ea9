"""Record corpus streams the way a model sends them, with `fieldstream record`, as timeline test data.

A loopback server sends each SSE event of a recorded body after a pause drawn
from a seeded model-like pace (20-60 ms per token, a longer think before the
first, one stall of 1.3 s half-way), and `fieldstream record` saves the body and
its timing sidecar into ``tests/corpus/recorded/``.  Run from the repository root:

    python -m scripts.record_paced
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from fieldstream._recording import to_wire_bytes
from tests.streamserver import Script, StreamServer

ROOT = Path(__file__).resolve().parents[1]
STREAMS = ROOT / "tests" / "corpus" / "streams"
OUT = ROOT / "tests" / "corpus" / "recorded"
SOURCES = {
    "openai_chat_paced.sse": "openai_chat_completions/oai_py_json_object_mode.sse",
    "anthropic_paced.sse": "anthropic_messages/vercel_sonnet45_json_output_format.chunks.jsonl",
    "gemini_paced.sse": "gemini/pai_gemini_web_search_text.sse",
}


def model_pace(events: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    delays = [0.4 + rng.random() * 0.3] + [0.02 + rng.random() * 0.04 for _ in range(events - 1)]
    if events > 4:
        delays[events // 2] = 1.3  # one stall, as providers have under load
    return delays


def split_events(body: bytes) -> list[bytes]:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    parts = body.split(sep)
    return [p + sep for p in parts[:-1] if p.strip()] + ([parts[-1]] if parts[-1].strip() else [])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    server = StreamServer().start()
    try:
        for seed, (name, source) in enumerate(sorted(SOURCES.items())):
            path = STREAMS / source
            events = split_events(to_wire_bytes(path, path.read_bytes()))
            server.serve(f"/{name}", Script(events, delays=model_pace(len(events), seed)))
            subprocess.run(
                [sys.executable, "-m", "fieldstream", "record", server.url(f"/{name}"), "-X", "GET", "-o", OUT / name],
                check=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
