"""Typed parsing, differential: generated models and documents against ``model_validate_json``.

For every generated model and document, fed whole, per character and at random
splits: the final value (or pydantic's errors) equals what pydantic gives for the
whole text, and after every chunk the snapshot holds nothing that later changes
(a live string may only grow).
"""

from __future__ import annotations

import datetime
import enum
import itertools
import json
from typing import Annotated, Any, Literal, Optional, Union

import pytest

pytest.importorskip("pydantic")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

import fieldstream as fs

from .splits import every_split


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def _shout(value: str) -> str:
    return value.upper() + "!"  # not idempotent: running it twice would show


_counter = itertools.count()

# A spec is a tuple tree; ``build`` turns it into a type, ``values`` into JSON documents for it.
LEAVES = [
    "int",
    "float",
    "str",
    "bool",
    "lit",
    "enum",
    "dt",
    "conint",
    "constr",
    "shout",
    "union",
    "tuple",
    "live",
    "whole",
]


def specs() -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        field = st.tuples(inner, st.booleans(), st.booleans())  # (spec, has alias, optional with default)
        return st.one_of(
            inner.map(lambda s: ("list", s)),
            inner.map(lambda s: ("dict", s)),
            inner.map(lambda s: ("opt", s)),
            st.tuples(st.lists(field, min_size=1, max_size=4), st.sampled_from(["ignore", "allow", "forbid"])).map(
                lambda t: ("model", tuple(t[0]), t[1])
            ),
        )

    leaves = st.sampled_from(LEAVES).map(lambda name: (name,))
    inner = st.recursive(leaves, extend, max_leaves=6)
    field = st.tuples(inner, st.booleans(), st.booleans())
    return st.tuples(st.lists(field, min_size=1, max_size=4), st.sampled_from(["ignore", "allow", "forbid"])).map(
        lambda t: ("model", tuple(t[0]), t[1])
    )


def build(spec: Any) -> Any:
    kind = spec[0]
    simple = {
        "int": int,
        "float": float,
        "str": str,
        "bool": bool,
        "lit": Literal["a", "b"],
        "enum": Color,
        "dt": datetime.datetime,
        "conint": Annotated[int, Field(ge=0)],
        "constr": Annotated[str, Field(max_length=4)],
        "shout": Annotated[str, AfterValidator(_shout)],
        "union": Union[int, str],
        "tuple": tuple[int, str],
        "live": Annotated[str, Field(max_length=4), fs.Live],  # live text, validated when complete
        "whole": Annotated[list[int], fs.Whole],
    }
    if kind in simple:
        return simple[kind]
    if kind == "list":
        return list[build(spec[1])]  # type: ignore[misc]
    if kind == "dict":
        return dict[str, build(spec[1])]  # type: ignore[misc]
    if kind == "opt":
        return Optional[build(spec[1])]
    fields: dict[str, Any] = {}
    for i, (sub, alias, default) in enumerate(spec[1]):
        tp = build(sub)
        if default:
            fields[f"f{i}"] = (Optional[tp], Field(None, alias=f"F-{i}" if alias else None))
        else:
            fields[f"f{i}"] = (tp, Field(alias=f"F-{i}" if alias else None))
    return create_model(f"M{next(_counter)}", __config__=ConfigDict(extra=spec[2]), **fields)  # type: ignore[call-overload]


def values(spec: Any) -> st.SearchStrategy[Any]:
    """Mostly valid JSON values for ``spec``, sometimes not (wrong type, missing or extra keys)."""
    kind = spec[0]
    text = st.text(max_size=6)
    table = {
        "int": st.integers(-(10**6), 10**6),
        "float": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5)),
        "str": text,
        "bool": st.booleans(),
        "lit": st.sampled_from(["a", "b"]),
        "enum": st.sampled_from(["red", "blue"]),
        "dt": st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01", "2024-05-01T10:00:00+02:00"]),
        "conint": st.integers(0, 50),
        "constr": st.text(max_size=4),
        "shout": text,
        "union": st.one_of(st.integers(-9, 9), text),
        "tuple": st.tuples(st.integers(-9, 9), text).map(list),
        "live": st.text(max_size=5),
        "whole": st.lists(st.integers(-9, 9), max_size=3),
    }
    wrong = st.sampled_from([None, "x", 1.5, -1, [], {}, "1", True, "purple", "abcdefg", [1]])
    if kind in table:
        return st.one_of(table[kind], table[kind], table[kind], table[kind], wrong)
    if kind == "list":
        return st.lists(values(spec[1]), max_size=3)
    if kind == "dict":
        return st.dictionaries(st.text(max_size=3), values(spec[1]), max_size=3)
    if kind == "opt":
        return st.one_of(st.none(), values(spec[1]))

    @st.composite
    def model(draw: Any) -> Any:
        out: dict[str, Any] = {}
        for i, (sub, alias, default) in enumerate(spec[1]):
            key = f"F-{i}" if alias else f"f{i}"
            if draw(st.integers(0, 9)) == 0:
                key = f"f{i}" if alias else f"F-{i}"  # the other spelling: missing field, maybe an extra
            if default and draw(st.booleans()):
                continue
            if draw(st.integers(0, 19)) == 0:
                continue  # a required field missing
            out[key] = draw(values(sub))
        if draw(st.integers(0, 9)) == 0:
            out["zz"] = draw(st.sampled_from([1, "z", [1, {"a": None}]]))
        return out

    return model()


def consistent(partial: Any, final: Any) -> bool:
    """Nothing in ``partial`` differs from ``final``, except a string that is a prefix of its final text."""
    if partial is None:
        return True
    if isinstance(partial, BaseModel):
        if type(partial) is not type(final):
            return False
        return all(consistent(v, getattr(final, k)) for k, v in partial.__dict__.items())
    if isinstance(partial, list) and isinstance(final, (list, tuple)):
        return len(partial) <= len(final) and all(consistent(a, b) for a, b in zip(partial, final))
    if isinstance(partial, dict) and isinstance(final, dict):
        return all(k in final and consistent(v, final[k]) for k, v in partial.items())
    if type(partial) is str and type(final) is str and partial != final:
        return final.startswith(partial)
    return bool(partial == final) and type(partial) is type(final)


def jsonable_errors(error: ValidationError) -> Any:
    return to_jsonable_python(error.errors(include_url=False), fallback=repr)


@st.composite
def cases(draw: Any) -> tuple[Any, str]:
    spec = draw(specs())
    value = draw(values(spec))
    indent = draw(st.sampled_from([None, 1]))
    return spec, json.dumps(value, indent=indent)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_final_value_and_errors_match_pydantic(case: tuple[Any, str]) -> None:
    spec, text = case
    model = build(spec)
    try:
        expected: Any = model.model_validate_json(text)
        expected_error = None
    except ValidationError as exc:
        expected, expected_error = None, exc
    for how, chunks in every_split(text):
        parser = fs.Parser(model)
        events: list[fs.Event] = []
        for chunk in chunks:
            events += parser.feed(chunk)
            if expected is not None:
                assert consistent(parser.snapshot, expected), (how, chunk, parser.snapshot)
        events += parser.close()
        last = events[-1]
        if expected_error is None:
            assert isinstance(last, fs.DocumentCompleted), (how, events)
            assert last.value == expected and parser.snapshot == expected
            assert last.value.model_fields_set == expected.model_fields_set
            assert not [e for e in events if isinstance(e, fs.ValueInvalid)]
        else:
            assert isinstance(last, fs.ValueInvalid) and last.path == (), (how, events)
            assert jsonable_errors(last.error) == jsonable_errors(expected_error)
