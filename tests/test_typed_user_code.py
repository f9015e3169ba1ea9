"""A schema's own code that raises: validators, default factories, serializers, odd schemas.

Pydantic turns a ``ValueError``/``AssertionError`` raised in a validator into a
``ValidationError``; any other exception (``RuntimeError``, ``KeyError``,
``TypeError``, ``ZeroDivisionError``, ``RecursionError``) it propagates as it is.
fieldstream lets nothing but its own errors out, so at every public entry point
such an exception is a :class:`SchemaError` (the original as ``__cause__``),
raised whatever ``on_invalid`` says, with the events and snapshot before the
fault kept.  ``BaseException``s that are not ``Exception``s propagate unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pydantic")

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    PlainValidator,
    Tag,
    TypeAdapter,
    ValidationError,
    WrapValidator,
    computed_field,
    create_model,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import core_schema

import fieldstream as fs
from fieldstream._json_out import dumps
from fieldstream._recording import to_wire_bytes
from fieldstream._records import event_to_json

from .splits import every_split
from .streamserver import Script, StreamServer, running

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams"
LOCATION = "openai_chat_completions/oai_py_json_schema_location.sse"  # {"city":"San Francisco","temperature":61,...}
EXCEPTIONS = (RuntimeError, KeyError, TypeError, ZeroDivisionError, RecursionError)


def raiser(exc: type[BaseException]) -> Callable[[Any], Any]:
    def fail(value: Any) -> Any:
        raise exc("from the schema's code")

    return fail


# -- a catalogue: every place pydantic runs user code while validating ------------------------------


def case(kind: str, exc: type[BaseException]) -> tuple[Any, str, str]:
    """A schema whose code raises ``exc``, a document, and the path where it raises."""
    fail = raiser(exc)
    if kind in ("after", "before", "wrap", "plain"):
        wrapper = {"after": AfterValidator, "before": BeforeValidator, "wrap": WrapValidator, "plain": PlainValidator}
        check = (lambda v, handler: fail(handler(v))) if kind == "wrap" else fail
        model = create_model("M", a=(int, ...), b=(Annotated[str, wrapper[kind](check)], ...), c=(list[int], []))
        return model, '{"a": 1, "b": "text", "c": [1, 2]}', "$.b"
    if kind == "field_validator":

        class FieldValidated(BaseModel):
            a: int
            b: str

            @field_validator("b")
            @classmethod
            def check(cls, v: str) -> str:
                return fail(v)  # type: ignore[no-any-return]

        return FieldValidated, '{"a": 1, "b": "text"}', "$.b"
    if kind.startswith("model_"):
        mode = kind.removeprefix("model_")

        class ModelValidated(BaseModel):
            a: int
            b: str

            if mode == "after":

                @model_validator(mode="after")
                def check(self) -> ModelValidated:
                    return fail(self)  # type: ignore[no-any-return]

            elif mode == "before":

                @model_validator(mode="before")
                @classmethod
                def check(cls, data: Any) -> Any:
                    return fail(data)

            else:

                @model_validator(mode="wrap")
                @classmethod
                def check(cls, data: Any, handler: Any) -> Any:
                    return fail(handler(data))

        # a model-level validator makes the model validate whole: it sits under a model that streams
        outer = create_model("Outer", a=(int, ...), b=(ModelValidated, ...))
        return outer, '{"a": 1, "b": {"a": 2, "b": "text"}}', "$.b"
    if kind == "default_factory":
        model = create_model(
            "Defaulted", a=(int, ...), b=(str, ...), d=(int, Field(default_factory=lambda: fail(None)))
        )
        return model, '{"a": 1, "b": "text"}', "$"
    if kind == "post_init":

        @dataclasses.dataclass
        class Point:
            x: int

            def __post_init__(self) -> None:
                fail(self)

        return create_model("Holder", a=(int, ...), b=(Point, ...)), '{"a": 1, "b": {"x": 2}}', "$.b"
    if kind == "discriminator":

        class X(BaseModel):
            kind: Literal["x"]
            v: int

        class Y(BaseModel):
            kind: Literal["y"]
            w: int

        tagged = Annotated[Union[Annotated[X, Tag("x")], Annotated[Y, Tag("y")]], Discriminator(fail)]
        return create_model("Tagged", a=(int, ...), b=(tagged, ...)), '{"a": 1, "b": {"kind": "x", "v": 3}}', "$.b"
    if kind == "custom_type":

        class Custom:
            @classmethod
            def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
                return core_schema.no_info_plain_validator_function(fail)

        return create_model("WithCustom", a=(int, ...), b=(Custom, ...)), '{"a": 1, "b": "text"}', "$.b"
    if kind == "list_item":

        def second(v: int) -> int:
            return fail(v) if v == 2 else v

        model = create_model("Items", a=(int, ...), c=(list[Annotated[int, AfterValidator(second)]], ...))
        return model, '{"a": 1, "c": [1, 2, 3]}', "$.c[1]"
    raise AssertionError(kind)


KINDS = (
    "after",
    "before",
    "wrap",
    "plain",
    "field_validator",
    "model_after",
    "model_before",
    "model_wrap",
    "default_factory",
    "post_init",
    "discriminator",
    "custom_type",
    "list_item",
)


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("kind", KINDS)
def test_a_raising_validator_is_a_schema_error_at_every_split(kind: str, exc: type[Exception]) -> None:
    schema, doc, path = case(kind, exc)
    with pytest.raises(exc):  # pydantic itself propagates it
        TypeAdapter(schema).validate_json(doc)
    for on_invalid in ("event", "raise"):
        for how, chunks in every_split(doc):
            parser = fs.Parser(schema, on_invalid=on_invalid)
            events: list[fs.Event] = []
            with pytest.raises(fs.SchemaError) as info:
                for chunk in chunks:
                    events += parser.feed(chunk)
                events += parser.close()
            error = info.value
            events += error.events
            assert type(error.__cause__) is exc, (kind, how)
            assert error.path == path and exc.__name__ in str(error), (kind, how, str(error))
            assert error.errors[0]["type"] == "exception" and exc.__name__ in error.errors[0]["msg"]
            # what validated before the fault is kept: its events, and the snapshot
            assert fs.ValueCompleted(("a",), 1) in events, (kind, how)
            assert not any(isinstance(e, fs.DocumentCompleted) for e in events)
            snapshot = parser.snapshot
            assert (snapshot["a"] if isinstance(snapshot, dict) else snapshot.a) == 1
            if kind in ("after", "before", "wrap", "plain", "field_validator", "custom_type"):
                assert snapshot.b is None  # the failing value is not shown
            with pytest.raises(fs.UsageError):  # the parser stopped
                parser.feed(" ")


def test_the_snapshot_keeps_what_validated_before_the_fault() -> None:
    schema, doc, _ = case("list_item", RuntimeError)
    parser = fs.Parser(schema)
    parser.feed(doc[: doc.index("2")])
    assert parser.snapshot.c == [1]
    with pytest.raises(fs.SchemaError) as info:
        parser.feed(doc[doc.index("2") :])
    assert info.value.events == []  # nothing completed in this feed before the fault
    assert parser.snapshot.a == 1 and parser.snapshot.c == [1]


@pytest.mark.parametrize("exc", (KeyboardInterrupt, SystemExit, MemoryError), ids=lambda e: e.__name__)
def test_base_exceptions_propagate_unchanged(exc: type[BaseException]) -> None:
    schema, doc, _ = case("after", exc)
    with pytest.raises(exc):
        fs.Parser(schema).feed(doc)
    schema, doc, _ = case("model_after", exc)
    with pytest.raises(exc):
        fs.Parser(schema).feed(doc)


def test_iter_items_and_snapshots_raise_the_schema_error_after_what_came_before() -> None:
    schema, doc, _ = case("list_item", ZeroDivisionError)
    items: list[Any] = []
    item_type = schema.model_fields["c"].annotation  # list[Annotated[int, AfterValidator(...)]]
    with pytest.raises(fs.SchemaError) as info:
        for item in fs.iter_items(["[1, ", "2, 3]"], item_type):
            items.append(item)
    assert items == [1] and type(info.value.__cause__) is ZeroDivisionError
    snapshots: list[Any] = []
    with pytest.raises(fs.SchemaError):
        for snapshot in fs.iter_snapshots([doc[:12], doc[12:]], schema):
            snapshots.append(snapshot)
    assert snapshots and snapshots[-1].a == 1


def test_a_raising_discriminator_callable_on_partial_objects_only_means_not_decided_yet() -> None:
    """Called on the keys so far, a callable may fail (``v["kind"]``); pydantic calls it on the whole object."""

    class Search(BaseModel):
        kind: Literal["search"]
        query: str

    class Answer(BaseModel):
        kind: Literal["answer"]
        text: str

    def picky(v: Any) -> Any:
        if isinstance(v, dict):
            if len(v) < 2:
                raise RuntimeError("needs two keys")
            return v["kind"]  # KeyError until "kind" arrives
        return v.kind

    step = Annotated[Union[Annotated[Search, Tag("search")], Annotated[Answer, Tag("answer")]], Discriminator(picky)]
    schema = create_model("Plan", steps=(list[step], ...))
    doc = '{"steps": [{"query": "weather", "kind": "search"}, {"kind": "answer", "text": "sunny"}]}'
    expected = TypeAdapter(schema).validate_json(doc)
    for how, chunks in every_split(doc):
        parser = fs.Parser(schema)
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
        assert parser.result == expected, how


def test_a_plain_union_with_a_raising_candidate_agrees_with_pydantic() -> None:
    """Ruling candidates out never lets a validator's exception out: pydantic decides on the whole object."""

    def positive(v: int) -> int:
        if v < 0:
            raise RuntimeError("negative")
        return v

    class A(BaseModel):
        n: Annotated[int, AfterValidator(positive)]

    class B(BaseModel):
        n: int
        m: int

    schema = create_model("U", x=(Union[A, B], ...))
    for doc in ('{"x": {"n": -1, "m": 2}}', '{"x": {"n": 1, "m": 2}}', '{"x": {"n": -1}}'):
        assert_agrees(schema, doc)


