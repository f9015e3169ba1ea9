"""Load, bounded: 1,000 concurrent streams in one asyncio process against a local server, no cross-talk.

The figures (more chunks, a soak) come from ``python benchmarks/load.py``; this
run keeps the harness honest and checks every stream got exactly its own document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_thousand_concurrent_streams_each_get_exactly_their_own_document(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--streams", "1000", "--chunks", "3",
         "--interval", "0.05", "--json", str(out)],
        check=False, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wave,) = json.loads(out.read_text())["waves"]
    assert wave["ok_streams"] == wave["streams"] == 1000 and wave["problems"] == []
    assert wave["items"] == 3000  # one latency sample per item, from every stream
    assert 0 < wave["latency_ms"]["p50"] <= wave["latency_ms"]["p99"] <= wave["latency_ms"]["max"]
