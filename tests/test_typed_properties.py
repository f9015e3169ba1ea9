"""Typed parsing, differential: generated models and documents against ``model_validate_json``.

For every generated model and document, fed whole, per character and at random
splits: the final value (or pydantic's errors) equals what pydantic gives for the
whole text, and after every chunk the snapshot holds nothing that later changes
(a live string may only grow), and the events are the same for every split.

The generated schemas cover discriminated unions (tag first, in the middle,
last, missing or wrong; by a key or a callable), plain unions (of models, of a string and a list),
``Optional``, ``RootModel``, dataclasses (stdlib and pydantic), tuples
(positional and variadic) and sets.  Under ``CI`` the runs are derandomized; for
a longer random run locally::

    FIELDSTREAM_TYPED_EXAMPLES=1500 python -m pytest tests/test_typed_properties.py
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import json
import os
from typing import Annotated, Any, Literal, Optional, Union

import pytest

pytest.importorskip("pydantic")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    create_model,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import to_jsonable_python
from typing_extensions import NotRequired, TypedDict

import fieldstream as fs

from .splits import every_split, normalize

EXAMPLES = int(os.environ.get("FIELDSTREAM_TYPED_EXAMPLES", "60"))
CI = bool(os.environ.get("CI"))


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def _shout(value: str) -> str:
    return value.upper() + "!"  # not idempotent: running it twice would show


def _kind(value: Any) -> Any:
    """A discriminator as pydantic's docs write one."""
    return value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)


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
    "tuplev",
    "set",
    "fset",
    "strlist",
]


EXTRAS = st.sampled_from(["ignore", "allow", "forbid"])


def _models(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    field = st.tuples(inner, st.booleans(), st.booleans())  # (spec, has alias, optional with default)
    return st.tuples(st.lists(field, min_size=1, max_size=4), EXTRAS).map(lambda t: ("model", tuple(t[0]), t[1]))


def _unions(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    models = _models(inner)
    plain_field = st.tuples(inner, st.just(False), st.booleans())
    tagged = st.lists(models, min_size=1, max_size=3).map(lambda ms: ("tagged", tuple(ms)))
    return st.one_of(
        # a discriminated union: each branch a model with a Literal tag
        tagged,
        tagged.map(lambda t: ("ctagged", t[1])),  # the same, with a callable discriminator
        tagged.map(lambda t: ("list", t)),
        tagged.map(lambda t: ("opt", t)),
        # a plain union of two models, or of a model and a list, or of two anything
        st.tuples(models, models).map(lambda t: ("union", t)),
        st.tuples(models, inner.map(lambda s: ("list", s))).map(lambda t: ("union", t)),
        st.tuples(inner, inner).map(lambda t: ("union", t)),
        inner.map(lambda s: ("root", s)),
        st.tuples(st.lists(plain_field, min_size=1, max_size=3), st.booleans()).map(
            lambda t: ("dc", tuple(t[0]), t[1])
        ),
    )


def specs(unions: bool = False) -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            inner.map(lambda s: ("list", s)),
            inner.map(lambda s: ("dict", s)),
            inner.map(lambda s: ("opt", s)),
            _models(inner),
            _unions(inner),
        )

    leaves = st.sampled_from(LEAVES).map(lambda name: (name,))
    inner = st.recursive(leaves, extend, max_leaves=6)
    if unions:  # a model with at least one union-like field
        first = st.tuples(_unions(inner), st.booleans(), st.booleans())
        rest = st.lists(st.tuples(inner, st.booleans(), st.booleans()), max_size=2)
        return st.tuples(first, rest, EXTRAS).map(lambda t: ("model", (t[0], *t[1]), t[2]))
    return _models(inner)


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
        "tuplev": tuple[int, ...],
        "set": set[int],
        "fset": frozenset[str],
        "strlist": Union[str, list[str]],
    }
    if kind in simple:
        return simple[kind]
    if kind == "ctagged":
        tagged = build(("tagged", spec[1]))
        if len(spec[1]) == 1:
            return tagged
        branches = [Annotated[b, Tag(f"t{i}")] for i, b in enumerate(tagged.__args__[0].__args__)]
        return Annotated[Union[tuple(branches)], Discriminator(_kind)]
    if kind == "tagged":
        branches = []
        for i, model in enumerate(spec[1]):
            branch = build(model)
            branches.append(create_model(f"T{next(_counter)}", __base__=branch, kind=(Literal[f"t{i}"], ...)))  # type: ignore[call-overload]
        if len(branches) == 1:
            return branches[0]
        return Annotated[Union[tuple(branches)], Field(discriminator="kind")]
    if kind == "union":
        return Union[build(spec[1][0]), build(spec[1][1])]
    if kind == "root":
        return RootModel[build(spec[1])]  # type: ignore[misc]
    if kind == "dc":
        required = [(f"f{i}", build(sub)) for i, (sub, _, default) in enumerate(spec[1]) if not default]
        optional = [
            (f"f{i}", Optional[build(sub)], dataclasses.field(default=None))
            for i, (sub, _, default) in enumerate(spec[1])
            if default
        ]
        cls = dataclasses.make_dataclass(f"D{next(_counter)}", [*required, *optional])
        return pydantic_dataclass(cls) if spec[2] else cls
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