# -- a hypothesis run: a raising validator at a random place of a generated model ---------------------


def outcome_of_pydantic(schema: Any, doc: str) -> tuple[str, Any]:
    try:
        return "value", TypeAdapter(schema).validate_json(doc)
    except ValidationError as exc:
        return "invalid", [e["loc"] for e in exc.errors()]
    except Exception as exc:  # noqa: BLE001 - the schema's own code raised: the comparison's subject
        return "raised", type(exc)


def outcome_of_fieldstream(schema: Any, chunks: list[str]) -> tuple[str, Any]:
    parser = fs.Parser(schema, on_invalid="raise")
    try:
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
    except fs.SchemaError as exc:
        if exc.errors and exc.errors[0]["type"] == "exception":
            return "raised", type(exc.__cause__)
        return "invalid", [e["loc"] for e in exc.errors]
    return "value", parser.result


def assert_agrees(schema: Any, doc: str) -> None:
    expected = outcome_of_pydantic(schema, doc)
    for how, chunks in every_split(doc):
        got = outcome_of_fieldstream(schema, chunks)
        assert got[0] == expected[0], (doc, how, got, expected)
        if expected[0] != "invalid":  # which of several invalid values is reported first may differ
            assert got == expected, (doc, how)


LEAVES = ("int", "str", "list", "model")


