"""Stream events: what :class:`~fieldstream.StreamDecoder` says about a provider stream.

A provider stream carries several *targets* at once: a choice's content, each
tool call's arguments, each content block.  Every event names its target with a
:class:`Source`, whose text form (``choices[0].tool_calls[1]``) is stable.

    TargetStarted(source)                 a target appeared (its id and name, when known)
    TargetEvent(source, event)            a core JSON event of a JSON target (field, item, delta, invalid)
    TextDelta(source, text)               a text target grew by ``text``
    TargetCompleted(source, value, raw)   a target is complete: its JSON value or its whole text
    Fault                                 something went wrong; carries the last good snapshot and raw text
    ├── ErrorReceived                     the provider sent an error (event, chunk or HTTP error body)
    ├── Truncated                         a target was cut (``length``, ``max_tokens``, stream ended mid-JSON)
    ├── Refused                           the model refused (the refusal text)
    └── Malformed                         a target's JSON, or the wire format itself, is invalid
    StreamCompleted(...)                  the stream ended: usage, finish reasons, model, ids

Each target ends with exactly one :class:`TargetCompleted` or one target-level
:class:`Fault`; text already delivered by deltas is never taken back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._events import Event, _short

__all__ = [
    "ErrorReceived",
    "Fault",
    "Malformed",
    "Refused",
    "Source",
    "SourceKind",
    "StreamCompleted",
    "StreamEvent",
    "TargetCompleted",
    "TargetEvent",
    "TargetStarted",
    "TextDelta",
    "Truncated",
]

#: What a target holds: the answer, a refusal, reasoning text, or tool-call arguments.
SourceKind = Literal["content", "refusal", "reasoning", "tool_call"]


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """Names one target of a stream: ``path`` is its stable text form.

    Two sources are equal when their paths are; a source also equals (and hashes
    like) its path string, so ``decoder.targets["choices[0]"]`` works.  ``id`` and
    ``name`` are the tool call's id and function name, where the provider gives them.
    """

    path: str
    kind: SourceKind = "content"
    id: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        return self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Source):
            return self.path == other.path
        if isinstance(other, str):
            return self.path == other
        return NotImplemented

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("id", self.id), ("name", self.name)) if v is not None)
        return f"Source({self.path!r}, {self.kind}{extra})"

    def within(self, scope: str) -> bool:
        """Whether this source is ``scope`` or lies under it (``choices[0]`` holds ``choices[0].tool_calls[1]``)."""
        path = self.path
        return not scope or path == scope or (path.startswith(scope) and path[len(scope)] in ".[")


class StreamEvent:
    """Base class of every stream event; each has a ``source`` (``None`` for the whole stream)."""

    __slots__ = ()
    source: Source | None


@dataclass(frozen=True, slots=True, repr=False)
class TargetStarted(StreamEvent):
    """A new target appeared; ``source`` carries its kind, and the tool call's id and name."""

    source: Source

    def __repr__(self) -> str:
        return f"TargetStarted({self.source!r})"


@dataclass(frozen=True, slots=True, repr=False)
class TargetEvent(StreamEvent):
    """A core parser event (``ValueCompleted``, ``ItemCompleted``, ``StringDelta``, ``ValueInvalid``) of a JSON target."""

    source: Source
    event: Event

    def __repr__(self) -> str:
        return f"TargetEvent({self.source.path}, {self.event!r})"


@dataclass(frozen=True, slots=True, repr=False)
class TextDelta(StreamEvent):
    """A text target grew by ``text`` (never empty); joining the deltas gives the text."""

    source: Source
    text: str

    def __repr__(self) -> str:
        return f"TextDelta({self.source.path}, {_short(self.text)})"


