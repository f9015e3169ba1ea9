"""The request built from a type: each provider's documented schema rules, and the official SDKs' own helpers.

OpenAI: ``openai.lib._pydantic.to_strict_json_schema``, ``type_to_response_format_param``,
``pydantic_function_tool``; Anthropic: ``transform_schema`` and ``to_json_output_format``.
For every model below fieldstream builds the same schema, except where documented
(docs/http-and-sdks.md, "Schemas per provider"): what strict mode cannot express is
refused here, before a request, where the SDK sends it and the API answers 400.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Literal

import pytest
from openai.lib._parsing._completions import type_to_response_format_param
from openai.lib._pydantic import to_strict_json_schema
from openai.lib._tools import pydantic_function_tool
from pydantic import BaseModel, Field

# Helpers that only newer SDKs have (the lowest supported versions lack them): where one is
# missing, its comparison is left out and the provider's documented rules are still checked.
try:
    from openai.lib._parsing._responses import type_to_text_format_param
    from openai.lib._tools import pydantic_responses_function_tool
except ImportError:  # openai before its Responses helpers
    type_to_text_format_param = pydantic_responses_function_tool = None  # type: ignore[assignment]
try:
    from anthropic.lib._parse._transform import to_json_output_format, transform_schema
except ImportError:  # anthropic before structured outputs
    to_json_output_format = transform_schema = None  # type: ignore[assignment]

import fieldstream as fs
from fieldstream._requests import build
from fieldstream._schemas import anthropic_schema, json_schema, openai_strict_schema


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Step(BaseModel):
    """One step."""

    title: str = Field(description="what to do")
    minutes: int = Field(default=0, ge=0, le=600)


class Plan(BaseModel):
    """A plan of steps."""

    summary: Annotated[str, fs.Live]
    steps: list[Step]
    first: Step | None = None
    tags: list[str] = []
    color: Color = Color.red
    kind: Literal["trip", "work"] = "trip"
    due: datetime.date | None = None
    note: str | None = Field(default=None, min_length=2, max_length=300)


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


class Described(BaseModel):
    step: Step = Field(description="the step, described")  # a $ref with a sibling key


MODELS = [Step, Plan, Tree, Described]


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def check_openai_strict_rules(schema: dict[str, Any]) -> None:
    """OpenAI's documented strict-mode rules: objects closed, every property required, no $ref with siblings."""
    assert schema["type"] == "object"
    for node in walk(schema):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert node.get("required", []) == list(node.get("properties", {}))
        if "$ref" in node:
            assert set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/")
        assert node.get("default", 0) is not None


def check_anthropic_rules(schema: dict[str, Any]) -> None:
    """Anthropic's structured outputs: objects closed; only supported keywords; string formats from its list."""
    allowed = {
        "type", "properties", "required", "additionalProperties", "items", "anyOf", "allOf", "enum", "const",
        "description", "title", "format", "minItems", "$defs", "$ref", "default",
    }  # fmt: skip
    for node in walk(schema):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
        if isinstance(node.get("type"), str):
            assert set(node) <= allowed, set(node) - allowed
        if node.get("minItems") is not None:
            assert node["minItems"] in (0, 1)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_openai_strict_schema_is_what_the_openai_sdk_builds(model: type[BaseModel]) -> None:
    ours = openai_strict_schema(model)
    assert ours == to_strict_json_schema(model)
    check_openai_strict_rules(ours)
    chat = build("openai-chat", model, {"model": "m"}).body
    assert chat["response_format"] == type_to_response_format_param(model)
    responses = build("openai-responses", model, {"model": "m"}).body
    assert responses["text"]["format"]["schema"] == ours and responses["text"]["format"]["strict"] is True
    if type_to_text_format_param is not None:
        assert responses["text"]["format"] == type_to_text_format_param(model)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_openai_tools_are_what_the_openai_sdk_builds(model: type[BaseModel]) -> None:
    chat = build("openai-chat", None, {"model": "m"}, tools=[model]).body
    assert chat["tools"] == [pydantic_function_tool(model)]
    responses = build("openai-responses", None, {"model": "m"}, tools=[model]).body
    assert responses["tools"] == [{"type": "function", **pydantic_function_tool(model)["function"]}]
    if pydantic_responses_function_tool is not None:
        assert responses["tools"] == [pydantic_responses_function_tool(model)]
    forced = build("openai-chat", model, {"model": "m"}, via="tool").body
    assert forced["tools"] == [pydantic_function_tool(model)] and "response_format" not in forced


@pytest.mark.parametrize("model", [*MODELS, list[int], list[Step], dict[str, int]], ids=str)
def test_anthropic_schema_is_what_the_anthropic_sdk_builds(model: Any) -> None:
    ours = anthropic_schema(model)
    check_anthropic_rules(ours)
    body = build("anthropic", model, {"model": "m", "messages": []}).body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": ours}}
    if transform_schema is not None:
        assert ours == transform_schema(json_schema(model))
        assert body["output_config"] == {"format": to_json_output_format(model)}
    assert body["max_tokens"] == 4096 and body["stream"] is True


def test_gemini_and_ollama_take_pydantics_schema() -> None:
    gemini = build("gemini", Plan, {"model": "models/gemini-2.5-flash"}, prompt="hi")
    assert gemini.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert gemini.body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": Plan.model_json_schema(),
    }
    assert gemini.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}] and "model" not in gemini.body
    tool_way = build("gemini", Plan, {"model": "g"}, via="tool").body
    assert tool_way["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["Plan"]}
    assert tool_way["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == Plan.model_json_schema()
    ollama = build("ollama", Plan, {"model": "llama3.2"}, prompt="hi").body
    assert ollama["format"] == Plan.model_json_schema() and ollama["stream"] is True


class NotAModel:
    pass


class Open(BaseModel):
    scores: dict[str, int]


@pytest.mark.parametrize(
    ("output_type", "match"),
    [
        (list[int], "needs an object at the root"),
        (int, "needs an object at the root"),
        (Step | Tree, "needs an object at the root"),
        (Open, r"open object at \$.scores"),
    ],
    ids=str,
)
def test_what_openai_strict_mode_cannot_express_is_refused_before_sending(output_type: Any, match: str) -> None:
    # The documented difference: the openai SDK sends these and the API answers 400.
    with pytest.raises(fs.UsageError, match=match):
        build("openai-chat", output_type, {"model": "m"})
    with pytest.raises(fs.UsageError, match=match):
        fs.stream("http://127.0.0.1:9/v1", output_type, model="m")


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(fs.UsageError, match="provider must be one of"):
        fs.stream(None, Step, provider="cohere", model="m")
    with pytest.raises(fs.UsageError, match="via must be"):
        fs.stream(None, Step, via="json", model="m")
    with pytest.raises(fs.UsageError, match="cannot force a tool"):
        fs.stream(None, Step, provider="ollama", via="tool", model="m")
    with pytest.raises(fs.UsageError, match="not both"):
        fs.stream(None, Step, prompt="a", messages=[])
    with pytest.raises(fs.UsageError, match="gemini needs model"):
        fs.stream(None, Step, provider="gemini")
    with pytest.raises(fs.UsageError, match="a tool is a pydantic model class or a function"):
        fs.stream(None, Step, tools=[42], model="m")
    with pytest.raises(fs.UsageError, match="cannot build a JSON schema"):
        fs.stream(None, NotAModel, provider="ollama", model="m")
    with pytest.raises(fs.UsageError, match="client must be"):
        _ = fs.stream(42, Step, model="m").final
