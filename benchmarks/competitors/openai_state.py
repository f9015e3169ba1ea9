"""The OpenAI SDK's own chat-completion stream state, fed the same chunks.

``openai.lib.streaming.chat.ChatCompletionStreamState`` is what
``client.chat.completions.stream()`` uses.  The chunks arrive as the arguments
of one tool call to a *strict* function tool (given as a plain dict schema), so
the SDK partially parses the accumulated arguments with jiter after every chunk
(``parsed_arguments``), as it does in production; at the end
``get_final_completion()`` parses them in full.  The ``ChatCompletionChunk``
objects are built before timing starts, as if they came off the wire.

The SDK raises ``ValueError`` from jiter when the arguments so far are only
whitespace (one recorded payload starts with a newline); the session catches it
and goes on, as a caller must, since the accumulated snapshot is already updated.
"""

from __future__ import annotations

from typing import Any

from ._common import known_complete, scalars, version

NAME = "openai-sdk"
LABEL = "OpenAI SDK ChatCompletionStreamState"
ROLE = "peer"
GROWTH = 2.0
SCHEMA = False

_TOOL = {
    "type": "function",
    "function": {"name": "emit", "strict": True, "parameters": {"type": "object", "additionalProperties": True}},
}


def check() -> str | None:
    try:
        from openai.lib.streaming.chat import ChatCompletionStreamState  # noqa: F401
    except ImportError as exc:
        return f"openai not installed ({exc})"
    return None


def versions() -> dict[str, str]:
    return {"openai": version("openai"), "jiter": version("jiter")}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> Any:
    from openai.types.chat import ChatCompletionChunk

    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
    )


def prepare(stream: Any) -> tuple[list[Any], Any]:
    def args(text: str, first: bool = False) -> dict[str, Any]:
        call: dict[str, Any] = {"index": 0, "function": {"arguments": text}}
        if first:
            call.update(id="call_bench", type="function")
            call["function"]["name"] = "emit"
        return {"tool_calls": [call]}

    opening = _chunk({"role": "assistant", "content": None, **args("", first=True)})
    inputs = [_chunk(args(c)) for c in stream.chunks]
    return inputs, (opening, _chunk({}, finish="tool_calls"))


class Session:
    def __init__(self, context: Any) -> None:
        from openai.lib.streaming.chat import ChatCompletionStreamState

        opening, self.closing = context
        self.state: Any = ChatCompletionStreamState(input_tools=[_TOOL])
        list(self.state.handle_chunk(opening))
        self.final: Any = None

    def feed(self, chunk: Any) -> None:
        try:
            for _ in self.state.handle_chunk(chunk):  # the events a caller of .stream() iterates
                pass
        except ValueError:  # jiter on whitespace-only arguments; the snapshot is updated already
            pass

    def finish(self) -> None:
        for _ in self.state.handle_chunk(self.closing):
            pass
        self.final = self.state.get_final_completion()

    def _current(self) -> Any:
        calls = self.state.current_completion_snapshot.choices[0].message.tool_calls
        return calls[0].function.parsed_arguments if calls else None

    def exposed(self) -> int:
        if self.final is not None:
            return len(scalars(self.value(), []))
        return known_complete(self._current(), drops_incomplete_strings=True)

    def value(self) -> Any:
        return self.final.choices[0].message.tool_calls[0].function.parsed_arguments
