"""Steps: what a provider module makes of one decoded payload.

A provider is a small pure class: ``step(payload, event)`` turns one payload
(the JSON of an SSE message or an NDJSON line; ``event`` is the SSE event name)
into a list of steps, and ``end()`` gives the steps owed at the end of input.
The decoder (:mod:`fieldstream._stream`) applies the steps to the stream's state
and to its targets (:mod:`fieldstream._targets`), so a provider never touches a
parser or an event.  Each step is a small immutable value, one class per kind of
change; the decoder dispatches on the class:

    Open(source)                            a target exists (before any text)
    Text(source, text)                      text for a target (opens it if new)
    End(source)                             the provider says the target is complete
    Close(prefix)                           end every open target under ``prefix``
    Finish(scope, reason, cut, prefix)      a finish reason for ``scope``; ends the open targets
                                            under ``prefix`` (cut: they are truncated)
    Usage(usage, merge)                     usage (merged into what came before, or replacing it)
    Meta(model, response_id)                model and response id (None: unknown)
    Error(message, code, kind, payload)     a provider error
    Refusal(prefix, message, details)       the model refused (a stop reason); cuts the open targets under prefix
    Ended()                                 the provider's end-of-stream marker arrived

Steps are named tuples: one is made per provider event, and a tuple is the
cheapest immutable value to make.  Fields a provider copies out of the payload
unchecked (a text, a usage, a reason) are typed ``Any``: a damaged payload may
put anything there, and the decoder checks what it relies on.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

from .._stream_events import Source

__all__ = [
    "ENDED",
    "Close",
    "End",
    "Ended",
    "Error",
    "Finish",
    "Meta",
    "Open",
    "Refusal",
    "SourceCache",
    "Step",
    "Text",
    "Usage",
    "error_step",
]


class Open(NamedTuple):
    """A target exists, before any of its text (a tool call's id and name are known)."""

    source: Source


class Text(NamedTuple):
    """Text for a target, opening it if it is new (``text`` is a ``str`` unless the payload was damaged)."""

    source: Source
    text: Any


class End(NamedTuple):
    """The provider says the target is complete."""

    source: Source


class Close(NamedTuple):
    """End every open target under ``prefix`` (an output item is done)."""

    prefix: str


class Finish(NamedTuple):
    """A finish reason for ``scope``; the open targets under ``prefix`` end (``cut``: as truncated)."""

    scope: str
    reason: Any
    cut: bool
    prefix: str


class Usage(NamedTuple):
    """Token usage, merged into what came before (``merge``) or replacing it."""

    usage: Any
    merge: bool


class Meta(NamedTuple):
    """The model and response id (``None`` where the payload does not say)."""

    model: Any
    response_id: Any


class Error(NamedTuple):
    """A provider error (an error event, an error chunk, an HTTP error body)."""

    message: str
    code: Any
    kind: Any
    payload: Any


class Refusal(NamedTuple):
    """The model refused (a stop reason); the open targets under ``prefix`` are cut."""

    prefix: str
    message: str
    details: Any


class Ended(NamedTuple):
    """The provider's end-of-stream marker arrived."""


#: The one ``Ended`` step (it has no fields).
ENDED = Ended()

Step = Union[Open, Text, End, Close, Finish, Usage, Meta, Error, Refusal, Ended]


class SourceCache(dict[tuple[str, str], Source]):
    """Sources of id-less targets by (path, kind), so a provider hands the same object each
    time (the decoder then finds the target of the step before by identity, not by hash)."""

    def get_source(self, path: str, kind: Any) -> Source:
        source = self.get((path, kind))
        if source is None:
            source = self[path, kind] = Source(path, kind)
        return source


def error_step(payload: Any) -> Error:
    """The error step for an error payload in any provider's shape.

    Shapes seen: ``{"error": {"message", "code", "type"}}`` (OpenAI, Groq,
    OpenRouter, Gemini), ``{"type": "error", "error": {"type", "message"}}``
    (Anthropic), ``{"type": "error", "code", "message"}`` (Responses),
    ``{"error": "text"}`` (Ollama).
    """
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        message = error.get("message") or error.get("code") or error.get("type") or "provider error"
        code = error.get("code", error.get("status"))
        kind = error.get("type")
        if kind == "error":  # a Responses error event names itself, not the error
            kind = None
        return Error(str(message), code, kind, payload)
    return Error(str(error), None, None, payload)
