"""Adapters for the official ``openai`` and ``anthropic`` SDK stream objects.

``client.chat.completions.create(stream=True)``, ``client.responses.create(stream=True)``
and ``client.messages.create(stream=True)`` return a ``Stream`` (``AsyncStream``) whose
``response`` is the HTTP response, body not yet read.  Rather than re-encode the SDK's
typed chunks, the adapter reads that response's raw bytes and feeds them to the same
:class:`StreamDecoder` the httpx shell uses: one code path, the provider's own wire
format.  Neither SDK is imported here; closing the events closes the SDK stream.

Also taken:

- the raw responses of ``with_raw_response.create(..., stream=True)`` and of
  ``with_streaming_response.create(..., stream=True)`` (entered): their
  ``http_response`` is read the same way;
- the SDKs' own helper streams (``client.chat.completions.stream(...)``,
  ``client.responses.stream(...)``, ``client.messages.stream(...)``, entered): these
  accumulate the final message from their own iteration, so the bytes are left to
  them and fieldstream *tees* their events instead -- each wire event the helper
  yields is fed to the decoder as a payload (``feed_payload``), and after the loop
  the helper's ``get_final_completion()``/``get_final_response()``/``get_final_message()``
  still works.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._errors import FieldstreamError, StreamError, TransportError, UsageError
from ._httpx import AsyncEventStream, EventStream, make_decoder

__all__ = ["AsyncTeeEventStream", "TeeEventStream", "afrom_sdk", "from_sdk", "sdk_error"]


#: Methods that mark an SDK helper stream, which accumulates the final message as it is iterated.
_HELPER_FINALS = ("get_final_completion", "get_final_response", "get_final_message")
#: Anthropic's wire events; its helper also yields synthesized ones (``text``, ``input_json``, ...).
_ANTHROPIC_WIRE = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "error",
    }
)


def _is_helper(stream: Any) -> bool:
    return any(hasattr(stream, name) for name in _HELPER_FINALS)


def sdk_error(exc: Exception) -> FieldstreamError:
    """An SDK's exception as fieldstream's: an HTTP status is a StreamError, anything else a TransportError."""
    status = getattr(exc, "status_code", None)
    if status is None:  # google-genai names it `code`
        status = getattr(exc, "code", None)
    if isinstance(exc, TypeError):
        return UsageError(f"the SDK refused the request: {exc}")
    if isinstance(status, int):
        body = getattr(exc, "body", None)
        message = getattr(exc, "message", None) or getattr(exc, "error", None) or str(exc)
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                message = error["message"]
        return StreamError(f"HTTP {status}: {message}", provider_message=str(message), status_code=status)
    return TransportError(f"{type(exc).__name__} while streaming from the SDK: {exc}")


def _payload_of(item: Any) -> tuple[Any, str | None] | None:
    """The wire payload (and SSE event name) behind one event of an SDK helper stream, if it has one."""
    if hasattr(item, "done") and hasattr(item, "message") and hasattr(item, "model_dump"):
        return item.model_dump(mode="json", exclude_none=True, warnings=False), None  # an ollama chunk
    if hasattr(item, "candidates") and hasattr(item, "model_dump"):  # a google-genai response chunk
        return item.model_dump(mode="json", by_alias=True, exclude_none=True, warnings=False), None
    kind = getattr(item, "type", None)
    if kind == "chunk" and hasattr(item, "chunk"):  # openai chat: ChunkEvent wraps the wire chunk
        return item.chunk.model_dump(mode="json", warnings=False), None
    if isinstance(kind, str) and (kind.startswith("response.") or kind in _ANTHROPIC_WIRE):
        return item.model_dump(mode="json", warnings=False), kind
    return None  # a synthesized event (content.delta, text, input_json, ...)


class TeeEventStream:
    """The events of an SDK helper stream, read through the helper's own iteration.

    Iterate it instead of the helper; afterwards the helper's ``get_final_*()`` works.
    """

    def __init__(self, helper: Any, decoder: Any) -> None:
        self.helper = helper
        self.decoder = decoder
        self.closed = False
        self._started = False

    def _start(self) -> None:
        if self._started:
            raise UsageError(f"a {type(self).__name__} can be iterated only once; keep the events you need")
        self._started = True

    def _feed(self, item: Any) -> list[Any]:
        found = _payload_of(item)
        return self.decoder.feed_payload(*found) if found is not None else []

    def _error(self, exc: Exception) -> FieldstreamError:
        return sdk_error(exc)

    def __iter__(self) -> Iterator[Any]:
        self._start()
        return self._events()

    def _events(self) -> Iterator[Any]:
        try:
            try:
                for item in self.helper:
                    yield from self._feed(item)
            except (FieldstreamError, Warning):
                raise
            except Exception as exc:  # the SDK's own read errors
                raise self._error(exc) from exc
            yield from self.decoder.close()
        finally:
            self.close()

    def close(self) -> None:
        """Close the helper (its response); safe to call twice."""
        self.closed = True
        self.helper.close()

    def __enter__(self) -> TeeEventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTeeEventStream(TeeEventStream):
    """The async twin of :class:`TeeEventStream`."""

    def __aiter__(self) -> AsyncIterator[Any]:
        self._start()
        return self._aevents()

    async def _aevents(self) -> AsyncIterator[Any]:
        try:
            try:
                async for item in self.helper:
                    for event in self._feed(item):
                        yield event
            except (FieldstreamError, Warning):
                raise
            except Exception as exc:  # the SDK's own read errors
                raise self._error(exc) from exc
            for event in self.decoder.close():
                yield event
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the helper (its response); safe to call twice."""
        self.closed = True
        close = getattr(self.helper, "aclose", None) or self.helper.close  # an async generator, or a helper
        await close()

    async def __aenter__(self) -> AsyncTeeEventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _check_entered(stream: Any) -> None:
    name = type(stream).__name__
    if name.endswith(("StreamManager", "ResponseContextManager")):
        raise UsageError(
            f"{name} is a context manager: enter it and pass what it gives "
            "(with client.chat.completions.stream(...) as s: fieldstream.from_sdk(s))"
        )


