"""A whole response where a stream was expected: the request did not ask for one.

``stream: true`` forgotten, the provider answers with one JSON document: a
``chat.completion`` (OpenAI Chat), a ``response`` object (OpenAI Responses) or a
``message`` (Anthropic).  :func:`unstreamed` rewrites it as the stream payloads
that would have carried the same content, in order, so the decoder treats it as a
stream that arrived in one piece (and says so: ``StreamCompleted.streamed`` is
``False``).  Gemini's and Ollama's whole responses already have the shape of
their stream chunks and need no rewriting.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["unstreamed"]


def unstreamed(payload: Any, format: str | None) -> tuple[str, list[Any]] | None:
    """``(format, stream payloads)`` for a whole response, ``None`` for anything else."""
    if not isinstance(payload, dict):
        return None
    if format in (None, "openai-chat") and _is_chat_completion(payload):
        return "openai-chat", _chat(payload)
    if format in (None, "anthropic") and payload.get("type") == "message" and isinstance(payload.get("content"), list):
        return "anthropic", _anthropic(payload)
    if (
        format in (None, "openai-responses")
        and payload.get("object") == "response"
        and "type" not in payload
        and isinstance(payload.get("output"), list)
    ):
        return "openai-responses", _responses(payload)
    return None


def _is_chat_completion(payload: dict[str, Any]) -> bool:
    choices = payload.get("choices")
    if payload.get("object") == "chat.completion.chunk" or not isinstance(choices, list) or not choices:
        return False
    return payload.get("object") == "chat.completion" or all(
        isinstance(c, dict) and "message" in c and "delta" not in c for c in choices
    )


def _chat(payload: dict[str, Any]) -> list[Any]:
    choices = []
    for position, choice in enumerate(payload["choices"]):
        message = choice.get("message") or {}
        delta = {k: v for k, v in message.items() if k != "tool_calls"}
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            delta["tool_calls"] = [
                {**call, "index": index} if isinstance(call, dict) else call for index, call in enumerate(calls)
            ]
        choices.append({"index": choice.get("index", position), "delta": delta})
    chunk = {k: v for k, v in payload.items() if k not in ("choices", "usage", "object")}
    # Content first, then the finish reasons, then usage: the order a stream has.
    done = [
        {"index": c.get("index", i), "delta": {}, "finish_reason": c.get("finish_reason") or "stop"}
        for i, c in enumerate(payload["choices"])
    ]
    out: list[Any] = [{**chunk, "choices": choices}, {**chunk, "choices": done}]
    if payload.get("usage"):
        out.append({**chunk, "choices": [], "usage": payload["usage"]})
    return out


def _anthropic(payload: dict[str, Any]) -> list[Any]:
    message = {k: v for k, v in payload.items() if k not in ("content", "stop_reason", "stop_details")}
    out: list[Any] = [{"type": "message_start", "message": message}]
    for index, block in enumerate(payload["content"]):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            start, delta = {**block, "text": ""}, {"type": "text_delta", "text": block.get("text")}
        elif kind == "thinking":
            start, delta = {**block, "thinking": ""}, {"type": "thinking_delta", "thinking": block.get("thinking")}
        elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            start, delta = {**block, "input": {}}, {"type": "input_json_delta", "partial_json": arguments}
        else:
            start, delta = block, None
        out.append({"type": "content_block_start", "index": index, "content_block": start})
        if delta is not None:
            out.append({"type": "content_block_delta", "index": index, "delta": delta})
        out.append({"type": "content_block_stop", "index": index})
    stop = {"stop_reason": payload.get("stop_reason") or "end_turn"}
    if "stop_details" in payload:
        stop["stop_details"] = payload["stop_details"]
    out.append({"type": "message_delta", "delta": stop, "usage": payload.get("usage")})
    out.append({"type": "message_stop"})
    return out


_PARTS: dict[Any, tuple[str | None, str | None]] = {
    "output_text": ("output_text", "text"),
    "refusal": ("refusal", "refusal"),
}


def _responses(payload: dict[str, Any]) -> list[Any]:
    out: list[Any] = [{"type": "response.created", "response": {**payload, "output": []}}]
    for index, item in enumerate(payload["output"]):
        out.append({"type": "response.output_item.added", "output_index": index, "item": item})
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            for part_index, part in enumerate(item.get("content") or ()):
                name, field = _PARTS.get(part.get("type"), (None, None)) if isinstance(part, dict) else (None, None)
                if name is not None and field is not None:
                    out.append(
                        {
                            "type": f"response.{name}.done",
                            "output_index": index,
                            "content_index": part_index,
                            field: part.get(field),
                        }
                    )
        elif kind == "reasoning":
            for part_index, part in enumerate(item.get("summary") or ()):
                if isinstance(part, dict):
                    out.append(
                        {
                            "type": "response.reasoning_summary_text.done",
                            "output_index": index,
                            "summary_index": part_index,
                            "text": part.get("text"),
                        }
                    )
        elif kind in ("function_call", "mcp_call"):
            out.append(
                {"type": f"response.{kind}_arguments.done", "output_index": index, "arguments": item.get("arguments")}
            )
        elif kind == "custom_tool_call":
            out.append(
                {"type": "response.custom_tool_call_input.done", "output_index": index, "input": item.get("input")}
            )
        out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    status = payload.get("status")
    ends: dict[Any, str] = {"incomplete": "response.incomplete", "failed": "response.failed"}
    kind = ends.get(status, "response.completed")
    out.append({"type": kind, "response": payload})
    return out
