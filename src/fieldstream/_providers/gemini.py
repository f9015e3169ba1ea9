"""Google Gemini ``streamGenerateContent`` (``alt=sse`` or a JSON array) and Vertex.

Targets: ``candidates[i]`` (the non-thought ``parts[].text``, concatenated),
``candidates[i].thought`` (thought text) and ``candidates[i].function_calls[k]``.
A classic ``functionCall`` carries complete ``args``: they are re-encoded and
parsed like streamed JSON.  Gemini 3 ``streamFunctionCallArguments`` sends
``partialArgs`` fragments addressed by ``jsonPath`` instead; ``PathWriter``
turns them, in order, into JSON text, so the call's parser streams them like
any other.  A streamed call ends at an empty ``functionCall: {}``, at the next
call, at ``finishReason`` or at the end of the stream.
"""

from __future__ import annotations

import json
from typing import Any

from .._stream_events import Source
from ._jsonpath import PathWriter
from ._steps import ENDED, End, Error, Finish, Meta, Open, SourceCache, Step, Text, Usage, error_step

_CUT = frozenset({"MAX_TOKENS"})


class Gemini:
    format = "gemini"

    def __init__(self) -> None:
        self._calls: dict[int, int] = {}  # candidate -> calls so far
        self._texts = SourceCache()
        self._streaming: dict[int, tuple[Source, PathWriter]] = {}  # candidate -> open streamed call

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        if "error" in payload:
            return [error_step(payload)]
        steps: list[Step] = []
        if payload.get("modelVersion") or payload.get("responseId"):
            steps.append(Meta(payload.get("modelVersion"), payload.get("responseId")))
        for position, candidate in enumerate(payload.get("candidates") or ()):
            index = candidate.get("index", position)
            for part in (candidate.get("content") or {}).get("parts") or ():
                self._part(index, part, steps)
            reason = candidate.get("finishReason")
            if reason:
                self._end_call(index, steps)
                scope = f"candidates[{index}]"
                steps += [Finish(scope, reason, reason in _CUT, scope), ENDED]
        if payload.get("usageMetadata"):
            steps.append(Usage(payload["usageMetadata"], False))
        feedback = payload.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            steps.append(
                Error(f"prompt blocked: {feedback['blockReason']}", feedback["blockReason"], "blocked", payload)
            )
        return steps

    def _part(self, index: int, part: dict[str, Any], steps: list[Step]) -> None:
        text = part.get("text")
        if isinstance(text, str) and text:
            if part.get("thought"):
                steps.append(Text(self._texts.get_source(f"candidates[{index}].thought", "reasoning"), text))
            else:
                steps.append(Text(self._texts.get_source(f"candidates[{index}]", "content"), text))
        call = part.get("functionCall")
        if not isinstance(call, dict):
            return
        if call.get("name"):
            self._end_call(index, steps)
            number = self._calls.get(index, 0)
            self._calls[index] = number + 1
            source = Source(f"candidates[{index}].function_calls[{number}]", "tool_call", call.get("id"), call["name"])
            steps.append(Open(source))
            if call.get("willContinue") and "args" not in call:
                self._streaming[index] = (source, PathWriter())
            else:
                steps += [Text(source, json.dumps(call.get("args") or {}, ensure_ascii=False)), End(source)]
        streaming = self._streaming.get(index)
        if streaming is None:
            return
        source, writer = streaming
        for fragment in call.get("partialArgs") or ():
            text = writer.write(fragment)
            if text:
                steps.append(Text(source, text))
        if not call:  # the empty functionCall that ends a streamed call
            self._end_call(index, steps)

    def _end_call(self, index: int, steps: list[Step]) -> None:
        streaming = self._streaming.pop(index, None)
        if streaming is not None:
            source, writer = streaming
            steps += [Text(source, writer.close()), End(source)]

    def end(self) -> list[Step]:
        steps: list[Step] = []
        for index in list(self._streaming):
            self._end_call(index, steps)
        return steps
