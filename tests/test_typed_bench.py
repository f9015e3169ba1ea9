"""Smoke test: the typed benchmark runs and its peers agree on the final value."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic")
pytest.importorskip("jiter")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "typed_bench.py"


def test_typed_bench_smoke(tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    spec = importlib.util.spec_from_file_location("typed_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "typed_bench", module)  # pydantic resolves annotations through it
    spec.loader.exec_module(module)
    out = tmp_path / "r.json"
    assert module.main(["--repeat", "1", "--sizes", "300", "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert results[0]["size"] >= 300 and set(results[0]["seconds"]) == set(module.PEERS)
    assert "fieldstream Parser(Model)" in capsys.readouterr().out
