"""Lenient mode with a schema: how an unquoted word is read where the schema decides.

Theory of operation
-------------------
An unquoted value that JSON alone would read as something else (``True``,
``None``, ``NaN``, ``007``, ``1_000``) has two readings: its text as written
and that value.  :func:`bare_is_text` walks the pydantic core schema along the
value's path (every candidate: each branch of a union, the inner type of an
``Optional``, a field under its name and its aliases) and asks each candidate
type at the end which reading it takes:

* ``str`` (constrained or not) takes the text;
* a ``Literal`` or an ``Enum`` takes the text if the text is one of its string
  values, the value if the value is one of its other values;
* ``None`` takes ``None``; ``bool`` a boolean; ``int`` an integer; ``float`` and
  ``Decimal`` a number;
* anything else (``Any``, dates, user validators before the type) has no say.

The text is kept only when every candidate that has a say takes the text: so
``Optional[str]`` reads ``None`` as null and ``02134`` as ``'02134'``, while
``str | int`` leaves ``007`` to the reading without a schema (``7``).  Valid
JSON is never asked about (``null``, ``2134``); validation stays pydantic's.
Pydantic-core's schema dicts are only read, never built, so this module needs
no import of pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._paths import Path
    from ._typed_plan import Plan

__all__ = ["bare_is_text"]

_ARRAYS = frozenset(("list", "set", "frozenset", "generator"))
_MAX_CANDIDATES = 64  # a schema that fans out wider than this has no say (recursive unions)


def bare_is_text(plan: Plan, path: Path, text: str, value: Any) -> bool:
    """Whether the schema reads the unquoted ``text`` at ``path`` as that text rather than as ``value``."""
    schemas = _candidates(plan, [plan.root.schema])
    for key in path:
        schemas = _candidates(plan, [child for schema in schemas for child in _children(plan, schema, key)])
        if not schemas:
            return False
    votes = {_vote(schema, text, value) for schema in schemas}
    votes.discard(None)
    return votes == {"text"}


def _candidates(plan: Plan, schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The types a value of ``schemas`` may take, wrappers (defaults, ``Optional``, unions) unfolded."""
    out: list[dict[str, Any]] = []
    todo = list(schemas)
    steps = 0
    while todo:
        steps += 1
        if len(out) + len(todo) > _MAX_CANDIDATES or steps > 4 * _MAX_CANDIDATES:
            return []
        schema = plan.resolve(todo.pop())
        kind = schema["type"]
        if kind in ("default", "function-after"):
            todo.append(schema["schema"])
        elif kind == "nullable":
            todo += (schema["schema"], {"type": "none"})
        elif kind == "union":
            todo += [c[0] if isinstance(c, tuple) else c for c in schema["choices"]]
        elif kind == "tagged-union":
            todo += schema["choices"].values()
        elif kind == "model" and schema.get("root_model"):
            todo.append(schema["schema"])
        else:
            out.append(schema)
    return out


def _children(plan: Plan, schema: dict[str, Any], key: Any) -> list[dict[str, Any]]:
    """The schemas of the value at ``key`` inside a value of ``schema`` (none if it cannot hold it)."""
    kind = schema["type"]
    if type(key) is int:
        if kind in _ARRAYS:
            return [schema.get("items_schema") or {"type": "any"}]
        if kind == "tuple":
            items = schema["items_schema"]
            variadic = schema.get("variadic_item_index")
            if variadic is not None and key >= variadic:  # items after a variadic one: no say
                return [items[variadic]] if variadic == len(items) - 1 else []
            return [items[key]] if key < len(items) else []
        return []
    if kind == "dict":
        return [schema.get("values_schema") or {"type": "any"}]
    if kind in ("model", "dataclass"):
        schema = plan.resolve(schema["schema"])
        kind = schema["type"]
    if kind not in ("model-fields", "typed-dict", "dataclass-args"):
        return []
    fields = schema["fields"]
    pairs = [(f["name"], f) for f in fields] if isinstance(fields, list) else list(fields.items())
    return [field["schema"] for name, field in pairs if key == name or _has_alias(field, key)]


def _has_alias(field: dict[str, Any], key: str) -> bool:
    alias = field.get("validation_alias")
    if alias is None or isinstance(alias, str):
        return alias == key
    return any(choice == key or choice == [key] for choice in alias)


def _vote(schema: dict[str, Any], text: str, value: Any) -> str | None:
    """Which reading one candidate type takes: ``"text"``, ``"value"``, or ``None`` (no say)."""
    kind = schema["type"]
    if kind == "str":
        return "text"
    if kind == "literal" or kind == "enum":
        allowed = schema["expected"] if kind == "literal" else [member.value for member in schema["members"]]
        if any(type(a) is str and a == text for a in allowed):
            return "text"
        return "value" if any(type(a) is type(value) and a == value for a in allowed) else None
    if kind == "none":
        return "value" if value is None else None
    if kind == "bool":
        return "value" if type(value) is bool else None
    if kind == "int":
        return "value" if type(value) is int or (type(value) is float and value.is_integer()) else None
    if kind == "float" or kind == "decimal":
        return "value" if type(value) is int or type(value) is float else None
    return None
