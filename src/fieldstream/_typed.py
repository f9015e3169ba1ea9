"""Typed parsing: validate each value once, when it completes, against a pydantic schema.

Theory of operation
-------------------
``TypedParser`` is the core :class:`Parser` plus a transformer of its events.
Pydantic's core schema for the type is walked once (lazily, cached per type) into
a tree of *plan nodes*: each node knows its kind (model, typed dict, list, dict,
or *whole*), its children per key or item, and two cached validators:

* the *whole* validator, the node's own sub-schema as a ``SchemaValidator``: it
  validates a completed leaf (or a subtree the plan does not descend into) from
  its JSON text, in JSON mode, exactly as pydantic would inside the document;
* the *assembler*, the same sub-schema with every child schema replaced by
  ``any``: it builds a container from children that were already validated, so
  defaults, aliases, ``extra``, length constraints, ``function-after`` field and
  model validators and ``model_post_init`` run as pydantic runs them, and no
  child is validated twice.

While parsing, a stack of *frames* mirrors the open containers the plan
descends into (frame ``d`` is the container at ``path[:d]``); each collects its
validated children and holds the partial snapshot object (a model instance
whose unfinished fields are ``None``, a list, a dict).  A completion event
validates a leaf, or assembles the frame at its path; either way the value is
stored in the parent frame in O(1).  So each value is validated once and the
whole stream stays O(n).

Where exact incremental semantics are impossible the plan does not descend and
validates the subtree whole when it completes: unions, ``before``/``wrap``/
``plain`` validators, validators that take ``ValidationInfo``, ``validate_default``,
``on_error`` defaults, alias paths, custom ``__init__``, root models,
dataclasses, tuples, sets, dicts with non-``str`` keys.

A child that fails makes its parents fail too; only the failing value gets a
:class:`ValueInvalid`, and at the root the whole document is validated once more
(only then) so that the root's ``ValueInvalid`` carries exactly pydantic's errors.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Literal, cast, get_origin

from ._errors import ParseError, SchemaError, UsageError
from ._events import DocumentCompleted, Event, Repair, StringDelta, ValueInvalid
from ._parser import _S_STRING, Parser, _completed
from ._paths import Path, format_path

try:
    from pydantic import BaseModel, TypeAdapter, ValidationError
    from pydantic_core import SchemaValidator
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError("typed parsing needs pydantic: pip install 'fieldstream[pydantic]'") from exc

__all__ = ["TypedParser", "plan_for"]

_ANY: dict[str, Any] = {"type": "any"}
_WHOLE, _MODEL, _TYPEDDICT, _LIST, _DICT = range(5)
_SKIPPED = object()  # _enter(): the path lies inside a subtree validated whole
_dumps = json.JSONEncoder(ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode
# str schema keys and config keys that change a string's text (so it cannot stream live)
_STR_CONSTRAINTS = frozenset(
    ("pattern", "max_length", "min_length", "strip_whitespace", "to_lower", "to_upper", "coerce_numbers_to_str")
)
_STR_CONFIG = (
    "str_strip_whitespace",
    "str_to_lower",
    "str_to_upper",
    "str_max_length",
    "str_min_length",
    "str_pattern",
)


class _Plan:
    """The plan of one type: its definitions and the lazily built tree of nodes."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = {}
        self.def_list: list[Any] = []
        self.root = _Node(self, self.strip(schema), {})

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
        return SchemaValidator(schema, cast(Any, config) or None)


