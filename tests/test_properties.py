"""Property tests: for generated documents and split points, the result equals json.loads."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldstream as fs

from .splits import at_splits, normalize, run

# Text that exercises escapes, surrogate pairs, non-ASCII and control characters.
text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "é", "😀", "\u2028"]),
    ),
    max_size=30,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=6), st.dictionaries(text, children, max_size=6)),
    max_leaves=40,
)


def encodings(value: object) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            json.dumps(value),
            json.dumps(value, ensure_ascii=False),
            json.dumps(value, indent=2),
            json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        ]
    )


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return json.dumps(a) == json.dumps(b)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=documents)
def test_any_split_gives_json_loads(data: st.DataObject, value: object) -> None:
    encoded = data.draw(encodings(value))
    points = data.draw(st.lists(st.integers(0, len(encoded)), max_size=12))
    as_bytes = data.draw(st.booleans())
    payload: str | bytes = encoded.encode() if as_bytes else encoded
    parser, events = run(at_splits(payload, points))
    assert same(events[-1].value, json.loads(encoded))
    assert same(parser.snapshot, json.loads(encoded))
    assert normalize(events) == normalize(run([encoded])[1])


@settings(max_examples=200)
@given(depth=st.integers(1, 300), leaf=scalars, data=st.data())
def test_deep_nesting(depth: int, leaf: object, data: st.DataObject) -> None:
    opener = data.draw(st.sampled_from(["list", "dict"]))
    value = leaf
    for _ in range(depth):
        value = [value] if opener == "list" else {"k": value}
    encoded = json.dumps(value)
    points = data.draw(st.lists(st.integers(0, len(encoded)), max_size=8))
    _, events = run(at_splits(encoded, points))
    assert same(events[-1].value, value)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=documents)
def test_every_prefix_is_either_incomplete_or_complete(data: st.DataObject, value: object) -> None:
    encoded = json.dumps(value)
    cut = data.draw(st.integers(0, len(encoded)))
    parser = fs.Parser()
    parser.feed(encoded[:cut])
    try:
        parser.close()
    except fs.IncompleteError:
        assert cut < len(encoded)
    except fs.ParseError:
        # a prefix of a number can be invalid on its own ("-" or "1.")
        assert cut < len(encoded)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(blob=st.binary(max_size=60), points=st.lists(st.integers(0, 60), max_size=6))
def test_garbage_raises_only_library_errors(blob: bytes, points: list[int]) -> None:
    try:
        _, events = run(at_splits(blob, points))
    except fs.FieldstreamError:
        return
    assert same(events[-1].value, json.loads(blob))
