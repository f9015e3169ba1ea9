"""The `fieldstream parse` command, run as a real subprocess; its JSONL format is a contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldstream", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_parse_bundled_example_jsonl() -> None:
    result = cli("parse", "--jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["event"] for r in records} == {"field", "delta", "done"}
    done = records[-1]
    assert done["event"] == "done" and done["value"]["title"] == "Weekend trip to Lisbon"
    assert {"event": "field", "path": "$.days[0].day", "value": 1} in records
    text = "".join(r["text"] for r in records if r["event"] == "delta" and r["path"] == "$.title")
    assert text == "Weekend trip to Lisbon"


def test_parse_readable_default() -> None:
    result = cli("parse")
    assert result.returncode == 0
    assert '$.title = "Weekend trip to Lisbon"' in result.stdout
    assert "-- document 0 complete" in result.stdout


@pytest.mark.parametrize("size", ["1", "3", "1000"])
def test_jsonl_format_from_stdin(size: str) -> None:
    doc = '{"a": [1, {"b c": "x"}], "d": null}'
    result = cli("parse", "-", "--jsonl", "--chunk-size", size, stdin=doc)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    fields = [(r["path"], r["value"]) for r in records if r["event"] == "field"]
    assert fields == [
        ("$.a[0]", 1),
        ('$.a[1]["b c"]', "x"),
        ("$.a[1]", {"b c": "x"}),
        ("$.a", [1, {"b c": "x"}]),
        ("$.d", None),
        ("$", {"a": [1, {"b c": "x"}], "d": None}),
    ]
    assert records[-1] == {"event": "done", "value": json.loads(doc)}


def test_error_line_and_exit_status() -> None:
    result = cli("parse", "-", "--jsonl", stdin='{"a": [1, 2,]}')
    assert result.returncode == 1
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "error"
    assert last["offset"] == 12 and last["path"] == "$.a[2]" and "trailing comma" in last["message"]


def test_multiple_documents_from_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "docs.ndjson"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    result = cli("parse", str(path), "--jsonl", "--multiple")
    dones = [json.loads(line) for line in result.stdout.splitlines() if '"done"' in line]
    assert [d["value"] for d in dones] == [{"a": 1}, {"a": 2}]