def _copy(schema: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    new = {k: v for k, v in schema.items() if k != "ref"}
    new.update(changes)
    return new


def _has_info_function(schema: dict[str, Any], plan: _Plan) -> bool:
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


class _Node:
    """How to stream and validate the values at one place of the schema."""

    __slots__ = (
        "plan",
        "schema",
        "config",
        "kind",
        "live",
        "wrappers",
        "container",
        "child_config",
        "keys",
        "names",
        "extra",
        "cls",
        "_children",
        "_item",
        "_validator",
        "_assembler",
        "_after",
        "field_names",
    )

    def __init__(self, plan: _Plan, schema: dict[str, Any], config: dict[str, Any]) -> None:
        self.plan = plan
        self.schema = schema
        self.config = config
        self.kind = _WHOLE
        self.live = False
        self.wrappers: list[dict[str, Any]] = []  # function-after wrappers, outermost first
        self.container: dict[str, Any] = {}
        self.child_config = config
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}  # JSON key -> (field name, field schema)
        self.names: dict[str, str] = {}
        self.field_names: frozenset[str] = frozenset()
        self.extra = "ignore"
        self.cls: Any = None
        self._children: dict[Any, _Node | None] = {}
        self._item: _Node | None = None
        self._validator: SchemaValidator | None = None
        self._assembler: SchemaValidator | None = None
        self._after: SchemaValidator | None = None
        self._analyze()

    def _analyze(self) -> None:
        marker = None
        cur = self.schema
        at_top = True
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
                cur = cur["schema"]
                continue
            if kind == "function-after":
                if cur["function"]["type"] == "with-info":
                    return
                self.wrappers.append(cur)
                cur = cur["schema"]
                continue
            break
        if marker == "whole":
            return
        if kind == "str":
            self.live = marker == "live" or (
                not self.wrappers
                and not _STR_CONSTRAINTS.intersection(cur)
                and not any(self.config.get(key) for key in _STR_CONFIG)
            )
            return
        if marker == "live" and kind not in ("model", "typed-dict", "list", "dict"):
            self.live = True  # e.g. a constrained or validated string: text streams, the value validates at the end
            return
        self.container = cur
        if kind == "list":
            self.kind = _LIST
        elif kind == "dict":
            keys_schema = cur.get("keys_schema")
            if keys_schema is None or keys_schema == {"type": "str"} or keys_schema["type"] == "any":
                self.kind = _DICT
        elif kind == "model":
            fields_schema = cur["schema"]
            if cur.get("custom_init") or cur.get("root_model") or fields_schema["type"] != "model-fields":
                return
            self.cls = cur["cls"]
            self.child_config = cur.get("config") or self.config
            self._plan_fields(fields_schema, _MODEL)
        elif kind == "typed-dict":
            self.child_config = cur.get("config") or self.config
            self._plan_fields(cur, _TYPEDDICT)

    def _plan_fields(self, schema: dict[str, Any], kind: int) -> None:
        config = self.child_config
        if config.get("validate_default"):
            return
        by_name = config.get("validate_by_name", config.get("populate_by_name", False))
        by_alias = config.get("validate_by_alias", True)
        keys: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, field in schema["fields"].items():
            field_schema = field["schema"]
            if _has_info_function(field_schema, self.plan):
                return  # a validator may read info.data: only pydantic's own model pass can run it
            alias = field.get("validation_alias")
            if alias is not None and by_alias:
                choices = [alias] if isinstance(alias, str) else alias
                for choice in choices:
                    if isinstance(choice, str):
                        keys.setdefault(choice, (name, field_schema))
                    elif len(choice) == 1 and isinstance(choice[0], str):
                        keys.setdefault(choice[0], (name, field_schema))
                    else:
                        return  # AliasPath: the value is found inside another key
            if alias is None or by_name:
                keys.setdefault(name, (name, field_schema))
        self.keys = keys
        self.names = {key: name for key, (name, _) in keys.items()}
        self.field_names = frozenset(schema["fields"])
        self.extra = schema.get("extra_behavior") or config.get("extra_fields_behavior") or "ignore"
        self.kind = kind

    # -- children --------------------------------------------------------

    def child(self, key: Any) -> _Node | None:
        """The node of the value at ``key``; ``None`` for a key the schema does not know."""
        kind = self.kind
        if kind == _LIST or kind == _DICT:
            item = self._item
            if item is None:
                inner = self.container.get("items_schema" if kind == _LIST else "values_schema") or _ANY
                item = self._item = _Node(self.plan, inner, self.child_config)
            return item
        try:
            return self._children[key]
        except KeyError:
            entry = self.keys.get(key)
            node = None if entry is None else _Node(self.plan, entry[1], self.child_config)
            self._children[key] = node
            return node

    def accepts(self, key: Any) -> bool:
        return (type(key) is int) == (self.kind == _LIST)

    # -- validation ------------------------------------------------------

    def validate(self, raw: Any) -> Any:
        """Validate a complete JSON value (as parsed) against this node's schema, in JSON mode."""
        validator = self._validator
        if validator is None:
            validator = self._validator = self.plan.validator(self.schema, self.config)
        return validator.validate_json(_dumps(raw))

    def assemble(self, values: Any) -> Any:
        """Build this container from children that are already validated."""
        assembler = self._assembler
        if assembler is None:
            assembler = self._build_assembler()
        if self.kind != _MODEL:
            return assembler.validate_python(values)
        # pydantic-core reuses a model class's own validator for any schema naming that
        # class, so the instance is made here the way its model validator makes it
        fields, extra, fields_set = assembler.validate_python(values)
        cls = self.cls
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_extra__", extra)
        object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
        object.__setattr__(obj, "__pydantic_private__", None)
        post_init = self.container.get("post_init")
        if post_init:
            getattr(obj, post_init)(None)
        if self._after is not None:
            obj = self._after.validate_python(obj)
        return obj

    def _build_assembler(self) -> SchemaValidator:
        container = self.container
        kind = self.kind
        wrappers = self.wrappers
        config = self.config
        if kind == _LIST:
            schema = _copy(container, items_schema=_ANY)
        elif kind == _DICT:
            schema = _copy(container, values_schema=_ANY)
        else:
            fields_schema = container["schema"] if kind == _MODEL else container
            fields = {}
            for name, field in fields_schema["fields"].items():
                inner = field["schema"]
                inner = _copy(inner, schema=_ANY) if inner["type"] == "default" else _ANY
                fields[name] = _copy(field, schema=inner)
            schema = _copy(fields_schema, fields=fields)
            if kind == _MODEL:
                config = self.child_config
                if wrappers:  # field and model validators of mode "after" run on the finished instance
                    after: dict[str, Any] = _ANY
                    for wrapper in reversed(wrappers):
                        after = _copy(wrapper, schema=after)
                    self._after = self.plan.validator(after, self.config)
                wrappers = []
        for wrapper in reversed(wrappers):
            schema = _copy(wrapper, schema=schema)
        self._assembler = self.plan.validator(schema, config)
        return self._assembler

    def new_partial(self) -> Any:
        kind = self.kind
        if kind == _MODEL:
            cls = self.cls
            obj = cls.__new__(cls)
            object.__setattr__(obj, "__dict__", dict.fromkeys(cls.__pydantic_fields__))
            object.__setattr__(obj, "__pydantic_fields_set__", set())
            object.__setattr__(obj, "__pydantic_extra__", {} if self.extra == "allow" else None)
            object.__setattr__(obj, "__pydantic_private__", None)
            return obj
        return [] if kind == _LIST else {}


