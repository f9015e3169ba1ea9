"""The benchmark harness runs end to end at tiny size, so it cannot rot.  No timing thresholds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.cases import build, leaf_ends, matrix
from benchmarks.competitors import COMPETITORS, load
from benchmarks.corpus import payloads
from benchmarks.generate import KINDS, generate
from benchmarks.report import markdown, slope

ROOT = Path(__file__).resolve().parents[1]
# Peers light enough for every test run; the heavy ones get one tiny case below.
LIGHT = "fieldstream,fieldstream-typed,jiter-reparse,pydantic-partial,jiter+validate,ijson-yajl2_c,json.loads-once"
HEAVY = {"openai-sdk": "openai", "partial-json-parser": "partial_json_parser", "json-repair": "json_repair"}


def harness(tmp_path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path), "--name", "smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads((tmp_path / "smoke.json").read_text("utf-8"))
    assert (tmp_path / "smoke.md").read_text("utf-8").startswith("# fieldstream benchmark")
    return data


def scalars(value: Any) -> int:
    if isinstance(value, dict):
        return sum(scalars(v) for v in value.values())
    if isinstance(value, list):
        return sum(scalars(v) for v in value)
    return 1


def test_smoke_run_light_peers(tmp_path: Path) -> None:
    cases = "records-500-c4,records-2k-c4,nested-500-c1" + ",corpus-real"
    data = harness(tmp_path, "--only", LIGHT, "--cases", cases)
    rows = {(r["competitor"], r["case"]): r for r in data["results"]}
    for case in cases.split(","):
        for name in ("fieldstream", "jiter-reparse", "json.loads-once"):
            row = rows[(name, case)]
            assert row["status"] == "ok", row
            assert row["correct"] is True
            assert row["total_ms"] > 0 and row["p99_us"] >= row["p50_us"]
        assert rows[("fieldstream", case)]["ttc_mean_chunks"] >= 0
    # json.loads exposes nothing before the end: every leaf waits for the last chunk.
    assert (
        rows[("json.loads-once", "records-2k-c4")]["ttc_mean_chunks"]
        > rows[("fieldstream", "records-2k-c4")]["ttc_mean_chunks"]
    )
    for row in data["results"]:  # nothing ran and got a wrong value
        assert row["status"] != "ok" or row["correct"] is True, row
        assert row["status"] != "error", row
    typed = data["meta"]["competitors"]["fieldstream-typed"]
    assert "versions" in typed or "not importable" in typed["unavailable"]
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "smoke.png").stat().st_size > 10_000


def test_smoke_run_heavy_peers(tmp_path: Path) -> None:
    installed = [name for name, module in sorted(HEAVY.items()) if importlib.util.find_spec(module)]
    if not installed:
        pytest.skip("none of the heavy peers is installed (pip install '.[bench]')")
    data = harness(tmp_path, "--only", ",".join(installed), "--cases", "records-500-c4", "--no-plot")
    for name in installed:
        row = next(r for r in data["results"] if r["competitor"] == name)
        assert row["status"] == "ok" and row["correct"] is True, row


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_documents(kind: str) -> None:
    text = generate(kind, 3000)
    assert 3000 <= len(text) < 3000 + 2000
    assert text == generate(kind, 3000)  # deterministic
    assert len(leaf_ends(text)) == scalars(json.loads(text))


def test_leaf_chunks_name_the_chunk_of_the_last_character() -> None:
    stream = build("records-1k-c4").streams[0]
    ends = leaf_ends(stream.text)
    assert stream.leaf_chunks() == [end // 4 for end in ends]
    assert all(stream.text[end] in '"0123456789el' for end in ends)


def test_corpus_payloads_keep_their_token_boundaries() -> None:
    found = payloads()
    assert len(found) >= 40
    for name, fragments in found:
        value = json.loads("".join(fragments))
        assert isinstance(value, (dict, list)), name
    assert any(len(f) > 100 for _, f in found)  # long streams with many real deltas are included
    case = build("corpus-real")
    assert case.chunk == 0 and len(case.streams) == len(found)


def test_matrix_and_competitor_interface() -> None:
    ids = matrix()
    assert {"records-4k-c4", "records-15k-c4", "records-60k-c4", "records-1000k-c1", "corpus-real"} <= set(ids)
    for name in COMPETITORS:
        module = load(name)
        assert module.ROLE in ("subject", "peer", "floor")
        for attr in ("NAME", "LABEL", "GROWTH", "SCHEMA", "check", "versions", "prepare", "Session"):
            assert hasattr(module, attr), (name, attr)


def test_report_slope_and_markdown() -> None:
    assert slope([(1000, 1.0), (10000, 100.0)]) == pytest.approx(2.0)
    assert slope([(1000, 1.0)]) is None
    data = {
        "meta": {
            "date": "d",
            "machine": {"cores": 2, "cpu": "c", "platform": "p", "python": "CPython"},
            "timing": "t",
            "competitors": {"fieldstream": {"versions": {}}, "jiter-reparse": {"versions": {}}},
        },
        "results": [
            {
                "competitor": "fieldstream",
                "case": "records-4k-c4",
                "kind": "records",
                "size": 4000,
                "chunk": 4,
                "status": "ok",
                "total_ms": 2.0,
                "correct": True,
            },
            {
                "competitor": "jiter-reparse",
                "case": "records-4k-c4",
                "kind": "records",
                "size": 4000,
                "chunk": 4,
                "status": "ok",
                "total_ms": 8.0,
                "correct": True,
            },
        ],
    }
    text = markdown(data)
    assert "| jiter-reparse | 8 (4×) |" in text


def test_cli_bench_quick() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "bench", "--sizes", "300,600", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["size"] >= 300 for row in data["rows"]] == [True, True]
    assert {"fieldstream", "json.loads once"} <= set(data["rows"][0]["ms"])
    text = subprocess.run(
        [sys.executable, "-m", "fieldstream", "bench", "--sizes", "300", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert text.returncode == 0 and "x)" in text.stdout


def test_answer_overhead_runs() -> None:
    from benchmarks.answer_overhead import measure

    assert set(measure(runs=1, repeats=1)) == {"decoder", "stream()"}


def test_e2e_quick_run(tmp_path: Path) -> None:
    """The end-to-end case at tiny size: raw provider bodies through every competitor's whole path."""
    pytest.importorskip("httpx_sse")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--e2e", "--quick", "--out", str(tmp_path), "--name", "e2e", "--no-plot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "e2e.json").read_text("utf-8"))
    rows = {(r["competitor"], r["case"]): r for r in data["results"]}
    for case in ("corpus", "corpus-openai-chat", "tool-100", "answer-4k"):
        for name in ("fieldstream", "fieldstream-typed", "fieldstream-stdlib", "handrolled-jiter", "floor"):
            row = rows[(name, case)]
            assert row["status"] == "ok" and row["correct"] is True, row
            assert row["per_event_us"] > 0 and row["events"] > 0
    if "unavailable" not in data["meta"]["competitors"]["openai-sdk"]:  # an openai too old for its internals
        assert rows[("openai-sdk", "corpus")]["status"] in ("n/a", "ok")  # other formats are not the SDK's
    memory = rows[("fieldstream-typed", "answer-4k")]
    assert memory["retained_kib"] > 0 and memory["value_kib"] > 0 and memory["streams_per_gib"] > 0
    assert "## CPU per event" in (tmp_path / "e2e.md").read_text("utf-8")


def test_cli_bench_e2e() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "bench", "--e2e", "--sizes", "300", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["case"].startswith("e2e") and "fieldstream" in data["rows"][0]["ms"]


def test_eventstream_benchmark_runs(tmp_path: Path) -> None:
    """The framing benchmark at a tiny size (it checks every parser's message count itself)."""
    pytest.importorskip("botocore")
    out = tmp_path / "eventstream.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/eventstream.py", "--size", "20KB", "--repeat", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text("utf-8"))["rows"]
    assert {r["parser"] for r in rows} >= {"fieldstream EventStreamDecoder", "botocore EventStreamBuffer"}


def test_memory_bounded_runs(tmp_path: Path) -> None:
    # keep_items=False at two tiny sizes, plain and typed, each in its own process.
    out = tmp_path / "bounded.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/memory.py", "--bounded", "20KB,40KB", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.with_name("memory-bounded.json").read_text("utf-8"))["results"]
    assert [(r["mode"], r["items"] > 10) for r in rows] == [
        (mode, True) for _ in range(2) for mode in ("stream", "stream-typed", "parser-typed")
    ]
    assert all(r["tracemalloc_peak_kib"] > 0 for r in rows)
