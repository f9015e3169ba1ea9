"""Plain unions of models: when the input seen so far already fixes pydantic's smart-mode choice.

Theory of operation
-------------------
Pydantic's smart union validates a JSON object against every candidate and,
among those that succeed, keeps the one that set the most fields (its
``fields_set_count``, which adds the fields set in nested models, typed dicts
and dataclasses), then the most exact (lax < strict < exact; a model or a
dataclass is at most strict, a typed dict may be exact), then the earliest.
So a candidate ``j`` is *certain* once, for every other live candidate ``k``,
no continuation of the input makes ``k`` valid and better than ``j``:

* ``j`` cannot fail while ``k`` succeeds: each field of ``j`` not seen yet is
  read by ``k`` with the same validator (and is required there too if it is
  required in ``j``), or sending it would rule ``k`` out (``k`` forbids extra
  keys), or ``j`` accepts any value there; if ``j`` forbids extra keys, so does
  ``k`` and it knows no key ``j`` does not.
* ``k`` cannot set more fields: the *gap*, ``k``'s count minus ``j``'s at best
  for ``k``, is below zero.  Fields read alike by both count alike; the seen
  ones count 1 for ``j`` (at least) and ``1 + keys inside`` for ``k`` (at most);
  each unseen field of ``k`` counts 1, or without bound if its value may hold
  models (a list of them).
* at a gap of zero, ``j`` comes first in the union and is at least as exact as
  ``k`` can be (bounds from the JSON type of each seen value: an ``int`` from a
  JSON integer is exact, a ``str`` or an ``Any`` strict, an ``int`` from ``"1"``
  lax; found by probing pydantic 2.10 and 2.14, whose unions agree).

A string value that ``j`` accepts whatever its text (a plain ``str``) counts
for ``j`` from its first character, so it can stream.  Anything the rules do
not cover leaves the object held, and then pydantic decides at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._typed_plan import DATACLASS, MODEL, TYPEDDICT, Node

__all__ = ["Race", "racing"]

LAX, STRICT, EXACT = 0, 1, 2
_MANY = 1 << 40  # a count without bound
# config keys that do not change how a field's value validates
_INERT_CONFIG = frozenset(
    ("title", "extra_fields_behavior", "populate_by_name", "validate_by_name", "validate_by_alias", "loc_by_alias")
)
_NESTING = frozenset(("model", "typed-dict", "dataclass", "model-fields", "dataclass-args"))
# schemas whose code may make nested models out of a value that holds none
_OPAQUE = frozenset(("json", "function-before", "function-wrap", "function-plain", "chain", "custom-error"))


def racing(union: Node, candidates: list[Node]) -> Race | None:
    """A race for a smart-mode union whose object candidates the rules cover, else ``None``."""
    field = union.race
    if field is None:
        field = union.race = _field(union, candidates)
    return None if field is False else Race(field)


def _field(union: Node, candidates: list[Node]) -> _Field | bool:
    schema = union.container
    if schema.get("mode", "smart") != "smart" or schema.get("strict") or union.config.get("strict"):
        return False
    for candidate in candidates:
        if candidate.kind not in (MODEL, TYPEDDICT, DATACLASS) or len(candidate.names) != len(candidate.field_names):
            return False  # a dict has no fields set count; a field read from two keys counts once
        if candidate.extra == "allow" and _fields_schema(candidate).get("extras_schema") is not None:
            return False  # validated extras change how exact a candidate is
    return _Field(candidates)


def _fields_schema(node: Node) -> dict[str, Any]:
    container = node.container
    return container["schema"] if node.kind in (MODEL, DATACLASS) else container


class _Entrant:
    """What the rules need of one candidate: its fields, how exact it can be, where it stands."""

    __slots__ = ("any", "floor", "forbid", "keys", "level", "node", "order", "required", "schemas", "text")

    def __init__(self, node: Node, order: int) -> None:
        self.node = node
        self.order = order
        self.keys = frozenset(node.keys)
        self.required = node.required
        self.forbid = node.extra == "forbid"
        self.floor = EXACT if node.kind == TYPEDDICT else STRICT
        plan = node.plan
        config = {k: v for k, v in node.child_config.items() if k not in _INERT_CONFIG and not k.startswith("ser_")}
        self.schemas: dict[str, Any] = {}  # key -> (normalised field schema, config): equal means validated alike
        self.level: dict[str, int] = {}  # key -> 0: no nested fields, 1: at most the value's keys, 2: unbounded
        self.any: set[str] = set()  # keys whose field accepts any JSON value
        self.text: set[str] = set()  # keys whose field accepts any string (it may stream from its first character)
        for key, (_, schema) in node.keys.items():
            self.schemas[key] = (_normal(schema, plan, set()), config)
            self.level[key] = _level(schema, plan)
            inner = _unwrap(schema, plan)
            if inner["type"] == "any":
                self.any.add(key)
                self.text.add(key)
            elif inner["type"] == "str" and set(inner) <= {"type", "metadata", "ref", "serialization", "strict"}:
                if not any(k.startswith("str_") and v for k, v in node.child_config.items()):
                    self.text.add(key)

    def most(self, key: str, raw: Any) -> int:
        """The most fields a value can add to this candidate's count."""
        level = self.level[key]
        return 1 if level == 0 else 1 + _keys_in(raw) if level == 1 else _MANY

    def bounds(self, key: str, raw: Any) -> tuple[int, int]:
        return _bounds(self.node.keys[key][1], raw, self.node.plan)


