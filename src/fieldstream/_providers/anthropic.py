"""Anthropic Messages.

Targets are content blocks, ``content[i]`` by block ``index``: ``text`` blocks
(content; native structured output streams JSON as text), ``thinking`` blocks
(reasoning) and ``tool_use``/``server_tool_use``/``mcp_tool_use`` blocks, whose
``input_json_delta.partial_json`` fragments are the tool's JSON arguments (the
``input: {}`` of ``content_block_start`` is a placeholder, and ``""`` alone means
``{}``).  A block ends at ``content_block_stop``; a ``max_tokens`` stop cuts the
blocks still open; a ``refusal`` stop is a :class:`Refused` fault carrying
``stop_details``.  Usage comes in ``message_start`` and ``message_delta`` and is
merged; ``ping`` is ignored.
"""

from __future__ import annotations

from typing import Any

from .._stream_events import Source
from ._steps import ENDED, End, Finish, Meta, Open, Refusal, Step, Text, Usage, error_step

_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_CUT = frozenset({"max_tokens", "model_context_window_exceeded"})
# A Text step made without the named tuple's Python-level __new__ (the hot path: one per delta).
_new_text = tuple.__new__


class AnthropicMessages:
    format = "anthropic"

    def __init__(self) -> None:
        self._blocks: dict[Any, Source] = {}

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        kind = payload.get("type") or event
        if kind == "content_block_delta":
            source = self._blocks.get(payload.get("index"))
            delta = payload.get("delta") or {}
            text = delta.get("text") or delta.get("partial_json") or delta.get("thinking")
            if source is None or not isinstance(text, str):
                return []  # signature_delta, citations_delta, a block we do not track
            return [_new_text(Text, (source, text))]
        if kind == "content_block_start":
            return self._start(payload.get("index"), payload.get("content_block") or {})
        if kind == "content_block_stop":
            source = self._blocks.get(payload.get("index"))
            return [End(source)] if source is not None else []
        if kind == "message_start":
            message = payload.get("message") or {}
            steps: list[Step] = [Meta(message.get("model"), message.get("id"))]
            if message.get("usage"):
                steps.append(Usage(message["usage"], True))
            return steps
        if kind == "message_delta":
            steps = []
            if payload.get("usage"):
                steps.append(Usage(payload["usage"], True))
            delta = payload.get("delta") or {}
            reason = delta.get("stop_reason")
            if reason == "refusal":  # a refusal is a stop reason here, with the details beside it
                details = delta.get("stop_details")
                said = details.get("explanation") if isinstance(details, dict) else None
                message = said if isinstance(said, str) and said else "the model refused (stop_reason: refusal)"
                steps.append(Refusal("content", message, details))
            if reason:
                steps.append(Finish("message", reason, isinstance(reason, str) and reason in _CUT, "content"))
            return steps
        if kind == "message_stop":
            return [ENDED]
        if kind == "error" or "error" in payload:
            return [error_step(payload)]
        return []  # ping and event types added later

    def leaf(self, payload: Any, event: str | None) -> tuple[Source, str, tuple[str, ...]] | None:
        """``(source, text, ())`` when ``payload`` is a repeat (see ``_repeat``): a delta of a block
        seen before, whose one step is ``Text(source, text)`` from one string leaf (with that leaf
        holding any other non-empty string, too); deltas change no state."""
        if type(payload) is not dict or (payload.get("type") or event) != "content_block_delta":
            return None
        index = payload.get("index")
        delta = payload.get("delta")
        if type(index) is not int or type(delta) is not dict:
            return None
        source = self._blocks.get(index)
        text = delta.get("text") or delta.get("partial_json") or delta.get("thinking")
        if source is None or type(text) is not str:
            return None
        return source, text, ()

    def _start(self, index: Any, block: dict[str, Any]) -> list[Step]:
        kind = block.get("type")
        path = f"content[{index}]"
        if kind == "text":
            source = Source(path, "content")
            text = block.get("text")
        elif kind in _TOOL_BLOCKS:
            source = Source(path, "tool_call", block.get("id"), block.get("name"))
            text = None  # `input` is a placeholder; the JSON streams as deltas
        elif kind == "thinking":
            source = Source(path, "reasoning")
            text = block.get("thinking")
        else:
            return []  # tool results, redacted thinking: complete values, not streamed targets
        self._blocks[index] = source
        steps: list[Step] = [Open(source)]
        if text:
            steps.append(Text(source, text))
        return steps

    def end(self) -> list[Step]:
        return []
