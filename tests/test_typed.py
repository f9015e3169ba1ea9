"""Typed parsing: events carry validated values, the snapshot is a typed partial value."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Optional, Union

import pytest

pytest.importorskip("pydantic")

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

import fieldstream as fs

from .splits import every_split, normalize


class Kind(enum.Enum):
    TASK = "task"
    NOTE = "note"


class Step(BaseModel):
    title: str
    minutes: int = 0


class Plan(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    summary: Annotated[str, fs.Live]
    kind: Kind
    steps: list[Step]
    tags: Annotated[list[str], fs.Whole] = []
    owner: Optional[str] = Field(None, alias="ownerName")


PLAN = (
    '{"summary": "Pack for Lisbon", "kind": "task", "ownerName": "ana",'
    ' "steps": [{"title": "passport", "minutes": 2}, {"title": "tickets"}], "tags": ["x", "y"]}'
)


def feed_all(
    schema: Any, text: str, chunks: list[str] | None = None, **options: Any
) -> tuple[fs.Parser, list[fs.Event]]:
    parser = fs.Parser(schema, **options)
    events: list[fs.Event] = []
    for chunk in chunks if chunks is not None else [text]:
        events += parser.feed(chunk)
    events += parser.close()
    return parser, events


def final(schema: Any, text: str) -> Any:
    """The one value every split must end with: pydantic's own."""
    from pydantic import TypeAdapter

    return TypeAdapter(schema).validate_json(text)


def test_events_carry_validated_values() -> None:
    _, events = feed_all(Plan, PLAN)
    by_path = {e.path: e for e in events if isinstance(e, fs.ValueCompleted)}
    assert by_path[("kind",)].value is Kind.TASK
    assert by_path[("steps", 0)].value == Step(title="passport", minutes=2)
    assert isinstance(by_path[("steps", 1)], fs.ItemCompleted)
    assert by_path[("tags",)].value == ["x", "y"]
    assert ("tags", 0) not in by_path  # Whole: no items one by one
    assert ("steps", 0, "title") in by_path
    assert events[-1] == fs.DocumentCompleted(Plan.model_validate_json(PLAN), 0)


@pytest.mark.parametrize("how,chunks", list(every_split(PLAN)))
def test_every_split_gives_pydantic_value(how: str, chunks: list[str]) -> None:
    parser, events = feed_all(Plan, PLAN, chunks)
    assert parser.snapshot == Plan.model_validate_json(PLAN)
    assert normalize(events) == normalize(feed_all(Plan, PLAN)[1])


def test_snapshot_is_a_partial_model() -> None:
    parser = fs.Parser(Plan)
    parser.feed('{"summary": "Pack for Lis')
    snap = parser.snapshot
    assert isinstance(snap, Plan)
    assert snap.summary == "Pack for Lis"  # live text
    assert snap.kind is None and snap.steps is None and snap.model_fields_set == set()
    parser.feed('bon", "kind": "task", "steps": [{"title": "pass')
    assert snap.model_fields_set == {"summary", "kind"}
    assert snap.steps is not None and len(snap.steps) == 1
    assert parser.snapshot is snap  # reading it places the live text typed so far
    assert isinstance(snap.steps[0], Step) and snap.steps[0].title == "pass"  # plain str: live by default
    parser.feed('port"}, {"title": "x"}], "tags": ["a"')
    assert snap.steps == [Step(title="passport"), Step(title="x")]
    assert snap.tags is None  # Whole: appears only when complete
    parser.feed("]}")
    assert parser.snapshot == Plan(
        summary="Pack for Lisbon", kind=Kind.TASK, steps=[Step(title="passport"), Step(title="x")], tags=["a"]
    )


def test_live_deltas_only_for_live_strings() -> None:
    _, events = feed_all(Plan, PLAN, list(PLAN))
    deltas = {e.path for e in events if isinstance(e, fs.StringDelta)}
    assert deltas == {("summary",), ("ownerName",), ("steps", 0, "title"), ("steps", 1, "title")}
    text = "".join(e.text for e in events if isinstance(e, fs.StringDelta) and e.path == ("summary",))
    assert text == "Pack for Lisbon"