@st.composite
def models_with_a_raising_validator(draw: st.DrawFn) -> tuple[Any, str]:
    """A model of a few fields (ints, strings, lists, nested models), one place checked by a raising validator."""
    exc = draw(st.sampled_from(EXCEPTIONS))
    threshold = draw(st.integers(0, 5))

    def check(v: Any) -> Any:
        if (len(v) if isinstance(v, (str, list)) else v if isinstance(v, int) else 0) >= threshold:
            raise exc("raised at random")
        return v

    def build(kind: str, depth: int, checked: bool) -> tuple[Any, Any]:
        """A field's type and a value for it."""
        if kind == "int":
            tp: Any = int
            value: Any = draw(st.integers(0, 8))
        elif kind == "str":
            tp, value = str, draw(st.text('ab\u00e9"', max_size=6))
        elif kind == "list":
            tp, value = list[int], draw(st.lists(st.integers(0, 8), max_size=6))
        else:
            inner = draw(st.lists(st.sampled_from(LEAVES if depth < 2 else LEAVES[:2]), min_size=1, max_size=3))
            target = draw(st.integers(-1, len(inner) - 1)) if checked else -2
            fields, value = {}, {}
            for i, k in enumerate(inner):
                fields[f"f{i}"], value[f"f{i}"] = build(k, depth + 1, i == target)
            tp = create_model(f"N{depth}", **{k: (v, ...) for k, v in fields.items()})  # type: ignore[call-overload]
            checked = checked and target == -1  # -1: the model itself is checked
        return (Annotated[tp, AfterValidator(check)] if checked else tp), value

    kinds = draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4))
    target = draw(st.integers(0, len(kinds) - 1))
    fields, value = {}, {}
    for i, k in enumerate(kinds):
        fields[f"k{i}"], value[f"k{i}"] = build(k, 0, i == target)
    schema: Any = create_model("Root", **{k: (v, ...) for k, v in fields.items()})  # type: ignore[call-overload]
    if draw(st.booleans()):
        schema = Optional[schema]
    return schema, json.dumps(value, ensure_ascii=False)


