"""Replay the recorded provider streams: JSON payloads with their real token boundaries.

For every stream in ``tests/corpus/streams`` this extracts the text fragments
of each payload exactly as the provider sent them (OpenAI chat ``delta.content``
and ``tool_calls[].function.arguments``; Anthropic ``text_delta.text`` and
``input_json_delta.partial_json``; Responses ``output_text`` and
``function_call_arguments`` deltas; Gemini text parts; Ollama content) and keeps
the payloads whose joined text is a JSON object or array.  Each kept text is
checked against the assembled value in the stream's ``.expected.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CORPUS", "Payload", "payloads"]

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "streams"

Payload = tuple[str, list[str]]  # (name, fragments)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text("utf-8")
    if path.suffix == ".sse":
        lines = (line[5:].lstrip(" ") for line in text.replace("\r\n", "\n").split("\n") if line.startswith("data:"))
    else:
        lines = (line for line in text.splitlines() if line.strip())
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # [DONE] and other sentinels
            continue
        if isinstance(record, dict):
            yield record


def _fragments(fmt: str, path: Path) -> dict[tuple[Any, ...], list[str]]:
    groups: dict[tuple[Any, ...], list[str]] = {}
    message = -1
    for r in _records(path):
        if fmt == "openai_chat":
            for choice in r.get("choices") or []:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    groups.setdefault(("content", choice.get("index", 0)), []).append(delta["content"])
                for call in delta.get("tool_calls") or []:
                    args = (call.get("function") or {}).get("arguments")
                    if isinstance(args, str):
                        groups.setdefault(("tool", choice.get("index", 0), call.get("index", 0)), []).append(args)
        elif fmt == "anthropic":
            if r.get("type") == "message_start":
                message += 1
            elif r.get("type") == "content_block_delta":
                delta = r.get("delta") or {}
                text = delta.get("text") if delta.get("type") == "text_delta" else delta.get("partial_json")
                if isinstance(text, str):
                    groups.setdefault(("block", message, r.get("index")), []).append(text)
        elif fmt == "openai_responses":
            kind = r.get("type")
            if kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
                groups.setdefault((kind, r.get("item_id")), []).append(r.get("delta", ""))
        elif fmt == "gemini":
            for cand in r.get("candidates") or []:
                for part in (cand.get("content") or {}).get("parts") or []:
                    if isinstance(part.get("text"), str) and not part.get("thought"):
                        groups.setdefault(("text", cand.get("index", 0)), []).append(part["text"])
        elif fmt == "ollama":
            text = (r.get("message") or {}).get("content", r.get("response"))
            if isinstance(text, str):
                groups.setdefault(("content",), []).append(text)
    return groups


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def payloads(root: Path = CORPUS) -> list[Payload]:
    """Every JSON object/array payload in the corpus, with its real fragments, sorted by name."""
    found: list[Payload] = []
    for expected_path in sorted(root.glob("*/*.expected.json")):
        expected = json.loads(expected_path.read_text("utf-8"))
        if expected["format"] == "bedrock":  # binary or boto3-shaped bodies: the cases keep to the text formats
            continue
        stream = expected_path.with_name(expected["file"])
        assembled = set(_strings(expected["assembled"]))
        for fragments in _fragments(expected["format"], stream).values():
            text = "".join(fragments)
            try:
                value = json.loads(text)
            except ValueError:
                continue  # prose, truncated JSON, or empty arguments
            if not isinstance(value, (dict, list)) or text not in assembled:
                continue
            found.append((f"{stream.stem.split('.')[0]}#{len(found)}", fragments))
    return found
