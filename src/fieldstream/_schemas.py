"""JSON schemas for each provider's structured output, built once from a Python type.

Theory of operation
-------------------
pydantic writes the JSON schema of the output type (``TypeAdapter(T).json_schema()``,
``$defs`` and ``$ref`` included); each provider then takes it under its own rules:

- **OpenAI strict** (Chat ``response_format``, Responses ``text.format``, strict
  tools): every object gets ``additionalProperties: false`` and lists all its
  properties as required; a ``$ref`` with sibling keys is inlined; ``default: null``
  is dropped.  This is what ``openai.lib._pydantic.to_strict_json_schema`` builds.
  What strict mode cannot express is refused here, before any request: a root that
  is not an object, and open objects (``dict[str, X]``, ``extra="allow"``).
- **Anthropic** (``output_config.format``, tool ``input_schema``): the subset its
  structured outputs accept; objects closed, unsupported keywords (``minLength``,
  ``maximum``, ...) folded into the description, as ``anthropic.transform_schema``
  does.  Optional properties stay optional.
- **Gemini** (``responseJsonSchema``) and **Ollama** (``format``): the JSON schema
  as pydantic wrote it.

Every function returns a new dict; the caller's type is never changed.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable
from typing import Any

from ._errors import FieldstreamError, UsageError

__all__ = ["anthropic_schema", "json_schema", "openai_strict_schema", "schema_name", "tool_type"]


def _pydantic() -> Any:
    try:
        import pydantic
    except ImportError:
        raise UsageError("building a request from a type needs pydantic: pip install 'fieldstream[pydantic]'") from None
    return pydantic


def _is_model(tp: Any) -> bool:
    # Python 3.10 counts list[int] as a type, and issubclass() then raises.
    try:
        return isinstance(tp, type) and issubclass(tp, _pydantic().BaseModel)
    except TypeError:
        return False


def json_schema(output_type: Any) -> dict[str, Any]:
    """pydantic's JSON schema of ``output_type`` (a model class or anything ``TypeAdapter`` takes)."""
    pydantic = _pydantic()
    try:
        if _is_model(output_type):
            schema: dict[str, Any] = output_type.model_json_schema()
        else:
            schema = pydantic.TypeAdapter(output_type).json_schema()
    except FieldstreamError:
        raise
    except pydantic.PydanticUserError as exc:  # includes PydanticSchemaGenerationError
        raise UsageError(f"cannot build a JSON schema for {_describe(output_type)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the type's own code (json_schema_extra, a custom type) raised
        name = type(exc).__name__
        raise UsageError(f"cannot build a JSON schema for {_describe(output_type)}: {name}: {exc}") from exc
    return copy.deepcopy(schema)


def _describe(tp: Any) -> str:
    try:
        return repr(tp)
    except Exception:  # noqa: BLE001 - its own __repr__ raised
        return f"<{type(tp).__name__} object>"


def schema_name(output_type: Any) -> str:
    """A name providers accept (``[a-zA-Z0-9_-]{1,64}``): the class name, else ``"answer"``."""
    name = getattr(output_type, "__name__", None)
    if not isinstance(name, str) or getattr(output_type, "__origin__", None) is not None:
        return "answer"
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]
    return cleaned or "answer"


def tool_type(tool: Any) -> tuple[str, str | None, Any]:
    """``(name, description, type)`` of a tool given as a pydantic model or a function.

    A function becomes a model of its parameters (the type its arguments are
    validated against); its docstring is the description.
    """
    if _is_model(tool):
        return schema_name(tool), inspect.cleandoc(tool.__doc__) if tool.__doc__ else None, tool
    if inspect.isfunction(tool) or inspect.ismethod(tool):
        return tool.__name__, inspect.cleandoc(tool.__doc__) if tool.__doc__ else None, _arguments_model(tool)
    raise UsageError(f"a tool is a pydantic model class or a function, got {tool!r}")