class Plain(BaseModel):
    name: str
    code: Annotated[str, Field(max_length=3)]
    shout: Annotated[str, AfterValidator(str.upper)]
    forced: Annotated[str, Field(max_length=30), fs.Live]
    literal: Literal["a", "b"]


def test_plain_str_is_live_constrained_is_not() -> None:
    text = '{"name": "abc", "code": "xyz", "shout": "hey", "forced": "long text", "literal": "a"}'
    _, events = feed_all(Plain, text, list(text))
    assert {e.path for e in events if isinstance(e, fs.StringDelta)} == {("name",), ("forced",)}
    parser = fs.Parser(Plain)
    parser.feed('{"name": "abc", "code": "xy')
    assert parser.snapshot.name == "abc" and parser.snapshot.code is None
    parser.feed('z", "shout": "he')
    assert parser.snapshot.shout is None


def test_invalid_value_event_and_stream_goes_on() -> None:
    text = '{"summary": "s", "kind": "nope", "steps": [{"title": "a", "minutes": "x"}, {"title": "b"}]}'
    _, events = feed_all(Plan, text)
    invalid = [e for e in events if isinstance(e, fs.ValueInvalid)]
    assert [e.path_text for e in invalid] == ["$.kind", "$.steps[0].minutes", "$"]
    assert invalid[0].value == "nope" and invalid[0].errors[0]["type"] == "enum"
    assert any(e.path == ("steps", 1) for e in events if isinstance(e, fs.ItemCompleted))  # later items still validate
    with pytest.raises(ValidationError) as info:
        Plan.model_validate_json(text)
    assert invalid[-1].errors == info.value.errors()  # the root carries pydantic's exact errors
    assert not any(isinstance(e, fs.DocumentCompleted) for e in events)


def test_on_invalid_raise() -> None:
    parser = fs.Parser(Plan, on_invalid="raise")
    parser.feed('{"summary": "s", ')
    with pytest.raises(fs.SchemaError) as info:
        parser.feed('"kind": "nope", ')
    assert info.value.path == "$.kind" and info.value.errors[0]["type"] == "enum"
    assert isinstance(info.value.__cause__, ValidationError)
    with pytest.raises(fs.UsageError):
        parser.feed("{")
    with pytest.raises(fs.UsageError, match="on_invalid"):
        fs.Parser(Plan, on_invalid="ignore")  # type: ignore[arg-type]


class Counted(BaseModel):
    calls: list[str] = Field(default_factory=list, exclude=True)
    a: str
    b: list[int]

    @field_validator("a")
    @classmethod
    def count_a(cls, value: str) -> str:
        COUNTS.append("a")
        return value

    @field_validator("b")
    @classmethod
    def count_b(cls, value: list[int]) -> list[int]:
        COUNTS.append("b")
        return value

    @model_validator(mode="after")
    def count_model(self) -> Counted:
        COUNTS.append("model")
        return self


COUNTS: list[str] = []


def test_validators_run_once_when_their_object_completes() -> None:
    COUNTS.clear()
    text = '{"a": "x", "b": [1, 2, 3]}'
    parser = fs.Parser(Counted)
    parser.feed(text[:12])
    assert COUNTS == ["a"]
    parser.feed(text[12:])
    parser.close()
    assert COUNTS == ["a", "b", "model"]
    assert parser.snapshot == Counted.model_validate_json(text)


class Before(BaseModel):
    x: int
    y: int = 0

    @model_validator(mode="before")
    @classmethod
    def swap(cls, data: Any) -> Any:
        return {"x": data["y"], "y": data["x"]} if isinstance(data, dict) and "y" in data else data


class WithInfo(BaseModel):
    a: int
    b: int

    @field_validator("b")
    @classmethod
    def bigger(cls, value: int, info: ValidationInfo) -> int:
        if value <= info.data["a"]:
            raise ValueError("b must exceed a")
        return value


class Cat(BaseModel):
    pet: Literal["cat"]
    meows: int


class Dog(BaseModel):
    pet: Literal["dog"]
    barks: int


class Owner(BaseModel):
    pets: list[Annotated[Union[Cat, Dog], Field(discriminator="pet")]]
    either: Union[int, str]
    one: Optional[Cat] = None


