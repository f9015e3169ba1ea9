"""Targets: the parser or text of each thing a provider stream carries, and their events.

Theory of operation
-------------------
The third layer of :class:`~fieldstream.StreamDecoder`.  Each step of a
provider addresses a target by :class:`Source` (a choice's content, a tool
call's arguments, a content block).  :class:`Targets` holds them by source and
turns their text into stream events:

- a JSON target owns a :class:`Parser` (with the stream's schema for content,
  the tool's type for a tool call) fed with the fragments as they come; its
  events go out wrapped in :class:`TargetEvent`;
- a text target passes them on as :class:`TextDelta`;
- with ``content="auto"`` a content target waits only for its first non-blank
  character: ``{`` or ``[`` makes it JSON.  Tool-call arguments are always JSON;
  ``""`` means ``{}``.

Every target ends once, with :class:`TargetCompleted` or a :class:`Fault`
carrying its last good snapshot (:meth:`Targets.end`, :meth:`Targets.cut`).  A
fault of a target's own JSON never raises: it is an event, and the target takes
no more text.  At most ``max_targets`` targets are kept; the first one refused
is reported once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._errors import FieldstreamError, LimitError, ParseError
from ._events import DocumentCompleted, ItemCompleted, ValueInvalid
from ._parser import Parser
from ._stream_events import (
    Fault,
    Malformed,
    Refused,
    Source,
    StreamEvent,
    TargetCompleted,
    TargetEvent,
    TargetStarted,
    TextDelta,
    Truncated,
)
from ._textbuf import TextBuffer

__all__ = ["Target", "Targets"]

_OPEN, _COMPLETED, _FAULTED = 0, 1, 2
_PENDING, _JSON, _TEXT = "pending", "json", "text"
_CONTENT_MODES = {"auto": _PENDING, "json": _JSON, "text": _TEXT}  # content= -> a content target's first mode
_ENDINGS = {
    "eof": "the stream ended",
    "error": "the stream failed",
    "cancelled": "the stream was cancelled",
    "incomplete": "the target ended",
}


class Target:
    """The live state of one target: read ``snapshot`` while it streams.

    ``snapshot`` is the partial JSON value (a live object, see ``Parser.snapshot``)
    or the text so far; ``raw`` the text received; ``value`` the final value once
    ``done``; ``fault`` the fault that ended it, if one did.

    The text is kept in a few pieces, not one string per delta (a
    :class:`TextBuffer`): about one byte per ASCII character in all.  A typed
    parser reads the same buffer (it needs the text only to parse a failed
    container again), so the text is held once.  With ``keep_items=False`` a JSON
    target keeps only the text since the last outermost array item completed, so
    its memory stays bounded by one item.
    """

    __slots__ = ("_buffer", "_state", "_value", "fault", "mode", "parser", "source")

    def __init__(self, source: Source, mode: str) -> None:
        self.source = source
        self.mode = mode  # "pending" (content="auto", nothing but blanks yet), "json" or "text"
        self.parser: Parser[Any] | None = None
        self.fault: Fault | None = None
        self._buffer = TextBuffer()
        self._state = _OPEN
        self._value: Any = None

    def _forget(self) -> None:
        self._buffer.clear()

    @property
    def raw(self) -> str:
        """All text the provider sent for this target (with ``keep_items=False``: since the last item)."""
        return self._buffer.text()

    @property
    def snapshot(self) -> Any:
        """The partial value (JSON target) or the text so far (text target)."""
        if self._state == _COMPLETED:
            return self._value
        if self.mode == _JSON:
            return self.parser.snapshot if self.parser is not None else None
        return self.raw

    @property
    def is_json(self) -> bool:
        return self.mode == _JSON

    @property
    def done(self) -> bool:
        """Whether the target completed (``value`` is final)."""
        return self._state == _COMPLETED

    @property
    def open(self) -> bool:
        return self._state == _OPEN

    @property
    def value(self) -> Any:
        """The final value (``None`` until ``done``)."""
        return self._value

    def __repr__(self) -> str:
        state = ("open", "done", "faulted")[self._state]
        return f"<Target {self.source.path} {self.mode} {state}>"


class Targets:
    """The targets of one stream by source (``table``), and what happens to them.

    ``faults`` is the stream's list of faults (shared with the decoder): a target's
    fault is appended there as well as to the events.
    """

    __slots__ = (
        "_keep_items",
        "_too_many",
        "content",
        "faults",
        "max_targets",
        "parser_options",
        "schema",
        "table",
        "tools",
    )

    def __init__(
        self,
        *,
        schema: Any,
        tools: Mapping[str, Any],
        content: str,
        parser_options: dict[str, Any],
        max_targets: int,
        faults: list[Fault],
    ) -> None:
        self.schema = schema
        self.tools = tools
        self.content = content
        self.parser_options = parser_options
        self.max_targets = max_targets
        self.faults = faults
        #: Every target seen so far, by source (a source equals its path string).
        self.table: dict[Source, Target] = {}
        self._keep_items = parser_options.get("keep_items", True)
        self._too_many = False  # max_targets was reached

    def start(self, source: Source, out: list[StreamEvent]) -> Target | None:
        """Open a target for ``source`` (``None`` when ``max_targets`` are open already)."""
        if len(self.table) >= self.max_targets:
            if not self._too_many:
                self._too_many = True
                message = f"more than max_targets={self.max_targets} targets; later ones are ignored"
                self.fault(Malformed(None, message, error=LimitError(message)), out)
            return None
        if not (
            (source.id is None or isinstance(source.id, str)) and (source.name is None or isinstance(source.name, str))
        ):
            kinds = f"id {type(source.id).__name__}, name {type(source.name).__name__}"
            self.fault(Malformed(None, f"{source.path}: a tool call's id and name must be strings ({kinds})"), out)
            source = Source(source.path, source.kind, _text_or_none(source.id), _text_or_none(source.name))
        if source.kind == "tool_call":
            mode = _JSON
        elif source.kind == "content":
            mode = _CONTENT_MODES[self.content]
        else:
            mode = _TEXT
        target = Target(source, mode)
        if mode == _JSON:
            target.parser = self._parser_for(target)
        self.table[source] = target
        started = _new(TargetStarted)  # TargetStarted(source), without the dataclass __init__
        _set_started_source(started, source)
        out.append(started)
        return target

    def _parser_for(self, target: Target) -> Parser[Any]:
        source = target.source
        schema = self.schema if source.kind == "content" else self.tools.get(source.name or "")
        parser: Parser[Any] = Parser(**self.parser_options) if schema is None else Parser(schema, **self.parser_options)
        if self._keep_items:  # one copy of the text: a typed parser reads the target's
            parser._share_text(target._buffer)
        return parser

    def text(self, target: Target, text: str, out: list[StreamEvent]) -> None:
        """``text`` arrived for ``target`` (kept in ``raw`` even after the target ended)."""
        if not text:
            return
        target._buffer.append(text)
        if target._state != _OPEN:
            return
        mode = target.mode
        if mode == _PENDING:
            if not text.strip():
                return
            mode = target.mode = _JSON if text.lstrip()[0] in "{[" else _TEXT
            text = target.raw
            if mode == _JSON:
                target.parser = self._parser_for(target)
        if mode == _TEXT:
            made = _new(TextDelta)  # _text_delta, inlined (a text target's every delta)
            _set_text_source(made, target.source)
            _set_text_text(made, text)
            out.append(made)
            return
        try:
            events = target.parser.feed(text)  # type: ignore[union-attr]
        except RecursionError:  # validating a value nested deeper than Python's stack allows
            self._malformed(target, _too_deep(), out)
            return
        except FieldstreamError as exc:
            # What the failing delta completed before the fault is delivered first.
            self._forward(target, getattr(exc, "events", None) or [], out)
            if target.open:
                self._malformed(target, exc, out)
            return
        if events:
            self._forward(target, events, out)

    def _forward(self, target: Target, events: list[Any], out: list[StreamEvent]) -> None:
        source = target.source
        append = out.append
        for event in events:
            cls = type(event)
            if cls is DocumentCompleted:
                target._state = _COMPLETED
                target._value = event.value
                append(_completed(source, event.value, target.raw, True))
                return  # anything after the document is kept in `raw` only
            if cls is ItemCompleted and not self._keep_items and _outermost(event.path):
                target._forget()  # keep_items=False: the text of the items before is not kept either
            made = _new(TargetEvent)  # _target_event, inlined
            _set_event_source(made, source)
            _set_event_event(made, event)
            append(made)
            if cls is ValueInvalid and not event.path:
                # The whole document failed its schema: the target ends here, with that error.
                first = event.errors[0].get("msg", "") if event.errors and isinstance(event.errors[0], dict) else ""
                message = f"the value does not match the schema ({len(event.errors)} error(s)): {first}"
                fault = Malformed(source, message, target.snapshot, target.raw, event.error)
                self.cut(target, fault, out)
                return

    def end_under(self, prefix: str, reason: str, cut: bool, out: list[StreamEvent]) -> None:
        """End every open target at or under ``prefix`` (``""``: all of them)."""
        for target in list(self.table.values()):
            if target.open and target.source.within(prefix):
                self.end(target, reason, cut, out)

    def end(self, target: Target, reason: str, cut: bool, out: list[StreamEvent]) -> None:
        """End an open target: it completes, or it faults with its last good snapshot."""
        source = target.source
        if target.mode == _JSON:
            parser = target.parser
            assert parser is not None
            if not target.raw.strip() and source.kind == "tool_call" and not cut:
                # A tool called without arguments streams "" (Anthropic) or nothing at all.
                parser._share_text(None)  # the "{}" is not the target's text
                try:
                    self._forward(target, parser.feed("{}") + parser.close(), out)
                except FieldstreamError as exc:
                    self._malformed(target, exc, out)
                return
            try:
                events = parser.close()
            except RecursionError:
                self._malformed(target, _too_deep(), out)
                return
            except ParseError as exc:
                self._forward(target, exc.events, out)
                if target.open:
                    message = _ENDINGS.get(reason, f"the target was cut ({reason})") + " before its JSON was complete"
                    self.cut(target, Truncated(source, message, None, None, reason), out)
                return
            except FieldstreamError as exc:
                self._malformed(target, exc, out)
                return
            self._forward(target, events, out)
            if target.open:  # the parser ended without a document it could deliver
                self.cut(target, Malformed(source, "the target ended without a complete value"), out)
            return
        text = target.raw
        if target.mode == _PENDING:  # nothing but blanks came: that is the text
            target.mode = _TEXT
            if text:
                out.append(TextDelta(source, text))
        if cut:
            self.cut(target, Truncated(source, f"the text was cut ({reason})", text, text, reason), out)
        elif source.kind == "refusal":
            self.cut(target, Refused(source, text, text, text), out)
        else:
            target._state = _COMPLETED
            target._value = text
            out.append(_completed(source, text, text, False))

    def cut(self, target: Target, fault: Fault, out: list[StreamEvent]) -> None:
        """End ``target`` with ``fault`` (given its snapshot and raw text, if it has none)."""
        if fault.snapshot is None and target.mode == _JSON:
            fault = dataclasses.replace(fault, snapshot=target.snapshot, raw=target.raw)
        target._state = _FAULTED
        target.fault = fault
        self.fault(fault, out)

    def _malformed(self, target: Target, exc: FieldstreamError, out: list[StreamEvent]) -> None:
        snapshot = target.parser.snapshot if target.parser is not None else None
        self.cut(target, Malformed(target.source, str(exc), snapshot, target.raw, exc), out)

    def fault(self, fault: Fault, out: list[StreamEvent]) -> None:
        self.faults.append(fault)
        out.append(fault)


def _too_deep() -> LimitError:
    return LimitError("a value nested deeper than Python's recursion limit allows to validate")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _outermost(path: tuple[Any, ...]) -> bool:
    """Whether an item at ``path`` lies in an outermost array (one not inside another array)."""
    arrays = 0
    for key in path:
        if type(key) is int:
            arrays += 1
    return arrays == 1


# Hot-path events built without the frozen dataclass __init__ (see _parser.py): a new
# instance, then the slot descriptors set its fields.
_new: Any = object.__new__
_set_started_source: Any = vars(TargetStarted)["source"].__set__
_set_event_source: Any = vars(TargetEvent)["source"].__set__
_set_event_event: Any = vars(TargetEvent)["event"].__set__
_set_completed: tuple[Any, ...] = tuple(
    vars(TargetCompleted)[name].__set__ for name in ("source", "value", "raw", "is_json")
)
_set_text_source: Any = vars(TextDelta)["source"].__set__
_set_text_text: Any = vars(TextDelta)["text"].__set__


def _text_delta(source: Source, text: str) -> TextDelta:
    made: TextDelta = _new(TextDelta)
    _set_text_source(made, source)
    _set_text_text(made, text)
    return made


def _completed(source: Source, value: Any, raw: str, is_json: bool) -> TargetCompleted:
    made: TargetCompleted = _new(TargetCompleted)
    set_source, set_value, set_raw, set_is_json = _set_completed
    set_source(made, source)
    set_value(made, value)
    set_raw(made, raw)
    set_is_json(made, is_json)
    return made
