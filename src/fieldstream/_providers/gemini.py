"""Google Gemini ``streamGenerateContent`` (``alt=sse`` or a JSON array) and Vertex.

Targets: ``candidates[i]`` (the non-thought ``parts[].text``, concatenated),
``candidates[i].thought`` (thought text) and ``candidates[i].function_calls[k]``.
A classic ``functionCall`` carries complete ``args``: they are re-encoded and
parsed like streamed JSON.  Gemini 3 ``streamFunctionCallArguments`` sends
``partialArgs`` fragments addressed by ``jsonPath`` instead; :class:`PathWriter`
turns them, in order, into JSON text, so the call's parser streams them like
any other.  A streamed call ends at an empty ``functionCall: {}``, at the next
call, at ``finishReason`` or at the end of the stream.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._stream_events import Source
from ._steps import Step, error_step

_STEP = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]""")
_CUT = frozenset({"MAX_TOKENS"})


def parse_json_path(text: str) -> tuple[str | int, ...]:
    """``$.a.b[0]['c d']`` -> ``("a", "b", 0, "c d")``."""
    steps: list[str | int] = []
    pos = 1 if text.startswith("$") else 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported jsonPath {text!r}")
        key, index, single, double = match.groups()
        steps.append(int(index) if index is not None else (key or single or double or ""))
        pos = match.end()
    return tuple(steps)


class PathWriter:
    """Writes JSON text for values given by path, in document order (Gemini ``partialArgs``).

    The root is an object.  Containers open as paths descend into them and close
    when a later path leaves them; a string stays open while fragments for the
    same path keep coming, so split strings join.
    """

    def __init__(self) -> None:
        self._open: list[str | int] = []  # path of the innermost open container
        self._closers: list[str] = []  # closing bracket of each open container, root first
        self._counts: list[int] = []  # members written in each open container
        self._string: tuple[str | int, ...] | None = None  # path of the open string

    def write(self, fragment: dict[str, Any]) -> str:
        path = parse_json_path(str(fragment.get("jsonPath", "$")))
        out: list[str] = []
        if not self._closers:
            out.append("{")
            self._closers.append("}")
            self._counts.append(0)
        if "stringValue" in fragment and self._string == path:
            out.append(json.dumps(str(fragment["stringValue"]), ensure_ascii=False)[1:-1])
            return "".join(out)
        if self._string is not None:
            out.append('"')
            self._string = None
        if not path:
            return "".join(out)
        parent = path[:-1]
        common = 0
        while common < len(self._open) and common < len(parent) and self._open[common] == parent[common]:
            common += 1
        while len(self._open) > common:
            self._open.pop()
            self._counts.pop()
            out.append(self._closers.pop())
        for depth in range(common, len(path)):
            self._member(path[depth], out)
            if depth < len(path) - 1:  # open the container that holds the next step
                opener = "[" if type(path[depth + 1]) is int else "{"
                out.append(opener)
                self._open.append(path[depth])
                self._closers.append("]" if opener == "[" else "}")
                self._counts.append(0)
        if "stringValue" in fragment:
            out.append('"' + json.dumps(str(fragment["stringValue"]), ensure_ascii=False)[1:-1])
            self._string = path
        else:
            value = next((fragment[k] for k in ("numberValue", "boolValue", "structValue", "listValue") if k in fragment), None)
            out.append(json.dumps(value, ensure_ascii=False))
        return "".join(out)

    def _member(self, step: str | int, out: list[str]) -> None:
        if self._counts[-1]:
            out.append(",")
        self._counts[-1] += 1
        if type(step) is not int:
            out.append(json.dumps(step, ensure_ascii=False) + ":")

    def close(self) -> str:
        """The text that closes everything still open (``{}`` if nothing was written)."""
        out = '"' if self._string is not None else ""
        self._string = None
        if not self._closers:
            return "{}"
        out += "".join(reversed(self._closers))
        self._closers, self._counts, self._open = [], [], []
        return out


class Gemini:
    format = "gemini"

    def __init__(self) -> None:
        self._calls: dict[int, int] = {}  # candidate -> calls so far
        self._streaming: dict[int, tuple[Source, PathWriter]] = {}  # candidate -> open streamed call

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        if "error" in payload:
            return [error_step(payload)]
        steps: list[Step] = []
        if payload.get("modelVersion") or payload.get("responseId"):
            steps.append(("meta", payload.get("modelVersion"), payload.get("responseId")))
        for position, candidate in enumerate(payload.get("candidates") or ()):
            index = candidate.get("index", position)
            for part in (candidate.get("content") or {}).get("parts") or ():
                self._part(index, part, steps)
            reason = candidate.get("finishReason")
            if reason:
                self._end_call(index, steps)
                scope = f"candidates[{index}]"
                steps += [("finish", scope, reason, reason in _CUT, scope), ("ended",)]
        if payload.get("usageMetadata"):
            steps.append(("usage", payload["usageMetadata"], False))
        feedback = payload.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            steps.append(("error", f"prompt blocked: {feedback['blockReason']}", feedback["blockReason"], "blocked", payload))
        return steps

    def _part(self, index: int, part: dict[str, Any], steps: list[Step]) -> None:
        text = part.get("text")
        if isinstance(text, str) and text:
            if part.get("thought"):
                steps.append(("text", Source(f"candidates[{index}].thought", "reasoning"), text))
            else:
                steps.append(("text", Source(f"candidates[{index}]", "content"), text))
        call = part.get("functionCall")
        if not isinstance(call, dict):
            return
        if call.get("name"):
            self._end_call(index, steps)
            number = self._calls.get(index, 0)
            self._calls[index] = number + 1
            source = Source(f"candidates[{index}].function_calls[{number}]", "tool_call", call.get("id"), call["name"])
            steps.append(("open", source))
            if call.get("willContinue") and "args" not in call:
                self._streaming[index] = (source, PathWriter())
            else:
                steps += [("text", source, json.dumps(call.get("args") or {}, ensure_ascii=False)), ("end", source)]
        streaming = self._streaming.get(index)
        if streaming is None:
            return
        source, writer = streaming
        for fragment in call.get("partialArgs") or ():
            text = writer.write(fragment)
            if text:
                steps.append(("text", source, text))
        if not call:  # the empty functionCall that ends a streamed call
            self._end_call(index, steps)

    def _end_call(self, index: int, steps: list[Step]) -> None:
        streaming = self._streaming.pop(index, None)
        if streaming is not None:
            source, writer = streaming
            steps += [("text", source, writer.close()), ("end", source)]

    def end(self) -> list[Step]:
        steps: list[Step] = []
        for index in list(self._streaming):
            self._end_call(index, steps)
        return steps
