"""The httpx shell: send a request with streaming on and decode the body as it arrives.

Theory of operation
-------------------
``connect()`` (``aconnect()``) opens ``client.stream(method, url, ...)``, checks the
status, and hands back an :class:`EventStream` (:class:`AsyncEventStream`).  Iterating
it feeds every ``response.iter_bytes()`` chunk -- whatever one network read returned --
straight into a sans-IO decoder and yields that decoder's events, so nothing is
buffered beyond what the decoder itself keeps.  At the end of the body the decoder's
``close()`` events follow.

Closing is the point of this module: leaving the ``with`` block (normally, by
``break``, by an exception or by task cancellation), or abandoning the ``for`` loop
over the stream, closes the response.  An unread HTTP/1.1 response cannot be reused,
so closing it closes the connection and the provider stops generating.

Errors: an error status (with the provider's JSON error message) or a 200 that is not
a stream (an HTML login page) raises :class:`StreamError` before any event; an httpx
failure (connect, read timeout, reset) raises :class:`TransportError` carrying the last
good snapshot.  Only fieldstream's own exceptions escape.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ._errors import FieldstreamError, StreamError, TransportError, UsageError
from ._timeline import Timeline

__all__ = ["AsyncEventStream", "EventStream", "aconnect", "connect"]

#: Timeout of the client that ``connect(None, ...)`` creates: generous reads, since a
#: model may think for minutes between tokens, but a quick connect.
DEFAULT_TIMEOUT = {"timeout": 600.0, "connect": 10.0}
#: Most bytes of an error body read to find the provider's message.
MAX_ERROR_BODY = 64 * 1024


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise UsageError("fieldstream.connect needs httpx: pip install 'fieldstream[httpx]'") from None
    return httpx


def _http_package(response: Any) -> Any:
    # The response's own package (httpx, or a fork such as httpx2 that an SDK vendors):
    # its exception classes are the ones its reads raise.
    return sys.modules[type(response).__module__.partition(".")[0]]


def make_decoder(format: str, schema: Any, tools: Any, content: str, parser_options: dict[str, Any]) -> Any:
    """The default decoder: ``fieldstream.StreamDecoder`` with these options."""
    from . import StreamDecoder

    return StreamDecoder(format, schema=schema, tools=tools, content=content, **parser_options)  # type: ignore[arg-type]


def _snapshot(decoder: Any) -> Any:
    # The last good partial value(s): per target for a StreamDecoder, one value for a Parser.
    targets = getattr(decoder, "targets", None)
    if targets is not None:
        return {str(source): target.snapshot for source, target in targets.items()}
    return getattr(decoder, "snapshot", None)


def _raw(decoder: Any) -> str | None:
    # The text received for the target that was streaming (the last open one), if known.
    targets = list(getattr(decoder, "targets", {}).values())
    streaming = [t for t in targets if t.open] or targets
    return streaming[-1].raw if streaming else None


def _provider_message(body: bytes) -> str | None:
    """The provider's own words from an error body: OpenAI, Anthropic, Gemini, plain."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than json.loads goes
        return text[:300] or None
    if isinstance(data, list) and data and isinstance(data[0], dict):  # Gemini wraps errors in a list
        data = data[0]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            for key in ("message", "detail", "error"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        if isinstance(error, str):
            return error
    return text[:300]


def _status_error(response: Any, body: bytes) -> StreamError:
    status = response.status_code
    message = _provider_message(body)
    return StreamError(
        f"HTTP {status} from {response.request.url}: {message or response.reason_phrase}",
        provider_message=message,
        status_code=status,
    )


def _not_a_stream(response: Any) -> StreamError | None:
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml"):
        return StreamError(
            f"expected a stream from {response.request.url}, got {ctype} (HTTP {response.status_code})",
            status_code=response.status_code,
        )
    return None


def _with_body(request: dict[str, Any], body: bytes | None) -> dict[str, Any]:
    return request if body is None else {**request, "content": body}


def _tell_content_type(decoder: Any, response: Any) -> None:
    # A StreamDecoder that has not chosen its framing yet may go by the content type
    # (a binary event stream need not wait for its first prelude to be recognised).
    if getattr(decoder, "framing", False) is None and getattr(decoder, "content_type", False) is None:
        decoder.content_type = response.headers.get("content-type")


class _Shell:
    """What the sync and async event streams share: the response, its decoder, closing."""

    def __init__(self, response: Any, decoder: Any, closer: Callable[[], Any], timeline: Timeline | None) -> None:
        self.response = response
        self.decoder = decoder
        self._closer = closer
        self._started = False
        self._decoder_closed = False
        self.closed = False
        if timeline is None:
            timeline = Timeline()
            timeline.start()
        timeline.note_headers(response.headers)
        #: When each read, delta and field arrived (see :class:`fieldstream.Timeline`).
        self.timeline = timeline

    def _feed(self, chunk: bytes) -> list[Any]:
        self.timeline.read(len(chunk))
        events = self.decoder.feed(chunk)
        self.timeline.observe(events)
        return list(events)

    def _finish(self, *, cancelled: bool, failed: bool = False) -> list[Any]:
        # End the decoder once: at the end of the body, or cancelled when the caller
        # stopped reading, so its result (usage, the usage estimate) is there either way.
        if self._decoder_closed:
            return []
        self._decoder_closed = True
        from ._stream import StreamDecoder

        try:
            if isinstance(self.decoder, StreamDecoder):
                events = self.decoder.close(cancelled=cancelled)
            elif cancelled or failed:
                return []  # a plain parser has no way to say "cancelled" or "cut"; it stays open
            else:
                events = self.decoder.close()
        finally:
            self.timeline.finish()
        self.timeline.observe(events)
        return list(events)

    @property
    def result(self) -> Any:
        """The decoder's :class:`fieldstream.StreamCompleted` once the stream ended, was cut or closed."""
        return getattr(self.decoder, "result", None) if self._decoder_closed else None

    def _start(self) -> None:
        if self._started:
            raise UsageError(f"an {type(self).__name__} can be iterated only once; keep the events you need")
        self._started = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.response.status_code} {self.response.request.url}>"

    def _error(self, exc: BaseException) -> FieldstreamError:
        # A read failed: the caller closed the stream under the loop, or the network did.
        if self.closed or not isinstance(exc, _http_package(self.response).HTTPError):
            return UsageError(f"the response body is no longer readable (closed, or read elsewhere): {exc}")
        url = self.response.request.url
        return TransportError(
            f"{type(exc).__name__} while streaming from {url}: {exc}",
            snapshot=_snapshot(self.decoder),
            raw=_raw(self.decoder),
        )