class _Frame:
    """An open container the plan descends into: its validated children and partial snapshot."""

    __slots__ = ("node", "values", "partial", "invalid", "open_key")

    def __init__(self, node: _Node) -> None:
        self.node = node
        self.partial = node.new_partial()
        # lists and dicts: the partial snapshot is the collection of validated values itself
        self.values: Any = {} if node.kind == _MODEL or node.kind == _TYPEDDICT else self.partial
        self.invalid = False
        self.open_key: Any = None  # key of an unfinished child placed in the partial

    def put(self, key: Any, value: Any) -> None:
        """Store a child's validated value."""
        node = self.node
        kind = node.kind
        if kind == _LIST:
            if self.open_key == key:
                self.partial[-1] = value
            else:
                self.partial.append(value)
        else:
            self.values[key] = value
            if kind == _MODEL:
                name = node.names.get(key)
                if name is not None:
                    self.partial.__dict__[name] = value
                    self.partial.__pydantic_fields_set__.add(name)
            elif kind == _TYPEDDICT:
                name = node.names.get(key)
                if name is not None:
                    self.partial[name] = value
        self.open_key = None

    def place(self, key: Any, value: Any) -> None:
        """Show an unfinished child (a partial container, live text) in the snapshot."""
        node = self.node
        kind = node.kind
        if kind == _LIST:
            if self.open_key == key:
                self.partial[-1] = value
            else:
                self.partial.append(value)
        elif kind == _DICT:
            self.partial[key] = value
        else:
            name = node.names.get(key)
            if name is None:
                return
            if kind == _MODEL:
                self.partial.__dict__[name] = value
            else:
                self.partial[name] = value
        self.open_key = key

    def fail(self, key: Any) -> None:
        """A child failed: remove whatever of it the snapshot shows; this container fails too."""
        self.invalid = True
        if self.open_key == key:
            node = self.node
            if node.kind == _LIST:
                self.partial.pop()
            elif node.kind == _DICT:
                self.partial.pop(key, None)
            elif node.kind == _MODEL:
                self.partial.__dict__[node.names[key]] = None
            else:
                self.partial.pop(node.names[key], None)
            self.open_key = None


#: Where a class keeps its plan: in its own ``__dict__``, so the plan lives exactly as long
#: as the class (a model made per request with ``create_model`` takes its plan with it).
_PLAN_ATTR = "__fieldstream_plan__"
#: Plans of other schemas (``list[M]``, unions, builtins) are kept for the most recent few.
MAX_CACHED_PLANS = 256
_plans: OrderedDict[Any, _Plan] = OrderedDict()


