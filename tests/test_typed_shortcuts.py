"""The typed path's shortcuts decide nothing: each is checked against pydantic's own answer.

A model whose every field arrived is its partial (no second model); a list's or a
dict's validated children are its partial; a plan remembers which containers the core
keeps by path shape; key objects are shared process-wide.  Each test compares the
result with ``model_validate_json`` (or ``json.loads``) on every split, reading the
snapshot between chunks, as a reader in another thread may.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

import fieldstream as fs
from fieldstream import _parser

from .splits import SPLITS, chunked


class Record(BaseModel):
    id: int
    name: str
    tags: list[str]
    note: Optional[str] = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    name: str = "none"


class Aliased(BaseModel):
    user_id: int = Field(alias="userId")
    label: str = Field(validation_alias=AliasChoices("label", "title"))


def feed_reading(parser: fs.Parser[Any], text: str, how: str) -> list[fs.Event]:
    # every chunk, then a snapshot read: it places the live text of an unfinished string
    events: list[fs.Event] = []
    for piece in chunked(text, how):
        events += parser.feed(piece)
        parser.snapshot  # noqa: B018 - the read is the point
    return events + parser.close()


def outcome(schema: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", TypeAdapter(schema).validate_json(text)
    except ValidationError as exc:
        return "errors", [(e["type"], e["loc"]) for e in exc.errors()]


def streamed(schema: Any, text: str, how: str) -> tuple[str, Any]:
    parser = fs.Parser(schema)
    events = feed_reading(parser, text, how)
    invalid = [e for e in events if isinstance(e, fs.ValueInvalid) and e.path == ()]
    if invalid:
        return "errors", [(e["type"], e["loc"]) for e in invalid[0].errors]
    return "value", parser.result


DOCUMENTS = [
    (list[Record], '[{"id": 1, "name": "a", "tags": ["x", "y"], "note": "n"}, {"id": 2, "name": "b", "tags": []}]'),
    (list[Record], '[{"id": 1, "name": "a", "tags": ["x"], "note": null, "extra": {"k": [1]}}]'),
    (list[Record], '[{"id": 1, "id": 2, "name": "a", "tags": ["x"], "note": "z"}]'),
    (list[Record], '[{"name": "a", "tags": ["x"], "note": "z", "id": 3}]'),
    (list[Record], '[{"id": 1, "name": "a", "tags": ["x", 5], "note": "z"}]'),
    (list[Strict], '[{"id": 1, "name": "a"}, {"id": 2}, {"id": 3, "name": "c", "other": 1}]'),
    (list[Aliased], '[{"userId": 1, "label": "a"}, {"userId": 2, "title": "b"}, {"user_id": 3, "label": "c"}]'),
    (dict[str, list[str]], '{"a": ["x", "yy"], "b": [], "a": ["z"]}'),
    (dict[str, Record], '{"r": {"id": 1, "name": "\\u00e9\\ud800", "tags": ["\\n"], "note": "\\"q\\""}}'),
    (tuple[Record, dict[str, int], list[int]], '[{"id": 1, "name": "a", "tags": []}, {"k": 1}, [1, 2]]'),
    (list[tuple[int, Record]], '[[1, {"id": 1, "name": "a", "tags": ["t"]}], [2, {"id": 2}]]'),
]


@pytest.mark.parametrize(("schema", "text"), DOCUMENTS)
@pytest.mark.parametrize("how", SPLITS)
def test_typed_values_are_pydantics(schema: Any, text: str, how: str) -> None:
    assert streamed(schema, text, how) == outcome(schema, text)


def test_a_complete_model_is_its_partial() -> None:
    # The record shown while it streamed is the one the final value holds (no second model),
    # equal to pydantic's, with the fields set pydantic gives it.
    parser = fs.Parser(list[Record])
    parser.feed('[{"id": 1, "name": "a", "tags": ["x"], "note": "n"}, {"id": 2, ')
    shown = parser.snapshot[1]
    assert shown.model_fields_set == {"id"}
    parser.feed('"name": "b", "tags": [], "note": null}]')
    parser.close()
    final = parser.result
    assert final[1] is shown
    assert final == TypeAdapter(list[Record]).validate_json(
        '[{"id": 1, "name": "a", "tags": ["x"], "note": "n"}, {"id": 2, "name": "b", "tags": [], "note": null}]'
    )
    assert [r.model_fields_set for r in final] == [{"id", "name", "tags", "note"}] * 2


def test_a_missing_field_goes_to_pydantic() -> None:
    # Its default comes from pydantic, and the fields set names only what arrived.
    parser = fs.Parser(Record)
    feed_reading(parser, '{"id": 1, "name": "a", "tags": []}', "per-char")
    assert parser.result == Record(id=1, name="a", tags=[])
    assert parser.result.model_fields_set == {"id", "name", "tags"}


def test_keys_are_shared_across_parsers() -> None:
    first, second = fs.Parser(), fs.Parser()
    first.feed('{"shared_key": 1}')
    second.feed('{"shared_key": 2}')
    a = next(iter(first.snapshot))
    b = next(iter(second.snapshot))
    assert a == b == "shared_key" and a is b


def test_key_memo_is_bounded() -> None:
    # A long key is not remembered, and many distinct keys do not grow the memo past its bound.
    long_key = "k" * (_parser._KEY_MEMO_LENGTH + 1)
    parser = fs.Parser()
    parser.feed(json.dumps({long_key: 1}))
    assert long_key not in _parser._KEYS
    keys = {f"key{i}": i for i in range(_parser._KEY_MEMO * 3)}
    parser = fs.Parser()
    for piece in chunked(json.dumps(keys), "random-1"):
        parser.feed(piece)
        assert len(_parser._KEYS) <= _parser._KEY_MEMO
    parser.close()
    assert parser.result == keys


def test_a_plan_shared_by_parsers_fed_in_turn() -> None:
    # The plan's remembered answers (which containers the core keeps) are by path shape; a
    # tuple's index decides on its own.  Two parsers of one schema, fed in turn, as two
    # streams of one process are.
    schema = list[tuple[Record, dict[str, Any], list[int]]]
    texts = [
        '[[{"id": 1, "name": "a", "tags": ["x"]}, {"k": [1, {"m": 2}]}, [3]], [{"id": 2}, {}, []]]',
        '[[{"id": 1, "name": "a", "tags": []}, {"k": {"j": null}}, [3, 4]]]',
    ]
    parsers = [fs.Parser(schema) for _ in texts]
    pieces = [chunked(text, "random-2") for text in texts]
    events: list[list[fs.Event]] = [[] for _ in texts]
    for step in range(max(map(len, pieces))):
        for i, parser in enumerate(parsers):
            if step < len(pieces[i]):
                events[i] += parser.feed(pieces[i][step])
    for i, parser in enumerate(parsers):
        events[i] += parser.close()
        invalid = [e for e in events[i] if isinstance(e, fs.ValueInvalid) and e.path == ()]
        got = ("errors", [(e["type"], e["loc"]) for e in invalid[0].errors]) if invalid else ("value", parser.result)
        assert got == outcome(schema, texts[i])


def test_openai_chat_tables_belong_to_one_stream() -> None:
    # The tables a stream fills on its first tool call or reasoning delta are its own, and a
    # choice index past the first few still gets its scope.
    def body(index: int) -> bytes:
        chunks = [
            {"choices": [{"index": index, "delta": {"reasoning_content": "think"}}]},
            {
                "choices": [
                    {
                        "index": index,
                        "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{"}}]},
                    }
                ]
            },
            {"choices": [{"index": index, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}]},
        ]
        return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"

    first = fs.StreamDecoder("openai-chat")
    first.feed(body(0))
    second = fs.StreamDecoder("openai-chat")
    second.feed(body(20))
    first.close()
    second.close()
    assert sorted(str(s) for s in first.targets) == ["choices[0].reasoning", "choices[0].tool_calls[0]"]
    assert sorted(str(s) for s in second.targets) == ["choices[20].reasoning", "choices[20].tool_calls[0]"]
    assert second.targets["choices[20].tool_calls[0]"].value == {}


def test_a_tuples_index_decides_what_the_core_keeps() -> None:
    # `Any` is validated whole, so the core keeps its object; a model's it does not (the typed
    # layer assembles it).  In a tuple each index has its own answer, whatever came before.
    parser = fs.Parser(tuple[Any, Record])
    parser.feed('[{"k": 1}, {"id": 1, ')
    assert parser._stack[-1] == {}  # the record's: bare
    parser = fs.Parser(tuple[Record, Any])
    parser.feed('[{"id": 1, "name": "a", "tags": []}, {"k": 1, ')
    assert parser._stack[-1] == {"k": 1}  # Any's: kept
    assert outcome(tuple[Any, Record], '[{"k": 1}, {"id": 1, "name": "a", "tags": []}]') == streamed(
        tuple[Any, Record], '[{"k": 1}, {"id": 1, "name": "a", "tags": []}]', "per-char"
    )
