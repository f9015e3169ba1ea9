"""JSONTestSuite (nst/JSONTestSuite): y_ accepted as json.loads reads them, n_ rejected, i_ never crash.

Every file is fed whole, one byte at a time and at random splits, as bytes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import fieldstream as fs

from .splits import SPLITS, chunked, run

SUITE = Path(__file__).resolve().parent / "corpus" / "jsontestsuite" / "test_parsing"
FILES = sorted(SUITE.glob("*.json"))
BY_KIND = {kind: [f for f in FILES if f.name.startswith(kind)] for kind in ("y_", "n_", "i_")}

assert len(FILES) == 318, "tests/corpus/jsontestsuite is incomplete"


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b)


def test_the_suite_is_complete() -> None:
    assert (len(BY_KIND["y_"]), len(BY_KIND["n_"]), len(BY_KIND["i_"])) == (95, 188, 35)


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("path", BY_KIND["y_"], ids=lambda p: p.name)
def test_accepts(path: Path, how: str) -> None:
    data = path.read_bytes()
    _, events = run(chunked(data, how))
    assert _same(events[-1].value, json.loads(data))


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("path", BY_KIND["n_"], ids=lambda p: p.name)
def test_rejects(path: Path, how: str) -> None:
    with pytest.raises(fs.ParseError):
        run(chunked(path.read_bytes(), how))


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("path", BY_KIND["i_"], ids=lambda p: p.name)
def test_implementation_defined_never_crash(path: Path, how: str) -> None:
    data = path.read_bytes()
    try:
        _, events = run(chunked(data, how))
    except fs.ParseError:
        return
    assert _same(events[-1].value, json.loads(data))
