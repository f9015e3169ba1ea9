"""AWS Bedrock ``ConverseStream`` (over boto3's ``converse_stream()`` or plain HTTP).

A payload here is one event as boto3 gives it: a dict with one key, the event
type (``{"contentBlockDelta": {...}}``); the event-stream framing of
:mod:`fieldstream._eventstream` builds the same shape from each binary message.
Targets are content blocks, ``content[i]`` by ``contentBlockIndex``: ``text``
deltas (content; native structured output streams JSON as text),
``reasoningContent.text`` deltas (reasoning) and ``toolUse`` blocks, named by
``contentBlockStart`` (``toolUseId``, ``name``), whose ``toolUse.input`` string
fragments are the tool's JSON input (none, or ``""``, means ``{}``).  A block
ends at ``contentBlockStop``; ``messageStop`` gives the ``stopReason`` (a
``max_tokens`` stop cuts the blocks still open) and marks the end; ``metadata``
(which follows it) gives the usage.  Exception events (``throttlingException``,
``validationException``, ``modelStreamErrorException``, ...) are provider
errors.  Tool results, redacted reasoning, signatures and citations are complete
values, not streamed targets: they are left alone, as is the ``p`` padding field.

:func:`structured_output_request` builds the request side of structured output,
and :func:`build_request` a whole ConverseStream request in the shape of the
other providers' request builders.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from .._errors import UsageError
from .._stream_events import Source
from ._steps import ENDED, End, Error, Finish, Open, Step, Text, Usage, error_step

__all__ = ["Bedrock", "build_request", "structured_output_request"]

_CUT = frozenset({"max_tokens", "model_context_window_exceeded"})


class Bedrock:
    format = "bedrock"

    def __init__(self) -> None:
        self._blocks: dict[Any, Source] = {}

    def step(self, payload: Any, event: str | None) -> list[Step]:
        if not isinstance(payload, dict):
            return []
        if "error" in payload:  # an event-stream error message
            return [error_step(payload)]
        steps: list[Step] = []
        for kind, body in payload.items():
            if not isinstance(body, dict):
                continue
            if kind == "contentBlockDelta":
                steps += self._delta(body.get("contentBlockIndex"), body.get("delta") or {})
            elif kind == "contentBlockStart":
                steps += self._start(body.get("contentBlockIndex"), body.get("start") or {})
            elif kind == "contentBlockStop":
                source = self._blocks.get(body.get("contentBlockIndex"))
                if source is not None:
                    steps.append(End(source))
            elif kind == "messageStop":
                reason = body.get("stopReason")
                if reason:
                    steps.append(Finish("message", reason, reason in _CUT, "content"))
                steps.append(ENDED)
            elif kind == "metadata":
                if isinstance(body.get("usage"), dict):
                    steps.append(Usage(body["usage"], True))
            elif kind.endswith("Exception"):
                message = body.get("message") or body.get("originalMessage") or kind
                steps.append(Error(str(message), body.get("originalStatusCode"), kind, payload))
        return steps  # messageStart (the role only) and event types added later: nothing

    def _start(self, index: Any, start: dict[str, Any]) -> list[Step]:
        tool = start.get("toolUse")
        if not isinstance(tool, dict):
            return []  # a tool result (server-side tools) or an empty start: not a streamed target
        source = self._blocks[index] = Source(f"content[{index}]", "tool_call", tool.get("toolUseId"), tool.get("name"))
        return [Open(source)]

    def _delta(self, index: Any, delta: dict[str, Any]) -> list[Step]:
        source = self._blocks.get(index)
        if "text" in delta:
            kind, text = "content", delta["text"]
        elif isinstance(delta.get("reasoningContent"), dict):
            kind, text = "reasoning", delta["reasoningContent"].get("text")
            if text is None:
                return []  # a signature or redacted content
        elif isinstance(delta.get("toolUse"), dict):
            kind, text = "tool_call", delta["toolUse"].get("input")
            if source is None:  # input without its contentBlockStart: a call with no name
                source = self._blocks[index] = Source(f"content[{index}]", "tool_call")
                return [Open(source), Text(source, text)] if text else [Open(source)]
        else:
            return []  # citations, tool results, images
        if source is None:
            if not text:
                return []  # an empty first delta does not make a block
            source = self._blocks[index] = Source(f"content[{index}]", kind)  # type: ignore[arg-type]
        return [Text(source, text)] if text or not isinstance(text, str) else []

    def end(self) -> list[Step]:
        return []


def structured_output_request(
    schema: Any,
    *,
    native: bool = False,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The ConverseStream request fields that ask for output shaped like ``schema`` (a pydantic model or type).

    By default a forced tool: ``toolConfig`` with one tool whose ``inputSchema``
    is the type's JSON schema and ``toolChoice`` naming it, so the answer streams
    as that tool's input (decode with ``StreamDecoder(tools={name: schema})``).
    ``native=True`` asks for Bedrock's native structured output instead
    (``outputConfig.textFormat``, for the models that support it): the answer
    streams as JSON text (``StreamDecoder(schema=schema)``).  Merge the result
    into the request (``client.converse_stream(modelId=..., messages=..., **fields)``).

    >>> from pydantic import BaseModel
    >>> class City(BaseModel):
    ...     name: str
    >>> fields = structured_output_request(City)
    >>> fields["toolConfig"]["toolChoice"]
    {'tool': {'name': 'City'}}
    >>> fields["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"]
    ['name']
    >>> structured_output_request(City, native=True)["outputConfig"]["textFormat"]["type"]
    'json_schema'
    """
    name = name or _name(schema)
    if native:
        return {"outputConfig": _output_config(schema, name, description)}
    spec = _tool_spec(schema, name, description)
    return {"toolConfig": {"tools": [spec], "toolChoice": {"tool": {"name": name}}}}


