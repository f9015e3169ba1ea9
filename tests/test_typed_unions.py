"""Typed streaming of unions, tuples and sets, and the typed-layer rules found under hostile input."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pydantic")

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import TypedDict

import fieldstream as fs
from fieldstream._typed import MAX_HELD_EVENTS

from .splits import SPLITS, chunked, normalize


class Search(BaseModel):
    type: Literal["search"]
    query: str
    k: int = 3


class Answer(BaseModel):
    type: Literal["answer"]
    text: str
    sources: list[str] = []


Action = Annotated[Search | Answer, Field(discriminator="type")]


class Agent(BaseModel):
    steps: list[Action]


AGENT = (
    '{"steps": [{"type": "search", "query": "weather in Lisbon", "k": 2},'
    ' {"type": "answer", "text": "sunny, 24 \\u00b0C", "sources": ["ipma.pt", "met"]}]}'
)


def feed(schema: Any, chunks: list[str], **options: Any) -> tuple[fs.Parser[Any], list[list[fs.Event]]]:
    parser = fs.Parser(schema, **options)
    per_chunk = [parser.feed(chunk) for chunk in chunks]
    per_chunk.append(parser.close())
    return parser, per_chunk


def shape(events: list[fs.Event]) -> list[tuple[str, fs.Path]]:
    """Event kinds and paths; the tag is a ``Literal``, not text, so its deltas are not streamed."""
    return [
        (type(e).__name__, e.path)
        for e in events
        if not isinstance(e, fs.DocumentCompleted) and not (isinstance(e, fs.StringDelta) and e.path[-1] == "type")
    ]


def verdict(schema: Any, text: str) -> Any:
    """Pydantic's value for ``text``, or its errors (without urls)."""
    try:
        return TypeAdapter(schema).validate_json(text)
    except ValidationError as exc:
        return exc.errors(include_url=False)


def xfail_if_pydantic_sees_repeats(schema: Any, text: str) -> None:
    """The typed layer sees a repeated key as ``json.loads`` does (the last wins); some pydantic
    versions validate every occurrence in JSON, and then only pydantic knows the verdict."""
    if verdict(schema, text) != verdict(schema, json.dumps(json.loads(text))):
        pytest.xfail("this pydantic validates every occurrence of a repeated key")


def pydantic_errors(schema: Any, text: str) -> list[Any]:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(schema).validate_json(text)
    return info.value.errors()


@pytest.mark.parametrize("how", SPLITS)
def test_agent_union_streams_like_the_plain_parser(how: str) -> None:
    """Tag first: every string streams and every value completes in the chunk that completes it."""
    chunks = chunked(AGENT, how)
    _, typed = feed(Agent, chunks)
    _, plain = feed(None, chunks)
    assert [shape(t) for t in typed] == [shape(p) for p in plain]
    values = {e.path: e.value for t in typed for e in t if isinstance(e, fs.ValueCompleted)}
    assert values[("steps", 0)] == Search(type="search", query="weather in Lisbon", k=2)
    assert isinstance(values[("steps", 1)], Answer)
    assert typed[-1] == [] or isinstance(typed[-1][-1], fs.DocumentCompleted)


def test_agent_snapshot_shows_the_branch_as_soon_as_the_tag_arrives() -> None:
    parser = fs.Parser(Agent)
    parser.feed('{"steps": [{"type": "search", "query": "weather in')
    snap = parser.snapshot
    assert snap.steps == [Search.model_construct(type="search", query="weather in", k=None)]
    assert snap.steps[0].model_fields_set == {"type"}
    parser.feed(' Lisbon"}, {"type": "ans')
    assert len(snap.steps) == 1  # the next item's tag is not complete yet
    parser.feed('wer", "text": "su')
    assert parser.snapshot is snap
    assert isinstance(snap.steps[1], Answer) and snap.steps[1].text == "su"