# a longer local run: FIELDSTREAM_TYPED_EXAMPLES=2000 python -m pytest tests/test_typed_user_code.py -k property
@settings(max_examples=int(os.environ.get("FIELDSTREAM_TYPED_EXAMPLES", "60")), deadline=None)
@given(models_with_a_raising_validator())
def test_property_a_raising_validator_anywhere_agrees_with_pydantic(drawn: tuple[Any, str]) -> None:
    schema, doc = drawn
    assert_agrees(schema, doc)


# -- schema time: Parser(...) raises UsageError, never something else ---------------------------------


class _Odd:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __hash__(self) -> int:
        raise ZeroDivisionError("no hash")


class _CustomBroken:
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        raise KeyError("cannot build")


class _Unknown:
    pass


class _Deferred(BaseModel):
    model_config = ConfigDict(defer_build=True)
    x: _Unknown  # no schema for it: pydantic fails when the model is built


@pytest.mark.parametrize(
    "schema",
    [_Odd(), _CustomBroken, list[_CustomBroken], _Deferred, [1, 2], {"a": int}, 42],
    ids=["odd-object", "custom-type", "list-of-custom", "deferred-model", "a-list", "a-dict", "an-int"],
)
def test_an_unusable_schema_is_a_usage_error_at_construction(schema: Any) -> None:
    with pytest.raises(fs.UsageError) as info:
        fs.Parser(schema)
    assert info.value.__cause__ is not None
    with pytest.raises(fs.UsageError):
        fs.StreamDecoder(schema=schema)


def _extra(schema: dict[str, Any]) -> None:
    raise RuntimeError("json_schema_extra")


class _ExtraRaises(BaseModel):
    model_config = ConfigDict(json_schema_extra=_extra)
    a: int


class _JsonSchemaRaises(BaseModel):
    a: int

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        raise ZeroDivisionError("json schema")


def _tool_with_an_undefined_name(x: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
    """A tool whose annotation names nothing."""


def _tool_with_an_odd_annotation(x: object()) -> None:  # type: ignore[valid-type]
    """A tool whose annotation is no type."""


@pytest.mark.parametrize("via", ["native", "tool"])
@pytest.mark.parametrize(
    ("output_type", "tools"),
    [
        (_ExtraRaises, ()),
        (_JsonSchemaRaises, ()),
        (_CustomBroken, ()),
        (_Odd(), ()),
        (_Deferred, ()),
        (None, (_tool_with_an_undefined_name,)),
        (None, (_tool_with_an_odd_annotation,)),
    ],
    ids=["json-schema-extra", "json-schema-hook", "custom-type", "odd-object", "deferred", "undefined", "odd-tool"],
)
def test_stream_with_an_unusable_type_is_a_usage_error(output_type: Any, tools: Any, via: str) -> None:
    for call in (fs.stream, fs.astream):
        with pytest.raises(fs.UsageError):
            call("http://127.0.0.1:9/v1", output_type, tools=tools, via=via, model="m", prompt="q")


# -- StreamDecoder, stream()/astream(), connect(): a fault of the target, the SchemaError kept ---------------


def boom(v: Any) -> Any:
    raise RuntimeError("boom")


class Location(BaseModel):
    city: str
    temperature: Annotated[int, AfterValidator(boom)]
    units: str


def body() -> bytes:
    path = CORPUS / LOCATION
    return to_wire_bytes(path, path.read_bytes())


def check_fault(events: list[Any]) -> None:
    completed = [e.event for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.ValueCompleted)]
    assert fs.ValueCompleted(("city",), "San Francisco") in completed
    (fault,) = [e for e in events if isinstance(e, fs.Fault)]
    assert isinstance(fault, fs.Malformed) and isinstance(fault.error, fs.SchemaError)
    assert type(fault.error.__cause__) is RuntimeError and fault.error.path == "$.temperature"
    assert fault.snapshot.city == "San Francisco" and fault.snapshot.temperature is None
    assert isinstance(events[-1], fs.StreamCompleted)


