"""OpenAI Responses (and compatible endpoints: DeepSeek, Bedrock, OpenRouter).

Targets follow the response's ``output`` list: ``output[i].content[j]`` for
``output_text`` (content) and ``refusal`` parts of a message item,
``output[i].summary[j]`` and ``output[i].content[j]`` for reasoning text, and
``output[i]`` for ``function_call``/``mcp_call``/``custom_tool_call`` arguments
(name and call id from ``response.output_item.added``).  Each ``*.done`` event
ends its target; when no delta came before it, its full value is used.  The
stream ends with ``response.completed``, ``response.incomplete`` (its reason,
e.g. ``max_output_tokens``, cuts what is open) or ``response.failed``.  A body
holding several responses one after another (a recorded agent loop) names the
targets of the second and later ones ``responses[n].output[i]...``, and their
finish reasons ``responses[n]``.
"""

from __future__ import annotations

from typing import Any

from .._stream_events import Source
from ._steps import ENDED, Close, End, Finish, Meta, Open, SourceCache, Step, Text, Usage, error_step

_CALLS = frozenset({"function_call", "mcp_call", "custom_tool_call"})
# delta event suffix -> (kind, sub-list name or None for the item itself, field holding the full value in .done)
_TEXTS = {
    "output_text": ("content", "content", "text"),
    "refusal": ("refusal", "content", "refusal"),
    "reasoning_text": ("reasoning", "content", "text"),
    "reasoning_summary_text": ("reasoning", "summary", "text"),
    "function_call_arguments": ("tool_call", None, "arguments"),
    "mcp_call_arguments": ("tool_call", None, "arguments"),
    "custom_tool_call_input": ("tool_call", None, "input"),
}
# The events above by their full type, so the hot path (one per delta) splits no name.
_TEXT_EVENTS = {f"response.{name}.{phase}": (name, phase) for name in _TEXTS for phase in ("delta", "done")}
# Members no step reads, whose values differ from event to event (see leaf).
_UNREAD = ("obfuscation", "sequence_number")
# A Text step made without the named tuple's Python-level __new__.
_new_text = tuple.__new__


class OpenAIResponses:
    format = "openai-responses"

    def __init__(self) -> None:
        self._items: dict[Any, int] = {}  # item_id -> output_index
        self._texts = SourceCache()
        self._calls: dict[int, Source] = {}
        self._seen: set[str] = set()  # targets that received a delta
        self._errored = False
        self._responses = 0  # responses finished so far
        self._prefix = ""  # "" for the first response, "responses[n]." after

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        kind = payload.get("type") or event or ""
        if kind.__class__ is str:
            text = _TEXT_EVENTS.get(kind)
            if text is not None:
                return self._text(payload, *text)
        if kind.endswith((".delta", ".done")):
            name, _, phase = kind[len("response.") :].rpartition(".")
            if name in _TEXTS:
                return self._text(payload, name, phase)
        if kind == "response.output_item.added":
            return self._added(payload)
        if kind == "response.output_item.done":
            index = self._index(payload)
            return [Close(f"{self._prefix}output[{index}]")] if index is not None else []
        if kind in ("response.created", "response.in_progress"):
            if self._responses and kind == "response.created":
                self._prefix = f"responses[{self._responses}]."
                self._items, self._calls, self._seen = {}, {}, set()
            response = payload.get("response") or {}
            return [Meta(response.get("model"), response.get("id"))]
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return self._finished(kind, payload.get("response") or {})
        if kind == "error" or "error" in payload:
            self._errored = True
            return [error_step(payload)]
        return []

    def _index(self, payload: dict[str, Any]) -> Any:
        index = payload.get("output_index")
        return index if index is not None else self._items.get(payload.get("item_id"))

    def _added(self, payload: dict[str, Any]) -> list[Step]:
        item = payload.get("item") or {}
        index = payload.get("output_index", len(self._items))
        self._items[item.get("id")] = index
        if item.get("type") not in _CALLS:
            return []
        source = self._calls[index] = Source(
            f"{self._prefix}output[{index}]", "tool_call", item.get("call_id") or item.get("id"), item.get("name")
        )
        return [Open(source)]

    def _text(self, payload: dict[str, Any], name: str, phase: str) -> list[Step]:
        kind, sub, field = _TEXTS[name]
        index = self._index(payload)
        if sub is None:
            source = self._calls.get(index) or Source(f"{self._prefix}output[{index}]", "tool_call")
        else:
            part = payload.get("summary_index" if sub == "summary" else "content_index", 0)
            source = self._texts.get_source(f"{self._prefix}output[{index}].{sub}[{part}]", kind)
        if phase == "delta":
            self._seen.add(source.path)
            return [_new_text(Text, (source, payload["delta"]))] if payload.get("delta") else []
        full = payload.get(field)
        if source.path not in self._seen and isinstance(full, str) and full:
            return [Text(source, full), End(source)]
        return [Open(source), End(source)] if kind == "tool_call" else [End(source)]

    def leaf(self, payload: Any, event: str | None) -> tuple[Source, str, tuple[str, ...]] | None:
        """``(source, text, unread keys)`` when ``payload`` is a repeat (see ``_repeat``): a delta of
        a target that had one before, whose one step is ``Text(source, text)`` from its ``delta``
        string, and that changes no state (with any other non-empty ``delta``, any number as its
        ``sequence_number`` and any plain string as its ``obfuscation``, too)."""
        if type(payload) is not dict:
            return None
        kind = payload.get("type") or event or ""
        found = _TEXT_EVENTS.get(kind) if type(kind) is str else None
        delta = payload.get("delta")
        if found is None or found[1] != "delta" or type(delta) is not str or not delta:
            return None
        what, sub, _ = _TEXTS[found[0]]
        try:
            index = self._index(payload)
            if sub is None:
                source = self._calls.get(index)
            else:
                part = payload.get("summary_index" if sub == "summary" else "content_index", 0)
                source = self._texts.get((f"{self._prefix}output[{index}].{sub}[{part}]", what))
        except TypeError:  # an unhashable index
            return None
        if source is None or source.path not in self._seen:
            return None
        return source, delta, _UNREAD

    def _finished(self, kind: str, response: dict[str, Any]) -> list[Step]:
        steps: list[Step] = [Meta(response.get("model"), response.get("id"))]
        scope = f"responses[{self._responses}]" if self._responses else "response"
        prefix = self._prefix.rstrip(".")
        self._responses += 1
        if response.get("usage"):
            steps.append(Usage(response["usage"], False))
        if kind == "response.incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason") or "incomplete"
            steps.append(Finish(scope, reason, True, prefix))
        else:
            steps.append(Finish(scope, response.get("status") or kind[len("response.") :], False, prefix))
        if kind == "response.failed" and not self._errored:
            steps.append(error_step(response if response.get("error") else {"error": "response failed"}))
        steps.append(ENDED)
        return steps

    def end(self) -> list[Step]:
        return []
