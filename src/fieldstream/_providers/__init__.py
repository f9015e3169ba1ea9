"""One small module per wire format, and detection of the format from a payload.

Each provider class is pure: it turns one decoded payload into typed steps
(see :mod:`._steps`); the decoder (:mod:`fieldstream._stream`) applies them, and
the targets (:mod:`fieldstream._targets`) own the parsers and make the events.
Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from ._steps import ENDED, Close, End, Ended, Error, Finish, Meta, Open, Refusal, Step, Text, Usage, error_step
from ._unstreamed import unstreamed

__all__ = [
    "ENDED",
    "FORMATS",
    "FORMAT_CHOICES",
    "Close",
    "End",
    "Ended",
    "Error",
    "Finish",
    "Meta",
    "Open",
    "Refusal",
    "Step",
    "StreamFormat",
    "Text",
    "Usage",
    "detect",
    "error_step",
    "make_provider",
    "unstreamed",
]

# The one place the wire formats are named.  Adding one: its module (a class with
# step(payload, event) and end(), returning steps), a line in FORMATS, its detection
# below if it can be told from a payload, and its name in StreamFormat (a type checker
# needs the names written out; a test keeps the two equal).  StreamDecoder, its option
# check and the CLI's choices read these.  A new wire framing (bytes -> payloads) is
# fieldstream._framing's.  Optionally, ``leaf(payload, event)``: which payloads are one
# text leaf, so that the SSE envelopes repeating them are read without a parse (see
# fieldstream._repeat; OpenAI chat, Responses and Anthropic have one).

#: Format name -> "module:Class".
FORMATS = {
    "openai-chat": "openai_chat:OpenAIChat",
    "openai-responses": "openai_responses:OpenAIResponses",
    "anthropic": "anthropic:AnthropicMessages",
    "gemini": "gemini:Gemini",
    "ollama": "ollama:Ollama",
    "bedrock": "bedrock:Bedrock",
}
StreamFormat = Literal["auto", "openai-chat", "openai-responses", "anthropic", "gemini", "ollama", "bedrock"]
#: What ``format=`` accepts: ``"auto"`` (detected from the bytes) or a format name.
FORMAT_CHOICES: tuple[str, ...] = ("auto", *FORMATS)

_ANTHROPIC_TYPES = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    }
)

# A Bedrock ConverseStream event is a dict with one key, its type (exceptions end in "Exception").
_BEDROCK_TYPES = frozenset(
    {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
)


def make_provider(format: str) -> Any:
    cls = _classes.get(format)
    if cls is None:
        module, _, name = FORMATS[format].partition(":")
        cls = _classes[format] = getattr(importlib.import_module(f".{module}", __name__), name)
    return cls()


_classes: dict[str, Any] = {}  # format -> provider class, once imported


def detect(payload: Any, event: str | None) -> str | None:
    """The format a payload belongs to, or ``None`` when it does not tell (a ping, an error)."""
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if isinstance(kind, str):
        if kind in _ANTHROPIC_TYPES or event in _ANTHROPIC_TYPES:
            return "anthropic"
        if kind.startswith("response."):
            return "openai-responses"
    if "choices" in payload or payload.get("object") == "chat.completion.chunk":
        return "openai-chat"
    if "candidates" in payload or "usageMetadata" in payload or "promptFeedback" in payload:
        return "gemini"
    if "done" in payload and ("message" in payload or "response" in payload or "created_at" in payload):
        return "ollama"
    if len(payload) == 1:
        (kind,) = payload
        if kind in _BEDROCK_TYPES or (isinstance(kind, str) and kind.endswith("Exception")):
            return "bedrock"
    return None