class TD(TypedDict):
    name: str
    nums: list[int]


@dataclasses.dataclass
class DC:
    x: int
    label: str = "?"


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)
    n: int
    s: str
    when: Optional[str] = None


CASES: list[tuple[Any, str]] = [
    # before-validator: the model is validated whole when it completes
    (Before, '{"x": 1, "y": 2}'),
    (list[Before], '[{"x": 1, "y": 2}, {"x": 5}]'),
    # a validator reading info.data: whole
    (WithInfo, '{"a": 1, "b": 2}'),
    (WithInfo, '{"a": 3, "b": 2}'),
    # unions, discriminated and plain, optional models
    (Owner, '{"pets": [{"pet": "dog", "barks": 2}, {"meows": 1, "pet": "cat"}], "either": "7", "one": null}'),
    (Owner, '{"pets": [{"pet": "cow"}], "either": [], "one": {"pet": "cat", "meows": 0}}'),
    # TypedDict, dataclass, dict[str, X], top-level list and scalars
    (TD, '{"name": "n", "nums": [1, 2]}'),
    (TD, '{"name": "n", "nums": [1, "x"]}'),
    (list[DC], '[{"x": 1}, {"x": 2, "label": "b"}]'),
    (dict[str, list[int]], '{"a": [1], "b": [], "c": [2, 3]}'),
    (dict[str, int], '{"a": 1, "b": "x"}'),
    (int, "42"),
    (Kind, '"note"'),
    # recursive models
    (Tree, '{"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}, {"value": 4}]}'),
    # strict, forbid, whitespace stripping
    (Strict, '{"n": 1, "s": "  x  "}'),
    (Strict, '{"n": "1", "s": "x", "extra": true}'),
    # a JSON type the schema does not expect
    (Plan, '{"summary": "s", "kind": "task", "steps": {"title": "x"}}'),
    (Plan, "[1, 2]"),
    (list[Step], '{"title": "x"}'),
    (Plan, '{"summary": "s", "kind": "task", "steps": null}'),
]


@pytest.mark.parametrize("schema,text", CASES)
def test_matches_pydantic_at_every_split(schema: Any, text: str) -> None:
    from pydantic import TypeAdapter

    adapter = TypeAdapter(schema)
    try:
        expected: Any = adapter.validate_json(text)
        error = None
    except ValidationError as exc:
        expected, error = None, exc
    for how, chunks in every_split(text):
        parser, events = feed_all(schema, text, chunks)
        if error is None:
            assert events[-1] == fs.DocumentCompleted(expected, 0), how
            assert parser.snapshot == expected
        else:
            last = events[-1]
            assert isinstance(last, fs.ValueInvalid) and last.path == (), how
            assert json.dumps(last.errors, default=repr) == json.dumps(error.errors(), default=repr)


def test_union_subtree_validated_whole() -> None:
    text = '{"pets": [{"pet": "dog", "barks": 2}], "either": 1}'
    _, events = feed_all(Owner, text)
    paths = [e.path_text for e in events if isinstance(e, fs.ValueCompleted)]
    assert "$.pets[0]" in paths and "$.pets[0].barks" not in paths
    assert next(e.value for e in events if e.path == ("pets", 0)) == Dog(pet="dog", barks=2)


def test_unknown_keys_are_silent_extras_follow_pydantic() -> None:
    _, events = feed_all(Step, '{"title": "a", "other": {"deep": [1]}}')
    assert [e.path_text for e in events if isinstance(e, fs.ValueCompleted)] == ["$.title", "$"]


def test_repeated_key_last_wins_as_in_pydantic() -> None:
    text = '{"title": 1, "title": "ok"}'
    _, events = feed_all(Step, text)
    assert [e.path_text for e in events if isinstance(e, fs.ValueInvalid)] == ["$.title"]
    assert events[-1] == fs.DocumentCompleted(Step.model_validate_json(text), 0)


def test_multiple_documents() -> None:
    text = '{"title": "a"}\n{"title": 2}\n{"title": "b", "minutes": 3}\n'
    parser, events = feed_all(Step, text, multiple=True)
    docs = [e for e in events if isinstance(e, fs.DocumentCompleted)]
    assert [d.value for d in docs] == [Step(title="a"), Step(title="b", minutes=3)]
    assert [d.index for d in docs] == [0, 2]
    assert [e.path_text for e in events if isinstance(e, fs.ValueInvalid)] == ["$.title", "$"]


