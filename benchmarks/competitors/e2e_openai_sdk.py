"""The OpenAI SDK's own stream path, end to end (OpenAI Chat Completions bodies only).

What ``client.chat.completions.stream()`` runs per read: the SDK's
``_SSELineDecoder`` and ``SSEDecoder``, ``sse.json()``, ``construct_type`` into a
``ChatCompletionChunk`` (the default, non-strict response processing), and
``ChatCompletionStreamState.handle_chunk`` with the request's ``response_format``
(the generated answer's pydantic model; an open model for corpus bodies) and
every tool seen as a *strict* function tool, so content and arguments are
partially parsed with jiter after every chunk, as in production.
``get_final_completion()`` at the end.  Other formats: not applicable.
"""

from __future__ import annotations

from typing import Any

from ._common import version

NAME = "openai-sdk"
LABEL = "OpenAI SDK stream path (SSE + ChatCompletionChunk + stream state)"
ROLE = "peer"


def check() -> str | None:
    try:
        from openai._streaming import SSEDecoder, _SSELineDecoder  # noqa: F401
        from openai.lib.streaming.chat import ChatCompletionStreamState  # noqa: F401
    except ImportError as exc:  # not installed, or an openai too old for the private pieces used here
        return f"openai's stream internals are not importable ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"openai": version("openai")}


def applies(body: Any) -> bool:
    return body.format == "openai-chat"


def prepare(body: Any) -> Any:
    from pydantic import BaseModel, ConfigDict

    from ..schemas import model_for

    class Answer(BaseModel):
        model_config = ConfigDict(extra="allow")

    schema = model_for(body.kind) if body.kind else Answer
    tools = [
        {"type": "function", "function": {"name": name, "strict": True, "parameters": {"type": "object"}}}
        for name in body.tools
    ]
    return schema, tools


class Session:
    def __init__(self, context: Any) -> None:
        from openai._models import construct_type
        from openai._streaming import SSEDecoder, _SSELineDecoder
        from openai.lib.streaming.chat import ChatCompletionStreamState
        from openai.types.chat import ChatCompletionChunk

        schema, tools = context
        self.lines = _SSELineDecoder()
        self.sse = SSEDecoder()
        self.construct = construct_type
        self.chunk_type = ChatCompletionChunk
        self.state: Any = ChatCompletionStreamState(input_tools=tools, response_format=schema)
        self.done = False
        self.final: Any = None

    def _lines(self, lines: Any) -> None:
        for raw in lines:
            sse = self.sse.decode(raw.decode("utf-8"))
            if not sse or self.done:
                continue
            if sse.data.startswith("[DONE]"):
                self.done = True
                continue
            data = sse.json()
            if isinstance(data, dict) and "choices" in data:
                chunk = self.construct(type_=self.chunk_type, value=data)
                try:
                    for _ in self.state.handle_chunk(chunk):  # the events a caller of .stream() iterates
                        pass
                except Exception:  # noqa: BLE001 - jiter on blank text, LengthFinishReasonError: a caller goes on
                    pass

    def feed(self, data: bytes) -> None:
        self._lines(self.lines.feed(data))

    def finish(self) -> None:
        self._lines(self.lines.finish())
        self._lines([b""])
        try:
            self.final = self.state.get_final_completion()
        except Exception:  # noqa: BLE001 - a body the SDK cannot finish (cut JSON, a list as content)
            self.final = None

    def values(self) -> list[Any]:
        out: list[Any] = []
        if self.final is None:
            return out
        for choice in self.final.choices:
            parsed = choice.message.parsed
            if parsed is not None:
                out.append(parsed.model_dump(mode="json"))
            for call in choice.message.tool_calls or ():
                out.append(call.function.parsed_arguments)
        return [v for v in out if isinstance(v, (dict, list)) and v]
