"""Steps: what a provider module makes of one decoded payload.

A provider is a small pure class: ``step(payload, event)`` turns one payload
(the JSON of an SSE message or an NDJSON line; ``event`` is the SSE event name)
into a list of steps, and ``end()`` gives the steps owed at the end of input.
The shared machinery in :mod:`fieldstream._stream` turns steps into events, so
a provider never touches a parser.  Steps are plain tuples, tagged first:

    ("open", source)                        a target exists (before any text)
    ("text", source, text)                  text for a target (opens it if new)
    ("end", source)                         the provider says the target is complete
    ("close", prefix)                       end every open target under ``prefix``
    ("finish", scope, reason, cut, prefix)  a finish reason for ``scope``; ends the open targets
                                            under ``prefix`` (cut: they are truncated)
    ("usage", dict, merge)                  usage (merged into what came before, or replacing it)
    ("meta", model, response_id)            model and response id (None: unknown)
    ("error", message, code, type, payload) a provider error
    ("refusal", prefix, message, details)   the model refused (a stop reason); cuts the open targets under prefix
    ("ended",)                              the provider's end-of-stream marker arrived
"""

from __future__ import annotations

from typing import Any

from .._stream_events import Source

Step = tuple[Any, ...]

__all__ = ["SourceCache", "Step", "error_step"]


class SourceCache(dict[tuple[str, str], Source]):
    """Sources of id-less targets by (path, kind), so a provider hands the same object each
    time (the decoder then finds the target of the step before by identity, not by hash)."""

    def get_source(self, path: str, kind: Any) -> Source:
        source = self.get((path, kind))
        if source is None:
            source = self[path, kind] = Source(path, kind)
        return source


def error_step(payload: Any) -> Step:
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
        return ("error", str(message), code, kind, payload)
    return ("error", str(error), None, None, payload)