class _Field:
    """What does not change from one object to the next: the candidates, and the keys each pair reads alike."""

    __slots__ = ("entrants", "same")

    def __init__(self, candidates: list[Node]) -> None:
        self.entrants = {id(c): _Entrant(c, i) for i, c in enumerate(candidates)}
        self.same: dict[tuple[int, int], frozenset[str]] = {}
        for j in candidates:
            for k in candidates:
                if j is not k:
                    ej, ek = self.entrants[id(j)], self.entrants[id(k)]
                    alike = (f for f in ej.keys & ek.keys if ej.schemas[f] == ek.schemas[f])
                    self.same[id(j), id(k)] = frozenset(alike)


class Race:
    """The candidates of one held object, and what the keys completed so far say about them."""

    __slots__ = ("entrants", "gap", "high", "low", "same", "seen")

    def __init__(self, field: _Field) -> None:
        self.entrants = field.entrants
        self.same = field.same
        self.gap = dict.fromkeys(self.same, 0)  # (j, k): k's count minus j's from the seen keys, at best for k
        self.low = {i: e.floor for i, e in self.entrants.items()}  # how exact each is, at least
        self.high = dict(self.low)  # ... and at most
        self.seen: set[str] = set()

    def complete(self, key: Any, raw: Any, live: Sequence[Node]) -> None:
        """A value at ``key`` of the held object is complete and every candidate in ``live`` accepted it."""
        self.seen.add(key)
        entrants = self.entrants
        for c in live:
            e = entrants[id(c)]
            if key in e.keys:
                low, high = e.bounds(key, raw)
                self.low[id(c)] = min(self.low[id(c)], low)
                self.high[id(c)] = min(self.high[id(c)], high)
        for j in live:
            for k in live:
                if j is not k and key not in self.same[id(j), id(k)]:
                    ej, ek = entrants[id(j)], entrants[id(k)]
                    self.gap[id(j), id(k)] += (ek.most(key, raw) if key in ek.keys else 0) - (key in ej.keys)

    def winner(self, live: Sequence[Node], opening: Any = None) -> Node | None:
        """The candidate pydantic will choose whatever follows, if one is certain.

        ``opening``: the key of a string value whose first characters just arrived.
        """
        for j in live:
            if self._certain(j, live, opening):
                return j
        return None

    def _certain(self, j: Node, live: Sequence[Node], opening: Any) -> bool:
        entrants, seen = self.entrants, self.seen
        ej = entrants[id(j)]
        if opening is not None and opening not in ej.text:
            opening = None  # j may yet reject it: the key counts as not seen
        low = self.low[id(j)]
        if opening is not None:
            low = min(low, STRICT)  # a string is strict for ``str`` and ``Any``
        for k in live:
            if k is j:
                continue
            ek = entrants[id(k)]
            same = self.same[id(j), id(k)]
            # j cannot fail while k succeeds
            if ej.forbid and not (ek.forbid and all(f in ej.keys or f in seen for f in ek.keys)):
                return False
            for f in ej.keys:
                if f in seen or f == opening:
                    continue
                if f in ej.required:
                    if f not in same or f not in ek.required:
                        return False
                elif f not in same and f not in ej.any and not (ek.forbid and f not in ek.keys):
                    return False
            # k cannot set more fields
            gap = self.gap[id(j), id(k)]
            if opening is not None and opening not in same:
                gap += (ek.most(opening, "") if opening in ek.keys else 0) - 1
            for f in ek.keys:
                if f not in seen and f != opening and f not in same:
                    gap += 1 if ek.level[f] == 0 else _MANY
            if gap < 0:
                continue
            if gap == 0 and ej.order < ek.order and low >= self.high[id(k)]:
                continue  # a tie goes to the earlier candidate when it is as exact
            return False
        return True


