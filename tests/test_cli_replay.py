"""`fieldstream replay` as a real subprocess: the bundled recording, corpus files, timing, views."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldstream._recording import UNTIMED_READ_SIZE, read_timing, timed_reads, to_wire_bytes

from .streamserver import Script, StreamServer, running

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
DATA = Path(__file__).resolve().parents[1] / "src" / "fieldstream" / "_data"
BUNDLED = DATA / "openai_chat_json_object.sse"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env = {**env, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "fieldstream", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        check=False,
    )


def jsonl(*args: str, cwd: Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    result = cli("replay", "--no-delay", "--jsonl", *args, cwd=cwd)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def expected_values(name: str) -> dict[str, Any]:
    """The corpus's assembled JSON per choice (OpenAI chat recordings)."""
    expected = json.loads((CORPUS / name).with_name(Path(name).name.split(".")[0] + ".expected.json").read_text())
    values = {}
    for choice in expected["assembled"]["choices"]:
        if choice.get("content_is_valid_json"):
            values[f"choices[{choice['index']}]"] = json.loads(choice["content"])
        for call in choice.get("tool_calls", []):
            values[f"choices[{choice['index']}].tool_calls[{call['index']}]"] = json.loads(call["arguments"])
    return values


def merged(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with adjacent deltas of one (source, path) joined: read boundaries carry no meaning."""
    out: list[dict[str, Any]] = []
    for r in records:
        last = out[-1] if out else None
        if (
            last
            and r["event"] == last["event"] == "delta"
            and (r["source"], r["path"]) == (last["source"], last["path"])
        ):
            last["text"] += r["text"]
        else:
            out.append(dict(r))
    return out


# -- --jsonl: the machine format -------------------------------------------------------


def test_bundled_replay_jsonl() -> None:
    status, records = jsonl()
    assert status == 0
    assert all("source" in r for r in records)
    assert records[0] == {"event": "start", "source": "choices[0]", "kind": "content", "id": None, "name": None}
    dones = [r for r in records if r["event"] == "done"]
    assert dones == [
        {
            "event": "done",
            "value": expected_values("openai_chat_completions/oai_py_json_object_mode.sse")["choices[0]"],
            "source": "choices[0]",
        }
    ]
    assert {"event": "field", "path": "$.forecast[1].day", "value": "Tuesday", "source": "choices[0]"} in records
    text = "".join(r["text"] for r in records if r["event"] == "delta" and r["path"] == "$.weather.condition")
    assert text == "Partly Cloudy"
    end = records[-1]
    assert end["event"] == "end" and end["source"] is None and end["complete"] is True
    assert end["finish_reasons"] == {"choices[0]": "stop"} and end["usage"]["completion_tokens"] == 177


@pytest.mark.parametrize(
    "name",
    [
        "openai_chat_completions/oai_py_tools_parallel_two.sse",  # two tool calls
        "openai_chat_completions/oai_py_json_schema_n3_choices.sse",  # three choices interleaved
        "openai_chat_completions/vercel_xai_tool_call.chunks.jsonl",  # a chunk list, SSE framing stripped
    ],
)
def test_corpus_replay_one_done_per_target(name: str) -> None:
    status, records = jsonl(str(CORPUS / name))
    assert status == 0
    assert all("source" in r for r in records)
    dones = {r["source"]: r["value"] for r in records if r["event"] == "done"}
    assert len(dones) == sum(r["event"] == "done" for r in records)
    assert {k: v for k, v in dones.items() if not k.endswith(".reasoning")} == expected_values(name)


def test_the_format_does_not_depend_on_reads(tmp_path: Path) -> None:
    # Untimed (fixed-size reads) and sidecar-timed replays give the same records, deltas joined.
    copy = tmp_path / "untimed.sse"
    copy.write_bytes(BUNDLED.read_bytes())
    _, timed = jsonl()
    _, untimed = jsonl(str(copy))
    assert merged(timed) == merged(untimed)


def test_truncated_stream_exits_1_with_error_record() -> None:
    status, records = jsonl(str(CORPUS / "openai_chat_completions/oai_py_json_schema_max_tokens_1.sse"))
    assert status == 1
    (error,) = [r for r in records if r["event"] == "error"]
    assert error["source"] == "choices[0]" and error["kind"] == "truncated" and error["reason"] == "length"
    assert error["snapshot"] == {}


def test_model_validates_the_content(tmp_path: Path) -> None:
    pytest.importorskip("fieldstream._typed", reason="schema validation lands with the typed-parsing branch")
    (tmp_path / "weather.py").write_text(
        "from pydantic import BaseModel\n"
        "class Day(BaseModel):\n    day: str\n    high: str\n"
        "class Report(BaseModel):\n    location: str\n    forecast: list[Day]\n"
        "class Wrong(BaseModel):\n    location: int\n"
    )
    status, records = jsonl("--model", "weather:Report", cwd=tmp_path)
    assert status == 0
    (done,) = [r for r in records if r["event"] == "done"]
    assert done["value"]["forecast"][2] == {"day": "Wednesday", "high": "18°C"}  # validated: extra keys dropped
    status, records = jsonl("--model", "weather:Wrong", cwd=tmp_path)
    assert any(r["event"] in ("invalid", "error") and r["source"] == "choices[0]" for r in records)


# -- timing ----------------------------------------------------------------------------


def test_bundled_sidecar_covers_the_body() -> None:
    timing = read_timing(BUNDLED)
    assert timing is not None and sum(n for _, n in timing) == BUNDLED.stat().st_size
    reads = list(timed_reads(BUNDLED.read_bytes(), timing))
    assert [len(c) for _, c in reads] == [n for _, n in timing]
    assert [t for t, _ in reads] == sorted(t for t, _ in reads)


def test_reads_without_a_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "x.sse"
    path.write_bytes(b"a" * (UNTIMED_READ_SIZE * 2 + 1))
    assert read_timing(path) is None
    assert [len(c) for _, c in timed_reads(path.read_bytes(), None)] == [UNTIMED_READ_SIZE, UNTIMED_READ_SIZE, 1]


def test_short_and_long_sidecars() -> None:
    assert list(timed_reads(b"abcdef", [(0.1, 2), (0.2, 2)])) == [(0.1, b"ab"), (0.2, b"cd"), (0.2, b"ef")]
    assert list(timed_reads(b"abc", [(0.1, 2), (0.2, 2), (0.3, 2)])) == [(0.1, b"ab"), (0.2, b"c")]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.one_of(st.none(), st.lists(st.integers(1, 50), max_size=20)))
def test_reads_always_rebuild_the_body(body: bytes, sizes: list[int] | None) -> None:
    timing = None if sizes is None else [(i / 10, n) for i, n in enumerate(sizes)]
    reads = list(timed_reads(body, timing))
    assert b"".join(c for _, c in reads) == body
    assert all(c for _, c in reads)
    assert [t for t, _ in reads] == sorted(t for t, _ in reads)


def test_chunk_lists_become_sse() -> None:
    assert to_wire_bytes(Path("x.chunks.jsonl"), b'{"a": 1}\n\n{"b": 2}\n') == b'data: {"a": 1}\n\ndata: {"b": 2}\n\n'
    assert to_wire_bytes(Path("x.sse"), b"data: x\n\n") == b"data: x\n\n"


def test_sidecar_pace_is_honoured(tmp_path: Path) -> None:
    body = BUNDLED.read_bytes()[:2000]
    path = tmp_path / "paced.sse"
    path.write_bytes(body)
    (tmp_path / "paced.sse.timing.jsonl").write_text('{"t": 0.1, "n": 1000}\n{"t": 0.8, "n": 1000}\n')
    began = time.perf_counter()
    assert cli("replay", str(path), "--jsonl").returncode in (0, 1)
    assert time.perf_counter() - began >= 0.8  # the last read waited for its time
    began = time.perf_counter()
    assert cli("replay", str(path), "--jsonl", "--speed", "2").returncode in (0, 1)
    assert time.perf_counter() - began >= 0.4


def test_bad_sidecar_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.sse"
    path.write_bytes(b"data: [DONE]\n\n")
    (tmp_path / "bad.timing.jsonl").write_text('{"t": 0.1}\n')
    result = cli("replay", str(path))
    assert result.returncode == 1 and "bad.timing.jsonl:1" in result.stderr


# -- record, then replay ---------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def test_record_then_replay(server: StreamServer, tmp_path: Path) -> None:
    source = CORPUS / "openai_chat_completions/oai_py_tools_parallel_two.sse"
    body = source.read_bytes()
    server.serve("/v1/chat/completions", Script([body[i : i + 300] for i in range(0, len(body), 300)], delay=0.002))
    out = tmp_path / "rec.sse"
    assert cli("record", server.url("/v1/chat/completions"), "-d", "{}", "-o", str(out)).returncode == 0
    assert len(read_timing(out) or []) > 1
    _, replayed = jsonl(str(out))
    _, original = jsonl(str(source))
    assert merged(replayed) == merged(original)


# -- the views -------------------------------------------------------------------------


def run_in_terminal(code: str) -> tuple[int, str]:
    """Run python code with stdout and stderr on a pseudo-terminal; return its status and screen bytes."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 120, 0, 0))  # rows, columns
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env = {**env, "PYTHONPATH": os.pathsep.join(sys.path), "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    output = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        output += data
    os.close(master)
    return proc.wait(timeout=60), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode("utf-8", "replace"))


def test_live_view_in_a_terminal() -> None:
    status, screen = run_in_terminal(
        "from fieldstream._cli import main; raise SystemExit(main(['replay', '--speed', '20']))"
    )
    assert status == 0
    final = screen.split("✓ done")[-2].rsplit("choices[0]", 1)[-1] + screen.split("✓ done")[-1]  # the last frame
    assert '"condition"' in final and "Mostly Cloudy" in final and "✓" in final
    assert "47,252/47,252 bytes" in final and "155 reads" in final and "finish choices[0]=stop" in final
    assert "▌" in screen  # a string was drawn while it was being typed


def test_plain_view_when_not_a_terminal() -> None:
    result = cli("replay", "--no-delay")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "choices[0] started (content)"
    assert 'choices[0] $.forecast[0].day = "Monday"' in lines
    assert lines[-1].startswith("-- end: finish {'choices[0]': 'stop'}")


def test_missing_rich_gives_an_install_hint() -> None:
    status, screen = run_in_terminal(
        "import sys; sys.modules['rich'] = None\n"
        "from fieldstream._cli import main; raise SystemExit(main(['replay', '--no-delay']))"
    )
    assert status == 0
    assert "pip install 'fieldstream[cli]'" in screen
    assert "choices[0] done:" in screen  # and the plain view still plays it


@pytest.mark.parametrize(
    "name",
    [
        "openai_responses/vercel_responses_reasoning_fc.chunks.jsonl",
        "anthropic_messages/vercel_sonnet45_json_output_format.chunks.jsonl",
        "anthropic_messages/ant_sdk_tool_use_truncated_max_tokens.sse",
        "gemini/pai_gemini3_json_schema_with_grounding.sse",  # CRLF framing
        "ollama/sk_llama32_tool_call.ndjson",
    ],
)
def test_replay_equals_the_decoder_fed_whole(name: str) -> None:
    import fieldstream as fs

    path = CORPUS / name
    decoder = fs.StreamDecoder()
    expected = [
        fs.stream_event_to_json(e) for e in decoder.feed(to_wire_bytes(path, path.read_bytes())) + decoder.close()
    ]
    for record in expected:
        record.setdefault("source", None)
    status, records = jsonl(str(path))
    assert status == (1 if decoder.faults else 0)
    assert merged(records) == json.loads(json.dumps(merged(expected)))
    assert sum(r["event"] == "done" for r in records) == len(decoder.result.values) > 0


def test_live_view_with_a_model(tmp_path: Path) -> None:
    (tmp_path / "weather.py").write_text(
        "from pydantic import BaseModel\n"
        "class Day(BaseModel):\n    day: str\n    high: str\n"
        "class Report(BaseModel):\n    location: str\n    forecast: list[Day]\n"
    )
    status, screen = run_in_terminal(
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "from fieldstream._cli import main; raise SystemExit(main(['replay', '--no-delay', '--model', 'weather:Report']))"
    )
    assert status == 0
    assert '"high": "20°C" ✓' in screen and '"location": "San Francisco, CA", ✓' in screen
    assert "Partly Cloudy" not in screen  # the model has no weather field
