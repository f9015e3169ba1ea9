"""Typed parsing: validate each value once, when it completes, against a pydantic schema.

Theory of operation
-------------------
:class:`TypedLayer` transforms the core parser's events; a :class:`Parser`
given a schema owns one and passes every ``feed``/``close`` through
:meth:`TypedLayer.step`.  The schema's plan (:mod:`fieldstream._typed_plan`)
says how each place streams.

While parsing, a stack of *frames* mirrors the open containers the plan
descends into (frame ``d`` is the container at ``path[:d]``); each collects its
validated children and, apart from them, the partial snapshot object (a model
instance whose unfinished fields are ``None``, a list, a dict).  A completion event
validates a leaf, or assembles the frame at its path; either way the value is
stored in the parent frame in O(1).  So each value is validated once and the
whole stream stays O(n).

A union's object whose branch is not known yet gets a frame that *holds* the
events inside it: a tagged union's until its tag key completes (or its
callable returns a tag that no later key can change, :mod:`._typed_tag`); a
plain union's until the keys and values seen rule out all candidates but one
(a key a ``forbid`` model does not know, a value a candidate's field rejects)
or make one smart mode's certain choice (:mod:`._typed_race`).  Then it
becomes the frame of that branch and replays the held events into it.  Past
``MAX_HELD_EVENTS`` held events, for a tag no branch has, a repeated key, or
when the object ends with several candidates left, it gives up and the value
is validated whole, so pydantic decides.  A subtree the plan does not
descend into is *skipped*: its inner events are dropped and it is validated
whole, from its JSON value, when it completes.

A child that fails makes its parents fail too; only the failing value gets a
:class:`ValueInvalid`, and a failing container the plan reached through a
union, and the root, are validated whole once more (only then) so that their
``ValueInvalid`` carries exactly pydantic's errors.

Memory: the validated values are the only copy of the value.  The core parser
keeps plain containers only where this layer reads them (:meth:`TypedLayer.keeps_raw`:
a subtree validated whole, a union's object, a key the schema does not know);
elsewhere a container's event carries a bare reference, turned into its plain
value by parsing its text again (``resolve``) only where pydantic must see it
whole: a container that failed, a document nested too deep.  With
``keep_items=False`` the validated items of an outermost list are delivered and
dropped, as the core parser drops plain ones.

The schema's own code (a validator, a default factory) may raise anything; what
pydantic does not make a ``ValidationError`` it propagates.  The few calls into
pydantic (``_validate``, ``assemble``, ``_rejects``) turn it into ``_Broken``
(``_Undecided`` while union candidates are ruled out: pydantic then decides on
the whole object), and ``transform`` raises it as a :class:`SchemaError` whatever
``on_invalid`` says (see ``_errors``); the ``try`` costs nothing on the way through.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, cast, get_origin

from ._errors import FieldstreamError, ParseError, SchemaError, UsageError
from ._events import (
    DocumentCompleted,
    Event,
    ItemCompleted,
    Repair,
    StringDelta,
    ValueCompleted,
    ValueInvalid,
    _completed,
    _delta,
)
from ._lenient_schema import bare_is_text as _bare_is_text
from ._paths import Path, format_path

try:
    from pydantic import BaseModel, TypeAdapter, ValidationError

    from ._typed_plan import (
        DATACLASS,
        DICT,
        LIST,
        LISTLIKE,
        MODEL,
        OBJECTLIKE,
        ROOT,
        SET,
        TAGGED,
        TUPLE,
        TYPEDDICT,
        UNION,
        WHOLE,
        Node,
        Plan,
    )
    from ._typed_race import Race, racing
    from ._typed_tag import UNKNOWN, tag_of
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError("typed parsing needs pydantic: pip install 'fieldstream[pydantic]'") from exc

__all__ = ["MAX_CACHED_PLANS", "MAX_HELD_EVENTS", "TypedLayer", "plan_for"]

#: Events (values and strings) a union's object may hold before its branch is
#: known; beyond, that object is validated whole when it completes.
MAX_HELD_EVENTS = 1000
_MAX_SHAPES = 1024  # path shapes a plan remembers keeps_raw's answer for (then it starts over)
# Safely below the nesting at which pydantic's own JSON parser gives up (about 200 levels):
# a document with values this deep is validated whole at the root, so the verdict is pydantic's.
_PYDANTIC_DEPTH = 150
_SKIPPED = object()  # _enter(): the path lies inside a subtree validated whole
_HELD = object()  # _enter(): the path lies inside a union's object whose branch is not known yet
_NOTHING: Any = object()

A = TypeVar("A")


class _Frame:
    """An open container the plan descends into: its validated children and partial snapshot."""

    __slots__ = (
        "candidates",
        "fields",
        "fields_set",
        "invalid",
        "key",
        "node",
        "open_key",
        "partial",
        "race",
        "repeated",
        "roots",
        "seen",
        "shown",
        "values",
    )

    def __init__(self, node: Node, roots: tuple[Node, ...] = ()) -> None:
        self.node = node
        self.partial = node.new_partial()
        self.roots = roots  # root models around this container, outermost first
        self.shown = self.partial  # what the parent shows: the partial, inside its root models
        for root in reversed(roots):
            self.shown = root.wrap(self.shown)
        # The validated children the value is built from.  A list's or a dict's are its partial
        # itself: what a snapshot reader places there for an unfinished child (see place) is
        # replaced by the child's value when it completes, or removed when it fails, so once the
        # container completes its partial holds its validated children only; so does a model's
        # with one JSON key per field (Node.full), whose values here are only the keys it does
        # not know (``None`` until one comes).  Another model's (a typed dict's, a dataclass's)
        # are apart: by JSON key, unknown keys too.  A union's object whose branch is not known
        # yet: the events it holds.
        kind = node.kind
        # A model's or a dataclass's partial: its __dict__ (and a model's fields set), read
        # here and not through the instance (a pydantic model's attribute lookup is not cheap).
        self.fields: dict[str, Any] | None = self.partial.__dict__ if kind == MODEL or kind == DATACLASS else None
        self.fields_set: set[str] | None = self.partial.__pydantic_fields_set__ if kind == MODEL else None
        self.values: Any
        if kind == DICT or kind in LISTLIKE:
            self.values = self.partial
        elif node.full >= 0:
            self.values = None
        else:
            self.values = {} if kind in OBJECTLIKE else []
        self.candidates: Sequence[Node] = ()  # a plain union's object candidates not ruled out yet
        self.race: Race | None = None  # ... and what the keys seen say of smart mode's choice among them
        self.key: Any = None  # the key whose events are being held now
        # keys completed so far, in a container reached through a union (``None`` elsewhere): a
        # repeated key could make a candidate that was ruled out valid again, so pydantic decides
        self.seen: set[Any] | None = None
        self.repeated = False
        self.invalid = False
        self.open_key: Any = None  # key of an unfinished child placed in the partial

    def put(self, key: Any, value: Any) -> None:
        """Store a child's validated value."""
        node = self.node
        kind = node.kind
        if kind == MODEL:
            field = node.names[key]  # (a key the model knows: its node is this one's child)
            if node.full < 0:
                self.values[key] = value
            self.fields[field] = value  # type: ignore[index]
            self.fields_set.add(field)  # type: ignore[union-attr]
        elif kind == DATACLASS:
            self.values[key] = value
            name = node.names.get(key)
            if name is not None:
                self.fields[name] = value  # type: ignore[index]
        elif kind == TYPEDDICT:
            self.values[key] = value
            name = node.names.get(key)
            if name is not None:
                self.partial[name] = value
        elif kind == DICT:
            self.partial[key] = value  # (its values)
        else:
            if self.open_key == key:  # (a list's values are its partial)
                self.partial[-1] = value
            else:
                self.partial.append(value)
        self.open_key = None

    def unknown(self, key: Any, raw: Any) -> None:
        """A key the schema does not know, with its plain value: pydantic decides at assembly (extra)."""
        if self.values is None:
            self.values = {}
        self.values[key] = raw

    def complete(self) -> Any:
        """The container's value, built from its validated children."""
        node = self.node
        full = node.full
        if full < 0:
            return node.assemble(self.values)
        fields_set: set[str] = self.fields_set  # type: ignore[assignment]
        if self.values is None and len(fields_set) == full:
            # Every field arrived and no other key: pydantic, given these validated values, builds
            # a model equal to the partial (the same dict, the same fields set).  The partial
            # becomes the value: no second model.
            return self.partial
        # A missing field or an unknown key: pydantic assembles it from the values by JSON key.
        fields: dict[str, Any] = self.fields  # type: ignore[assignment]
        values = {key: fields[name] for key, name in node.names.items() if name in fields_set}
        if self.values:
            values.update(self.values)
        return node.assemble(values)

    def place(self, key: Any, value: Any) -> None:
        """Show an unfinished child (a partial container, live text) in the snapshot."""
        node = self.node
        kind = node.kind
        if kind == DICT:
            self.partial[key] = value
        elif kind == MODEL or kind == TYPEDDICT or kind == DATACLASS:
            name = node.names.get(key)
            if name is None:
                return
            if kind != TYPEDDICT:
                self.fields[name] = value  # type: ignore[index]
            else:
                self.partial[name] = value
        elif self.open_key == key:
            self.partial[-1] = value
        else:
            self.partial.append(value)
        self.open_key = key

    def drop(self, key: Any) -> None:
        """``keep_items=False``: a validated item is delivered, not kept; the snapshot stops showing it."""
        if self.open_key == key:
            self.partial.pop()
            self.open_key = None

    def fail(self, key: Any) -> None:
        """A child failed: remove whatever of it the snapshot shows; this container fails too."""
        self.invalid = True
        if self.open_key == key:
            node = self.node
            if node.kind == DICT:
                self.partial.pop(key, None)
            elif node.kind == MODEL or node.kind == DATACLASS:
                self.fields[node.names[key]] = None  # type: ignore[index]
            elif node.kind == TYPEDDICT:
                self.partial.pop(node.names[key], None)
            else:
                self.partial.pop()
            self.open_key = None


