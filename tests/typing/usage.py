"""Typed API usage that mypy (strict) must accept, with the types it must infer.

Checked by tests/test_typing.py; ``assert_type`` is a no-op at run time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field
from typing_extensions import assert_type

import fieldstream as fs


class Search(BaseModel):
    type: Literal["search"]
    query: str


class Answer(BaseModel):
    type: Literal["answer"]
    text: str


class Agent(BaseModel):
    steps: list[Annotated[Search | Answer, Field(discriminator="type")]]


def plain() -> None:
    parser = fs.Parser()
    assert_type(parser, fs.Parser[Any])
    events = parser.feed('{"a": 1}')
    assert_type(events, list[fs.Event])
    assert_type(parser.close(), list[fs.Event])
    assert_type(parser.snapshot, Any)
    assert_type(parser.result, Any)
    assert_type(fs.Parser(prose=True, multiple=True, keep_items=False, max_depth=10), fs.Parser[Any])


def model() -> None:
    parser = fs.Parser(Agent, on_invalid="raise", max_depth=64)
    assert_type(parser, fs.Parser[Agent])
    parser.feed(b'{"steps": []}')
    parser.close()
    assert_type(parser.result, Agent)  # the final value is typed
    assert_type(parser.snapshot, Any)  # a partial model breaks its own annotations: Any, honestly
    assert_type(fs.Parser(Agent, on_invalid="event"), fs.Parser[Agent])
    assert_type(fs.Parser(Agent, lenient=True), fs.Parser[Agent])


def main_job_lenient() -> None:
    recording = fs.Recording("answer.ndjson", speed=None)
    assert_type(fs.stream(recording, Agent, lenient=True), fs.AnswerStream[Agent])
    assert_type(
        fs.astream(recording, Agent, lenient=True, parser_options={"max_depth": 8}), fs.AsyncAnswerStream[Agent]
    )
    assert_type(fs.stream(recording, list[Search] | None, lenient=False), fs.AnswerStream[Any])


def generic_aliases() -> None:
    parser = fs.Parser(list[Search])
    assert_type(parser, fs.Parser[list[Search]])
    assert_type(parser.result, list[Search])
    assert_type(fs.Parser(dict[str, int]).result, dict[str, int])
    assert_type(fs.Parser(int).result, int)


def type_forms() -> None:
    # a type form that is not a class (a union, Annotated) gives values typed Any
    action = Annotated[Search | Answer, Field(discriminator="type")]
    assert_type(fs.Parser(action), fs.Parser[Any])
    assert_type(fs.Parser(Union[Search, Answer], on_invalid="raise").result, Any)  # noqa: UP007 (the typing form itself is the point)


def explicit(schema: type[Search]) -> fs.Parser[Search]:
    return fs.Parser(schema)


def events(parser: fs.Parser[Agent]) -> list[str]:
    out = []
    for event in parser.feed("{}"):
        if isinstance(event, fs.StringDelta):
            out.append(event.text)
        elif isinstance(event, fs.ValueInvalid):
            out.append(str(event.errors))
    return out


def errors(parser: fs.Parser[Agent]) -> None:
    try:
        parser.feed("{")
    except fs.SchemaError as exc:
        assert_type(exc.events, list[Any])
    except fs.ParseError as exc:
        assert_type(exc.events, list[Any])
        assert_type(exc.snapshot, Any)
