"""PathWriter: Gemini ``partialArgs`` fragments, in document order, spell the arguments' JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldstream._providers._jsonpath import PathWriter, parse_json_path


def test_parse_json_path() -> None:
    assert parse_json_path("$") == ()
    assert parse_json_path("$.recipe.ingredients[3].name") == ("recipe", "ingredients", 3, "name")
    assert parse_json_path("$['a b'][0][\"c\"]") == ("a b", 0, "c")
    with pytest.raises(ValueError, match="unsupported jsonPath"):
        parse_json_path("$.a[")


def test_split_string_and_terminators() -> None:
    writer = PathWriter()
    text = writer.write({"jsonPath": "$.location", "stringValue": "San ", "willContinue": True})
    text += writer.write({"jsonPath": "$.location", "stringValue": "Francisco", "willContinue": True})
    text += writer.write({"jsonPath": "$.location", "stringValue": ""})
    text += writer.write({"jsonPath": "$.days[0]", "numberValue": 1})
    text += writer.write({"jsonPath": "$.days[1]", "boolValue": True})
    text += writer.close()
    assert json.loads(text) == {"location": "San Francisco", "days": [1, True]}
    assert PathWriter().close() == "{}"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_keys = st.text("abc xyz_", min_size=1, max_size=5)
_leaves = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=12)
_values: st.SearchStrategy[Any] = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, min_size=1, max_size=3) | st.dictionaries(_keys, inner, min_size=1, max_size=3),
    max_leaves=10,
)


def _fragments(value: Any, path: str, draw: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [
            f
            for k, v in value.items()
            for f in _fragments(v, path + (f".{k}" if _IDENT.match(k) else f"['{k}']"), draw)
        ]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _fragments(v, f"{path}[{i}]", draw)]
    if isinstance(value, str):  # split into pieces, as Gemini splits long strings
        cuts = sorted(draw(st.lists(st.integers(0, len(value)), max_size=3)))
        pieces = [value[a:b] for a, b in zip([0, *cuts], [*cuts, len(value)])] + [""]
        return [{"jsonPath": path, "stringValue": p, "willContinue": True} for p in pieces]
    if isinstance(value, bool):
        return [{"jsonPath": path, "boolValue": value}]
    if value is None:
        return [{"jsonPath": path, "nullValue": None}]
    return [{"jsonPath": path, "numberValue": value}]


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(_keys, _values, min_size=1, max_size=4), data=st.data())
def test_fragments_spell_the_value(value: dict[str, Any], data: st.DataObject) -> None:
    writer = PathWriter()
    text = "".join(writer.write(f) for f in _fragments(value, "$", data.draw)) + writer.close()
    assert json.loads(text) == value
