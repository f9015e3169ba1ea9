"""The hand-rolled end-to-end loop a careful engineer writes today, as shared parts.

Bytes -> an incremental UTF-8 decoder -> httpx-sse's line splitter and SSE
decoder (``SSELineDecoder``/``SSEDecoder``, what ``EventSource.iter_sse`` runs;
NDJSON bodies split at newlines) -> ``json.loads`` of each envelope -> the
provider's delta text, appended to a buffer per target -> a partial parse of
that buffer after every delta (``jiter.from_json(buffer, partial_mode=
"trailing-strings")``, or pydantic's partial validation).  A target is parsed as
JSON when it is tool-call arguments or its first non-blank character is ``{`` or
``[`` (fieldstream's ``content="auto"``); other text (prose, reasoning) is only
appended.  Per format, the extraction reads the fields fieldstream's provider
modules read for deltas, so both sides do the same work per event.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["Loop", "extract"]

Fragment = tuple[Any, str, bool]  # (target key, text, is tool-call arguments)


def _openai_chat(payload: Any, event: str | None, state: dict[str, Any]) -> list[Fragment]:
    out: list[Fragment] = []
    for choice in payload.get("choices") or ():
        index = choice.get("index", 0)
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out.append((("reasoning", index), reasoning, False))
        content = delta.get("content")
        if isinstance(content, str) and content:
            out.append((("content", index), content, False))
        for call in delta.get("tool_calls") or ():
            args = (call.get("function") or {}).get("arguments")
            if isinstance(args, str) and args:
                out.append((("tool", index, call.get("index", 0)), args, True))
    return out


def _anthropic(payload: Any, event: str | None, state: dict[str, Any]) -> list[Fragment]:
    kind = payload.get("type")
    if kind == "message_start":
        state["message"] = state.get("message", -1) + 1
    elif kind == "content_block_start":
        block = payload.get("content_block") or {}
        key = ("block", state.get("message", 0), payload.get("index"))
        state[key] = block.get("type") in ("tool_use", "server_tool_use", "mcp_tool_use")
        text = block.get("text") or block.get("thinking")
        if isinstance(text, str) and text:
            return [(key, text, False)]
    elif kind == "content_block_delta":
        key = ("block", state.get("message", 0), payload.get("index"))
        delta = payload.get("delta") or {}
        text = delta.get("text") or delta.get("partial_json") or delta.get("thinking")
        if isinstance(text, str) and text:
            return [(key, text, bool(state.get(key)))]
    return []


def _openai_responses(payload: Any, event: str | None, state: dict[str, Any]) -> list[Fragment]:
    kind = payload.get("type") or ""
    if kind.endswith(".delta") and isinstance(payload.get("delta"), str) and payload["delta"]:
        tool = "arguments" in kind or "input" in kind
        return [((payload.get("item_id"), payload.get("content_index", 0), kind), payload["delta"], tool)]
    return []


def _gemini(payload: Any, event: str | None, state: dict[str, Any]) -> list[Fragment]:
    out: list[Fragment] = []
    for cand in payload.get("candidates") or ():
        index = cand.get("index", 0)
        for part in (cand.get("content") or {}).get("parts") or ():
            text = part.get("text")
            if isinstance(text, str) and text:
                out.append((("thought" if part.get("thought") else "text", index), text, False))
            call = part.get("functionCall")
            if isinstance(call, dict) and "args" in call:
                state["calls"] = state.get("calls", 0) + 1
                out.append((("call", index, state["calls"]), json.dumps(call["args"]), True))
            elif isinstance(call, dict):
                _partial_args(call, index, state)
    return out


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _partial_args(call: dict[str, Any], index: Any, state: dict[str, Any]) -> None:
    """Gemini 3 ``partialArgs``: each fragment patched into the call's dict at its ``jsonPath``
    (``stringValue`` fragments for the same path append), as the corpus README assembles them."""
    if call.get("name"):
        state["calls"] = state.get("calls", 0) + 1
        state["open"] = {}
        state.setdefault("assembled", []).append(state["open"])
    target = state.get("open")
    if target is None:
        return
    for fragment in call.get("partialArgs") or ():
        steps = [int(i) if i else k for k, i in _STEP.findall(str(fragment.get("jsonPath", "$"))[1:])]
        if not steps:
            continue
        node: Any = target
        for step, after in zip(steps, steps[1:]):
            empty: Any = [] if type(after) is int else {}
            if type(step) is int:
                while len(node) <= step:
                    node.append(None)
                node[step] = node[step] if node[step] is not None else empty
                node = node[step]
            else:
                node = node.setdefault(step, empty)
        last = steps[-1]
        if "stringValue" in fragment:
            value = fragment["stringValue"]
            if state.get("string") == (id(target), tuple(steps)):
                value = _get(node, last) + value
            state["string"] = (id(target), tuple(steps))
        else:
            state["string"] = None
            value = next(
                (fragment[k] for k in ("numberValue", "boolValue", "structValue", "listValue") if k in fragment), None
            )
        if type(last) is int:
            while len(node) <= last:
                node.append(None)
        node[last] = value


def _get(node: Any, key: Any) -> Any:
    return node[key] if type(key) is int else node.get(key, "")


def _ollama(payload: Any, event: str | None, state: dict[str, Any]) -> list[Fragment]:
    out: list[Fragment] = []
    message = payload.get("message")
    if isinstance(message, dict):
        if message.get("thinking"):
            out.append((("thinking",), message["thinking"], False))
        if message.get("content"):
            out.append((("content",), message["content"], False))
        for call in message.get("tool_calls") or ():
            state["calls"] = state.get("calls", 0) + 1
            args = (call.get("function") or {}).get("arguments")
            out.append((("call", state["calls"]), args if isinstance(args, str) else json.dumps(args or {}), True))
    elif payload.get("response"):
        out.append((("response",), payload["response"], False))
    return out


#: Format name -> extraction of one decoded envelope.
extract: dict[str, Callable[[Any, str | None, dict[str, Any]], list[Fragment]]] = {
    "openai-chat": _openai_chat,
    "anthropic": _anthropic,
    "openai-responses": _openai_responses,
    "gemini": _gemini,
    "ollama": _ollama,
}


class Loop:
    """The loop, with ``parse(buffer)`` (the partial parse per delta) and ``final(buffer)`` plugged in."""

    def __init__(self, format: str, parse: Callable[[str], Any] | None, final: Callable[[str], Any] | None) -> None:
        from httpx_sse._decoders import SSEDecoder, SSELineDecoder

        self.text = codecs.getincrementaldecoder("utf-8")("replace")
        self.ndjson = format == "ollama"
        self.lines = SSELineDecoder()
        self.sse = SSEDecoder()
        self.extract = extract[format]
        self.parse = parse
        self.final = final
        self.state: dict[str, Any] = {}
        self.buffers: dict[Any, str] = {}
        self.json: dict[Any, bool] = {}  # key -> parsed as JSON (None while only blanks came)
        self.partials: dict[Any, Any] = {}
        self.pending = ""  # NDJSON: the unfinished line

    def feed(self, data: bytes) -> None:
        text = self.text.decode(data)
        if self.ndjson:
            text = self.pending + text
            lines = text.split("\n")
            self.pending = lines.pop()
            for line in lines:
                if line.strip():
                    self.payload(json.loads(line), None)
            return
        decode = self.sse.decode
        for line in self.lines.decode(text) if text else ():
            sse = decode(line)
            if sse is not None:
                self.event(sse.data, sse.event)

    def event(self, data: str, event: str | None) -> None:
        if data == "[DONE]":
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if isinstance(payload, dict):
            self.payload(payload, event)

    def payload(self, payload: Any, event: str | None) -> None:
        for key, text, tool in self.extract(payload, event, self.state):
            buffer = self.buffers[key] = self.buffers.get(key, "") + text
            is_json = self.json.get(key)
            if is_json is None:
                head = buffer.lstrip()
                if not head:
                    continue
                is_json = self.json[key] = tool or head[0] in "{["
            if is_json and self.parse is not None:
                try:
                    self.partials[key] = self.parse(buffer)
                except ValueError:
                    pass  # not parseable yet (or broken): keep the last partial value

    def finish(self) -> None:
        tail = self.text.decode(b"", True)
        if self.ndjson:
            if (self.pending + tail).strip():
                self.payload(json.loads(self.pending + tail), None)
        else:
            for line in [*self.lines.decode(tail), *self.lines.flush()] if tail else self.lines.flush():
                sse = self.sse.decode(line)
                if sse is not None:
                    self.event(sse.data, sse.event)
            sse = self.sse.decode("")
            if sse is not None:
                self.event(sse.data, sse.event)
        if self.final is None:
            return
        for key, is_json in self.json.items():
            if is_json:
                try:
                    self.partials[key] = self.final(self.buffers[key])
                except ValueError:
                    self.partials.pop(key, None)  # cut or invalid JSON: no final value

    def values(self) -> list[Any]:
        assembled = self.state.get("assembled", []) if self.final is not None else []  # Gemini partialArgs
        return [v for v in [*self.partials.values(), *assembled] if isinstance(v, (dict, list)) and v]