def build_request(
    body: dict[str, Any],
    output_type: Any,
    name: str | None,
    tools: list[tuple[str, str | None, Any]],
    answer: str | None,
) -> tuple[str, dict[str, str]]:
    """Turn ``body`` into a ConverseStream request, in place; return the path and extra headers.

    The shape of the other providers' request builders: ``body`` holds the caller's
    keywords (``model`` or ``modelId``, ``messages``, ``system``, ``inferenceConfig``,
    ...); ``output_type`` (when not None) asks for native structured output;
    ``tools`` are ``(name, description, type)`` triples added as ``toolSpec``s, and
    ``answer`` names the one to force.  The model id leaves the body for the path
    (``/model/{id}/converse-stream`` below ``https://bedrock-runtime.{region}.amazonaws.com``).

    >>> body = {"model": "us.amazon.nova-micro-v1:0", "messages": []}
    >>> build_request(body, None, None, [("lookup", "Find it.", dict[str, int])], "lookup")
    ('/model/us.amazon.nova-micro-v1%3A0/converse-stream', {'accept': 'application/vnd.amazon.eventstream'})
    >>> body["toolConfig"]["toolChoice"], sorted(body)
    ({'tool': {'name': 'lookup'}}, ['messages', 'toolConfig'])
    """
    model = body.pop("model", None) or body.pop("modelId", None)
    body.pop("stream", None)  # streaming is the endpoint, not a body key
    if not isinstance(model, str) or not model:
        raise UsageError("bedrock needs model= (a model or inference-profile id, e.g. 'us.amazon.nova-micro-v1:0')")
    if output_type is not None:
        old = body.get("outputConfig")
        body["outputConfig"] = {**(old if isinstance(old, dict) else {}), **_output_config(output_type, name, None)}
    config = dict(body.get("toolConfig") or {})
    specs = [_tool_spec(tool_type, tool_name, text) for tool_name, text, tool_type in tools]
    if specs:
        config["tools"] = [*config.get("tools", ()), *specs]
    if answer is not None:
        config["toolChoice"] = {"tool": {"name": answer}}
    if config:
        body["toolConfig"] = config
    return f"/model/{quote(model, safe='')}/converse-stream", {"accept": "application/vnd.amazon.eventstream"}


def _json_schema(schema: Any) -> dict[str, Any]:
    try:
        from pydantic import TypeAdapter
        from pydantic.errors import PydanticUserError
    except ImportError:
        raise UsageError("structured output needs pydantic: pip install 'fieldstream[pydantic]'") from None
    try:
        return TypeAdapter(schema).json_schema()
    except (PydanticUserError, TypeError) as exc:  # a type pydantic cannot describe
        raise UsageError(f"no JSON schema for {schema!r}: {exc}") from None


def _name(schema: Any) -> str:
    return getattr(schema, "__name__", None) or "output"


def _output_config(schema: Any, name: str | None, description: str | None) -> dict[str, Any]:
    json_schema = _json_schema(schema)
    name = name or _name(schema)
    structure = {
        "name": name,
        "description": description or json_schema.get("description") or f"Answer with a {name}.",
        "schema": json.dumps(json_schema),  # Bedrock takes the schema as a JSON string
    }
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": structure}}}


def _tool_spec(schema: Any, name: str, description: str | None) -> dict[str, Any]:
    json_schema = _json_schema(schema)
    if json_schema.get("type") != "object":
        raise UsageError(f"a tool's input must be an object; {name} is {json_schema.get('type')!r}: use native=True")
    description = description or json_schema.get("description") or f"Answer with a {name}."
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": json_schema}}}