@pytest.mark.parametrize("how", SPLITS)
def test_tag_after_other_keys_is_held_then_replayed(how: str) -> None:
    text = '{"steps": [{"query": "q1", "k": 5, "type": "search"}, {"text": "t", "type": "answer"}]}'
    chunks = chunked(text, how)
    parser, per_chunk = feed(Agent, chunks)
    events = [e for chunk in per_chunk for e in chunk]
    assert parser.result == Agent.model_validate_json(text)
    at = {e.path: i for i, e in enumerate(events) if isinstance(e, fs.ValueCompleted)}
    # the held values are replayed, in document order, when the tag completes
    assert at[("steps", 0, "query")] < at[("steps", 0, "k")] < at[("steps", 0, "type")] < at[("steps", 0)]
    deltas = "".join(e.text for e in events if isinstance(e, fs.StringDelta) and e.path == ("steps", 0, "query"))
    assert deltas == "q1"
    # nothing of an item shows before its tag
    p = fs.Parser(Agent)
    p.feed('{"steps": [{"query": "q1", "k": 5')
    assert p.snapshot.steps == []


def test_a_tag_held_past_the_bound_validates_the_item_whole() -> None:
    many = ", ".join(f'"x{i}": {i}' for i in range(MAX_HELD_EVENTS + 5))
    text = '{"steps": [{' + many + ', "type": "search", "query": "q"}]}'
    _, per_chunk = feed(Agent, [text[i : i + 7] for i in range(0, len(text), 7)])
    events = [e for chunk in per_chunk for e in chunk]
    assert ("steps", 0, "query") not in {e.path for e in events}  # validated whole
    assert events[-1] == fs.DocumentCompleted(Agent.model_validate_json(text), 0)


@pytest.mark.parametrize(
    "item",
    [
        '{"type": "shout", "query": "q"}',  # a tag no branch has
        '{"query": "q"}',  # no tag at all
        '{"type": 3, "query": "q"}',  # a tag of the wrong type
        '{"type": "search", "query": 3}',  # a good tag, a bad field
        '["search", "q"]',  # not an object
    ],
)
def test_bad_tags_give_pydantics_errors(item: str) -> None:
    for how in SPLITS:
        _, per_chunk = feed(Agent, chunked('{"steps": [' + item + "]}", how))
        events = [e for chunk in per_chunk for e in chunk]
        invalid = [e for e in events if isinstance(e, fs.ValueInvalid)]
        assert invalid[-1].errors == pydantic_errors(Agent, '{"steps": [' + item + "]}"), how
        if "3}" not in item:  # the item itself fails: its event carries pydantic's errors for the union
            assert invalid[0].path == ("steps", 0)
            assert invalid[0].errors == pydantic_errors(Action, item)


def _kind_of(value: Any) -> str | None:
    return value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    name: str


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    name: str


class Zoo(BaseModel):
    # a callable discriminator: only pydantic can call it, so the value is validated whole
    star: Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator(_kind_of)]
    by_name: dict[str, Annotated[Cat | Dog, Field(discriminator="kind")]] = {}
    maybe: Annotated[Cat | Dog, Field(discriminator="kind")] | None = None
    nested: list[list[Annotated[Cat | Dog, Field(discriminator="kind")]]] = []


ZOO = (
    '{"star": {"kind": "dog", "name": "rex"}, "by_name": {"tom": {"kind": "cat", "name": "tom"}},'
    ' "maybe": {"name": "fido", "kind": "dog"}, "nested": [[{"kind": "cat", "name": "a"}], []]}'
)


@pytest.mark.parametrize("how", SPLITS)
def test_tagged_unions_in_dicts_optionals_and_nested_lists(how: str) -> None:
    parser, per_chunk = feed(Zoo, chunked(ZOO, how))
    events = [e for chunk in per_chunk for e in chunk]
    assert parser.result == Zoo.model_validate_json(ZOO)
    paths = {e.path for e in events if isinstance(e, fs.ValueCompleted)}
    assert {("by_name", "tom", "name"), ("maybe", "name"), ("nested", 0, 0, "name")} <= paths
    assert ("star", "name") in paths  # the callable read only "kind", which had arrived: the branch is known


def _first_key(value: Any) -> Any:
    return next(iter(value)) if isinstance(value, dict) else None  # looks at the whole: only the end knows


def _strict_kind(value: Any) -> Any:
    return value["kind"] if "kind" in value else None  # None: no tag yet (pydantic: tag not found)


def _kind_or_sort(value: Any) -> Any:
    return value.get("kind", value.get("sort"))  # reads "sort" too, present or not