def test_stream_decoder_reports_the_fault_at_every_split() -> None:
    data = body()
    for how, chunks in every_split(data):
        if how == "per-char":
            chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
        decoder = fs.StreamDecoder(schema=Location)
        events: list[Any] = []
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
        check_fault(events)


@pytest.fixture
def server() -> Iterator[StreamServer]:
    yield from running()


def serve(server: StreamServer) -> None:
    data = body()
    server.serve("/v1/chat/completions", Script([data[i : i + 61] for i in range(0, len(data), 61)], delay=0.0005))


def check_final_error(error: BaseException) -> None:
    assert isinstance(error, fs.SchemaError) and type(error.__cause__) is RuntimeError
    assert error.path == "$.temperature" and error.snapshot.city == "San Francisco"  # type: ignore[attr-defined]


def test_stream_final_raises_the_schema_error(server: StreamServer) -> None:
    serve(server)
    answer = fs.stream(server.url("/v1"), Location, model="gpt-4o", prompt="q")
    events = list(answer)
    completed = [e for e in events if isinstance(e, fs.ValueCompleted)]
    assert completed == [fs.ValueCompleted(("city",), "San Francisco")]
    assert any(isinstance(e, fs.Malformed) for e in events)
    with pytest.raises(fs.SchemaError) as info:
        _ = answer.final
    check_final_error(info.value)


def test_astream_final_raises_the_schema_error(server: StreamServer) -> None:
    serve(server)

    async def main() -> None:
        answer = fs.astream(server.url("/v1"), Location, model="gpt-4o", prompt="q")
        with pytest.raises(fs.SchemaError) as info:
            await answer.get_final()
        check_final_error(info.value)

    asyncio.run(main())


def test_connect_yields_the_fault(server: StreamServer) -> None:
    serve(server)
    with fs.connect(None, "POST", server.url("/v1/chat/completions"), json={}, schema=Location) as stream:
        events = list(stream)
    check_fault(events)


# -- output time: a serializer that raises ------------------------------------------------------------


class Secret(BaseModel):
    name: str
    token: str

    @field_serializer("token")
    def redact(self, v: str) -> str:
        raise KeyError("the redaction table is gone")


class Computed(BaseModel):
    name: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def upper(self) -> str:
        raise RuntimeError("computed")


class WholeSerialized(BaseModel):
    name: str

    @model_serializer
    def whole(self) -> Any:
        raise TypeError("model serializer")


class Holder(BaseModel):
    name: str
    secret: Secret


SERIALIZED = [(Secret, KeyError), (Computed, RuntimeError), (WholeSerialized, TypeError)]
DOCS = {Secret: '{"name": "n", "token": "t"}', Computed: '{"name": "n"}', WholeSerialized: '{"name": "n"}'}


@pytest.mark.parametrize(("model", "exc"), SERIALIZED, ids=lambda m: getattr(m, "__name__", ""))
def test_records_raise_a_schema_error_never_write_around_the_serializer(model: Any, exc: type[Exception]) -> None:
    parser = fs.Parser(model)
    events = parser.feed(DOCS[model]) + parser.close()
    with pytest.raises(fs.SchemaError) as info:
        event_to_json(events[-1])  # the done record carries the model
    assert type(info.value.__cause__) is exc
    with pytest.raises(fs.SchemaError):
        fs.SSEEncoder().encode(events[-1])
    with pytest.raises(fs.SchemaError):
        fs.sse_encode(events)
    # pydantic-core's own limits (deep values, lone surrogates in keys) still take the slow path, as before
    deep: Any = 1
    for _ in range(400):
        deep = [deep]
    assert json.loads(dumps({"\ud800": deep, "m": Secret.model_construct(name="n")}))


