"""Write a synthesized timing sidecar (NAME.timing.jsonl) for a recorded SSE body.

The corpus recordings carry no timing, so the bundled replay's cadence is made up,
deterministically: a first read after a time-to-first-token pause, then one read per
SSE event (servers flush per event), sometimes two events in one read, 30-60 ms apart.

    python scripts/synthesize_timing.py src/fieldstream/_data/openai_chat_json_object.sse
"""

from __future__ import annotations

import json
import random
import sys

SEED = 5
FIRST_READ = 0.35  # seconds to the first byte
GAP = (0.030, 0.060)  # seconds between reads
COALESCE = 0.15  # chance that a read carries two events


def main(path: str) -> None:
    with open(path, "rb") as f:
        body = f.read()
    events = [e + b"\n\n" for e in body.split(b"\n\n")[:-1]]
    assert b"".join(events) == body, "expected an SSE body with \\n\\n separators"
    rng = random.Random(SEED)
    t = FIRST_READ
    lines = []
    i = 0
    while i < len(events):
        take = 2 if rng.random() < COALESCE and i + 1 < len(events) else 1
        n = sum(len(e) for e in events[i : i + take])
        lines.append(json.dumps({"t": round(t, 4), "n": n}))
        t += rng.uniform(*GAP)
        i += take
    with open(path + ".timing.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
