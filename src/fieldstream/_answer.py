"""The main job in one call: an output type in, typed answer events out, ``.final`` at the end.

Theory of operation
-------------------
:func:`stream` (:func:`astream`) takes the output type once.  It builds the
provider's structured-output request from it (:mod:`._requests`), and returns an
:class:`AnswerStream` that sends the request when first iterated, through one of
three transports:

- an official SDK client (``openai.OpenAI``/``AzureOpenAI``, ``anthropic.Anthropic``,
  ``ollama.Client``, ``google.genai.Client`` and their async twins): the SDK's own
  streaming call sends it, and the SDK response's raw bytes are decoded (:mod:`._sdk`;
  ollama's and google-genai's clients hand out parsed chunks, fed as payloads);
- httpx (a client with a ``base_url``, a base URL string, or ``None`` for the
  provider's default URL): :func:`fieldstream.connect` sends it;
- a :class:`Recording`: nothing is sent; the recorded body is replayed at its
  recorded pace (or a fixed one).

The bytes go into one :class:`StreamDecoder` (``schema=`` the output type,
``tools=`` the tool types) and its events are translated to the *answer level*:
the answer target (the first choice's structured content, or on the tool way the
forced tool's arguments) yields the core events of a :class:`Parser` --
``StringDelta``, ``ValueCompleted``, ``ItemCompleted``, ``ValueInvalid`` and a last
``DocumentCompleted`` -- with paths inside the answer; everything else (other
tool calls, text, reasoning, faults, the final ``StreamCompleted``) passes as the
decoder's own stream events.  Their JSONL and SSE records are the existing ones.

Leaving the loop, the ``with`` block, or closing the stream closes the upstream
call; :attr:`final` (:meth:`AsyncAnswerStream.get_final`) is the validated answer
or a :class:`StreamError`/:class:`SchemaError` carrying what arrived.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from pathlib import Path as FilePath
from typing import Any, Generic, TypeVar, overload

from ._errors import SchemaError, StreamError, UsageError
from ._events import DocumentCompleted, Event, ValueInvalid
from ._recording import Recorder, Recording
from ._requests import PROVIDERS, Request, build, check_provider
from ._stream import StreamDecoder, Target
from ._stream_events import (
    ErrorReceived,
    Fault,
    Refused,
    Source,
    StreamCompleted,
    StreamEvent,
    TargetCompleted,
    TargetEvent,
    TargetStarted,
)
from ._transports import async_transport, is_async_client, sdk_kind, sync_transport

__all__ = ["AnswerEvent", "AnswerStream", "AsyncAnswerStream", "astream", "stream"]

T = TypeVar("T")

#: What an answer stream yields: the answer's core events, and the other stream events.
AnswerEvent = Event | StreamEvent

_OTHER_CHOICE = re.compile(r"^(?:choices|candidates)\[([0-9]+)\]")


class _AnswerBase:
    """What the sync and async answer streams share: the request, the decoder, the answer's state."""

    def __init__(
        self,
        output_type: Any,
        decoder: StreamDecoder,
        request: Request | None,
        transport: Any,
        record_to: str | FilePath | None,
        answer_tool: str | None = None,
    ) -> None:
        self.output_type = output_type
        #: The :class:`StreamDecoder` underneath (every target, usage, faults).
        self.decoder = decoder
        #: The request built from the output type (``None`` for a recording or a given stream).
        self.request = request
        self._transport = transport
        self._recorder = Recorder(decoder, record_to) if record_to is not None else None
        self._answer_tool = answer_tool
        self._answer: Source | None = None
        self._invalid: ValueInvalid | None = None
        self._started = False
        self._result: StreamCompleted | None = None
        #: Closes the upstream call; set by the transport once it is open.
        self._closer: Callable[[], Any] | None = None

    # -- translating decoder events to answer events -------------------------

    def _is_answer(self, source: Source) -> bool:
        if self._answer_tool is not None:
            return source.kind == "tool_call" and source.name == self._answer_tool
        if source.kind != "content":
            return False
        other = _OTHER_CHOICE.match(source.path)
        return other is None or other.group(1) == "0"

    def _translate(self, event: StreamEvent) -> list[AnswerEvent]:
        answer = self._answer
        if type(event) is TargetEvent and answer is not None and event.source == answer:
            if type(event.event) is ValueInvalid and not event.event.path:
                self._invalid = event.event
            return [event.event]
        if type(event) is TargetStarted and answer is None and self._is_answer(event.source):
            self._answer = event.source
            return []
        if type(event) is TargetCompleted and answer is not None and event.source == answer and event.is_json:
            return [DocumentCompleted(event.value)]
        if type(event) is StreamCompleted:
            self._result = event
        return [event]

    def _start(self) -> None:
        if self._started:
            raise UsageError(f"an {type(self).__name__} can be iterated only once; read .final or .decoder")
        self._started = True

    @property
    def _feeder(self) -> Any:
        return self._recorder if self._recorder is not None else self.decoder

    # -- what arrived ------------------------------------------------------

    @property
    def answer_target(self) -> Target | None:
        """The decoder's :class:`Target` holding the answer, once it appeared."""
        return self.decoder.targets.get(self._answer) if self._answer is not None else None

    @property
    def snapshot(self) -> Any:
        """The answer so far: a partial instance of the output type (``None`` before it starts)."""
        target = self.answer_target
        return target.snapshot if target is not None and target.is_json else None

    @property
    def text(self) -> str:
        """The answer's raw text so far (the JSON as the model wrote it)."""
        target = self.answer_target
        return target.raw if target is not None else ""

    @property
    def usage(self) -> dict[str, Any] | None:
        """The provider's usage object (known at the end, or when the provider sent it)."""
        return self.decoder.usage

    @property
    def finish_reason(self) -> Any:
        """The answer's finish (stop) reason: ``"stop"``, ``"end_turn"``, ``"length"``, ``"STOP"``, ..."""
        reasons = self.decoder.finish_reasons
        if self._answer is not None:
            for scope, reason in reasons.items():
                if self._answer.within(scope) or scope in ("message", "response"):
                    return reason
        return next(iter(reasons.values()), None)

    @property
    def tool_calls(self) -> list[Target]:
        """Every tool call but the answer's: ``.source.name``, ``.source.id``, ``.value`` (typed), ``.done``."""
        return [t for s, t in self.decoder.targets.items() if s.kind == "tool_call" and s != self._answer]

    @property
    def done(self) -> bool:
        """Whether the stream reached its end (``StreamCompleted`` was yielded)."""
        return self._result is not None

    def _final(self) -> Any:
        target = self.answer_target
        if target is not None and target.done and target.is_json:
            return target.value
        snapshot = self.snapshot
        raw = self.text
        if self._invalid is not None:
            invalid = self._invalid
            error = SchemaError("the answer failed validation", path="$", errors=invalid.errors)
            error.raw = raw  # type: ignore[attr-defined]
            error.snapshot = snapshot  # type: ignore[attr-defined]
            raise error from invalid.error
        fault: Fault | None = target.fault if target is not None else None
        if fault is None:
            faults = [f for f in self.decoder.faults if f.source is None or isinstance(f, (Refused, ErrorReceived))]
            fault = faults[0] if faults else None
        schema_error = getattr(fault, "error", None)  # a Malformed's
        if fault is not None and isinstance(schema_error, SchemaError):
            # the schema's own code raised (a validator, a default factory): the typed layer's error, its cause kept
            schema_error.raw = raw or fault.raw  # type: ignore[attr-defined]
            schema_error.snapshot = snapshot if fault.snapshot is None else fault.snapshot  # type: ignore[attr-defined]
            raise schema_error
        if fault is not None:
            raise StreamError(
                f"no answer: {type(fault).__name__}: {fault.message}",
                snapshot=snapshot if fault.snapshot is None else fault.snapshot,
                raw=raw or fault.raw,
                provider_message=fault.message if isinstance(fault, (ErrorReceived, Refused)) else None,
                status_code=fault.status_code if isinstance(fault, ErrorReceived) else None,
            )
        if target is not None and not target.is_json:
            raise StreamError(f"the answer is text, not JSON: {raw[:200]!r}", raw=raw)
        what = f"a call of the tool {self._answer_tool!r}" if self._answer_tool else "structured content"
        raise StreamError(f"no answer: the stream ended without {what}", snapshot=snapshot, raw=raw or None)

    def __repr__(self) -> str:
        state = "done" if self.done else "streaming" if self._started else "not started"
        provider = self.request.provider if self.request is not None else self.decoder.format
        return f"<{type(self).__name__} {provider} {state}>"