#: Where a class keeps its plan: in its own ``__dict__``, so the plan lives exactly as long
#: as the class (a model made per request with ``create_model`` takes its plan with it).
_PLAN_ATTR = "__fieldstream_plan__"
#: Plans of other schemas (``list[M]``, unions, builtins) are kept for the most recent few.
MAX_CACHED_PLANS = 256
_plans: OrderedDict[Any, Plan] = OrderedDict()


def plan_for(schema: Any) -> Plan:
    """The cached plan of a pydantic model class or any type a ``TypeAdapter`` accepts."""
    cached = vars(schema).get(_PLAN_ATTR) if isinstance(schema, type) else None
    if cached is not None:
        return cast(Plan, cached)
    try:
        # ``A | B == B | A`` (so are ``list[A | B]`` and ``list[B | A]``), but smart mode breaks ties by
        # the order of a union: the key holds the schema's repr, which keeps the order
        key: Any = (schema, repr(schema))
        cached = _plans[key]
        _plans.move_to_end(key)
        return cached
    except KeyError:  # not cached
        pass
    except Exception:  # noqa: BLE001 - unhashable, or an odd object whose repr/hash/eq raises: no cache
        key = None
    try:
        # get_origin: on Python 3.10, list[Model] passes isinstance(..., type) but not issubclass
        if isinstance(schema, type) and get_origin(schema) is None and issubclass(schema, BaseModel):
            if not schema.__pydantic_complete__:
                schema.model_rebuild()
            core_schema = schema.__pydantic_core_schema__
        else:
            core_schema = TypeAdapter(schema).core_schema
        plan = Plan(dict(core_schema))
    except Exception as exc:  # noqa: BLE001 - pydantic raises several kinds for unusable types, a model's own code any
        raise UsageError(f"not a pydantic model or a type pydantic can validate: {_describe(schema)} ({exc})") from exc
    if isinstance(schema, type):
        try:
            type.__setattr__(schema, _PLAN_ATTR, plan)  # past a metaclass's __setattr__ (pydantic's)
            return plan
        except (AttributeError, TypeError):  # a builtin or extension type: the bounded cache
            pass
    if key is not None:
        _plans[key] = plan
        while len(_plans) > MAX_CACHED_PLANS:
            _plans.popitem(last=False)
    return plan


