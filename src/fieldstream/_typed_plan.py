"""The plan of a schema: how each place of a pydantic core schema streams and validates.

Theory of operation
-------------------
Pydantic's core schema for a type is walked lazily (each node when first
reached, cached per type) into a tree of :class:`Node`: its kind (model, typed
dict, list, tuple, set, dict, tagged union, union or *whole*), its children per
key or item, and two cached validators:

* the *whole* validator, the node's own sub-schema as a ``SchemaValidator``: it
  validates a completed leaf (or a subtree the plan does not descend into) from
  its JSON text, in JSON mode, exactly as pydantic would inside the document;
* the *assembler*, the same sub-schema with every child schema replaced by
  ``any``: it builds a container from children that were already validated, so
  defaults, aliases, ``extra`` and length constraints run as pydantic runs them,
  and no child is validated twice.

A union is not a container of its own: a *tagged* union names its branch by the
value of a key (the discriminator); a plain union takes the one candidate that
accepts the JSON type of its value (object, array, string), or, for an object
several object-like candidates accept, the one the keys and values seen leave
(the typed layer follows them, see :mod:`fieldstream._typed`).

What is validated whole (see docs/typed.md, "What streams"): anything behind a
``before``/``wrap``/``plain`` validator or a validator taking ``ValidationInfo``;
any container with an ``after`` validator, ``model_validator(mode="after")`` or
``model_post_init`` (user code may change the finished container, and a snapshot
must never show a value that later changes); ``validate_default``, ``on_error``
defaults, alias paths, two fields read from one key, custom ``__init__``,
models and dataclasses with user code (``__post_init__``, ``InitVar``), dicts
with non-``str`` keys, discriminators that read a nested path, and unions
whose candidates the input cannot tell apart.
"""

from __future__ import annotations

import json
from typing import Any, cast

from pydantic import BaseModel
from pydantic_core import SchemaValidator

__all__ = ["Node", "Plan"]

# A model instance is made as pydantic-core's model validator makes it: no __init__, its four
# slots written directly (through BaseModel's own slot descriptors: no attribute lookup each).
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def _model(new: Any, cls: Any, fields: dict[str, Any], fields_set: set[str], extra: Any) -> Any:
    obj = new(cls)
    _SET_DICT(obj, fields)
    _SET_FIELDS_SET(obj, fields_set)
    _SET_EXTRA(obj, extra)
    _SET_PRIVATE(obj, None)
    return obj


ANY: dict[str, Any] = {"type": "any"}
# Node kinds.
WHOLE, MODEL, TYPEDDICT, LIST, DICT, TUPLE, SET, TAGGED, UNION, ROOT, DATACLASS = range(11)
LISTLIKE = (LIST, TUPLE, SET)
OBJECTLIKE = (MODEL, TYPEDDICT, DICT, DATACLASS)
# str schema keys and config keys that change a string's text (so it cannot stream live)
_STR_CONSTRAINTS = frozenset(
    ("pattern", "max_length", "min_length", "strip_whitespace", "to_lower", "to_upper", "coerce_numbers_to_str")
)
# Scalar schemas that give a JSON value of their own type back unchanged, when they have no
# other keys (no constraint) and no config changes strings (see Node.validate).
_EXACT: dict[str, type] = {"str": str, "int": int, "bool": bool, "float": float}
_EXACT_KEYS = frozenset(("type", "strict", "metadata", "ref"))
_STR_CONFIG = (
    "str_strip_whitespace",
    "str_to_lower",
    "str_to_upper",
    "str_max_length",
    "str_min_length",
    "str_pattern",
)
# JSON types a schema can accept (for plain unions): "o" object, "a" array, "s" anything else
_OBJECT_TYPES = frozenset(("model", "typed-dict", "dict", "dataclass", "model-fields", "dataclass-args"))
_ARRAY_TYPES = frozenset(("list", "tuple", "set", "frozenset", "generator"))
_SCALAR_TYPES = frozenset(
    (
        "none",
        "bool",
        "int",
        "float",
        "decimal",
        "str",
        "bytes",
        "date",
        "time",
        "datetime",
        "timedelta",
        "literal",
        "enum",
        "uuid",
        "url",
        "multi-host-url",
        "complex",
        "missing-sentinel",
    )
)
_ALL = frozenset("oas")