def plan_for(schema: Any) -> _Plan:
    """The cached plan of a pydantic model class or any type a ``TypeAdapter`` accepts."""
    cached = vars(schema).get(_PLAN_ATTR) if isinstance(schema, type) else None
    if cached is not None:
        return cast(_Plan, cached)
    try:
        cached = _plans[schema]
        _plans.move_to_end(schema)
        return cached
    except (KeyError, TypeError):  # not cached, or unhashable
        pass
    try:
        # get_origin: on Python 3.10, list[Model] passes isinstance(..., type) but not issubclass
        if isinstance(schema, type) and get_origin(schema) is None and issubclass(schema, BaseModel):
            if not schema.__pydantic_complete__:
                schema.model_rebuild()
            core_schema = schema.__pydantic_core_schema__
        else:
            core_schema = TypeAdapter(schema).core_schema
    except Exception as exc:  # pydantic raises several kinds for unusable types
        raise UsageError(f"not a pydantic model or a type pydantic can validate: {schema!r} ({exc})") from exc
    plan = _Plan(dict(core_schema))
    if isinstance(schema, type):
        try:
            type.__setattr__(schema, _PLAN_ATTR, plan)  # past a metaclass's __setattr__ (pydantic's)
            return plan
        except (AttributeError, TypeError):  # a builtin or extension type: the bounded cache
            pass
    try:
        _plans[schema] = plan
        while len(_plans) > MAX_CACHED_PLANS:
            _plans.popitem(last=False)
    except (KeyError, TypeError):  # unhashable: no cache
        pass
    return plan


