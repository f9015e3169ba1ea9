"""OpenAI Chat Completions (and compatible: Groq, OpenRouter, DeepSeek, xAI, Mistral...).

Targets: ``choices[i]`` (content), ``choices[i].refusal``, ``choices[i].reasoning``
(``reasoning_content``/``reasoning``/``reasoning_details``), ``choices[i].tool_calls[j]``
(arguments, keyed by the delta's ``index``; id and name come with the first delta)
and ``choices[i].function_call`` (the legacy single call).  A choice's targets end
at its ``finish_reason``; ``length`` and ``content_filter`` cut them.  Errors come
as an ``event: error`` message or as a top-level ``"error"`` in a chunk.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .._stream_events import Source
from ._steps import ENDED, Finish, Meta, Open, Step, Text, Usage, error_step

_CUT = frozenset({"length", "content_filter"})
# The delta keys of a text-only chunk (see OpenAIChat.step).
_TEXT_KEYS = frozenset({"content", "reasoning_content", "reasoning", "role", "channel"})
# Members no step reads, whose values differ from chunk to chunk (see leaf).
_UNREAD = ("obfuscation",)
# A Text step made without the named tuple's Python-level __new__ (the hot path: one per chunk).
_new_text = tuple.__new__
# The scopes of the first choices, made once for every stream.
_SCOPES = tuple(f"choices[{i}]" for i in range(16))
# What a table of this state holds until its first entry: most streams never write to three of
# them, and an empty dict per table per open stream adds up.  Read-only: a write replaces it first.
_NONE: Any = MappingProxyType({})


class OpenAIChat:
    format = "openai-chat"

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}
        self._meta: tuple[Any, Any] = (None, None)  # the last model and id said
        self._model: Any = None  # the last model and id as sent
        self._id: Any = None
        self._content: dict[int, Source] = {}  # choice index -> its content target, once seen
        self._reasoning: dict[int, Source] = _NONE  # choice index -> its reasoning target, once seen
        self._open_calls: dict[str, dict[Any, Source]] = _NONE  # scope -> call index -> source, once seen
        self._call_sources: dict[int, dict[int, Source]] = _NONE  # the same for int indexes, by choice index

    def _source(self, path: str, kind: Any, id: Any = None, name: Any = None) -> Source:
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = Source(path, kind, id, name)
        return source

    def _content_source(self, index: Any, scope: str) -> Source:
        source = self._source(scope, "content")
        if type(index) is int:
            self._content[index] = source
        return source

    def step(self, payload: Any, event: str | None) -> list[Step]:
        steps: list[Step] = []
        if not isinstance(payload, dict):
            return steps
        model = payload.get("model")
        id = payload.get("id")
        if model != self._model or id != self._id:  # every chunk repeats them: say so once
            self._model, self._id = model, id
            meta = (model or None, id or None)
            if meta != self._meta and meta != (None, None):
                self._meta = meta
                steps.append(Meta(*meta))
        choices = payload.get("choices")
        # The commonest chunks, for targets already seen (the format's hot path, inline): text
        # only (``content`` and ``reasoning_content``/``reasoning`` as ``_choice`` reads them;
        # ``role`` and ``channel`` are not read) or one delta of tool-call arguments.  Subscripts
        # in a ``try`` cost less than ``get`` and a type check per level; every lookup comes
        # before the first append, so any shape that does not fit appends nothing here and
        # ``_choice`` reads it.
        done = False
        if choices.__class__ is list and len(choices) == 1:
            choice = choices[0]
            try:
                delta = choice["delta"]
                index = choice.get("index", 0)
                if delta.__class__ is dict and index.__class__ is int and not choice.get("finish_reason"):
                    if "tool_calls" in delta:
                        calls = delta["tool_calls"]
                        if len(delta) == 1 and calls.__class__ is list and len(calls) == 1:
                            call = calls[0]
                            number = call.get("index", 0)
                            arguments = call["function"]["arguments"]
                            # (a float 0.0 would find the int 0's target: another one)
                            if number.__class__ is int and arguments.__class__ is str:
                                source = self._call_sources[index][number]
                                if arguments:
                                    steps.append(_new_text(Text, (source, arguments)))
                                done = True
                    elif delta.keys() <= _TEXT_KEYS:
                        content = delta.get("content")
                        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                        if (content is None or content.__class__ is str) and (
                            reasoning is None or reasoning.__class__ is str
                        ):
                            if reasoning:
                                thinking = self._reasoning[index]
                                if content:
                                    source = self._content[index]
                                    steps.append(_new_text(Text, (thinking, reasoning)))
                                    steps.append(_new_text(Text, (source, content)))
                                else:
                                    steps.append(_new_text(Text, (thinking, reasoning)))
                            elif content:
                                steps.append(_new_text(Text, (self._content[index], content)))
                            done = True
            except (AttributeError, KeyError, TypeError):
                done = False
        if not done:
            for choice in choices or ():
                self._choice(choice, steps)
        if payload.get("usage"):
            steps.append(Usage(payload["usage"], False))
        if payload.get("error") or event == "error":
            steps.append(error_step(payload))
        return steps

    def leaf(self, payload: Any, event: str | None) -> tuple[Source, str, tuple[str, ...]] | None:
        """``(source, text, unread keys)`` when ``payload`` is a repeat (see ``_repeat``): its one step
        is ``Text(source, text)`` from one string leaf, for a target seen before, and ``step`` changes
        no state (model and id are the last ones); the same holds with that leaf holding any other
        non-empty string, and with any plain string as the unread ``obfuscation`` at the end."""
        if type(payload) is not dict or payload.get("usage") or payload.get("error") or event == "error":
            return None
        if payload.get("model") != self._model or payload.get("id") != self._id:
            return None
        choices = payload.get("choices")
        if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
            return None
        choice = choices[0]
        delta = choice.get("delta")
        index = choice.get("index", 0)
        if type(delta) is not dict or type(index) is not int or choice.get("finish_reason"):
            return None
        source: Source | None
        if "tool_calls" in delta:
            calls = delta["tool_calls"]
            if len(delta) != 1 or type(calls) is not list or len(calls) != 1 or type(calls[0]) is not dict:
                return None
            number = calls[0].get("index", 0)
            function = calls[0].get("function")
            text = function.get("arguments") if type(function) is dict else None
            source = self._call_sources.get(index, {}).get(number) if type(number) is int else None
        elif delta.keys() <= _TEXT_KEYS:
            content = delta.get("content")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if not (content is None or type(content) is str) or not (reasoning is None or type(reasoning) is str):
                return None
            if content and reasoning:
                return None  # two steps
            text = content or reasoning
            source = (self._content if content else self._reasoning).get(index)
        else:
            return None
        if source is None or type(text) is not str or not text:
            return None
        return source, text, _UNREAD

    def _choice(self, choice: dict[str, Any], steps: list[Step]) -> None:
        index = choice.get("index", 0)
        scope = _SCOPES[index] if type(index) is int and 0 <= index < len(_SCOPES) else f"choices[{index}]"
        delta = choice.get("delta") or {}
        if len(delta) == 1 and not choice.get("finish_reason"):  # the commonest chunks: one content delta ...
            content = delta.get("content")
            if type(content) is str:
                if content:
                    steps.append(Text(self._content_source(index, scope), content))
                return
            calls = delta.get("tool_calls")
            if type(calls) is list:  # ... or one delta of tool-call arguments
                call = calls[0] if len(calls) == 1 else None
                if type(call) is dict and type(call.get("index", 0)) is int:
                    source = self._open_calls.get(scope, {}).get(call.get("index", 0))
                    if source is not None:
                        arguments = (call.get("function") or {}).get("arguments")
                        if arguments:
                            steps.append(Text(source, arguments))
                        return
                self._calls(index, scope, calls, steps)
                return
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if not reasoning and delta.get("reasoning_details"):
            reasoning = "".join(d.get("text") or "" for d in delta["reasoning_details"] if isinstance(d, dict))
        content = delta.get("content")
        if isinstance(content, list):  # content parts (Mistral): text, and thinking as reasoning
            parts = [p for p in content if isinstance(p, dict)]
            thinking = [
                t.get("text") or "" for p in parts if p.get("type") == "thinking" for t in p.get("thinking") or ()
            ]
            reasoning = (reasoning or "") + "".join(t for t in thinking if isinstance(t, str))
            content = "".join(p.get("text") or "" for p in parts if p.get("type") == "text")
        if isinstance(reasoning, str) and reasoning:
            reasoning_source = self._source(scope + ".reasoning", "reasoning")
            if type(index) is int:
                if self._reasoning is _NONE:
                    self._reasoning = {}
                self._reasoning[index] = reasoning_source
            steps.append(Text(reasoning_source, reasoning))
        if content:
            steps.append(Text(self._content_source(index, scope), content))
        if delta.get("refusal"):
            steps.append(Text(self._source(scope + ".refusal", "refusal"), delta["refusal"]))
        self._calls(index, scope, delta.get("tool_calls") or (), steps)
        legacy = delta.get("function_call")
        if legacy:
            source = self._source(scope + ".function_call", "tool_call", None, legacy.get("name"))
            steps.append(Open(source))
            if legacy.get("arguments"):
                steps.append(Text(source, legacy["arguments"]))
        reason = choice.get("finish_reason")
        if reason:
            steps.append(Finish(scope, reason, reason in _CUT, scope))
            steps.append(ENDED)

    def _calls(self, index: Any, scope: str, calls: Any, steps: list[Step]) -> None:
        for call in calls:
            function = call.get("function") or {}
            path = f"{scope}.tool_calls[{call.get('index', 0)}]"
            source = self._sources.get(path)
            if source is None:  # its first delta opens the target (later "open" steps would change nothing)
                source = self._source(path, "tool_call", call.get("id"), function.get("name"))
                steps.append(Open(source))
                number = call.get("index", 0)
                if self._open_calls is _NONE:
                    self._open_calls = {}
                self._open_calls.setdefault(scope, {})[number] = source
                if type(index) is int and type(number) is int:
                    if self._call_sources is _NONE:
                        self._call_sources = {}
                    self._call_sources.setdefault(index, {})[number] = source
            if function.get("arguments"):
                steps.append(Text(source, function["arguments"]))

    def end(self) -> list[Step]:
        return []