def _describe(schema: Any) -> str:
    try:
        return repr(schema)
    except Exception:  # noqa: BLE001 - its own __repr__ raised
        return f"<{type(schema).__name__} object>"


class TypedLayer:
    """Turns a core parser's events into validated ones and keeps the typed snapshot.

    ``unfinished`` is the owner's seam: it returns the path and text so far of
    an unfinished string value, or ``None``.
    """

    def __init__(
        self,
        schema: Any,
        on_invalid: Literal["event", "raise"],
        unfinished: Callable[[], tuple[Path, str] | None],
        *,
        keep_items: bool = True,
        resolve: Callable[[Any], Any] = lambda raw: raw,
    ) -> None:
        self.schema = schema
        self.on_invalid = on_invalid
        self.keep_items = keep_items
        self._resolve = resolve  # the plain value of a container the core did not keep
        self.last: Any = _NOTHING  # the validated value of the last valid document
        self._unfinished = unfinished
        self._plan = plan_for(schema)
        self._frames: list[_Frame] = []
        self._skip: int | None = None  # depth of a subtree whose inner events are ignored
        self._hold: int | None = None  # depth of a union object whose branch is not known yet
        self._deep = False  # the document nests deeper than pydantic's JSON parser allows
        self._snap: Any = None
        self._root_valid = False
        self._raised: SchemaError | None = None
        self._live: Path | None = None  # the path of the live string whose deltas pass as they are

    def step(self, run: Callable[[A], list[Event]], arg: A) -> list[Event]:
        """Run one ``feed``/``close`` of the core parser and transform its events.

        A :class:`ParseError` leaves with its ``events`` transformed and the typed snapshot.
        """
        self.check()
        try:
            events = run(arg)
        except ParseError as exc:
            self.failed(exc)
            raise
        return self.transform(events)

    def check(self) -> None:
        """Refuse more input after a schema error was raised (``on_invalid="raise"``)."""
        if self._raised is not None:
            raise UsageError(f"the parser stopped at a schema error ({self._raised}): create a new Parser")

    def failed(self, exc: ParseError) -> None:
        """The core parser raised ``exc``: its events transformed, and the typed snapshot."""
        exc.events = self.transform(exc.events)
        exc.snapshot = self.snapshot()

    def result(self) -> Any:
        """The validated value of the last valid document."""
        if self.last is _NOTHING:
            raise UsageError("no valid document has completed yet: read `snapshot` for the partial value")
        return self.last

    def snapshot(self) -> Any:
        """The typed partial value: every completed value, validated, plus live text.

        Reading it only places the text so far of a live string in the partial
        value; it opens no frame, and what it places is replaced by the string's
        value when it completes (or removed when it fails) before its container
        can complete, so a reader in another thread cannot change the result.
        """
        unfinished = self._unfinished()
        if unfinished is not None:
            path, text = unfinished
            depth = len(path)
            if not depth:
                return text if self._plan.root.live else self._snap
            hold, skip, frames = self._hold, self._skip, self._frames
            if (hold is None or depth <= hold) and (skip is None or depth <= skip) and len(frames) == depth:
                try:
                    frame = frames[depth - 1]
                except IndexError:  # the feeding thread closed it meanwhile
                    return self._snap
                node = frame.node.child(path[-1])
                if node is not None and node.live:
                    frame.place(path[-1], text)
        return self._snap

    def transform(self, events: list[Event]) -> list[Event]:
        """The core's events as typed events."""
        if not events:
            return events  # (most chunks complete nothing)
        if len(events) == 1:  # the next piece of the live string of the chunk before: as it is
            event = events[0]
            if event.__class__ is StringDelta and event.path is self._live:
                return events
        return self.convert(events)

    def convert(self, events: list[Event]) -> list[Event]:
        """:meth:`transform` for events it would not pass as they are (``Parser.feed`` has checked)."""
        out: list[Event] = []
        try:
            self._run(events, out)
        except (FieldstreamError, MemoryError):
            raise
        except _Broken as exc:
            if isinstance(exc.error, MemoryError):
                raise exc.error from None
            raise self._broken(out, exc.path, exc.error, "the schema's own code raised") from exc.error
        except Exception as exc:  # noqa: BLE001 - user code reached another way (a model's __new__): never leaks
            raise self._broken(out, (), exc, "typed validation failed with") from exc
        return out

    def _broken(self, out: list[Event], path: Path, error: Exception, what: str) -> SchemaError:
        """The schema's own code (a validator, a default factory) raised: the parser stops, whatever ``on_invalid``.

        It is a broken schema, not an invalid value (pydantic itself propagates it).  The
        snapshot drops the failing value and keeps everything validated before it.
        """
        depth = len(path)
        if depth and len(self._frames) >= depth:
            self._frames[depth - 1].fail(path[-1])
        name = type(error).__name__
        entry = {"type": "exception", "loc": (), "msg": f"{name}: {error}", "input": None}
        exc = SchemaError(f"{what} {name}: {error}", path=format_path(path), errors=[entry])
        exc.events = out
        self._raised = exc
        return exc

    def bare_is_text(self, path: Path, text: str, value: Any) -> bool:
        """Lenient mode: whether the schema reads the unquoted ``text`` at ``path`` as text, not as ``value``.

        ``02134`` where a ``str`` is expected stays ``'02134'``; ``None`` where an
        ``Optional[str]`` is stays null.  The rule is in :mod:`fieldstream._lenient_schema`.
        """
        return _bare_is_text(self._plan, path, text, value)

    def keeps_raw(self, path: Path, is_object: bool) -> bool:
        """Whether the container opening at ``path`` must be kept as a plain value.

        It must where this layer reads plain values: a subtree validated whole,
        a union's object (held, or its candidates tested), a key the schema does
        not know.  A walk of the plan along ``path``, as :meth:`_enter` walks it
        (the container's own key type is its JSON type); where the plan cannot
        say, it is kept.  Elsewhere the typed layer assembles the value from
        validated children and the core keeps nothing.

        The plan remembers the answer by the path's shape (its indexes as 0), which
        decides it unless a tuple's index is on the way: one walk per shape.
        """
        shapes = self._plan.keeps
        shape = (tuple([0 if type(key) is int else key for key in path]), is_object)
        known = shapes.get(shape)
        if known is not None:
            return known
        node: Node | None = self._plan.root
        depth = len(path)
        keeps = False
        by_index = False  # a tuple's item on the way: its index decides, not the shape
        for d in range(depth + 1):
            key: Any = path[d] if d < depth else ("{" if is_object else 0)
            while node is not None and (node.kind == UNION or node.kind == ROOT):
                node = node.root() if node.kind == ROOT else node.branch(key)
            if node is None or node.kind == WHOLE or node.kind == TAGGED or not node.accepts(key):
                keeps = True
                break
            if d < depth:
                by_index = by_index or node.kind == TUPLE
                node = node.child(key)
        if not by_index:
            if len(shapes) >= _MAX_SHAPES:
                shapes.clear()  # (a dict's keys are part of the shape: no stream grows it for ever)
            shapes[shape] = keeps
        return keeps

    # -- the transformer -------------------------------------------------

    def _enter(self, path: Path) -> Any:
        """Open frames for the containers above ``path``; return the node at ``path``.

        Returns ``_HELD`` inside a union's object whose branch is not known yet, ``_SKIPPED``
        inside a subtree validated whole (and marks it), or ``None`` for a key
        the schema does not know.
        """
        depth = len(path)
        hold = self._hold
        if hold is not None and depth > hold:
            return _HELD
        skip = self._skip
        if skip is not None and depth > skip:
            return _SKIPPED
        frames = self._frames
        d = len(frames)
        while d < depth:
            node = self._plan.root if d == 0 else frames[d - 1].node.child(path[d - 1])
            key = path[d]
            roots: tuple[Node, ...] = ()
            candidates = None
            while node is not None and (node.kind == UNION or node.kind == ROOT):
                if node.kind == ROOT:
                    roots += (node,)
                    node = node.root()
                else:
                    branch = node.branch(key)
                    if branch is None and type(key) is str:
                        candidates = node.objects()
                        if candidates is None:
                            node = None
                        break
                    node = branch
            if candidates is not None:  # several models may take this object: follow them all
                frame = _Frame(node, roots)  # type: ignore[arg-type]  # the union's own node
                frame.candidates = candidates
                frame.race = racing(node, candidates)  # type: ignore[arg-type]
                frame.seen = set()
                frames.append(frame)
                self._hold = d
                return _HELD
            if node is None or node.kind == WHOLE or not node.accepts(key):
                self._skip = d
                return _SKIPPED
            frame = _Frame(node, roots)
            frames.append(frame)
            if node.kind == TAGGED:
                self._hold = d
                return _HELD
            if node.kind != SET:  # a set appears once complete: duplicates would vanish from it
                if d == 0:
                    self._snap = frame.shown
                else:
                    frames[d - 1].place(path[d - 1], frame.shown)
            d += 1
        return self._plan.root if depth == 0 else frames[depth - 1].node.child(path[-1])

    def _held(self, event: Event, out: list[Event]) -> None:
        """An event inside a union's object whose branch is not known yet: keep it, or resolve the branch.

        A tagged union's branch is the one its tag names (or its callable returns,
        once no later key can change that).  A plain union's candidates
        are ruled out as keys and values arrive (a key a ``forbid`` model does not
        know, a value its field rejects); the last one standing is the branch.
        """
        hold: int = self._hold  # type: ignore[assignment]
        frames = self._frames
        frame = frames[hold]
        path = event.path
        held: list[Event] = frame.values
        branch: Node | None = None
        node = frame.node
        if node.kind == TAGGED:
            if type(event) is not StringDelta and len(path) == hold + 1:
                tag = _NOTHING
                if node.tag_call is not None:  # the callable, on the keys complete so far
                    frame.partial[path[-1]] = self._resolve(event.value)  # type: ignore[attr-defined]
                    tag = tag_of(node.tag_call, frame.partial)
                elif path[-1] in node.tag_keys:
                    tag = self._resolve(event.value)  # type: ignore[attr-defined]
                if tag is not _NOTHING and tag is not UNKNOWN:
                    branch = node.tagged(tag)
                    if branch is None or branch.kind not in OBJECTLIKE:
                        return self._give_up(hold)  # a tag no branch has, or a branch not streamed: pydantic decides
        else:
            key = path[hold]
            candidates = frame.candidates
            race = frame.race
            first = key != frame.key
            if first:  # the first event of the next key
                seen: set[Any] = frame.seen  # type: ignore[assignment]
                if key in seen:
                    return self._give_up(hold)  # a repeated key: pydantic decides
                seen.add(key)
                frame.key = key
                candidates = [c for c in candidates if c.kind == DICT or key in c.keys or c.extra != "forbid"]
            done = type(event) is not StringDelta and len(path) == hold + 1
            if done:
                raw = self._resolve(event.value)  # type: ignore[attr-defined]
                try:
                    candidates = [c for c in candidates if not _rejects(c, key, raw)]
                except _Undecided:
                    return self._give_up(hold)  # a candidate's own code raised: pydantic decides, on the whole object
                if race is not None and candidates:
                    race.complete(key, raw, candidates)
            frame.candidates = candidates
            if not candidates:
                return self._give_up(hold)  # no candidate is left: pydantic's errors
            if len(candidates) == 1:
                branch = candidates[0]
            elif race is not None and (done or (first and len(path) == hold + 1)):
                # a value completed, or a string value began: smart mode's choice may be certain now
                branch = race.winner(candidates, None if done else key)
        if branch is not None:
            self._hold = None
            del frames[hold:]
            new = _Frame(branch, frame.roots)
            new.seen = set()
            frames.append(new)
            if hold == 0:
                self._snap = new.shown
            else:
                frames[hold - 1].place(path[hold - 1], new.shown)
            held.append(event)
            self._run(held, out)
            return None
        if type(event) is StringDelta and held and type(held[-1]) is StringDelta and held[-1].path == path:
            held[-1] = _delta(path, held[-1].text + event.text)
            return None
        held.append(event)
        if len(held) > MAX_HELD_EVENTS:
            self._give_up(hold)
        return None

    def _give_up(self, hold: int) -> None:
        """Stop holding: the object is validated whole when it completes."""
        self._hold = None
        del self._frames[hold:]
        self._skip = hold

    def _run(self, events: list[Event], out: list[Event]) -> None:
        frames = self._frames
        for event in events:
            cls = type(event)
            # The commonest events first, where nothing is held or skipped and the frames are
            # open down to the event's parent: the first delta of a string, a scalar leaf of a
            # type pydantic gives back unchanged (see Node.exact).  The same as below, fewer steps.
            path = event.path
            depth = len(path)
            if depth and depth == len(frames) and self._hold is None and self._skip is None:
                top = frames[-1]
                if cls is StringDelta:
                    node = top.node.child(path[-1])
                    if node is not None and node.live:
                        out.append(event)
                        self._live = path  # (one tuple per string: its later deltas pass as they are)
                    continue
                if (cls is ValueCompleted or (cls is ItemCompleted and self.keep_items)) and top.seen is None:
                    owner = top.node
                    key = path[-1]
                    node = owner.child(key)
                    raw = event.value  # type: ignore[attr-defined]
                    if node is not None and _as_is(node.exact, raw) and depth <= _PYDANTIC_DEPTH:
                        self._live = None
                        if owner.full >= 0:  # a model's field (_Frame.put, inlined: most leaves)
                            field = owner.names[key]  # type: ignore[index]
                            top.fields[field] = raw  # type: ignore[index]
                            top.fields_set.add(field)  # type: ignore[union-attr]
                            top.open_key = None
                        else:
                            top.put(key, raw)
                        out.append(event)
                        continue
            if cls is StringDelta:
                node = self._enter(path)
                if type(node) is Node:
                    if node.live:
                        out.append(event)
                        self._live = path
                elif node is _HELD:
                    self._held(event, out)
                continue
            self._live = None
            if cls is Repair:  # lenient mode: passed on as is
                out.append(event)
                continue
            if cls is DocumentCompleted:
                if self._root_valid:
                    self.last = self._snap
                    out.append(DocumentCompleted(self._snap, event.index))  # type: ignore[attr-defined]
                self._root_valid = False
                del frames[:]
                self._skip = self._hold = None
                self._deep = False
                continue
            skip = self._skip
            if skip is not None and depth <= skip:
                self._skip = None
            node = self._enter(path)
            if node is _SKIPPED:
                continue
            if node is _HELD:
                self._held(event, out)
                continue
            if depth > _PYDANTIC_DEPTH:
                self._deep = True
            raw = event.value  # type: ignore[attr-defined]
            parent = frames[depth - 1] if depth else None
            if parent is not None and parent.seen is not None:
                if path[-1] in parent.seen:
                    parent.repeated = True
                parent.seen.add(path[-1])
            if node is None:  # a key the model does not know: pydantic decides at assembly (extra)
                parent.unknown(path[-1], self._resolve(raw))  # type: ignore[union-attr]
                continue
            error: ValidationError | None = None
            failed = False
            if len(frames) > depth and not (depth == 0 and self._deep):
                frame = frames[depth]
                del frames[depth:]
                if frame.node.kind == TAGGED or frame.node.kind == UNION or frame.repeated:
                    # the branch was never known, or a repeated key: pydantic decides
                    self._hold = None
                    value, error = _validate(node, self._resolve(raw), path)
                elif frame.invalid:
                    failed = True
                else:
                    try:
                        value = frame.complete()
                        for root in reversed(frame.roots):
                            value = root.wrap(value)
                    except ValidationError as exc:
                        error = exc
                    except Exception as exc:  # noqa: BLE001 - a model validator, a default factory
                        raise _Broken(path, exc) from exc
                    if error is not None and frame.node is not node:  # through a union or root model: its errors
                        value, error = _validate(node, self._resolve(raw), path)
            else:
                del frames[depth:]
                if _as_is(node.exact, raw):
                    value = raw  # as pydantic would give it back (see Node.exact): most leaves
                else:
                    value, error = _validate(node, self._resolve(raw), path)
            if error is None and not failed:
                if parent is None:
                    self._snap = value
                    self._root_valid = True
                elif not self.keep_items and cls is ItemCompleted and _droppable(parent.node) and _outermost(path):
                    parent.drop(path[-1])  # delivered by its event, not kept (as the core drops plain items)
                else:
                    parent.put(path[-1], value)
                # (a value validated to itself: the core's event says it already)
                out.append(event if value is raw else _completed(cls, path, value))  # type: ignore[arg-type]
                continue
            if parent is not None:
                if not self.keep_items and cls is ItemCompleted and _droppable(parent.node) and _outermost(path):
                    parent.drop(path[-1])  # reported by its ValueInvalid and dropped: the list does not fail
                else:
                    parent.fail(path[-1])
                if error is not None:
                    self._invalid(out, path, raw, error)
                continue
            # the root failed: validate the document once more for pydantic's exact errors
            self._root_valid = False
            value, error = _validate(node, self._resolve(raw), path)
            if error is not None:
                self._invalid(out, path, raw, error)
                continue
            # pydantic accepts it after all: a repeated key replaced the failing value
            self._snap = value
            self._root_valid = True
            out.append(_completed(cls, path, value))  # type: ignore[arg-type]

    def _invalid(self, out: list[Event], path: Path, raw: Any, error: ValidationError) -> None:
        raw = self._resolve(raw)
        errors = error.errors()
        if self.on_invalid == "raise":
            exc = SchemaError(
                f"{error.error_count()} validation error(s): {errors[0]['msg']}", path=format_path(path), errors=errors
            )
            exc.events = out
            self._raised = exc
            raise exc from error
        out.append(ValueInvalid(path, raw, errors, error))


