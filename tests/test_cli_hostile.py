"""The command line as a user meets it: every JSONTestSuite file, hostile files and arguments, no traceback.

Exit statuses: 0 success, 1 bad input or a fault, 2 a usage mistake.  ``main()`` runs
in-process for the 318-file suite (both views); everything about bytes, locales,
pipes and argv runs as a real subprocess.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldstream._cli import main
from fieldstream._json_out import dumps

from .streamserver import Script, StreamServer, running

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "corpus" / "jsontestsuite" / "test_parsing"
FILES = sorted(SUITE.glob("*.json"))
BY_KIND = {kind: [f for f in FILES if f.name.startswith(kind)] for kind in ("y_", "n_", "i_")}
RECORDING = ROOT / "tests" / "corpus" / "streams" / "openai_chat_completions" / "oai_py_json_schema_location.sse"
DEEP = 500


def cli(*args: str | bytes, stdin: bytes | None = None, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fieldstream", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=environ,
        cwd=cwd,
        check=False,
    )


def clean(result: Any) -> None:
    """No traceback, no internal error, and valid UTF-8 on both streams."""
    out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert "Traceback" not in err and "internal error" not in err, err
    assert "Traceback" not in out, out


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    out.encode("utf-8")  # strict: no lone surrogate reached the output
    assert "Traceback" not in err and "internal error" not in err, err
    return status, out, err


def load(line: str) -> Any:
    try:
        return json.loads(line)
    except RecursionError:  # 100,000-deep suite files: read back with the parser itself
        import fieldstream

        parser = fieldstream.Parser(max_depth=10**6)
        [*_, done] = [*parser.feed(line), *parser.close()]
        return done.value


def same(a: Any, b: Any) -> bool:
    # Written by the output rule (any depth; key order is the document's in both), so equal text is equal value.
    return dumps(a) == dumps(b)


# -- JSONTestSuite through `fieldstream parse` -----------------------------------------------


def test_the_suite_is_complete() -> None:
    assert [len(BY_KIND[k]) for k in ("y_", "n_", "i_")] == [95, 188, 35]


@pytest.mark.parametrize("path", BY_KIND["y_"], ids=lambda p: p.name)
def test_suite_accepts_jsonl(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "parse", str(path), "--jsonl")
    records = [load(line) for line in out.splitlines()]
    assert status == 0 and records[-1]["event"] == "done"
    assert same(records[-1]["value"], json.loads(path.read_bytes()))


@pytest.mark.parametrize("path", BY_KIND["n_"], ids=lambda p: p.name)
def test_suite_rejects_jsonl(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "parse", str(path), "--jsonl")
    last = load(out.splitlines()[-1])
    assert status == 1 and last["event"] == "error" and isinstance(last["offset"], int)


@pytest.mark.parametrize("path", BY_KIND["i_"], ids=lambda p: p.name)
def test_suite_either_jsonl(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "parse", str(path), "--jsonl")
    last = load(out.splitlines()[-1])
    if status == 0:
        assert last["event"] == "done" and same(last["value"], json.loads(path.read_bytes()))
    else:
        assert status == 1 and last["event"] == "error"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_suite_readable_view(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "parse", str(path), "--chunk-size", "3")
    last = out.splitlines()[-1]
    if path.name.startswith("y_") or (path.name.startswith("i_") and status == 0):
        assert status == 0 and last == "-- document 0 complete"
    else:
        assert status == 1 and last.startswith("error: ")


# -- parse: hostile files, as a subprocess (bytes in, bytes out) ------------------------------


@pytest.mark.parametrize(
    ("body", "status", "value"),
    [
        (b'["\\ud800", "\\udfff"]', 0, ["\ud800", "\udfff"]),  # lone surrogates: escaped, not a crash
        (b"[" * DEEP + b"1" + b"]" * DEEP, 0, None),  # deeper than json.dumps goes
        (b"[1e400, -1e400]", 0, [None, None]),  # not Infinity: null, as in SSE
        (b'{"a": "\xff"}', 1, "error"),  # invalid UTF-8
        (b"\x00\x9f\xee\x01binary", 1, "error"),
        (b"\xef\xbb\xbf{}", None, None),  # a BOM: accepted or rejected, never a crash
    ],
    ids=["surrogates", "deep", "overflow", "bad-utf8", "binary", "bom"],
)
@pytest.mark.parametrize("view", ["--jsonl", "--readable"])
def test_parse_hostile_file(tmp_path: Path, body: bytes, status: int | None, value: Any, view: str) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(body)
    result = cli("parse", str(path), *([view] if view == "--jsonl" else []))
    clean(result)
    if status is not None:
        assert result.returncode == status, result.stderr
    if view == "--jsonl" and value is not None:
        last = json.loads(result.stdout.decode("utf-8").splitlines()[-1])
        assert last["event"] == ("error" if value == "error" else "done")
        if value != "error":
            assert last["value"] == value


def test_parse_in_the_c_locale_reads_bytes_and_writes_utf8() -> None:
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}
    result = cli("parse", "-", "--jsonl", stdin=b'["caf\xc3\xa9", "\xff"]', env=env)
    clean(result)
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert {"event": "field", "path": "$[0]", "value": "café"} in records and records[-1]["event"] == "error"
    result = cli("parse", "-", "--jsonl", stdin=b'["\\ud800"]', env=env)
    clean(result)
    assert result.returncode == 0 and b'"\\ud800"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["parse", "/nonexistent/doc.json"], "cannot open"),
        (["parse", "."], "cannot open"),  # a directory
        (["parse", "--chunk-size", "0"], "at least 1"),
        (["parse", "--chunk-size", "abc"], "whole number"),
        (["parse", "--model", "json:dumps"], "not a pydantic model"),
        (["parse", "--model", "no_such_module_here:Model"], "cannot import"),
        (["parse", "--model", "nocolon"], "module:Class"),
        (["replay", "/nonexistent.sse"], "cannot open"),
        (["replay", "."], "cannot open"),
        (["replay", "--speed", "0"], "above 0"),
        (["replay", "--speed", "nan"], "above 0"),
        (["bench", "--sizes", "abc"], "whole number"),
        (["bench", "--repeats", "0"], "at least 1"),
        (["record", "http://127.0.0.1:9/", "-d", "@/nonexistent.json"], "cannot read"),
        (["record", "http://127.0.0.1:9/", "--timeout", "-1"], "above 0"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_mistakes_exit_2(args: list[str], message: str) -> None:
    result = cli(*args, cwd=ROOT)
    clean(result)
    assert result.returncode == 2 and message in result.stderr.decode(), result.stderr


def test_bare_command_prints_help_and_version() -> None:
    result = cli()
    clean(result)
    assert result.returncode == 0 and b"parse" in result.stdout and b"replay" in result.stdout
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.decode().startswith("fieldstream ")


@pytest.mark.parametrize("command", ["parse", "replay", "record", "bench"])
def test_help_has_no_rst_markup(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0 and b"``" not in result.stdout


def test_parse_hints(tmp_path: Path) -> None:
    sse = tmp_path / "answer.sse"
    sse.write_bytes(RECORDING.read_bytes())
    result = cli("parse", str(sse))
    clean(result)
    assert result.returncode == 1 and b"fieldstream replay" in result.stderr
    ndjson = tmp_path / "rows.json"
    ndjson.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    result = cli("parse", str(ndjson), "--jsonl")
    assert result.returncode == 1 and b"--multiple" in result.stderr


def test_parse_prints_events_as_stdin_arrives() -> None:
    # The first field must come out while stdin is still open (it used to wait for EOF).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-m", "fieldstream", "parse", "-", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b'{"first": 1, "second": ')
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 30)  # the line, not EOF
            assert ready
            line = proc.stdout.readline()
            assert json.loads(line) == {"event": "field", "path": "$.first", "value": 1}
            assert proc.poll() is None  # still running: stdin is open
            proc.stdin.write(b"2}")
            proc.stdin.close()
            rest = proc.stdout.read().decode().splitlines()
            assert json.loads(rest[-1]) == {"event": "done", "value": {"first": 1, "second": 2}}
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


# -- replay: hostile recordings ---------------------------------------------------------------


def chat(content: str, *, name: Any = None) -> bytes:
    """An OpenAI chat body with one content delta (and a tool call named ``name``, if given)."""
    delta: dict[str, Any] = {"content": content}
    if name is not None:
        delta = {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": name, "arguments": content}}]}
    chunk = {"choices": [{"index": 0, "delta": delta}]}
    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in (chunk, done)) + b"data: [DONE]\n\n"


@pytest.mark.parametrize(
    "body",
    [
        chat('{"a": "\\ud800"}'),  # a lone surrogate in the content
        chat("[" * DEEP + "]" * DEEP),  # content deeper than json.dumps goes
        chat('{"n": 1e400}'),
        chat('{"a": 1}', name=["list", "valued"]),  # a tool name that is not a string: a Malformed fault
        b"\x89PNG\r\n\x1a\n\x00\x00garbage\xff\xfe",
        b"data: " + b"[" * 5000 + b"\n\n",
    ],
    ids=["surrogate", "deep", "overflow", "list-tool-name", "binary", "deep-payload"],
)
@pytest.mark.parametrize("view", ["--jsonl", "plain"])
def test_replay_hostile_content(tmp_path: Path, body: bytes, view: str) -> None:
    path = tmp_path / "hostile.sse"
    path.write_bytes(body)
    result = cli("replay", str(path), "--no-delay", *([view] if view == "--jsonl" else []))
    clean(result)
    assert result.returncode in (0, 1)
    if view == "--jsonl":
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert records[-1]["event"] == "end"


def test_replay_list_valued_tool_name_no_traceback(tmp_path: Path) -> None:
    # The decoder reports the name as a Malformed fault; the CLI prints one line, no traceback.
    path = tmp_path / "tool.sse"
    path.write_bytes(chat('{"a": 1}', name=["list", "valued"]))
    result = cli("replay", str(path), "--no-delay", "--jsonl")
    assert b"Traceback" not in result.stderr and result.returncode == 1
    assert len(result.stderr.decode("utf-8").splitlines()) == 1


@pytest.mark.parametrize(
    "sidecar",
    ['{"t": 1e400, "n": 10}', '{"t": 0.1, "n": -5}', '{"t": -1, "n": 5}', '{"t": 0.1, "n": 1.5}', "[1, 2]", "\xff"],
    ids=["t-overflow", "n-negative", "t-negative", "n-fraction", "not-an-object", "bad-utf8"],
)
def test_replay_bad_timing_sidecar(tmp_path: Path, sidecar: str) -> None:
    path = tmp_path / "rec.sse"
    path.write_bytes(RECORDING.read_bytes())
    (tmp_path / "rec.sse.timing.jsonl").write_bytes(sidecar.encode("utf-8", "surrogateescape"))
    result = cli("replay", str(path), "--jsonl")
    clean(result)
    assert result.returncode == 1 and b"rec.sse.timing.jsonl:1" in result.stderr


def test_replay_without_rich_says_it_falls_back(tmp_path: Path) -> None:
    # A terminal (pty) with rich made unimportable: plain lines, and a line saying so.
    import pty

    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from fieldstream._cli import main\n"
        "sys.exit(main(['replay', '--no-delay']))\n"
    )
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], stdout=follower, stderr=subprocess.PIPE, env=env, timeout=60, check=False
    )
    os.close(follower)
    chunks = []
    while select.select([leader], [], [], 0.1)[0]:
        try:
            chunks.append(os.read(leader, 65536))
        except OSError:
            break
    os.close(leader)
    assert proc.returncode == 0
    assert b"plain lines" in proc.stderr and b"rich" in proc.stderr
    assert b"choices[0] done:" in b"".join(chunks)


# -- record: checks before the request, hostile bodies ----------------------------------------


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_record_checks_the_output_before_the_request(server: StreamServer, tmp_path: Path, where: str) -> None:
    server.serve("/v1/chat/completions", Script([RECORDING.read_bytes()]))
    output = tmp_path if where == "folder" else tmp_path / "no" / "such" / "x.sse"
    result = cli("record", server.url("/v1/chat/completions"), "-d", "{}", "-o", str(output))
    clean(result)
    assert result.returncode == 2 and b"fieldstream record:" in result.stderr
    assert server.visits == []  # nothing was sent (a real request costs money)


@pytest.mark.parametrize(
    "data",
    [b"[" * DEEP + b"]" * DEEP, b"[" * 100_000, b'{"a": "\xff"}', b"{nope"],
    ids=["deep-ok", "too-deep", "bad-utf8", "not-json"],
)
def test_record_data_checked_before_the_request(server: StreamServer, tmp_path: Path, data: bytes) -> None:
    server.serve("/v1/chat/completions", Script([RECORDING.read_bytes()], delay=0.001))
    result = cli("record", server.url("/v1/chat/completions"), "-d", data, "-o", str(tmp_path / "x.sse"))
    clean(result)
    if data.startswith(b"[" * DEEP + b"]"):
        assert result.returncode == 0, result.stderr
        assert server.last_visit().body == data
    else:
        assert result.returncode == 2 and b"--data is not JSON" in result.stderr
        assert server.visits == []


def test_record_error_status_with_a_deep_body(server: StreamServer, tmp_path: Path) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    server.serve("/v1/chat/completions", Script([deep], status=500, content_type="application/json"))
    result = cli("record", server.url("/v1/chat/completions"), "-d", "{}", "-o", str(tmp_path / "x.sse"))
    clean(result)
    assert result.returncode == 1 and b"HTTP 500" in result.stderr
