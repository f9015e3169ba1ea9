"""Typing tests: mypy (strict) on examples of the typed API, like msgspec's.

``tests/typing/usage.py`` must type-check with the types its ``assert_type``
calls state; every line of ``tests/typing/misuse.py`` marked ``# E: code`` must
give exactly that error, and no other line any.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("pydantic")
api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent / "typing"


def mypy(path: Path, tmp_path: Path) -> list[str]:
    stdout, stderr, _ = api.run(
        ["--strict", "--no-error-summary", "--show-error-codes", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    assert not stderr, stderr
    return [line for line in stdout.splitlines() if ": error:" in line]


def test_usage_type_checks(tmp_path: Path) -> None:
    assert mypy(HERE / "usage.py", tmp_path) == []


def test_misuse_is_rejected(tmp_path: Path) -> None:
    path = HERE / "misuse.py"
    expected = {
        i: m.group(1)
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if (m := re.search(r"# E: ([\w-]+)$", line))
    }
    found: dict[int, set[str]] = {}
    for line in mypy(path, tmp_path):
        m = re.match(r".*?:(\d+): error: .*\[([\w-]+)\]$", line)
        assert m, line
        found.setdefault(int(m.group(1)), set()).add(m.group(2))
    assert {i: {code} for i, code in expected.items()} == found
