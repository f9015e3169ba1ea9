"""Adapters for the official ``openai`` and ``anthropic`` SDK stream objects.

``client.chat.completions.create(stream=True)``, ``client.responses.create(stream=True)``
and ``client.messages.create(stream=True)`` return a ``Stream`` (``AsyncStream``) whose
``response`` is the HTTP response, body not yet read.  Rather than re-encode the SDK's
typed chunks, the adapter reads that response's raw bytes and feeds them to the same
:class:`StreamDecoder` the httpx shell uses: one code path, the provider's own wire
format.  Neither SDK is imported here; closing the events closes the SDK stream.
"""

from __future__ import annotations

from typing import Any

from ._errors import UsageError
from ._httpx import AsyncEventStream, EventStream, make_decoder

__all__ = ["afrom_sdk", "from_sdk"]


def _response(stream: Any, reader: str, twin: str) -> Any:
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
) -> EventStream:
    """The events of an SDK ``Stream``, as :func:`fieldstream.connect` gives them.

        stream = client.chat.completions.create(model=..., messages=..., stream=True)
        with fieldstream.from_sdk(stream) as events:
            for event in events:
                ...

    Iterate it instead of the SDK stream, not as well.  The options are those of
    :class:`fieldstream.StreamDecoder`.
    """
    response = _response(stream, "__iter__", "afrom_sdk")
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
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
) -> AsyncEventStream:
    """The async twin of :func:`from_sdk`, for an SDK ``AsyncStream``.

    async with fieldstream.afrom_sdk(await client.messages.create(..., stream=True)) as events:
        async for event in events:
            ...
    """
    response = _response(stream, "__aiter__", "from_sdk")
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
    return AsyncEventStream(response, decoder, aclose=stream.close)