class EventStream(_Shell):
    """The events of one streamed response; iterate it once.

    ``response`` is the httpx response, ``decoder`` the decoder fed with its bytes
    (read ``decoder.targets`` for the partial values so far).  Abandoning the loop
    or calling ``close()`` closes the response.
    """

    def __init__(
        self,
        response: Any,
        decoder: Any,
        *,
        close: Callable[[], None] | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        super().__init__(response, decoder, close or response.close, timeline)

    def __iter__(self) -> Iterator[Any]:
        self._start()
        return self._events()

    def _events(self) -> Iterator[Any]:
        http = _http_package(self.response)
        try:
            try:
                for chunk in self.response.iter_bytes():
                    yield from self._feed(chunk)
            except (http.HTTPError, http.StreamError) as exc:
                error = self._error(exc)
                self._finish(cancelled=False, failed=True)
                raise error from exc
            yield from self._finish(cancelled=False)
        finally:
            self.close()

    def close(self) -> None:
        """Close the response (and so the connection); safe to call twice.

        Closing before the end ends the decoder as cancelled: ``result`` then holds
        the usage so far and its estimate.
        """
        self.closed = True
        try:
            self._closer()
        finally:
            self._finish(cancelled=True)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncEventStream(_Shell):
    """The async twin of :class:`EventStream`: ``async for event in stream``."""

    def __init__(
        self,
        response: Any,
        decoder: Any,
        *,
        aclose: Callable[[], Any] | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        super().__init__(response, decoder, aclose or response.aclose, timeline)

    def __aiter__(self) -> AsyncIterator[Any]:
        self._start()
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        http = _http_package(self.response)
        try:
            try:
                async for chunk in self.response.aiter_bytes():
                    for event in self._feed(chunk):
                        yield event
            except (http.HTTPError, http.StreamError) as exc:
                error = self._error(exc)
                self._finish(cancelled=False, failed=True)
                raise error from exc
            for event in self._finish(cancelled=False):
                yield event
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the response (and so the connection); safe to call twice (see :meth:`EventStream.close`)."""
        self.closed = True
        try:
            await self._closer()
        finally:
            self._finish(cancelled=True)

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@contextlib.contextmanager
def connect(
    client: Any,
    method: str,
    url: str,
    *,
    format: str = "auto",
    schema: Any = None,
    tools: Any = None,
    content: str = "auto",
    decoder: Any = None,
    parser_options: dict[str, Any] | None = None,
    body: bytes | None = None,
    **request: Any,
) -> Iterator[EventStream]:
    """Send a request with streaming on; yield an :class:`EventStream` of its events.

    ``client`` is an ``httpx.Client`` (``None``: a private one, closed afterwards);
    ``request`` goes to ``client.stream()`` (``json=``, ``headers=``, ``timeout=``, ...);
    ``body`` is raw request bytes (httpx's ``content=``, a name the decoder's option takes).
    ``format``, ``schema``, ``tools``, ``content`` and ``parser_options`` configure the
    :class:`fieldstream.StreamDecoder`; pass ``decoder=`` to use any other object with
    ``feed(bytes) -> events`` and ``close() -> events`` (a ``fieldstream.Parser`` for a
    bare JSON body).

        with fieldstream.connect(client, "POST", url, json=body, headers=auth) as stream:
            for event in stream:
                ...
    """
    httpx = _import_httpx()
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(httpx.Client(timeout=httpx.Timeout(**DEFAULT_TIMEOUT)))
        timeline = Timeline()
        timeline.start()
        try:
            response = stack.enter_context(client.stream(method, url, **_with_body(request, body)))
            if response.status_code >= 400:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_ERROR_BODY:
                        break
                raise _status_error(response, body)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__} while connecting to {url}: {exc}") from exc
        error = _not_a_stream(response)
        if error is not None:
            raise error
        _tell_content_type(decoder, response)
        yield EventStream(response, decoder, timeline=timeline)


@contextlib.asynccontextmanager
async def aconnect(
    client: Any,
    method: str,
    url: str,
    *,
    format: str = "auto",
    schema: Any = None,
    tools: Any = None,
    content: str = "auto",
    decoder: Any = None,
    parser_options: dict[str, Any] | None = None,
    body: bytes | None = None,
    **request: Any,
) -> AsyncIterator[AsyncEventStream]:
    """The async twin of :func:`connect`, over an ``httpx.AsyncClient``.

        async with fieldstream.aconnect(client, "POST", url, json=body) as stream:
            async for event in stream:
                ...

    Cancelling the task that runs this closes the response.
    """
    httpx = _import_httpx()
    if decoder is None:
        decoder = make_decoder(format, schema, tools, content, parser_options or {})
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(**DEFAULT_TIMEOUT)))
        timeline = Timeline()
        timeline.start()
        try:
            response = await stack.enter_async_context(client.stream(method, url, **_with_body(request, body)))
            if response.status_code >= 400:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_ERROR_BODY:
                        break
                raise _status_error(response, body)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__} while connecting to {url}: {exc}") from exc
        error = _not_a_stream(response)
        if error is not None:
            raise error
        _tell_content_type(decoder, response)
        yield AsyncEventStream(response, decoder, timeline=timeline)