def _as_is(exact: frozenset[type] | None, raw: Any) -> bool:
    """Whether pydantic gives the JSON value ``raw`` back unchanged where ``Node.exact`` is ``exact``.

    A string with a lone surrogate (its JSON parser refuses it) and a float that is not
    finite are its to decide.
    """
    cls = raw.__class__
    return (
        exact is not None
        and cls in exact
        and (cls is not str or raw.isascii())
        and (cls is not float or raw - raw == 0.0)
    )


def _droppable(node: Node) -> bool:
    """``keep_items=False``: whether a list may drop its validated items (its assembly does not read them).

    Not a tuple or a set, nor a list with a length constraint: validated empty, they would fail.
    """
    return node.kind == LIST and "min_length" not in node.container and "max_length" not in node.container


def _outermost(path: Path) -> bool:
    """Whether the item at ``path`` is one of an outermost array (the only index in ``path`` is its own)."""
    for key in path[:-1]:
        if type(key) is int:
            return False
    return True


def _rejects(candidate: Node, key: Any, raw: Any) -> bool:
    """Whether ``candidate`` fails on the complete value ``raw`` at ``key`` (so it cannot be the branch)."""
    child = candidate.child(key)
    if child is None:
        return False  # an extra key: ``forbid`` was checked when the key arrived
    try:
        child.validate(raw)
    except ValidationError:
        return True
    except Exception as exc:  # noqa: BLE001 - its own code raised: whether pydantic's smart mode gets there is its call
        raise _Undecided from exc
    return False


class _Undecided(Exception):
    """A union candidate's own code raised while the candidates were being ruled out."""


class _Broken(Exception):
    """The schema's own code raised ``error`` at ``path``: turned into a :class:`SchemaError` by ``transform``."""

    def __init__(self, path: Path, error: Exception) -> None:
        super().__init__(path, error)
        self.path = path
        self.error = error


def _validate(node: Node, raw: Any, path: Path) -> tuple[Any, ValidationError | None]:
    try:
        return node.validate(raw), None
    except ValidationError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - a validator, default factory or __post_init__ raised
        raise _Broken(path, exc) from exc