@pytest.mark.parametrize("protocol", ["fieldstream", "json-patch", "ai-sdk", "ag-ui"])
def test_to_sse_ends_with_the_error_frame_and_keeps_the_frames_before(protocol: str) -> None:
    parser = fs.Parser(Holder)
    events = parser.feed('{"name": "n", "secret": {"name": "s", "token": "t"}}') + parser.close()
    frames = b"".join(fs.to_sse(events, protocol=protocol)).decode()  # type: ignore[call-overload]
    data = [line[6:] for line in frames.splitlines() if line.startswith("data: ")]
    assert '"n"' in "".join(data[:-1])  # the name arrived before the fault
    if protocol == "ai-sdk":
        assert json.loads(data[-2])["type"] == "error" and data[-1] == "[DONE]"
        assert "KeyError" in json.loads(data[-2])["errorText"]
    elif protocol == "ag-ui":
        assert json.loads(data[-1])["type"] == "RUN_ERROR" and "KeyError" in json.loads(data[-1])["message"]
    else:
        last = json.loads(data[-1])
        assert last["event"] == "error" and last["exception"] == "SchemaError" and "KeyError" in last["message"]
        assert "event: error" in frames.splitlines()[-4:]


def test_async_to_sse_ends_with_the_error_frame() -> None:
    parser = fs.Parser(Secret)
    events = parser.feed(DOCS[Secret]) + parser.close()

    async def source() -> Any:
        for event in events:
            yield event

    async def main() -> str:
        return b"".join([frame async for frame in fs.to_sse(source(), keepalive=None)]).decode()

    frames = asyncio.run(main())
    data = [json.loads(line[6:]) for line in frames.splitlines() if line.startswith("data: ")]
    assert {"event": "field", "path": "$.name", "value": "n"} in data  # sent, though its batch held the fault
    assert data[-1]["event"] == "error" and data[-1]["exception"] == "SchemaError" and data[-1]["snapshot"] is None


# -- the CLI: replay --model with a raising validator, or a raising serializer ---------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env = {**env, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "fieldstream", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd, env=env, check=False)


MODULE = """
from typing import Annotated
from pydantic import AfterValidator, BaseModel, field_serializer

def boom(v):
    raise RuntimeError("boom")

class Day(BaseModel):
    day: str
    high: Annotated[str, AfterValidator(boom)]

class Report(BaseModel):
    location: str
    forecast: list[Day]

class Redacted(BaseModel):
    location: str
    forecast: list

    @field_serializer("location")
    def hide(self, v):
        raise KeyError("gone")
"""


def test_cli_replay_with_a_raising_validator(tmp_path: Path) -> None:
    (tmp_path / "weather.py").write_text(MODULE)
    result = cli("replay", "--no-delay", "--jsonl", "--model", "weather:Report", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(r["event"] == "field" and r["path"] == "$.location" and r["source"] == "choices[0]" for r in records)
    (error,) = [r for r in records if r["event"] == "error"]
    assert error["kind"] == "malformed" and "RuntimeError" in error["message"] and error["source"] == "choices[0]"
    assert error["snapshot"]["location"] and error["snapshot"]["forecast"] == [{"day": "Monday", "high": None}]
    plain = cli("replay", "--no-delay", "--model", "weather:Report", cwd=tmp_path)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "RuntimeError" in plain.stdout


def test_cli_replay_with_a_raising_serializer(tmp_path: Path) -> None:
    (tmp_path / "weather.py").write_text(MODULE)
    result = cli("replay", "--no-delay", "--jsonl", "--model", "weather:Redacted", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr and "KeyError" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["event"] == "error" and records[-1]["exception"] == "SchemaError"
    assert records[-1]["source"] == "choices[0]" and any(r["event"] == "field" for r in records)
    plain = cli("replay", "--no-delay", "--model", "weather:Redacted", cwd=tmp_path)
    assert plain.returncode != 0 and "Traceback" not in plain.stderr


def test_cli_parse_with_a_raising_validator_and_serializer(tmp_path: Path) -> None:
    (tmp_path / "weather.py").write_text(MODULE)
    (tmp_path / "report.json").write_text('{"location": "Lisbon", "forecast": [{"day": "Mon", "high": "20"}]}')
    result = cli("parse", "--jsonl", "--model", "weather:Report", "report.json", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"event": "field", "path": "$.location", "value": "Lisbon"} in records
    assert records[-1]["event"] == "error" and "RuntimeError" in records[-1]["message"]
    assert records[-1]["path"] == "$.forecast[0].high"
    result = cli("parse", "--jsonl", "--model", "weather:Redacted", "report.json", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["event"] == "error" and "KeyError" in records[-1]["message"]


def test_a_memory_error_in_a_serializer_propagates() -> None:
    class Hungry(BaseModel):
        a: int

        @field_serializer("a")
        def big(self, v: int) -> int:
            raise MemoryError

    with pytest.raises(MemoryError):
        dumps(Hungry(a=1))
