"""The structured-output request of each provider, built from the output type.

:func:`build` takes the caller's request keywords (``model``, ``messages``, ...),
the output type and the tools, and returns a :class:`Request`: the JSON body,
the path below the base URL, and the answer tool's name on the tool way.  Two
ways to ask for structured output:

- ``via="native"``: the provider's own structured output (OpenAI Chat
  ``response_format``, Responses ``text.format``, Anthropic ``output_config.format``,
  Gemini ``generationConfig.responseJsonSchema``, Ollama ``format``).
- ``via="tool"``: one tool whose arguments are the answer, and a forced call to
  it (what pydantic-ai and instructor do; Ollama cannot force a tool).

Keys the caller set win over what is built here, except the ones this module
exists to set (the schema, ``stream``), which are merged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ._errors import UsageError
from ._schemas import anthropic_schema, json_schema, openai_strict_schema, schema_name, tool_type

__all__ = ["PROVIDERS", "Provider", "Request", "Via", "build", "default_base_url"]

Provider = Literal["openai-chat", "openai-responses", "anthropic", "gemini", "ollama"]
Via = Literal["native", "tool"]
PROVIDERS: tuple[str, ...] = get_args(Provider)

#: Base URL of each provider when none is given, and the environment variable that overrides it.
_BASE_URLS = {
    "openai-chat": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "openai-responses": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    "gemini": ("GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
    "ollama": ("OLLAMA_HOST", "http://127.0.0.1:11434"),
}
_API_KEYS = {
    "openai-chat": ("OPENAI_API_KEY",),
    "openai-responses": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "ollama": (),
}
#: Anthropic requires max_tokens; this is used when the caller gives none.
ANTHROPIC_MAX_TOKENS = 4096


@dataclass(frozen=True)
class Request:
    """One built request: ``path`` below the base URL, the JSON ``body``, extra ``headers``."""

    provider: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: The tool whose arguments are the answer (``via="tool"``), else None.
    answer_tool: str | None = None
    #: Tool name -> the type its arguments are validated against.
    tool_types: dict[str, Any] = field(default_factory=dict)
    #: The model, where the path holds it rather than the body (Gemini).
    model: str | None = None


def check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise UsageError(f"provider must be one of {', '.join(map(repr, PROVIDERS))}; got {provider!r}")


def default_base_url(provider: str) -> str:
    env, default = _BASE_URLS[provider]
    url = os.environ.get(env) or default
    if provider == "ollama" and "://" not in url:  # OLLAMA_HOST is often host:port
        url = "http://" + url
    return url.rstrip("/")


def auth_headers(provider: str, api_key: str | None) -> dict[str, str]:
    key = api_key
    for env in _API_KEYS[provider]:
        key = key or os.environ.get(env)
    if provider == "anthropic":
        headers = {"anthropic-version": "2023-06-01"}
        return {**headers, "x-api-key": key} if key else headers
    if provider == "gemini":
        return {"x-goog-api-key": key} if key else {}
    return {"Authorization": f"Bearer {key}"} if key else {}


def build(
    provider: str,
    output_type: Any,
    request: Mapping[str, Any],
    *,
    via: str = "native",
    tools: Sequence[Any] = (),
    name: str | None = None,
    prompt: str | None = None,
) -> Request:
    """The request asking ``provider`` for an answer of ``output_type`` (see the module docstring)."""
    check_provider(provider)
    if via not in get_args(Via):
        raise UsageError(f"via must be 'native' or 'tool'; got {via!r}")
    body = dict(request)
    if prompt is not None:
        _add_prompt(provider, body, prompt)
    tool_types: dict[str, Any] = {}
    tool_defs: list[tuple[str, str | None, Any]] = []
    for tool in tools:
        tool_name, description, tool_model = tool_type(tool)
        if tool_name in tool_types:
            raise UsageError(f"two tools are named {tool_name!r}")
        tool_types[tool_name] = tool_model
        tool_defs.append((tool_name, description, tool_model))
    answer_tool = None
    if output_type is not None and via == "tool":
        answer_tool = name or schema_name(output_type)
        if answer_tool in tool_types:
            raise UsageError(f"the answer tool {answer_tool!r} has the name of another tool; pass name=")
        doc = getattr(output_type, "__doc__", None) if isinstance(output_type, type) else None
        tool_defs.append((answer_tool, doc and doc.strip(), output_type))
        tool_types[answer_tool] = output_type
    model = body.get("model")
    builder = _BUILDERS[provider]
    path, headers = builder(body, output_type if via == "native" else None, name, tool_defs, answer_tool)
    return Request(provider, path, body, headers, answer_tool, tool_types, model if isinstance(model, str) else None)


def _add_prompt(provider: str, body: dict[str, Any], prompt: str) -> None:
    value: list[dict[str, Any]]
    if provider == "openai-responses":
        key, value = "input", [{"role": "user", "content": prompt}]
    elif provider == "gemini":
        key, value = "contents", [{"role": "user", "parts": [{"text": prompt}]}]
    else:
        key, value = "messages", [{"role": "user", "content": prompt}]
    if key in body:
        raise UsageError(f"give prompt= or {key}=, not both")
    body[key] = value


def _merge(body: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    # The caller's own settings under `key` stay; ours are added.
    old = body.get(key)
    body[key] = {**old, **value} if isinstance(old, dict) else value


def _append_tools(body: dict[str, Any], tools: list[Any]) -> None:
    if tools:
        body["tools"] = [*body.get("tools", ()), *tools]


def _openai_chat(body: dict[str, Any], output_type: Any, name: str | None, tools: Any, answer: Any) -> Any:
    body["stream"] = True
    body.setdefault("stream_options", {"include_usage": True})
    if output_type is not None:
        schema = openai_strict_schema(output_type)
        json_schema_param = {"name": name or schema_name(output_type), "schema": schema, "strict": True}
        body["response_format"] = {"type": "json_schema", "json_schema": json_schema_param}
    defs = []
    for tool_name, description, tool_model in tools:
        function: dict[str, Any] = {
            "name": tool_name,
            "strict": True,
            "parameters": openai_strict_schema(tool_model, what="an OpenAI strict tool"),
        }
        if description:
            function["description"] = description
        defs.append({"type": "function", "function": function})
    _append_tools(body, defs)
    if answer is not None:
        body["tool_choice"] = {"type": "function", "function": {"name": answer}}
    return "/chat/completions", {}


def _openai_responses(body: dict[str, Any], output_type: Any, name: str | None, tools: Any, answer: Any) -> Any:
    body["stream"] = True
    if output_type is not None:
        schema = openai_strict_schema(output_type)
        fmt = {"type": "json_schema", "name": name or schema_name(output_type), "schema": schema, "strict": True}
        _merge(body, "text", {"format": fmt})
    defs = []
    for tool_name, description, tool_model in tools:
        parameters = openai_strict_schema(tool_model, what="an OpenAI strict tool")
        tool: dict[str, Any] = {"type": "function", "name": tool_name, "parameters": parameters, "strict": True}
        if description:
            tool["description"] = description
        defs.append(tool)
    _append_tools(body, defs)
    if answer is not None:
        body["tool_choice"] = {"type": "function", "name": answer}
    return "/responses", {}


def _anthropic(body: dict[str, Any], output_type: Any, name: str | None, tools: Any, answer: Any) -> Any:
    body["stream"] = True
    body.setdefault("max_tokens", ANTHROPIC_MAX_TOKENS)
    if output_type is not None:
        _merge(body, "output_config", {"format": {"type": "json_schema", "schema": anthropic_schema(output_type)}})
    defs = []
    for tool_name, description, tool_model in tools:
        tool: dict[str, Any] = {"name": tool_name, "input_schema": anthropic_schema(tool_model)}
        if description:
            tool["description"] = description
        defs.append(tool)
    _append_tools(body, defs)
    if answer is not None:
        body["tool_choice"] = {"type": "tool", "name": answer}
    return "/v1/messages", {}


def _gemini(body: dict[str, Any], output_type: Any, name: str | None, tools: Any, answer: Any) -> Any:
    model = body.pop("model", None)
    body.pop("stream", None)  # streaming is the endpoint, not a body key
    if not isinstance(model, str) or not model:
        raise UsageError("gemini needs model= (e.g. 'gemini-2.5-flash')")
    if output_type is not None:
        config = {"responseMimeType": "application/json", "responseJsonSchema": json_schema(output_type)}
        _merge(body, "generationConfig", config)
    declarations = []
    for tool_name, description, tool_model in tools:
        declaration: dict[str, Any] = {"name": tool_name, "parametersJsonSchema": json_schema(tool_model)}
        if description:
            declaration["description"] = description
        declarations.append(declaration)
    if declarations:
        body["tools"] = [*body.get("tools", ()), {"functionDeclarations": declarations}]
    if answer is not None:
        body["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [answer]}}
    model = model.removeprefix("models/")
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", {}


def _ollama(body: dict[str, Any], output_type: Any, name: str | None, tools: Any, answer: Any) -> Any:
    if answer is not None:
        raise UsageError("Ollama cannot force a tool call: use via='native' (its `format`)")
    body["stream"] = True
    if output_type is not None:
        body["format"] = json_schema(output_type)
    defs = []
    for tool_name, description, tool_model in tools:
        function: dict[str, Any] = {"name": tool_name, "parameters": json_schema(tool_model)}
        if description:
            function["description"] = description
        defs.append({"type": "function", "function": function})
    _append_tools(body, defs)
    return "/api/chat", {}


_BUILDERS: dict[str, Any] = {
    "openai-chat": _openai_chat,
    "openai-responses": _openai_responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "ollama": _ollama,
}