@dataclass(frozen=True, slots=True, repr=False)
class TargetCompleted(StreamEvent):
    """A target is complete: ``value`` is its parsed JSON (or validated) value, or its text.

    ``raw`` is the text the provider sent for it; ``is_json`` says whether it was
    parsed as JSON.  A tool call whose arguments were empty (``""``) completes
    with ``{}``.
    """

    source: Source
    value: Any
    raw: str
    is_json: bool = True

    def __repr__(self) -> str:
        return f"TargetCompleted({self.source.path}, {_short(self.value)})"


@dataclass(frozen=True, slots=True, repr=False)
class Fault(StreamEvent):
    """Something went wrong.  ``source`` is the affected target (``None``: the whole stream).

    ``snapshot`` is the target's last good partial value (its text for a text
    target) and ``raw`` the text received for it; both ``None`` without a target.
    """

    source: Source | None
    message: str
    snapshot: Any = None
    raw: str | None = None

    def __repr__(self) -> str:
        where = self.source.path if self.source is not None else "stream"
        return f"{type(self).__name__}({where}, {_short(self.message)})"


@dataclass(frozen=True, slots=True, repr=False)
class ErrorReceived(Fault):
    """The provider reported an error: an error event or chunk, a failed response, an HTTP error body.

    ``code`` and ``error_type`` are the provider's, ``status_code`` the HTTP status
    when known, ``payload`` the decoded error object as sent.
    """

    code: Any = None
    error_type: str | None = None
    status_code: int | None = None
    payload: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, repr=False)
class Truncated(Fault):
    """A target was cut before it completed.

    ``reason`` is the provider's (``"length"``, ``"max_tokens"``,
    ``"max_output_tokens"``, ``"MAX_TOKENS"``), ``"eof"`` when the stream ended
    without its end marker, ``"error"`` after an error, or ``"incomplete"`` when
    the stream ended normally but the JSON did not.
    """

    reason: str = "eof"


@dataclass(frozen=True, slots=True, repr=False)
class Refused(Fault):
    """The model refused; ``message`` is the refusal text (also streamed as text deltas).

    A refusal given as a stop reason (Anthropic ``stop_reason: "refusal"``) is a
    stream fault (``source`` ``None``) whose ``details`` are the provider's
    (``stop_details``: category, explanation); targets still open are cut with
    :class:`Truncated` reason ``"refusal"``.
    """

    details: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, repr=False)
class Malformed(Fault):
    """A target's JSON is invalid (``error`` is the :class:`ParseError`), or the wire format is.

    The target takes no more events; its ``snapshot`` holds what parsed before.
    """

    error: Exception | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, repr=False)
class StreamCompleted(StreamEvent):
    """The stream ended (always the last event ``close()`` returns).

    ``usage`` is the provider's usage object (merged across chunks where the
    provider splits it), ``finish_reasons`` maps each scope (``choices[0]``,
    ``candidates[0]``, ``message``, ``response``) to its finish/stop reason,
    ``complete`` says whether the stream ended normally (the provider's end marker
    arrived; see :meth:`StreamDecoder.close`), ``values`` maps each completed target
    to its final value.  ``streamed`` is ``False`` when the body was one whole
    response (the request did not ask for a stream); it was decoded all the same.

    ``usage_estimate`` is set only when the stream did not complete (cut, failed or
    cancelled) or its usage says nothing of the output (the usage chunk never
    came): the output delivered, estimated from the text received
    (``{"output_tokens", "output_characters", "estimated": true, "method"}``), kept
    apart from ``usage``, which stays the provider's own (often missing or partial then).
    """

    usage: dict[str, Any] | None = None
    finish_reasons: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    response_id: str | None = None
    format: str | None = None
    complete: bool = False
    values: dict[str, Any] = field(default_factory=dict, compare=False)
    usage_estimate: dict[str, Any] | None = None
    streamed: bool = True
    source: None = field(default=None, init=False)

    def __repr__(self) -> str:
        return f"StreamCompleted(finish_reasons={self.finish_reasons!r}, usage={_short(self.usage)})"