def test_untyped_parser_is_unchanged() -> None:
    parser = fs.Parser()
    assert type(parser) is fs.Parser
    assert type(fs.Parser(Step)).__name__ == "TypedParser" and isinstance(fs.Parser(Step), fs.Parser)


def test_not_a_type() -> None:
    with pytest.raises(fs.UsageError, match="pydantic"):
        fs.Parser(object())


def test_iter_items_and_snapshots() -> None:
    text = '[{"title": "a"}, {"title": "b", "minutes": 1}]'
    assert list(fs.iter_items(list(text), list[Step])) == [Step(title="a"), Step(title="b", minutes=1)]
    assert list(fs.iter_items(list(text))) == [{"title": "a"}, {"title": "b", "minutes": 1}]
    with pytest.raises(fs.SchemaError) as info:
        list(fs.iter_items(['[{"title": 1}]'], list[Step]))
    assert info.value.path == "$[0].title"
    snapshots = [json.dumps(s, default=repr) for s in fs.iter_snapshots(list('{"a": "xy"}'))]
    assert snapshots[0] == '{"a": "x"}' and snapshots[-1] == '{"a": "xy"}'
    last = None
    for last in fs.iter_snapshots(list(PLAN), Plan):
        assert isinstance(last, Plan)
    assert last == Plan.model_validate_json(PLAN)


async def _tokens(text: str) -> AsyncIterator[str]:
    for i in range(0, len(text), 3):
        await asyncio.sleep(0)
        yield text[i : i + 3]


def test_async_twins() -> None:
    text = '[{"title": "a"}, {"title": "b", "minutes": 1}]'

    async def main() -> tuple[list[Any], Any]:
        items = [item async for item in fs.aiter_items(_tokens(text), list[Step])]
        last = None
        async for last in fs.aiter_snapshots(_tokens(PLAN), Plan):
            pass
        return items, last

    items, last = asyncio.run(main())
    assert items == [Step(title="a"), Step(title="b", minutes=1)]
    assert last == Plan.model_validate_json(PLAN)


def test_cli_parse_with_model(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (
        '{"summary": "s", "kind": "task", "ownerName": "ana",'
        ' "steps": [{"title": "a", "minutes": "x"}, {"title": "b"}]}'
    )
    (tmp_path / "doc.json").write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldstream",
            "parse",
            str(tmp_path / "doc.json"),
            "--jsonl",
            "--model",
            "tests.test_typed:Plan",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    assert result.returncode == 1, result.stderr  # a document that fails validation is a fault
    assert "failed validation" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"event": "field", "path": "$.steps[1]", "value": Step(title="b").model_dump(mode="json")} in records
    assert {"event": "field", "path": "$.ownerName", "value": "ana"} in records
    invalid = [r for r in records if r["event"] == "invalid"]
    assert [r["path"] for r in invalid] == ["$.steps[0].minutes", "$"]
    assert invalid[0]["errors"][0]["type"] == "int_parsing"

    good = '{"summary": "s", "kind": "note", "ownerName": "ana", "steps": [], "tags": ["t"]}'
    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "parse", "-", "--jsonl", "--model", "tests.test_typed:Plan"],
        input=good,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    done = json.loads(result.stdout.splitlines()[-1])
    assert done == {"event": "done", "value": Plan.model_validate_json(good).model_dump(mode="json")}

    # error contexts holding exceptions (a validator's ValueError) still print as JSON
    bad = '{"a": 1, "b": 1}'
    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "parse", "-", "--jsonl", "--model", "tests.test_typed:WithInfo"],
        input=bad,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "invalid" and last["errors"][0]["ctx"] == {"error": "b must exceed a"}


def test_cli_model_that_is_not_a_type() -> None:
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "parse", "-", "--model", "tests.test_typed:COUNTS"],
        input="{}",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 2  # a usage mistake
    assert "not a pydantic model" in result.stderr and "Traceback" not in result.stderr