def _response(stream: Any, reader: str, twin: str) -> Any:
    _check_entered(stream)
    response = getattr(stream, "response", None)
    if response is None or not hasattr(response, "iter_bytes"):
        raise UsageError(
            f"expected an openai or anthropic SDK stream (from create(..., stream=True)), got {type(stream).__name__}"
            " (for boto3's converse_stream(), use fieldstream.from_boto3)"
        )
    if not hasattr(stream, reader):
        raise UsageError(f"{type(stream).__name__} is the other flavour of stream: use fieldstream.{twin}()")
    return response


def from_sdk(
    stream: Any,
    *,
    format: str = "auto",
    schema: Any = None,
    tools: Any = None,
    content: str = "auto",
    decoder: Any = None,
    parser_options: dict[str, Any] | None = None,
) -> EventStream | TeeEventStream:
    """The events of an SDK ``Stream``, as :func:`fieldstream.connect` gives them.

        stream = client.chat.completions.create(model=..., messages=..., stream=True)
        with fieldstream.from_sdk(stream) as events:
            for event in events:
                ...

    Iterate it instead of the SDK stream, not as well.  The options are those of
    :class:`fieldstream.StreamDecoder`.
    """
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
    if _is_helper(stream):
        if not hasattr(stream, "__iter__"):
            raise UsageError(f"{type(stream).__name__} is async: use fieldstream.afrom_sdk()")
        return TeeEventStream(stream, decoder)
    raw: Any = getattr(stream, "http_response", None)
    if hasattr(raw, "iter_bytes"):  # with_raw_response / with_streaming_response
        return EventStream(raw, decoder, close=raw.close)
    response = _response(stream, "__iter__", "afrom_sdk")
    return EventStream(response, decoder, close=stream.close)


def afrom_sdk(
    stream: Any,
    *,
    format: str = "auto",
    schema: Any = None,
    tools: Any = None,
    content: str = "auto",
    decoder: Any = None,
    parser_options: dict[str, Any] | None = None,
) -> AsyncEventStream | AsyncTeeEventStream:
    """The async twin of :func:`from_sdk`, for an SDK ``AsyncStream``.

    async with fieldstream.afrom_sdk(await client.messages.create(..., stream=True)) as events:
        async for event in events:
            ...
    """
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
    if _is_helper(stream):
        if not hasattr(stream, "__aiter__"):
            raise UsageError(f"{type(stream).__name__} is not async: use fieldstream.from_sdk()")
        return AsyncTeeEventStream(stream, decoder)
    raw: Any = getattr(stream, "http_response", None)
    if hasattr(raw, "aiter_bytes"):  # with_raw_response / with_streaming_response
        return AsyncEventStream(raw, decoder, aclose=raw.aclose)
    response = _response(stream, "__aiter__", "from_sdk")
    return AsyncEventStream(response, decoder, aclose=stream.close)
