"""Typed parsing on the recorded streams: their real JSON schemas against their real payloads.

Every ``.expected.json`` in the corpus that carries JSON schemas (structured
output formats, tool parameters) gives schemas; every payload that is valid
JSON gives a document.  Each schema, turned into a pydantic type, meets each
payload of its recording (matching or not, which tests errors too) and typed
parsing at every split must give what ``TypeAdapter.validate_json`` gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pytest

pytest.importorskip("pydantic")

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, create_model

import fieldstream as fs

from .splits import every_split

STREAMS = Path(__file__).resolve().parent / "corpus" / "streams"
SCHEMA_KEYS = ("schema", "responseJsonSchema", "parameters", "input_schema", "parameters_json_schema")
SIMPLE = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}


def to_type(schema: Any, name: str = "Root") -> Any:
    """A pydantic type for a JSON schema (the subset LLM APIs use); unknown parts become ``Any``."""
    if not isinstance(schema, dict):
        return Any
    if "enum" in schema and schema["enum"] and all(isinstance(v, (str, int, bool)) for v in schema["enum"]):
        return Literal[tuple(schema["enum"])]
    if "anyOf" in schema:
        return Union[tuple(to_type(s, f"{name}_{i}") for i, s in enumerate(schema["anyOf"]))]
    kind = schema.get("type")
    if isinstance(kind, list):
        return Union[tuple(to_type({**schema, "type": k}, name) for k in kind)]
    if kind in SIMPLE:
        return SIMPLE[kind]
    if kind == "array":
        return list[to_type(schema.get("items"), name + "_item")]  # type: ignore[misc]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        if not properties and schema.get("additionalProperties") not in (False, None):
            return dict[str, Any]
        required = set(schema.get("required") or ())
        fields: dict[str, Any] = {}
        for i, (key, sub) in enumerate(properties.items()):
            tp = to_type(sub, f"{name}_{i}")
            fields[f"p{i}"] = (tp, Field(alias=key)) if key in required else (Optional[tp], Field(None, alias=key))
        extra = "forbid" if schema.get("additionalProperties") is False else "ignore"
        return create_model(name, __config__=ConfigDict(extra=extra), **fields)  # type: ignore[call-overload]
    return Any


def walk(node: Any, key: str = "") -> Any:
    yield key, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def cases() -> list[Any]:
    out = []
    for path in sorted(STREAMS.glob("*/*.expected.json")):
        data = json.loads(path.read_text("utf-8"))
        schemas = [
            node
            for key, node in walk(data.get("recorded_request"))
            if key in SCHEMA_KEYS and isinstance(node, dict) and ("type" in node or "properties" in node)
        ]
        texts = []
        for _, node in walk(data.get("assembled")):
            if isinstance(node, dict):
                for k, v in node.items():
                    if (
                        k.endswith("_is_valid_json")
                        and v is True
                        and isinstance(node.get(k[: -len("_is_valid_json")]), str)
                    ):
                        texts.append(node[k[: -len("_is_valid_json")]])
        for i, schema in enumerate(schemas):
            for j, text in enumerate(texts):
                out.append(pytest.param(schema, text, id=f"{path.stem.removesuffix('.expected')}-s{i}-t{j}"))
    return out


CASES = cases()


def test_the_corpus_has_schemas() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("schema,text", CASES)
def test_corpus_schema_against_payload(schema: Any, text: str) -> None:
    tp = to_type(schema)
    adapter = TypeAdapter(tp)
    try:
        expected: Any = adapter.validate_json(text)
        error = None
    except ValidationError as exc:
        expected, error = None, exc
    for how, chunks in every_split(text):
        parser = fs.Parser(tp)
        events: list[fs.Event] = []
        for chunk in chunks:
            events += parser.feed(chunk)
        events += parser.close()
        if error is None:
            assert events[-1] == fs.DocumentCompleted(expected, 0), how
        else:
            assert isinstance(events[-1], fs.ValueInvalid) and events[-1].path == (), how
            assert json.dumps(events[-1].errors, default=repr) == json.dumps(error.errors(), default=repr)