def values(spec: Any, noisy: bool = True) -> st.SearchStrategy[Any]:
    """Mostly valid JSON values for ``spec``, sometimes not (wrong type, missing or extra keys) when ``noisy``."""
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
        "tuplev": st.lists(st.integers(-9, 9), max_size=3),
        "set": st.lists(st.integers(-3, 3), max_size=4),
        "fset": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "strlist": st.one_of(text, st.lists(text, max_size=3)),
    }
    wrong = st.sampled_from([None, "x", 1.5, -1, [], {}, "1", True, "purple", "abcdefg", [1]])
    if kind in table:
        return st.one_of(table[kind], table[kind], table[kind], table[kind], wrong) if noisy else table[kind]
    if kind == "list":
        return st.lists(values(spec[1], noisy), max_size=3)
    if kind == "dict":
        return st.dictionaries(st.text(max_size=3), values(spec[1], noisy), max_size=3)
    if kind == "opt":
        return st.one_of(st.none(), values(spec[1], noisy))
    if kind == "union":
        return st.one_of(values(spec[1][0], noisy), values(spec[1][1], noisy))
    if kind == "root":
        return values(spec[1], noisy)
    if kind == "dc":
        return values(("model", tuple((sub, False, default) for sub, _, default in spec[1]), "ignore"), noisy)
    if kind in ("tagged", "ctagged"):

        @st.composite
        def tagged(draw: Any) -> Any:
            i = draw(st.integers(0, len(spec[1]) - 1))
            out = draw(values(spec[1][i], noisy))
            if not isinstance(out, dict):
                return out
            tag = draw(st.sampled_from([f"t{i}"] * 8 + ["zz", None] if noisy else [f"t{i}"]))  # wrong or missing
            if tag is None:
                return out
            items = list(out.items())
            at = draw(st.integers(0, len(items)))  # the tag first, in the middle or last
            items.insert(at, ("kind", tag))
            return dict(items)

        return tagged()

    @st.composite
    def model(draw: Any) -> Any:
        out: dict[str, Any] = {}
        for i, (sub, alias, default) in enumerate(spec[1]):
            key = f"F-{i}" if alias else f"f{i}"
            if noisy and draw(st.integers(0, 9)) == 0:
                key = f"f{i}" if alias else f"F-{i}"  # the other spelling: missing field, maybe an extra
            if default and draw(st.booleans()):
                continue
            if noisy and draw(st.integers(0, 19)) == 0:
                continue  # a required field missing
            out[key] = draw(values(sub, noisy))
        if noisy and draw(st.integers(0, 9)) == 0:
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
    if dataclasses.is_dataclass(partial):
        if type(partial) is not type(final):
            return False
        return all(consistent(v, getattr(final, k)) for k, v in vars(partial).items())
    if isinstance(partial, (set, frozenset)):
        return bool(partial == final) and type(partial) is type(final)
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


def check(case: tuple[Any, str]) -> None:
    spec, text = case
    compare(build(spec), text)


def compare(model: Any, text: str) -> None:
    try:
        expected: Any = model.model_validate_json(text)
        expected_error = None
    except ValidationError as exc:
        expected, expected_error = None, exc
    first: list[Any] | None = None
    for how, chunks in every_split(text):
        parser = fs.Parser(model)
        events: list[fs.Event] = []
        for chunk in chunks:
            events += parser.feed(chunk)
            if expected is not None:
                assert consistent(parser.snapshot, expected), (how, chunk, parser.snapshot)
        events += parser.close()
        last = events[-1]
        if first is None:
            first = normalize(events)
        else:
            assert normalize(events) == first, how  # chunking never changes the events
        if expected_error is None:
            assert isinstance(last, fs.DocumentCompleted), (how, events)
            assert last.value == expected and parser.snapshot == expected and parser.result == expected
            assert last.value.model_fields_set == expected.model_fields_set
            assert not [e for e in events if isinstance(e, fs.ValueInvalid)]
        else:
            assert isinstance(last, fs.ValueInvalid) and last.path == (), (how, events)
            assert jsonable_errors(last.error) == jsonable_errors(expected_error)


@st.composite
def union_cases(draw: Any) -> tuple[Any, str]:
    spec = draw(specs(unions=True))
    value = draw(values(spec, noisy=draw(st.integers(0, 3)) == 0))
    return spec, json.dumps(value, indent=draw(st.sampled_from([None, 1])))


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=CI, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_final_value_and_errors_match_pydantic(case: tuple[Any, str]) -> None:
    check(case)


@SETTINGS
@given(union_cases())
def test_unions_dataclasses_root_models_match_pydantic(case: tuple[Any, str]) -> None:
    check(case)


# -- plain unions of models, typed dicts and dataclasses: smart mode's choice ----------
#
# Candidates read overlapping keys with the same or other types, required or not, and
# ignore, forbid or keep extra keys; documents mix their keys, with values each type
# takes exactly, laxly ("1" for an int) or not at all, so every rule of smart mode's
# choice (fields set, nested ones included; exactness; order) decides some of them.