class AnswerStream(_AnswerBase, Generic[T]):
    """The answer events of one streamed response; iterate it once, read :attr:`final`.

    Iterating sends the request (nothing is sent before); leaving the ``with``
    block, abandoning the loop or :meth:`close` closes the upstream call.
    """

    def __iter__(self) -> Iterator[AnswerEvent]:
        self._start()
        return self._events()

    def _events(self) -> Iterator[AnswerEvent]:
        with self._transport(self) as events:
            try:
                for event in events:
                    yield from self._translate(event)
            finally:
                if self._recorder is not None:
                    self._recorder.finish()

    @property
    def final(self) -> T:
        """The validated answer; reads the rest of the stream first if needed.

        Raises :class:`StreamError` (a fault, a refusal, no answer; ``.snapshot``
        and ``.raw`` hold what arrived) or :class:`SchemaError` (the answer failed
        validation; ``.errors``, ``.raw``).
        """
        if not self._started:
            for _ in self:
                pass
        elif self._result is None:
            raise UsageError("the stream was not read to its end: finish the loop before reading .final")
        return self._final()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the upstream call (if it is open); safe to call twice."""
        if self._closer is not None:
            self._closer()

    def __enter__(self) -> AnswerStream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncAnswerStream(_AnswerBase, Generic[T]):
    """The async twin of :class:`AnswerStream`: ``async for event in answer``, then ``answer.final``."""

    def __aiter__(self) -> AsyncIterator[AnswerEvent]:
        self._start()
        return self._events()

    async def _events(self) -> AsyncIterator[AnswerEvent]:
        async with self._transport(self) as events:
            try:
                async for event in events:
                    for out in self._translate(event):
                        yield out
            finally:
                if self._recorder is not None:
                    self._recorder.finish()

    @property
    def final(self) -> T:
        """The validated answer, once the stream was read to its end (else :class:`UsageError`).

        ``await answer.get_final()`` reads the rest first.
        """
        if self._result is None:
            raise UsageError("the stream was not read to its end: iterate it, or await answer.get_final()")
        return self._final()  # type: ignore[no-any-return]

    async def get_final(self) -> T:
        """Read what is left of the stream, then return :attr:`final`."""
        if not self._started:
            async for _ in self:
                pass
        return self.final

    async def aclose(self) -> None:
        """Close the upstream call (if it is open); safe to call twice."""
        if self._closer is not None:
            await self._closer()

    async def __aenter__(self) -> AsyncAnswerStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- transports: each is a context manager yielding the decoder's events -------------


def _prepare(
    client: Any,
    output_type: Any,
    provider: str | None,
    via: str,
    tools: Sequence[Any],
    name: str | None,
    prompt: str | None,
    request: dict[str, Any],
    parser_options: dict[str, Any] | None,
) -> tuple[str, Request | None, StreamDecoder]:
    if provider is None:
        kind = sdk_kind(client)
        provider = {"anthropic": "anthropic", "ollama": "ollama", "gemini": "gemini"}.get(kind or "", "openai-chat")
        if isinstance(client, Recording):
            provider = "auto"
    if provider != "auto":
        check_provider(provider)
    built: Request | None = None
    if not isinstance(client, Recording):
        if provider == "auto":
            raise UsageError(f"provider='auto' only applies to a Recording; name one of {', '.join(PROVIDERS)}")
        built = build(provider, output_type, request, via=via, tools=tools, name=name, prompt=prompt)
        tool_types = built.tool_types
    else:
        if request or prompt is not None:
            raise UsageError(f"a Recording sends nothing: request options {sorted(request) or ['prompt']} do not apply")
        tool_types = {}
        for tool in tools:
            from ._schemas import tool_type

            tool_name, _, tool_model = tool_type(tool)
            tool_types[tool_name] = tool_model
        if via == "tool" and output_type is not None:
            tool_types[name or _default_tool_name(output_type)] = output_type
    decoder = StreamDecoder(
        provider,  # type: ignore[arg-type]
        schema=output_type if via == "native" else None,
        tools=tool_types,
        content="json" if via == "native" and output_type is not None else "auto",
        **(parser_options or {}),
    )
    return provider, built, decoder


def _options(lenient: bool, parser_options: dict[str, Any] | None) -> dict[str, Any] | None:
    # `lenient=` is the typed spelling of parser_options={"lenient": ...}; both may be given if they agree
    if not lenient:
        return parser_options
    if parser_options is not None and not parser_options.get("lenient", True):
        raise UsageError("lenient=True and parser_options={'lenient': False} disagree: give one of them")
    return {**(parser_options or {}), "lenient": True}


def _answer_tool(built: Request | None, output_type: Any, via: str, name: str | None) -> str | None:
    # The tool whose arguments are the answer: from the built request, or named for a recording.
    if built is not None:
        return built.answer_tool
    return name or _default_tool_name(output_type) if via == "tool" and output_type is not None else None


def _default_tool_name(output_type: Any) -> str:
    from ._schemas import schema_name

    return schema_name(output_type)


@overload
def stream(
    client: Any,
    output_type: type[T],
    /,
    *,
    provider: str | None = ...,
    prompt: str | None = ...,
    tools: Sequence[Any] = ...,
    via: str = ...,
    name: str | None = ...,
    api_key: str | None = ...,
    record_to: str | FilePath | None = ...,
    lenient: bool = ...,
    parser_options: dict[str, Any] | None = ...,
    **request: Any,
) -> AnswerStream[T]: ...


@overload
def stream(
    client: Any,
    output_type: Any,
    /,
    *,
    provider: str | None = ...,
    prompt: str | None = ...,
    tools: Sequence[Any] = ...,
    via: str = ...,
    name: str | None = ...,
    api_key: str | None = ...,
    record_to: str | FilePath | None = ...,
    lenient: bool = ...,
    parser_options: dict[str, Any] | None = ...,
    **request: Any,
) -> AnswerStream[Any]: ...


def stream(
    client: Any,
    output_type: Any,
    /,
    *,
    provider: str | None = None,
    prompt: str | None = None,
    tools: Sequence[Any] = (),
    via: str = "native",
    name: str | None = None,
    api_key: str | None = None,
    record_to: str | FilePath | None = None,
    lenient: bool = False,
    parser_options: dict[str, Any] | None = None,
    **request: Any,
) -> AnswerStream[Any]:
    """Ask for an answer of ``output_type`` and stream it as typed events.

    ``client``: an ``openai.OpenAI``/``AzureOpenAI``, ``anthropic.Anthropic``,
    ``ollama.Client`` or ``google.genai.Client`` client, an ``httpx.Client`` with a ``base_url``, a base URL string (any
    OpenAI-compatible server; Gemini and Ollama natively), ``None`` (the
    provider's default URL, or ``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``,
    ``GOOGLE_GEMINI_BASE_URL``, ``OLLAMA_HOST``), or a :class:`Recording` to replay.
    ``output_type``: a pydantic model or anything ``TypeAdapter`` takes (``None``:
    no structured output).  ``provider``: ``"openai-chat"`` (the default),
    ``"openai-responses"``, ``"anthropic"`` (the default for an Anthropic client),
    ``"gemini"``, ``"ollama"`` (the defaults for ollama and google-genai clients).  ``prompt``: one user message, instead of
    ``messages=`` (``input=``, ``contents=``).  ``tools``: models or functions the
    model may call (their calls stream as typed targets).  ``via="tool"`` asks for
    the answer as a forced tool call instead of native structured output.
    ``record_to``: also save the body and its timing sidecar there.  ``lenient=True``:
    read the answer in lenient mode (``docs/lenient.md``), repairing what models
    write outside JSON, each repair a :class:`Repair` event; strict RFC 8259 by
    default.  ``parser_options``: other :class:`Parser` options.  Everything
    else (``model=``, ``messages=``, ``temperature=``, ...) goes into the request.

    Nothing is sent until the stream is iterated (or :attr:`AnswerStream.final` read).
    """
    if is_async_client(client):
        raise UsageError(f"{type(client).__name__} is async: use fieldstream.astream()")
    provider, built, decoder = _prepare(
        client, output_type, provider, via, tools, name, prompt, request, _options(lenient, parser_options)
    )
    transport = sync_transport(client, provider, built, api_key)
    return AnswerStream(output_type, decoder, built, transport, record_to, _answer_tool(built, output_type, via, name))


@overload
def astream(
    client: Any,
    output_type: type[T],
    /,
    *,
    provider: str | None = ...,
    prompt: str | None = ...,
    tools: Sequence[Any] = ...,
    via: str = ...,
    name: str | None = ...,
    api_key: str | None = ...,
    record_to: str | FilePath | None = ...,
    lenient: bool = ...,
    parser_options: dict[str, Any] | None = ...,
    **request: Any,
) -> AsyncAnswerStream[T]: ...


@overload
def astream(
    client: Any,
    output_type: Any,
    /,
    *,
    provider: str | None = ...,
    prompt: str | None = ...,
    tools: Sequence[Any] = ...,
    via: str = ...,
    name: str | None = ...,
    api_key: str | None = ...,
    record_to: str | FilePath | None = ...,
    lenient: bool = ...,
    parser_options: dict[str, Any] | None = ...,
    **request: Any,
) -> AsyncAnswerStream[Any]: ...


def astream(
    client: Any,
    output_type: Any,
    /,
    *,
    provider: str | None = None,
    prompt: str | None = None,
    tools: Sequence[Any] = (),
    via: str = "native",
    name: str | None = None,
    api_key: str | None = None,
    record_to: str | FilePath | None = None,
    lenient: bool = False,
    parser_options: dict[str, Any] | None = None,
    **request: Any,
) -> AsyncAnswerStream[Any]:
    """The async twin of :func:`stream`: ``AsyncOpenAI``, ``AsyncAnthropic``, ``ollama.AsyncClient``,
    ``httpx.AsyncClient``, a base URL, ``None`` or a :class:`Recording`."""
    if client is not None and not isinstance(client, (str, Recording)) and not is_async_client(client):
        raise UsageError(f"{type(client).__name__} is not async: use fieldstream.stream()")
    provider, built, decoder = _prepare(
        client, output_type, provider, via, tools, name, prompt, request, _options(lenient, parser_options)
    )
    transport = async_transport(client, provider, built, api_key)
    answer_tool = _answer_tool(built, output_type, via, name)
    return AsyncAnswerStream(output_type, decoder, built, transport, record_to, answer_tool)


# -- other streams as answer streams (for iter_snapshots, iter_items and friends) ------------


def is_stream_source(obj: Any) -> bool:
    """Whether ``obj`` is a stream rather than a chunk iterable: an answer stream, an event stream,
    what ``connect()``/``aconnect()`` return, or an openai/anthropic SDK stream or raw response."""
    if isinstance(obj, (AnswerStream, AsyncAnswerStream)):
        return True
    if isinstance(obj, (str, bytes)):
        return False
    if isinstance(getattr(obj, "decoder", None), StreamDecoder) or _from_sdk(obj):
        return True
    if isinstance(obj, (Iterable, AsyncIterable)):  # chunks (a file is also a context manager)
        return False
    return isinstance(obj, (contextlib.AbstractContextManager, contextlib.AbstractAsyncContextManager))


def _from_sdk(obj: Any) -> bool:
    from ._sdk import _is_helper

    if getattr(obj, "decoder", None) is not None:
        return False  # already one of fieldstream's event streams
    return (
        _is_helper(obj)
        or hasattr(getattr(obj, "http_response", None), "iter_bytes")
        or hasattr(getattr(obj, "response", None), "iter_bytes")
    )


def as_answer(source: Any, output_type: Any) -> AnswerStream[Any] | AsyncAnswerStream[Any]:
    """``source`` (see :func:`is_stream_source`) as an answer stream of ``output_type``."""
    if isinstance(source, (AnswerStream, AsyncAnswerStream)):
        if output_type is not None and output_type != source.output_type:
            raise UsageError("this answer stream was made for another type: pass the type to stream(), not here")
        return source
    from ._sdk import afrom_sdk, from_sdk

    if _from_sdk(source):
        is_async = hasattr(source, "__aiter__") or type(source).__name__.startswith("Async")
        source = (afrom_sdk if is_async else from_sdk)(source, schema=output_type)
    decoder = _decoder_of(source, output_type)
    if not hasattr(source, "__aiter__") and not hasattr(source, "__aenter__"):

        @contextlib.contextmanager
        def transport(answer: AnswerStream[Any]) -> Iterator[Any]:
            with source as events:
                answer._closer = events.close
                if output_type is not None and events.decoder is not decoder:
                    _retype(events, output_type)
                answer.decoder = events.decoder
                yield events

        return AnswerStream(output_type, decoder, None, transport, None)

    @contextlib.asynccontextmanager
    async def atransport(answer: AsyncAnswerStream[Any]) -> AsyncIterator[Any]:
        async with source as events:
            answer._closer = events.aclose
            if output_type is not None and events.decoder is not decoder:
                _retype(events, output_type)
            answer.decoder = events.decoder
            yield events

    return AsyncAnswerStream(output_type, decoder, None, atransport, None)


def _decoder_of(source: Any, output_type: Any) -> StreamDecoder:
    decoder = getattr(source, "decoder", None)
    if isinstance(decoder, StreamDecoder):
        if output_type is not None:
            _retype(source, output_type)
        return source.decoder  # type: ignore[no-any-return]
    return StreamDecoder(schema=output_type)  # a connect() context manager: its decoder comes on entering


def _retype(events: Any, output_type: Any) -> None:
    # The event stream was made without a schema: before its first byte, give it a decoder that has one.
    decoder = events.decoder
    if decoder.schema is output_type:
        return
    if decoder.schema is not None or decoder.framing is not None or getattr(events, "_started", False):
        raise UsageError("this stream already has a schema or has started: pass the type to connect() instead")
    events.decoder = StreamDecoder(
        decoder.format or "auto",
        schema=output_type,
        tools=decoder.tools,
        content=decoder.content,
        **decoder.parser_options,
    )
