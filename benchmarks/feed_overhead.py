"""Per-chunk cost of Parser.feed on small chunks (the thread lock is paid once per call).

    python benchmarks/feed_overhead.py [SRC ...]   # each SRC: a checkout's src/ to compare

Feeds a 250 kB document of 3,000 objects in 4-character chunks, five times, and prints
the best time per chunk for each source tree given (default: this checkout's); then,
end to end, every recorded OpenAI Chat stream through ``StreamDecoder`` in 64-byte
reads (5 rounds, best of 7).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CODE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import fieldstream as fs
doc = json.dumps({"items": [{"id": i, "title": f"title {i}", "tags": ["a", "b"], "score": i / 7} for i in range(3000)]})
chunks = [doc[i : i + 4] for i in range(0, len(doc), 4)]
best = 1e9
for _ in range(5):
    p = fs.Parser()
    t = time.perf_counter()
    for c in chunks:
        p.feed(c)
    p.close()
    best = min(best, time.perf_counter() - t)
ns = round(best / len(chunks) * 1e9)
bodies = [p.read_bytes() for p in sorted(Path(sys.argv[2]).glob("*.sse"))]
e2e = 1e9
for _ in range(7):
    t = time.perf_counter()
    for _ in range(5):
        for b in bodies:
            d = fs.StreamDecoder()
            for i in range(0, len(b), 64):
                d.feed(b[i : i + 64])
            d.close()
    e2e = min(e2e, time.perf_counter() - t)
print(json.dumps({"src": sys.argv[1], "chunks": len(chunks), "ns_per_chunk": ns, "e2e_ms": round(e2e * 1e3, 1)}))
"""


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    streams = str(root / "tests" / "corpus" / "streams" / "openai_chat_completions")
    sources = sys.argv[1:] or [str(root / "src")]
    for src in sources:  # each in a fresh process, so the trees never mix
        out = subprocess.run(
            [sys.executable, "-c", CODE, src, streams], capture_output=True, text=True, check=True
        ).stdout
        print(json.loads(out))


if __name__ == "__main__":
    main()