Pets = Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator(_strict_kind)]
Firsts = Annotated[Annotated[Cat, Tag("kind")] | Annotated[Dog, Tag("name")], Discriminator(_first_key)]
Sorts = Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator(_kind_or_sort)]


@pytest.mark.parametrize(
    "schema,text,known",
    [
        (Pets, '{"name": "tom", "kind": "cat"}', True),  # held until "kind", then replayed
        (Pets, '{"kind": "dog", "name": "rex"}', True),
        (Firsts, '{"kind": "cat", "name": "tom"}', False),  # iteration: validated whole
        (Sorts, '{"kind": "cat", "name": "tom"}', False),  # "sort" may still arrive
        (Sorts, '{"sort": "dog", "kind": "dog", "name": "rex"}', True),
        (Pets, '{"kind": "cow", "name": "tom"}', False),  # a tag no branch has: pydantic's errors
        (Pets, '{"name": "tom"}', False),  # no tag at all
    ],
)
def test_a_callable_discriminator_commits_once_later_keys_cannot_change_its_answer(
    schema: Any, text: str, known: bool
) -> None:
    seen = set()
    for how in SPLITS:
        _, per_chunk = feed(list[schema], chunked(f"[{text}]", how))  # type: ignore[valid-type]
        events = [e for chunk in per_chunk for e in chunk]
        seen.add(json.dumps(normalize(events), default=repr))
        last = events[-1]
        if isinstance(last, fs.DocumentCompleted):
            assert last.value == TypeAdapter(list[schema]).validate_json(f"[{text}]")  # type: ignore[valid-type]
        else:
            assert isinstance(last, fs.ValueInvalid)
            assert last.errors == pydantic_errors(list[schema], f"[{text}]")  # type: ignore[valid-type]
        # the branch known before the item ends: its fields complete one by one
        assert any(isinstance(e, fs.ValueCompleted) and e.path == (0, "name") for e in events) == known, how
    assert len(seen) == 1


def test_a_callable_discriminator_streams_from_the_tag() -> None:
    parser = fs.Parser(list[Pets])  # type: ignore[valid-type]
    assert parser.feed('[{"name": "tom", "ki') == []
    assert parser.feed('nd": "cat", "name2": "x"') == [  # held, then replayed into Cat
        fs.StringDelta((0, "name"), "tom"),
        fs.ValueCompleted((0, "name"), "tom"),
        fs.ValueCompleted((0, "kind"), "cat"),
    ]
    assert parser.snapshot == [Cat(name="tom")]


class Pair(BaseModel):
    words: str | list[str]
    either: list[int] | Search
    maybe: Search | None = None
    point: tuple[int, str]
    rest: tuple[int, ...] = ()
    tags: set[str] = set()


PAIR = (
    '{"words": ["a", "bc"], "either": {"type": "search", "query": "q"}, "maybe": {"type": "search", "query": "m"},'
    ' "point": [1, "x"], "rest": [1, 2, 3], "tags": ["b", "a", "b"]}'
)


@pytest.mark.parametrize("how", SPLITS)
def test_plain_unions_tuples_and_sets_stream_their_children(how: str) -> None:
    parser, per_chunk = feed(Pair, chunked(PAIR, how))
    events = [e for chunk in per_chunk for e in chunk]
    assert parser.result == Pair.model_validate_json(PAIR)
    items = {e.path for e in events if isinstance(e, fs.ItemCompleted)}
    assert {("words", 1), ("point", 1), ("rest", 2), ("tags", 2)} <= items
    deltas = {e.path for e in events if isinstance(e, fs.StringDelta)}
    assert {("words", 0), ("either", "query"), ("maybe", "query"), ("point", 1)} <= deltas
    done = {e.path: e.value for e in events if isinstance(e, fs.ValueCompleted)}
    assert done[("point",)] == (1, "x") and done[("tags",)] == {"a", "b"}


def test_str_or_list_decided_by_the_first_character() -> None:
    parser = fs.Parser(Pair)
    assert parser.feed('{"words": "hel') == [fs.StringDelta(("words",), "hel")]
    assert parser.snapshot.words == "hel"
    parser = fs.Parser(Pair)
    parser.feed('{"words": ["hel')
    assert parser.snapshot.words == ["hel"]