def _arguments_model(function: Callable[..., Any]) -> Any:
    pydantic = _pydantic()
    fields: dict[str, Any] = {}
    try:
        hints = inspect.get_annotations(function, eval_str=True)
    except Exception as exc:  # noqa: BLE001 - a name the annotations use is not defined, or its code raised
        name = type(exc).__name__
        raise UsageError(f"tool {function.__name__}: cannot read its annotations: {name}: {exc}") from exc
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise UsageError(f"tool {function.__name__}: *args and **kwargs cannot be described as JSON")
        annotation = hints.get(name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (annotation, default)
    try:
        model: Any = pydantic.create_model(function.__name__, **fields)
    except Exception as exc:  # noqa: BLE001 - pydantic raises several kinds for types it cannot use
        name = type(exc).__name__
        raise UsageError(f"tool {function.__name__}: cannot describe its parameters: {name}: {exc}") from exc
    return model


# -- OpenAI strict mode -------------------------------------------------------


def openai_strict_schema(output_type: Any, *, what: str = "OpenAI strict structured output") -> dict[str, Any]:
    """The strict-mode schema of ``output_type`` (see the module docstring)."""
    schema = json_schema(output_type)
    if schema.get("type") != "object" and not _is_object_ref(schema):
        kind = schema.get("type") or ("a union" if "anyOf" in schema else "not an object")
        raise UsageError(
            f"{what} needs an object at the root; {output_type!r} is {kind}: wrap it in a model "
            "(class Answer(BaseModel): items: list[...])"
        )
    return _strict(schema, "$", schema, what)


def _is_object_ref(schema: dict[str, Any]) -> bool:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return False
    return _resolve(schema, ref).get("type") == "object"


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UsageError(f"cannot resolve $ref {ref!r}: only local references are supported")
    node: Any = root
    for key in ref[2:].split("/"):
        node = node[key]
    return node  # type: ignore[no-any-return]


def _strict(node: Any, where: str, root: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise UsageError(f"{what}: expected a schema object at {where}, got {node!r}")
    for defs_key in ("$defs", "definitions"):
        defs = node.get(defs_key)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                _strict(sub, f"{where}.{defs_key}.{name}", root, what)
    if node.get("type") == "object":
        extra = node.get("additionalProperties", False)
        if extra is not False:
            raise UsageError(
                f"{what} cannot express an open object at {where} (dict[str, X] or extra='allow'): "
                "every key must be declared; use a model, or a list of key/value items"
            )
        node["additionalProperties"] = False
    properties = node.get("properties")
    if isinstance(properties, dict):
        node["required"] = list(properties)
        node["properties"] = {k: _strict(v, f"{where}.{k}", root, what) for k, v in properties.items()}
    items = node.get("items")
    if isinstance(items, dict):
        node["items"] = _strict(items, f"{where}[]", root, what)
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        node["anyOf"] = [_strict(v, where, root, what) for v in any_of]
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            node.update(_strict(all_of[0], where, root, what))
            node.pop("allOf")
        else:
            node["allOf"] = [_strict(v, where, root, what) for v in all_of]
    if "default" in node and node["default"] is None:
        node.pop("default")
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # A $ref with siblings (a description) is inlined: strict mode refuses the mix.
        resolved = _resolve(root, ref)
        node.update({**resolved, **node})
        node.pop("$ref")
        return _strict(node, where, root, what)
    return node


# -- Anthropic ---------------------------------------------------------------

_ANTHROPIC_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def anthropic_schema(output_type: Any) -> dict[str, Any]:
    """The schema Anthropic's structured outputs accept (see the module docstring)."""
    return _anthropic(json_schema(output_type), "$")


def _primitive(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _anthropic(node: dict[str, Any], where: str) -> dict[str, Any]:
    node = dict(node)
    out: dict[str, Any] = {}
    defs = node.pop("$defs", None)
    if isinstance(defs, dict):
        out["$defs"] = {name: _anthropic(sub, f"{where}.$defs.{name}") for name, sub in defs.items()}
    ref = node.pop("$ref", None)
    if ref is not None:
        out["$ref"] = ref
        return out
    kind = node.pop("type", None)
    any_of, one_of, all_of = node.pop("anyOf", None), node.pop("oneOf", None), node.pop("allOf", None)
    enum = node.get("enum")
    if isinstance(enum, list) and enum and all(_primitive(v) for v in enum):
        out["enum"] = list(node.pop("enum"))
    if "const" in node and _primitive(node["const"]):
        out["const"] = node.pop("const")
    literal = "enum" in out or "const" in out
    if literal:
        kind = None
    if isinstance(any_of, list):
        out["anyOf"] = [_anthropic(v, where) for v in any_of]
    elif isinstance(one_of, list):
        out["anyOf"] = [_anthropic(v, where) for v in one_of]
    elif isinstance(all_of, list):
        out["allOf"] = [_anthropic(v, where) for v in all_of]
    elif not literal:
        if kind is None:
            raise UsageError(f"Anthropic structured output cannot express the schema at {where}: it has no type")
        out["type"] = kind
    for key in ("description", "title"):
        if key in node:
            out[key] = node.pop(key)
    if kind == "object":
        out["properties"] = {k: _anthropic(v, f"{where}.{k}") for k, v in node.pop("properties", {}).items()}
        node.pop("additionalProperties", None)
        out["additionalProperties"] = False
        required = node.pop("required", None)
        if required is not None:
            out["required"] = list(required)
    elif kind == "string":
        fmt = node.pop("format", None)
        if fmt in _ANTHROPIC_STRING_FORMATS:
            out["format"] = fmt
        elif fmt:
            node["format"] = fmt
    elif kind == "array":
        items = node.pop("items", None)
        if items is not None:
            out["items"] = _anthropic(items, f"{where}[]")
        min_items = node.pop("minItems", None)
        if min_items in (0, 1):
            out["minItems"] = min_items
        elif min_items is not None:
            node["minItems"] = min_items
    if node:  # what the API does not take becomes a hint in the description
        hint = "{" + ", ".join(f"{key}: {value}" for key, value in node.items()) + "}"
        out["description"] = f"{out['description']}\n\n{hint}" if "description" in out else hint
    return out
