"""Ollama native NDJSON: ``/api/chat`` and ``/api/generate``.

Targets: ``message`` (``message.content``), ``message.thinking``, and
``message.tool_calls[i]`` for ``/api/chat``; ``response`` and ``thinking`` for
``/api/generate``.  Tool-call arguments arrive as complete objects (never as
text); they are re-encoded and parsed like streamed ones, so a schema sees them
the same way.  The line with ``done: true`` carries ``done_reason`` and the
token counts and timings, which become the usage.
"""

from __future__ import annotations

import json
from typing import Any

from .._stream_events import Source
from ._steps import ENDED, End, Finish, Meta, Open, SourceCache, Step, Text, Usage, error_step

_USAGE_KEYS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)


class Ollama:
    format = "ollama"

    def __init__(self) -> None:
        self._calls = 0
        self._texts = SourceCache()
        self._scope = "message"

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        if "error" in payload:
            return [error_step(payload)]
        steps: list[Step] = [Meta(payload.get("model"), None)]
        message = payload.get("message")
        if isinstance(message, dict):
            if message.get("thinking"):
                steps.append(Text(self._texts.get_source("message.thinking", "reasoning"), message["thinking"]))
            if message.get("content"):
                steps.append(Text(self._texts.get_source("message", "content"), message["content"]))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                source = Source(f"message.tool_calls[{self._calls}]", "tool_call", call.get("id"), function.get("name"))
                self._calls += 1
                arguments = function.get("arguments")
                text = (
                    arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
                )
                steps += [Open(source), Text(source, text), End(source)]
        elif "response" in payload:
            self._scope = "response"
            if payload.get("thinking"):
                steps.append(Text(self._texts.get_source("thinking", "reasoning"), payload["thinking"]))
            if payload["response"]:
                steps.append(Text(self._texts.get_source("response", "content"), payload["response"]))
        if payload.get("done"):
            reason = payload.get("done_reason") or "stop"
            usage = {key: payload[key] for key in _USAGE_KEYS if key in payload}
            if usage:
                steps.append(Usage(usage, False))
            steps.append(Finish(self._scope, reason, reason == "length", ""))
            steps.append(ENDED)
        return steps

    def end(self) -> list[Step]:
        return []