def test_a_set_shows_once_complete() -> None:
    parser = fs.Parser(Pair)
    parser.feed(PAIR[: PAIR.index('"b"]}') + 3])
    assert parser.snapshot.tags is None  # duplicates would vanish from it: whole in the snapshot


class Models(BaseModel):
    either: Search | Answer


class OnlyA(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int
    note: str = ""


class OnlyB(BaseModel):
    model_config = ConfigDict(extra="forbid")
    b: int
    note: str = ""


class Loose(BaseModel):
    a: int | None = None
    note: str = ""


class Forbidding(BaseModel):
    pick: OnlyA | OnlyB
    loose: OnlyA | Loose = Loose()


@pytest.mark.parametrize("how", SPLITS)
def test_union_of_models_streams_once_the_input_rules_out_the_others(how: str) -> None:
    text = '{"either": {"type": "answer", "text": "sunny"}}'
    _, per_chunk = feed(Models, chunked(text, how))
    events = [e for chunk in per_chunk for e in chunk]
    # "answer" rules Search out (its Literal rejects it): Answer streams from there on
    assert "".join(e.text for e in events if isinstance(e, fs.StringDelta) and e.path == ("either", "text")) == "sunny"
    assert events[-1] == fs.DocumentCompleted(Models.model_validate_json(text), 0)


def test_a_key_a_forbid_model_does_not_know_rules_it_out() -> None:
    parser = fs.Parser(Forbidding)
    parser.feed('{"pick": {"note": "shared", "b')
    assert parser.snapshot.pick is None  # "note" fits both: nothing is certain yet
    events = parser.feed('": 1')
    assert events == []  # the number may go on
    events = parser.feed(', "note": "x"}')
    assert [e.path for e in events if isinstance(e, fs.ValueCompleted)][:2] == [("pick", "note"), ("pick", "b")]
    assert isinstance(parser.snapshot.pick, OnlyB)


@pytest.mark.parametrize(
    "text",
    [
        '{"pick": {"a": 1}, "loose": {"a": 2}}',  # both candidates of "loose" valid: smart mode picks
        '{"pick": {"a": 1}, "loose": {"note": "n"}}',
        '{"pick": {"a": 1, "b": 2}}',  # neither: pydantic's errors
        '{"pick": {"a": "x", "a": 1}}',  # a repeated key: pydantic decides
        '{"pick": {"b": 1, "b": "x"}}',
        '{"pick": {"a": 1}, "loose": {"a": 1, "zz": 0}}',
    ],
)
def test_unions_of_models_end_as_smart_mode_does(text: str) -> None:
    xfail_if_pydantic_sees_repeats(Forbidding, text)
    for how in SPLITS:
        _, per_chunk = feed(Forbidding, chunked(text, how))
        last = [e for chunk in per_chunk for e in chunk][-1]
        try:
            expected = Forbidding.model_validate_json(text)
        except ValidationError as exc:
            assert isinstance(last, fs.ValueInvalid) and last.errors == exc.errors(), how
        else:
            assert last == fs.DocumentCompleted(expected, 0), how
            assert type(last.value.loose) is type(expected.loose)


class Ask(BaseModel):
    question: str


class Tell(BaseModel):
    answer: str


class Rate(BaseModel):
    answer: str
    score: int = 0


class Turn(BaseModel):
    first: Ask | Tell
    second: Tell | Ask
    third: Ask | Rate | None = None


@pytest.mark.parametrize("how", SPLITS)
def test_ignore_models_stream_once_smart_mode_is_certain(how: str) -> None:
    """No key rules a candidate out (extra keys are ignored), but the counts of fields set decide."""
    text = '{"first": {"question": "why is the sky blue"}, "second": {"question": "and the sea"}}'
    parser, per_chunk = feed(Turn, chunked(text, how))
    events = [e for chunk in per_chunk for e in chunk]
    assert parser.result == Turn.model_validate_json(text)
    deltas = {e.path for e in events if isinstance(e, fs.StringDelta)}
    # Ask comes first: Tell could at best tie (one field each) and lose the tie; so "question" streams
    assert ("first", "question") in deltas
    # in "second" Tell comes first: an "answer" arriving later would win the tie, so only the end decides
    assert ("second", "question") not in deltas and ("second",) in {e.path for e in events}


def test_a_certain_candidate_shows_from_the_first_character() -> None:
    parser = fs.Parser(Turn)
    assert parser.feed('{"first": {"question": "wh') == [fs.StringDelta(("first", "question"), "wh")]
    assert parser.snapshot.first == Ask.model_construct(question="wh")
    parser.feed('y"}, "second": {"question": "and')
    assert parser.snapshot.second is None  # Tell may still win
    parser.feed('", "answer": "blue"}')
    assert parser.snapshot.second == Tell(answer="blue")


@pytest.mark.parametrize(
    "item,shown_at",
    [
        # Rate's second field puts it ahead of Ask for good: "answer" streams from its first character
        ('{"score": 2, "answer": "sunny"}', '{"score": 2, "answer": "s'),
        # at "answer" Rate only ties with Ask (which comes first): the count of "score" decides
        ('{"answer": "sunny", "score": 2 }', '{"answer": "sunny", "score": 2 '),
        # Ask could still get "question" and set as many fields as Rate: the end decides
        ('{"answer": "sunny"}', None),
        ('{"question": "q"}', None),  # Rate could get "answer" and "score": two fields to one
        ('{"question": "q", "answer": "a", "score": 1}', None),
    ],
)
def test_smart_mode_counts_fields_then_order(item: str, shown_at: str | None) -> None:
    text = '{"first": {"question": "q"}, "second": {"answer": "a"}, "third": ' + item + "}"
    start = text.index('"third": ') + 9
    parser = fs.Parser(Turn)
    parser.feed(text[:start])
    shown = None
    for end in range(start, len(text)):
        parser.feed(text[end])
        if shown is None and parser.snapshot.third is not None:
            shown = text[start : end + 1]
    parser.close()
    assert shown == (shown_at or text[start:-1])  # None: shown only once the item is complete
    assert parser.result == Turn.model_validate_json(text)


class AnyTD(TypedDict):
    x: Any


class StrTD(TypedDict):
    x: str


class IntTD(TypedDict):
    y: int


class FloatModel(BaseModel):
    v: float


class IntVTD(TypedDict):
    v: int


@pytest.mark.parametrize(
    "schema,text",
    [
        # a typed dict is exact when its values are (an int from an integer); a str or an Any is only strict
        (AnyTD | IntTD, '{"x": {"a": 1}, "y": 1}'),
        (StrTD | IntTD, '{"x": "s", "y": 1}'),
        (StrTD | IntTD, '{"x": "s", "y": "1"}'),  # "1" for an int is lax: the earlier one wins the tie
        (FloatModel | IntVTD, '{"v": 1}'),  # a model is at most strict
        (FloatModel | IntVTD, '{"v": 1.5}'),
        (IntVTD | FloatModel, '{"v": "1"}'),
    ],
)
def test_smart_mode_ties_go_to_the_more_exact_then_the_earlier(schema: Any, text: str) -> None:
    expected = TypeAdapter(list[schema]).validate_json(f"[{text}]")  # type: ignore[valid-type]
    parser = fs.Parser(list[schema])  # type: ignore[valid-type]
    for ch in f"[{text}]":
        parser.feed(ch)
        shown = parser.snapshot
        assert not shown or type(shown[0]) is type(expected[0])
        assert not shown or not isinstance(shown[0], dict) or shown[0].keys() <= expected[0].keys()
    parser.close()
    assert parser.result == expected and type(parser.result[0]) is type(expected[0])


def test_a_union_and_its_reverse_keep_their_own_plans() -> None:
    """``A | B == B | A`` in Python, but smart mode gives a tie to the earlier one."""
    text = '[{"v": "1"}]'
    for schema in (list[FloatModel | IntVTD], list[IntVTD | FloatModel], list[FloatModel | IntVTD]):
        parser, _ = feed(schema, [text])
        assert type(parser.result[0]) is type(TypeAdapter(schema).validate_json(text)[0])


# -- the rules for values validated whole -----------------------------------


class Whole(BaseModel):
    a: tuple[int, int]
    s: set[int]
    w: Annotated[list[int], fs.Whole]
    u: list[int] | int
    q: Annotated[list[str], Field(min_length=1)]
    items: list[Annotated[Search | Answer, Field(discriminator="type")]]


WHOLE = (
    '{"a": [1, 2], "s": [3, 3], "w": [4], "u": [5, 6], "q": ["a", "b"],'
    ' "items": [{"type": "search", "query": "q"}, {"type": "answer", "text": "t"}]}'
)


@pytest.mark.parametrize("root", [False, True])
def test_keep_items_false_keeps_what_validation_needs(root: bool) -> None:
    # The items of an outermost plain list (`u` through its union, `items`, the root list) are
    # delivered and dropped; tuples, sets and lists with a length constraint keep theirs.
    schema: Any = list[Whole] if root else Whole
    text = f"[{WHOLE}, {WHOLE}]" if root else WHOLE
    whole = TypeAdapter(Whole).validate_json(WHOLE)
    expected = [] if root else whole.model_copy(update={"u": [], "items": []})
    for how in SPLITS:
        parser, per_chunk = feed(schema, chunked(text, how), keep_items=False)
        events = [e for chunk in per_chunk for e in chunk]
        assert parser.result == expected, how
        items = [e.value for e in events if isinstance(e, fs.ItemCompleted) and len(e.path) == 1]
        assert items == ([whole, whole] if root else []), how
        if not root:
            assert [e.value for e in events if isinstance(e, fs.ItemCompleted) and e.path[0] == "items"] == whole.items


class Sorted(BaseModel):
    tags: Annotated[list[str], AfterValidator(lambda v: sorted(set(v)))]
    title: str


class Normalised(BaseModel):
    title: str

    @model_validator(mode="after")
    def strip(self) -> Normalised:
        self.title = self.title.strip()
        return self


@pytest.mark.parametrize(
    "schema,text",
    [(Sorted, '{"tags": ["b", "a", "b"], "title": "t"}'), (list[Normalised], '[{"title": "  x  "}]')],
)
def test_after_validated_containers_appear_once_whole(schema: Any, text: str) -> None:
    expected = TypeAdapter(schema).validate_json(text)
    parser = fs.Parser(schema)
    events: list[fs.Event] = []
    for ch in text:
        events += parser.feed(ch)
        assert "['b', 'a'" not in repr(parser.snapshot) and "'  x" not in repr(parser.snapshot)
    events += parser.close()
    assert parser.result == expected
    shown = [e for e in events if isinstance(e, fs.ValueCompleted) and e.path[:1] in (("tags",), (0,))]
    assert all(len(e.path) == 1 for e in shown)  # no item or field of the container on its own


@dataclasses.dataclass
class Trimmed:
    title: str

    def __post_init__(self) -> None:
        self.title = self.title.strip()  # changes a field: the dataclass appears once, whole


@pydantic_dataclass
class Scaled:
    title: str
    scale: dataclasses.InitVar[int] = 1

    def __post_init__(self, scale: int) -> None:
        self.title = self.title * scale


@pydantic_dataclass
class Tagged:
    type: Literal["t"]
    title: str
    unused: dataclasses.InitVar[int] = 0  # an InitVar alone: pydantic's own pass too


class PostInits(BaseModel):
    items: list[Trimmed]
    maybe: Scaled | None = None
    either: Trimmed | Tagged | None = None
    tagged: Annotated[Tagged | Search, Field(discriminator="type")] | None = None


@pytest.mark.parametrize(
    "text",
    [
        '{"items": [{"title": "  x  "}, {"title": "y "}], "maybe": {"title": "ab", "scale": 2}}',
        '{"items": [], "either": {"type": "t", "title": "t1"}, "tagged": {"title": "t2", "type": "t"}}',
        '{"items": [], "either": {"title": " q "}, "maybe": {"title": "z"}}',
    ],
)
def test_dataclasses_with_post_init_or_initvar_appear_once_whole(text: str) -> None:
    expected = PostInits.model_validate_json(text)
    parser = fs.Parser(PostInits)
    events: list[fs.Event] = []
    for ch in text:
        events += parser.feed(ch)
        assert " q" not in repr(parser.snapshot) and "'  x" not in repr(parser.snapshot)
    events += parser.close()
    assert parser.result == expected
    inside = [e.path for e in events if len(e.path) > 2 or (len(e.path) == 2 and e.path[0] != "items")]
    assert inside == []  # no field of those dataclasses on its own


class Collide(BaseModel):
    b: dict[str, Any] = Field(alias="a")
    a: list[int]


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    f1: int | None = Field(None, alias="F-1")


def test_alias_equal_to_another_fields_name_follows_pydantic() -> None:
    for text in ('{"a": [1]}', '{"a": {"x": 1}}'):
        _, per_chunk = feed(Collide, [text])
        last = per_chunk[-2][-1] if per_chunk[-2] else per_chunk[-1][-1]
        assert isinstance(last, fs.ValueInvalid)
        assert last.errors == pydantic_errors(Collide, text)


def test_an_extra_key_named_like_an_aliased_field_stays_extra() -> None:
    for text in ('{"f1": 5}', '{"F-1": 2, "f1": [1]}'):
        parser, _ = feed(Extra, list(text))
        expected = Extra.model_validate_json(text)
        assert parser.result == expected and parser.result.model_extra == expected.model_extra


@pytest.mark.parametrize("depth", [190, 250, 990])
def test_deep_documents_give_pydantics_result_not_recursion_error(depth: int) -> None:
    text = '{"a": ' + "[" * depth + "]" * depth + "}"
    for schema in (dict[str, Any], dict[str, list[Any]], dict[str, Any] | None):
        _, per_chunk = feed(schema, [text])
        last = [e for chunk in per_chunk for e in chunk][-1]
        try:
            expected = TypeAdapter(schema).validate_json(text)
        except ValidationError as exc:
            assert isinstance(last, fs.ValueInvalid) and last.path == ()
            assert [e["type"] for e in last.errors] == [e["type"] for e in exc.errors()]
        else:
            assert last == fs.DocumentCompleted(expected, 0)


# -- faults: typed events and snapshots, the same for every split ----------------


@pytest.mark.parametrize(
    "text",
    [
        '{"steps": [{"type": "search", "query": "x", "k": 2}, {"type": "answer", "text": "ab\x01',
        '{"steps": [{"type": "search", "query": "x", "k": 2}, {"text": "ab", "type": "answer"}, ]',
        '{"steps": [{"type": "search", "query": "x", "k": "ten"}}',
    ],
)
def test_after_a_parse_error_events_and_snapshot_are_typed_and_split_independent(text: str) -> None:
    seen = set()
    for how in SPLITS:
        parser = fs.Parser(Agent)
        events: list[fs.Event] = []
        with pytest.raises(fs.ParseError) as info:
            for chunk in chunked(text, how):
                events += parser.feed(chunk)
        events += info.value.events
        assert info.value.snapshot is parser.snapshot
        assert isinstance(info.value.snapshot, Agent)
        assert not any(isinstance(e, fs.ValueCompleted) and e.value == "ten" for e in events)
        seen.add((repr(info.value.snapshot), json.dumps(normalize(events), default=repr)))
    assert len(seen) == 1


def test_schema_error_carries_the_events_before_it() -> None:
    parser = fs.Parser(Agent, on_invalid="raise")
    with pytest.raises(fs.SchemaError) as info:
        parser.feed('{"steps": [{"type": "search", "query": "x", "k": "ten"}]}')
    completed = [e.path for e in info.value.events if isinstance(e, fs.ValueCompleted)]
    assert completed == [("steps", 0, "type"), ("steps", 0, "query")]
    assert info.value.path == "$.steps[0].k"


def test_result_is_the_last_valid_document() -> None:
    parser = fs.Parser(Search, multiple=True)
    with pytest.raises(fs.UsageError, match="no valid document"):
        parser.result  # noqa: B018
    parser.feed('{"type": "search", "query": "a"} {"type": "search", "query": 1} ')
    assert parser.result == Search(type="search", query="a")
    plain = fs.Parser()
    plain.feed("[1]")
    assert plain.result == [1]


class Rooted(RootModel[list[Search]]):
    pass


@dataclasses.dataclass
class Point:
    x: int
    label: str = "?"
    tags: list[str] = dataclasses.field(default_factory=list)


@pydantic_dataclass(config=ConfigDict(extra="forbid"))
class Strict:
    x: int
    point: Point


@pytest.mark.parametrize(
    "schema,text,streamed",
    [
        (Rooted, '[{"type": "search", "query": "q"}, {"type": "search", "query": "r", "k": 1}]', (1, "query")),
        (list[Point], '[{"x": 1}, {"x": 2, "label": "b", "tags": ["t"]}]', (1, "tags", 0)),
        (Strict, '{"x": 1, "point": {"x": 2, "tags": ["a"]}}', ("point", "tags", 0)),
        (Strict, '{"x": 1, "point": {"x": 2}, "y": 0}', None),
        (RootModel[dict[str, Point]], '{"a": {"x": 1}, "b": {"x": "no"}}', None),
    ],
)
def test_root_models_and_dataclasses_stream_their_children(schema: Any, text: str, streamed: Any) -> None:
    events_seen = set()
    for how in SPLITS:
        parser, per_chunk = feed(schema, chunked(text, how))
        events = [e for chunk in per_chunk for e in chunk]
        events_seen.add(json.dumps(normalize(events), default=repr))
        try:
            expected = TypeAdapter(schema).validate_json(text)
        except ValidationError as exc:
            assert isinstance(events[-1], fs.ValueInvalid) and events[-1].errors == exc.errors()
            continue
        assert parser.result == expected
        assert streamed in {e.path for e in events if isinstance(e, fs.ValueCompleted)}
    assert len(events_seen) == 1


def test_a_root_model_shows_as_itself_while_it_grows() -> None:
    parser = fs.Parser(Rooted)
    parser.feed('[{"type": "search", "query": "we')
    snap = parser.snapshot
    assert isinstance(snap, Rooted) and snap.root[0].query == "we"
    parser = fs.Parser(list[Point])
    parser.feed('[{"x": 1, "label": "ab')
    assert parser.snapshot == [Point(x=1, label="ab", tags=None)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        '{"steps": [{"type": "search", "query": "q", "type": "answer", "text": "t"}]}',
        '{"steps": [{"type": "answer", "text": "t", "type": "search", "query": "q"}]}',
        '{"steps": [{"query": "q", "query": 1, "type": "search"}]}',
    ],
)
def test_a_repeated_key_in_a_union_object_ends_as_pydantic_decides(text: str) -> None:
    xfail_if_pydantic_sees_repeats(Agent, text)
    try:
        expected: Any = Agent.model_validate_json(text)
    except ValidationError as exc:
        expected = exc.errors()
    for how in SPLITS:
        _, per_chunk = feed(Agent, chunked(text, how))
        last = [e for chunk in per_chunk for e in chunk][-1]
        assert (last.value if isinstance(last, fs.DocumentCompleted) else last.errors) == expected, how


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["search", "answer", "cat", "dog", "q", ""]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "kind", "query", "text", "name", "a", "b", "k", "steps"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)
SCHEMAS = [Agent, Action, Zoo, Pair, Models, Forbidding, Rooted, list[Point], Strict]