class TypedParser(Parser):
    """A :class:`Parser` that validates every completed value against a schema.

    Made by ``Parser(schema, ...)``.  Events carry validated values; a value that
    fails gives a :class:`ValueInvalid` (``on_invalid="event"``, the default) or
    raises :class:`SchemaError` (``on_invalid="raise"``).  ``snapshot`` is the
    typed partial value: see the README section "Typed streaming".  Other options
    are the core parser's; with ``keep_items=False`` the validated items are still
    kept here, since the final value is built from them.
    """

    def __init__(self, schema: Any, /, *, on_invalid: Literal["event", "raise"] = "event", **options: Any) -> None:
        super().__init__(**options)
        if on_invalid not in ("event", "raise"):
            raise UsageError(f"on_invalid must be 'event' or 'raise', got {on_invalid!r}")
        self.schema = schema
        self.on_invalid = on_invalid
        self._plan = plan_for(schema)
        self._frames: list[_Frame] = []
        self._skip: int | None = None  # depth of a subtree whose inner events are ignored
        self._snap: Any = None
        self._root_valid = False
        self._raised: SchemaError | None = None

    def _snapshot(self) -> Any:
        # `snapshot` (the base property, under the parser's lock) is the typed partial value:
        # every completed value, validated, plus live text.  A model is an instance of the
        # model whose unfinished fields are ``None`` (``model_fields_set`` names the completed
        # ones); lists and dicts hold the validated values so far; after the document
        # completes, the validated value.
        if self._state == _S_STRING and self._parts:
            path = self._string_path
            node = self._enter(path)
            if node is not _SKIPPED and node is not None and node.live:
                text = "".join(self._parts)
                if path:
                    self._frames[len(path) - 1].place(path[-1], text)
                else:
                    return text
        return self._snap

    # feed() and close() are the base class's (they hold the parser's lock); these run inside.
    def _feed(self, chunk: str | bytes | bytearray | memoryview) -> list[Event]:
        if self._raised is not None:
            raise UsageError(f"feed() after a schema error ({self._raised}): create a new Parser")
        try:
            events = super()._feed(chunk)
        except ParseError as exc:
            self._typed_fault(exc)
            raise
        return self._transform(events)

    def _close(self) -> list[Event]:
        if self._raised is not None:
            raise UsageError(f"close() after a schema error ({self._raised}): create a new Parser")
        try:
            events = super()._close()
        except ParseError as exc:
            self._typed_fault(exc)
            raise
        return self._transform(events)

    def _typed_fault(self, exc: ParseError) -> None:
        # What the failing chunk completed before the fault, validated, and the typed snapshot.
        try:
            exc.events = self._transform(exc.events)
        except SchemaError:  # on_invalid="raise": the parse error stays the one raised
            exc.events = []
        exc.snapshot = self._snapshot()

    def _bare_is_text(self, path: Path) -> bool:
        # Lenient mode asks, for an unquoted value (``02134``, ``True``, ``yes``), whether
        # the schema expects a plain ``str`` there: then the text is kept as written.
        # A walk of the plan only: the frames belong to the transformer.
        node: _Node | None = self._plan.root
        for key in path:
            if node is None or node.kind == _WHOLE or not node.accepts(key):
                return False
            node = node.child(key)
        if node is None:
            return False
        schema = node.schema
        while True:
            schema = self._plan.resolve(schema)
            if schema["type"] in ("default", "function-after"):
                schema = schema["schema"]
                continue
            return schema["type"] == "str"  # type: ignore[no-any-return]

    # -- the transformer -------------------------------------------------

    def _enter(self, path: Path) -> Any:
        """Open frames for the containers above ``path``; return the node at ``path``.

        Returns ``_SKIPPED`` inside a subtree validated whole (and marks it), or
        ``None`` for a key the schema does not know.
        """
        frames = self._frames
        depth = len(path)
        skip = self._skip
        if skip is not None and depth > skip:
            return _SKIPPED
        d = len(frames)
        while d < depth:
            node = self._plan.root if d == 0 else frames[d - 1].node.child(path[d - 1])
            if node is None or node.kind == _WHOLE or not node.accepts(path[d]):
                self._skip = d
                return _SKIPPED
            frame = _Frame(node)
            if d == 0:
                self._snap = frame.partial
            else:
                frames[d - 1].place(path[d - 1], frame.partial)
            frames.append(frame)
            d += 1
        return self._plan.root if depth == 0 else frames[depth - 1].node.child(path[-1])

    def _transform(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        frames = self._frames
        for event in events:
            cls = type(event)
            if cls is StringDelta:
                node = self._enter(event.path)
                if node is not _SKIPPED and node is not None and node.live:
                    out.append(event)
                continue
            if cls is Repair:  # lenient mode: passed on as is
                out.append(event)
                continue
            if cls is DocumentCompleted:
                if self._root_valid:
                    out.append(DocumentCompleted(self._snap, cast(DocumentCompleted, event).index))
                self._root_valid = False
                del frames[:]
                self._skip = None
                continue
            path = event.path
            depth = len(path)
            skip = self._skip
            if skip is not None:
                if depth > skip:
                    continue
                self._skip = None
            node = self._enter(path)
            if node is _SKIPPED:
                continue
            raw = event.value  # type: ignore[attr-defined]
            parent = frames[depth - 1] if depth else None
            if node is None:  # a key the model does not know: pydantic decides at assembly (extra)
                if path[-1] not in parent.node.field_names:  # type: ignore[union-attr]
                    parent.values[path[-1]] = raw  # type: ignore[union-attr]
                continue  # in JSON mode, pydantic never takes a field's name for an extra key
            error: ValidationError | None = None
            failed = False
            if len(frames) > depth:
                frame = frames[depth]
                del frames[depth:]
                if frame.invalid:
                    failed = True
                else:
                    try:
                        value = node.assemble(frame.values)
                    except ValidationError as exc:
                        error = exc
            else:
                try:
                    value = node.validate(raw)
                except ValidationError as exc:
                    error = exc
            if error is None and not failed:
                if parent is None:
                    self._snap = value
                    self._root_valid = True
                else:
                    parent.put(path[-1], value)
                out.append(_completed(cast(Any, cls), path, value))
                continue
            if parent is not None:
                parent.fail(path[-1])
                if error is not None:
                    self._invalid(out, path, raw, error)
                continue
            # the root failed: validate the document once more for pydantic's exact errors
            self._root_valid = False
            try:
                value = node.validate(raw)
            except ValidationError as exc:
                self._invalid(out, path, raw, exc)
                continue
            # pydantic accepts it after all: a repeated key replaced the failing value
            self._snap = value
            self._root_valid = True
            out.append(_completed(cast(Any, cls), path, value))
        return out

    def _invalid(self, out: list[Event], path: Path, raw: Any, error: ValidationError) -> None:
        errors = error.errors()
        if self.on_invalid == "raise":
            exc = SchemaError(
                f"{error.error_count()} validation error(s): {errors[0]['msg']}", path=format_path(path), errors=errors
            )
            self._raised = exc
            raise exc from error
        out.append(ValueInvalid(path, raw, errors, error))

    def __repr__(self) -> str:
        name = getattr(self.schema, "__name__", repr(self.schema))
        return f"<Parser({name}) documents={self._documents} offset={self._base}>"