def _unwrap(schema: dict[str, Any], plan: Any) -> dict[str, Any]:
    """A field's schema inside its ``default`` and ``nullable`` wrappers."""
    while True:
        schema = plan.resolve(schema)
        if schema["type"] not in ("default", "nullable"):
            return schema
        schema = schema["schema"]


def _normal(schema: Any, plan: Any, seen: set[int]) -> Any:
    """A schema without what does not change validation (metadata, serialization, refs), for comparing."""
    if isinstance(schema, dict):
        if schema.get("type") == "definition-ref":
            return ("ref", schema["schema_ref"])
        return {k: _normal(v, plan, seen) for k, v in schema.items() if k not in ("metadata", "serialization", "ref")}
    if isinstance(schema, (list, tuple)):
        return [_normal(v, plan, seen) for v in schema]
    return schema


def _level(schema: dict[str, Any], plan: Any) -> int:
    """0: a value adds only itself to a count; 1: also the fields of models inside it; 2: unknown."""
    found = 0
    stack: list[Any] = [schema]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            kind = item.get("type")
            if kind == "definition-ref":
                stack.append(plan.defs.get(item.get("schema_ref")))
            elif kind in _OPAQUE:
                return 2
            elif kind in _NESTING:
                found = 1
            stack.extend(v for k, v in item.items() if k not in ("metadata", "serialization"))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def _keys_in(raw: Any) -> int:
    count = 0
    stack = [raw]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return count


def _bounds(schema: dict[str, Any], raw: Any, plan: Any) -> tuple[int, int]:
    """How exact pydantic finds a JSON value it accepted for ``schema``: at least, at most."""
    while True:
        schema = plan.resolve(schema)
        kind = schema["type"]
        if kind == "default":
            schema = schema["schema"]
        elif kind == "nullable":
            if raw is None:
                return EXACT, EXACT
            schema = schema["schema"]
        else:
            break
    cls = type(raw)
    if kind == "any":
        return STRICT, STRICT  # as pydantic finds any JSON value (checked on 2.10 and 2.14)
    if kind == "str":
        return (STRICT, STRICT) if cls is str else (LAX, LAX)
    if kind == "int":
        return (EXACT, EXACT) if cls is int else (LAX, LAX)
    if kind == "bool":
        return (EXACT, EXACT) if cls is bool else (LAX, LAX)
    if kind == "float":
        return (EXACT, EXACT) if cls is float else (STRICT, STRICT) if cls is int else (LAX, LAX)
    if kind == "literal":
        exact = any(type(e) is cls and e == raw for e in schema["expected"])
        return (STRICT if exact else LAX), EXACT
    if kind == "list" and cls is list:
        low = high = EXACT
        items = schema.get("items_schema") or {"type": "any"}
        for item in raw:
            a, b = _bounds(items, item, plan)
            low, high = min(low, a), min(high, b)
        return low, high
    return LAX, EXACT