@settings(
    max_examples=int(os.environ.get("FIELDSTREAM_TYPED_EXAMPLES", "150")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
)
@given(st.sampled_from(SCHEMAS), json_values, st.sampled_from(SPLITS))
def test_any_json_against_union_schemas_ends_as_pydantic(schema: Any, value: Any, how: str) -> None:
    """Mostly wrong shapes: only pydantic's verdict may come out, whatever the split."""
    text = json.dumps(value)
    try:
        expected: Any = TypeAdapter(schema).validate_json(text)
    except ValidationError as exc:
        expected = exc.errors()
    _, per_chunk = feed(schema, chunked(text, how))
    last = [e for chunk in per_chunk for e in chunk][-1]
    assert (last.value if isinstance(last, fs.DocumentCompleted) else last.errors) == expected


def test_reading_the_snapshot_from_another_thread_never_changes_the_result() -> None:
    """A UI timer reads the snapshot while the stream is fed: the final value stays pydantic's."""
    import threading

    steps = [
        {"type": "search", "query": f"query number {i}"} if i % 2 else {"type": "answer", "text": f"text {i}"}
        for i in range(3000)
    ]
    text = json.dumps({"steps": steps})
    expected = Agent.model_validate_json(text)
    parser = fs.Parser(Agent)
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            parser.snapshot  # noqa: B018

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(0, len(text), 3):
            parser.feed(text[i : i + 3])
        parser.close()
    finally:
        done.set()
        reader.join()
    assert parser.result == expected