_encode = json.JSONEncoder(ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode


def dumps(value: Any) -> str:
    """Compact JSON text of a parsed value; iterative for values nested deeper than Python's stack."""
    try:
        return _encode(value)
    except RecursionError:
        pass
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            out.append(item.text)
        elif type(item) is list:
            out.append("[")
            stack.append(_CLOSE_LIST)
            for i in range(len(item) - 1, -1, -1):
                stack.append(item[i])
                if i:
                    stack.append(_COMMA)
        elif type(item) is dict:
            out.append("{")
            stack.append(_CLOSE_DICT)
            entries = list(item.items())
            for i in range(len(entries) - 1, -1, -1):
                key, inner = entries[i]
                stack.append(inner)
                stack.append(_Token(_encode(key) + ":"))
                if i:
                    stack.append(_COMMA)
        else:
            out.append(_encode(item))
    return "".join(out)


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_COMMA, _CLOSE_LIST, _CLOSE_DICT = _Token(","), _Token("]"), _Token("}")


class Plan:
    """The plan of one type: its definitions and the lazily built tree of nodes."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = {}
        self.def_list: list[Any] = []
        #: TypedLayer.keeps_raw's answers by path shape (shared by every parser of this plan).
        self.keeps: dict[tuple[Any, bool], bool] = {}
        self.root = Node(self, self.strip(schema), {})

    def strip(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Collect the definitions that wrap ``schema``; return the schema inside."""
        while schema["type"] == "definitions":
            for definition in schema["definitions"]:
                if definition["ref"] not in self.defs:
                    self.defs[definition["ref"]] = definition
                    self.def_list.append(definition)
            schema = schema["schema"]
        return schema

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while True:
            kind = schema["type"]
            if kind == "definitions":
                schema = self.strip(schema)
            elif kind == "definition-ref":
                schema = self.defs[schema["schema_ref"]]
            else:
                return schema

    def validator(self, schema: dict[str, Any], config: dict[str, Any]) -> SchemaValidator:
        schema = self.strip(schema)
        if self.def_list:
            schema = {"type": "definitions", "schema": schema, "definitions": list(self.def_list)}
        # No process-wide cache of the leaf strings validated one by one (pydantic's default
        # caches every string it reads): it would hold text that belongs to no stream.
        return SchemaValidator(schema, cast(Any, {"cache_strings": "keys", **config}))

    def json_types(self, schema: dict[str, Any], seen: frozenset[int] = frozenset()) -> frozenset[str]:
        """Which JSON types (``o``, ``a``, ``s``) a value for ``schema`` may have; all three if unsure."""
        if id(schema) in seen:
            return _ALL
        seen = seen | {id(schema)}
        schema = self.resolve(schema)
        kind = schema["type"]
        if kind in _OBJECT_TYPES:
            return _ALL if kind == "model" and schema.get("root_model") else frozenset("o")
        if kind in _ARRAY_TYPES:
            return frozenset("a")
        if kind in _SCALAR_TYPES:
            return frozenset("s")
        if kind in ("default", "function-after"):
            return self.json_types(schema["schema"], seen)
        if kind == "nullable":
            return self.json_types(schema["schema"], seen) | {"s"}
        if kind in ("union", "tagged-union"):
            choices = schema["choices"]
            found: frozenset[str] = frozenset()
            for choice in choices.values() if kind == "tagged-union" else choices:
                found |= self.json_types(choice[0] if isinstance(choice, tuple) else choice, seen)
            return found
        return _ALL  # any, before/wrap/plain validators, json-or-python, chain, custom types


def _copy(schema: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    new = {k: v for k, v in schema.items() if k != "ref"}
    new.update(changes)
    return new


def _has_info_function(schema: dict[str, Any], plan: Plan) -> bool:
    """Whether the wrapper chain of a field schema holds a validator taking ``ValidationInfo``."""
    while True:
        schema = plan.resolve(schema)
        kind = schema["type"]
        if kind.startswith("function-") and schema["function"]["type"] == "with-info":
            return True
        if kind in ("default", "nullable", "function-after", "function-before", "function-wrap"):
            schema = schema["schema"]
            continue
        return False


class Node:
    """How to stream and validate the values at one place of the schema."""

    __slots__ = (
        "_assembler",
        "_blank",
        "_branches",
        "_children",
        "_every",
        "_item",
        "_validator",
        "child_config",
        "cls",
        "config",
        "container",
        "exact",
        "extra",
        "field_names",
        "full",
        "keys",
        "kind",
        "live",
        "names",
        "new",
        "plan",
        "race",
        "required",
        "schema",
        "tag_call",
        "tag_keys",
    )

    def __init__(self, plan: Plan, schema: dict[str, Any], config: dict[str, Any]) -> None:
        self.plan = plan
        self.schema = schema
        self.config = config
        self.kind = WHOLE
        self.live = False
        #: The JSON types whose values this node validates to themselves, if any: an unconstrained
        #: scalar gives back a JSON value of its own type as it is (pydantic's JSON parser refuses a
        #: string with a lone surrogate, and a float must be finite: those it decides; see
        #: TypedLayer._run).
        self.exact: frozenset[type] | None = None
        self.container: dict[str, Any] = {}
        self.child_config = config
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}  # JSON key -> (field name, field schema)
        self.names: dict[str, str] = {}
        self.field_names: frozenset[str] = frozenset()
        #: A model: its number of fields if, once every field has arrived and no other key, its
        #: partial is the model pydantic builds (one JSON key per field, extra not "allow"); else -1.
        self.full = -1
        self.required: frozenset[str] = frozenset()  # the keys of required fields
        self.race: Any = None  # a plain union of models: what its races share (see _typed_race), False: none
        self.extra = "ignore"
        self.cls: Any = None
        self.new: Any = None  # its cls.__new__, looked up once (a model class's lookup is not cheap)
        self.tag_keys: frozenset[str] = frozenset()  # tagged union: the keys that name the branch
        self.tag_call: Any = None  # ... or the callable that does (``Discriminator(callable)``)
        self._children: dict[Any, Node | None] = {}
        self._item: Node | None = None  # a root model's root node
        self._every: Node | None = None  # a list's, a dict's or a set's item node, once made
        self._validator: SchemaValidator | None = None
        self._assembler: SchemaValidator | None = None
        self._blank: dict[str, None] | None = None  # a model's partial __dict__, copied for each
        self._branches: dict[Any, Node | None] = {}
        self._analyze()

    def _analyze(self) -> None:
        marker = None
        cur = self.schema
        at_top = True
        after = False
        nullable = False
        while True:
            metadata = cur.get("metadata")
            if marker is None and metadata:
                marker = metadata.get("fieldstream")
            kind = cur["type"]
            if kind in ("definitions", "definition-ref"):
                cur = self.plan.resolve(cur)
                continue
            if kind == "default":
                if cur.get("on_error", "raise") != "raise" or cur.get("validate_default") or not at_top:
                    return
                cur = cur["schema"]
                continue
            at_top = False
            if kind == "nullable":
                nullable = True
                cur = cur["schema"]
                continue
            if kind == "function-after":
                if cur["function"]["type"] == "with-info":
                    return
                after = True
                cur = cur["schema"]
                continue
            break
        if marker == "whole":
            return
        if kind in _EXACT and not after and marker is None and cur.keys() <= _EXACT_KEYS:
            if kind != "str" or not any(self.config.get(key) for key in _STR_CONFIG):
                self.exact = frozenset((_EXACT[kind], type(None)) if nullable else (_EXACT[kind],))
        if kind == "str":
            self.live = marker == "live" or (
                not after
                and not _STR_CONSTRAINTS.intersection(cur)
                and not any(self.config.get(key) for key in _STR_CONFIG)
            )
            return
        if marker == "live" and kind not in ("model", "typed-dict", "list", "dict"):
            self.live = True  # e.g. a constrained or validated string: text streams, the value validates at the end
            return
        if after:
            return  # an after validator may change the finished container: it appears once, whole
        self.container = cur
        if kind == "list":
            self.kind = LIST
        elif kind in ("set", "frozenset"):
            self.kind = SET
        elif kind == "tuple":
            variadic = cur.get("variadic_item_index")
            if variadic is None or variadic == len(cur["items_schema"]) - 1:
                self.kind = TUPLE
        elif kind == "dict":
            keys_schema = cur.get("keys_schema")
            if keys_schema is None or keys_schema == {"type": "str"} or keys_schema["type"] == "any":
                self.kind = DICT
        elif kind == "model":
            fields_schema = cur["schema"]
            if cur.get("custom_init") or cur.get("post_init"):
                return
            self.cls = cur["cls"]
            self.new = self.cls.__new__
            self.child_config = cur.get("config") or self.config
            if cur.get("root_model"):
                self.kind = ROOT  # its value is the node of its root type, at the same path
            elif fields_schema["type"] == "model-fields":
                self._plan_fields(fields_schema, MODEL)
        elif kind == "dataclass":
            args = cur["schema"]
            if (
                cur.get("post_init")
                or cur.get("slots")
                or args["type"] != "dataclass-args"
                or args.get("collect_init_only")
                or any(not f.get("init", True) or f.get("init_only") for f in args["fields"])
            ):
                return  # __post_init__ and InitVar need pydantic's own pass
            self.cls = cur["cls"]
            self.new = self.cls.__new__
            self.child_config = cur.get("config") or self.config
            fields = {f["name"]: f for f in args["fields"]}
            self._plan_fields({**args, "fields": fields}, DATACLASS)
        elif kind == "typed-dict":
            self.child_config = cur.get("config") or self.config
            self._plan_fields(cur, TYPEDDICT)
        elif kind == "tagged-union":
            discriminator = cur["discriminator"]
            if isinstance(discriminator, str):
                self.tag_keys = frozenset((discriminator,))
            elif isinstance(discriminator, list) and all(len(p) == 1 and isinstance(p[0], str) for p in discriminator):
                self.tag_keys = frozenset(p[0] for p in discriminator)
            elif callable(discriminator):
                self.tag_call = discriminator  # called on the keys complete so far (see _typed_tag)
            else:
                return  # a path into a nested value: only pydantic can read it, whole
            self.kind = TAGGED
        elif kind == "union":
            self.kind = UNION
            # a JSON string that only one candidate accepts, a plain ``str``: its text streams
            text = self.branch("")
            self.live = text is not None and text.live

    def _plan_fields(self, schema: dict[str, Any], kind: int) -> None:
        config = self.child_config
        if config.get("validate_default"):
            return
        by_name = config.get("validate_by_name", config.get("populate_by_name", False))
        by_alias = config.get("validate_by_alias", True)
        keys: dict[str, tuple[str, dict[str, Any]]] = {}
        required: set[str] = set()

        def add(key: str, name: str, field_schema: dict[str, Any]) -> bool:
            other = keys.setdefault(key, (name, field_schema))
            return other[0] == name  # False: two fields read one key (pydantic gives it to both)

        for name, field in schema["fields"].items():
            field_schema = field["schema"]
            if _has_info_function(field_schema, self.plan):
                return  # a validator may read info.data: only pydantic's own model pass can run it
            if field.get("required", field_schema["type"] != "default"):
                required.add(name)
            alias = field.get("validation_alias")
            if alias is not None and by_alias:
                choices = [alias] if isinstance(alias, str) else alias
                for choice in choices:
                    if isinstance(choice, list):
                        if len(choice) != 1 or not isinstance(choice[0], str):
                            return  # AliasPath: the value is found inside another key
                        choice = choice[0]
                    if not add(choice, name, field_schema):
                        return
            if (alias is None or by_name) and not add(name, name, field_schema):
                return
        self.keys = keys
        self.names = {key: name for key, (name, _) in keys.items()}
        self.required = frozenset(key for key, name in self.names.items() if name in required)
        self.field_names = frozenset(schema["fields"])
        self.extra = schema.get("extra_behavior") or config.get("extra_fields_behavior") or "ignore"
        self.kind = kind
        if kind == MODEL and self.extra != "allow" and len(keys) == len(schema["fields"]):
            self.full = len(keys)

    # -- children --------------------------------------------------------

    def child(self, key: Any) -> Node | None:
        """The node of the value at ``key``; ``None`` for a key the schema does not know."""
        every = self._every
        if every is not None:
            return every  # a list's, a dict's or a set's: every item's
        if self.kind != TUPLE:
            try:
                return self._children[key]
            except KeyError:
                pass
        return self._child(key)

    def _child(self, key: Any) -> Node | None:
        # child(), the first time: the node made and remembered
        kind = self.kind
        if kind == LIST or kind == DICT or kind == SET:
            inner = self.container.get("values_schema" if kind == DICT else "items_schema") or ANY
            every = self._every = Node(self.plan, inner, self.child_config)
            return every
        if kind == TUPLE:
            items = self.container["items_schema"]
            if self.container.get("variadic_item_index") is not None:
                key = min(key, len(items) - 1)
            elif key >= len(items):
                key = len(items)  # past the fixed items: ``any``, the tuple's length check fails
            try:
                return self._children[key]
            except KeyError:
                pass
        node: Node | None
        if kind == TUPLE:
            items = self.container["items_schema"]
            node = Node(self.plan, items[key] if key < len(items) else ANY, self.child_config)
        else:
            entry = self.keys.get(key)
            node = None if entry is None else Node(self.plan, entry[1], self.child_config)
        self._children[key] = node
        return node

    def accepts(self, key: Any) -> bool:
        """Whether a value of this node may hold ``key`` (an index: an array; a string: an object)."""
        return (type(key) is int) == (self.kind in LISTLIKE)

    def root(self) -> Node:
        """A root model: the node of its root type."""
        item = self._item
        if item is None:
            item = self._item = Node(self.plan, self.container["schema"], self.child_config)
        return item

    def wrap(self, value: Any) -> Any:
        """A root model holding ``value``, made the way its validator makes it."""
        return _model(self.new, self.cls, {"root": value}, {"root"}, None)

    def branch(self, key: Any) -> Node | None:
        """A plain union: the one candidate that accepts an array (int key), an object (str key), a string ("")."""
        want = "a" if type(key) is int else "o" if key else "s"
        try:
            return self._branches[want]
        except KeyError:
            pass
        found = None
        for choice in self.container["choices"]:
            schema = choice[0] if isinstance(choice, tuple) else choice
            if want in self.plan.json_types(schema):
                if found is not None:
                    found = None  # more than one candidate: smart mode decides at the end, whole
                    break
                found = schema
        node = None if found is None else Node(self.plan, found, self.config)
        self._branches[want] = node
        return node

    def objects(self) -> list[Node] | None:
        """A plain union's candidates for a JSON object, if each is a model, dataclass, typed dict or dict."""
        try:
            return self._branches["objects"]  # type: ignore[return-value]
        except KeyError:
            pass
        found: list[Node] | None = []
        for choice in self.container["choices"]:
            schema = choice[0] if isinstance(choice, tuple) else choice
            if "o" in self.plan.json_types(schema):
                node = Node(self.plan, schema, self.config)
                if node.kind not in OBJECTLIKE:
                    found = None  # a candidate the plan cannot follow key by key: validated whole
                    break
                found.append(node)  # type: ignore[union-attr]
        self._branches["objects"] = found  # type: ignore[assignment]
        return found

    def tagged(self, tag: Any) -> Node | None:
        """A tagged union: the branch that the tag's value names; ``None`` if none does."""
        if type(tag) is not str and type(tag) is not int:
            return None
        try:
            return self._branches[tag]
        except KeyError:
            pass
        choice = self.container["choices"].get(tag)
        node = None if choice is None else Node(self.plan, choice, self.config)
        self._branches[tag] = node
        return node

    # -- validation ------------------------------------------------------

    def validate(self, raw: Any) -> Any:
        """Validate a complete JSON value (as parsed) against this node's schema, in JSON mode."""
        validator = self._validator
        if validator is None:
            validator = self._validator = self.plan.validator(self.schema, self.config)
        return validator.validate_json(dumps(raw))

    def assemble(self, values: Any) -> Any:
        """Build this container from children that are already validated."""
        assembler = self._assembler
        if assembler is None:
            assembler = self._assembler = self._build_assembler()
        if self.kind == DATACLASS:
            fields, _ = assembler.validate_python(values)
            obj = self.new(self.cls)
            obj.__dict__.update(fields)
            return obj
        if self.kind != MODEL:
            return assembler.validate_python(values)
        # pydantic-core reuses a model class's own validator for any schema naming that
        # class, so the instance is made here the way its model validator makes it
        fields, extra, fields_set = assembler.validate_python(values)
        return _model(self.new, self.cls, fields, fields_set, extra)

    def _build_assembler(self) -> SchemaValidator:
        container = self.container
        kind = self.kind
        config = self.config
        if kind == LIST or kind == SET:
            schema = _copy(container, items_schema=ANY)
        elif kind == TUPLE:
            schema = _copy(container, items_schema=[ANY] * len(container["items_schema"]))
        elif kind == DICT:
            schema = _copy(container, values_schema=ANY)
        else:
            fields_schema = container["schema"] if kind == MODEL or kind == DATACLASS else container
            entries = fields_schema["fields"]
            fields: Any = {}
            for name, field in entries.items() if isinstance(entries, dict) else ((f["name"], f) for f in entries):
                inner = field["schema"]
                inner = _copy(inner, schema=ANY) if inner["type"] == "default" else ANY
                fields[name] = _copy(field, schema=inner)
            if kind == DATACLASS:
                fields = list(fields.values())
            schema = _copy(fields_schema, fields=fields)
            if kind == MODEL or kind == DATACLASS:
                config = self.child_config
        return self.plan.validator(schema, config)

    def new_partial(self) -> Any:
        kind = self.kind
        if kind == MODEL:
            blank = self._blank
            if blank is None:
                blank = self._blank = dict.fromkeys(self.cls.__pydantic_fields__)
            return _model(self.new, self.cls, blank.copy(), set(), {} if self.extra == "allow" else None)
        if kind == DATACLASS:
            obj = self.new(self.cls)
            obj.__dict__.update(dict.fromkeys(self.field_names))
            return obj
        if kind == TAGGED:
            # nothing is shown until the tag names the branch; a callable reads the keys complete so far
            return None if self.tag_call is None else {}
        return [] if kind in LISTLIKE else {}