class Sub(BaseModel):
    p: int
    q: str = ""


class Sub2(BaseModel):
    r: str
    s: int = 0


RACE_KEYS = ["a", "b", "c", "d"]
RACE_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "ostr": Optional[str],
    "lit": Literal["a", "b"],
    "ints": list[int],
    "strs": list[str],
    "constr": Annotated[str, Field(max_length=3)],
    "any": Any,
    "sub": Sub,
    "subs": list[Sub],
    "inner": Optional[Union[Sub, Sub2]],  # a union inside a candidate: its fields do not count
}
RACE_VALUES: dict[str, list[Any]] = {
    "str": ["", "x", "hello world"],
    "int": [0, 7, -2],
    "float": [1.5, 2, 0.0],
    "bool": [True, False],
    "ostr": [None, "y"],
    "lit": ["a", "b"],
    "ints": [[], [1, 2]],
    "strs": [["s"], []],
    "constr": ["ab", "abcd"],
    "any": [{"k": [1]}, "any"],
    "sub": [{"p": 1}, {"p": 2, "q": "z"}],
    "subs": [[{"p": 1, "q": "a"}, {"p": 2}], []],
    "inner": [{"p": 1, "q": "z"}, {"r": "x", "s": 2}, None],
}
RACE_NOISE = ["1", 1, 1.0, "true", True, None, "x", [1], {}, {"p": "1"}]


def race_candidate(types: list[str]) -> st.SearchStrategy[Any]:
    field = st.tuples(st.sampled_from(types), st.booleans())  # (type, required)
    return st.tuples(
        st.sampled_from(["model", "model", "typeddict", "dataclass"]),
        st.sampled_from(["ignore", "ignore", "forbid", "allow"]),
        st.dictionaries(st.sampled_from(RACE_KEYS), field, min_size=1, max_size=3),
    )


def build_candidate(spec: Any) -> Any:
    kind, extra, fields = spec
    name = f"C{next(_counter)}"
    if kind == "typeddict":
        annotations = {k: RACE_TYPES[t] if req else NotRequired[RACE_TYPES[t]] for k, (t, req) in fields.items()}
        cls = TypedDict(name, annotations)  # type: ignore[operator]
        cls.__pydantic_config__ = ConfigDict(extra=extra)  # type: ignore[attr-defined]
        return cls
    if kind == "dataclass":
        required = [(k, RACE_TYPES[t]) for k, (t, req) in fields.items() if req]
        optional = [(k, RACE_TYPES[t], dataclasses.field(default=None)) for k, (t, req) in fields.items() if not req]
        return pydantic_dataclass(
            dataclasses.make_dataclass(name, [*required, *optional]), config=ConfigDict(extra=extra)
        )
    model_fields = {k: (RACE_TYPES[t], ... if req else None) for k, (t, req) in fields.items()}
    return create_model(name, __config__=ConfigDict(extra=extra), **model_fields)  # type: ignore[call-overload]


@st.composite
def race_cases(draw: Any) -> tuple[Any, str]:
    types = draw(st.lists(st.sampled_from(sorted(RACE_TYPES)), min_size=1, max_size=4))  # few: keys often alike
    candidates = draw(st.lists(race_candidate(types), min_size=2, max_size=3))
    union: Any = Union[tuple(build_candidate(c) for c in candidates)]
    where = draw(st.sampled_from(["field", "list", "optional", "dict"]))
    outer = {"field": union, "list": list[union], "optional": Optional[union], "dict": dict[str, union]}[where]
    model = create_model(f"R{next(_counter)}", v=(outer, ...))  # type: ignore[call-overload]

    def document() -> dict[str, Any]:
        _, _, fields = draw(st.sampled_from(candidates))  # mostly the keys of one candidate
        keys = [k for k, (_, req) in fields.items() if req or draw(st.booleans())]
        keys += draw(st.lists(st.sampled_from([*RACE_KEYS, "zz"]), max_size=2))
        out: dict[str, Any] = {}
        for key in draw(st.permutations(list(dict.fromkeys(keys)))):
            types = [c[2][key][0] for c in candidates if key in c[2]]
            pool = [v for t in types for v in RACE_VALUES[t]]
            out[key] = draw(st.sampled_from(pool + RACE_NOISE if pool and draw(st.integers(0, 3)) else RACE_NOISE))
        return out

    if where == "list":
        value: Any = [document() for _ in range(draw(st.integers(0, 2)))]
    elif where == "dict":
        value = {f"k{i}": document() for i in range(draw(st.integers(0, 2)))}
    elif where == "optional" and draw(st.integers(0, 4)) == 0:
        value = None
    else:
        value = document()
    return model, json.dumps({"v": value}, indent=draw(st.sampled_from([None, 1])))


@settings(max_examples=EXAMPLES * 3, deadline=None, derandomize=CI, suppress_health_check=[HealthCheck.too_slow])
@given(race_cases())
def test_plain_unions_of_models_end_and_stream_as_smart_mode_decides(case: tuple[Any, str]) -> None:
    compare(*case)
