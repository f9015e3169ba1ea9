"""How an answer stream reaches its bytes: an SDK client, httpx, or a recording.

Each transport is a context manager factory: given the answer stream, it sends the
request (or starts the replay) on entering, yields an iterable of the decoder's
events, and closes the upstream call on leaving, however it is left.  It also sets
``answer._closer`` so that ``answer.close()`` reaches the upstream call mid-loop.

- SDK clients (openai, anthropic, ollama, google-genai): the SDK's own streaming call
  sends the request; the response's raw bytes go through :func:`from_sdk` (ollama's and
  google-genai's chunks, which are parsed objects, through a tee of payloads).  The SDKs' errors
  become fieldstream's (:func:`._sdk.sdk_error`).
- httpx: :func:`fieldstream.connect` to the base URL plus the provider's path.
- a :class:`Recording`: its reads are fed at their recorded pace; nothing is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

from ._errors import FieldstreamError, UsageError
from ._recording import Recording
from ._requests import Request, auth_headers, default_base_url
from ._stream_events import StreamEvent

__all__ = ["async_transport", "is_async_client", "sdk_kind", "sync_transport"]


def sdk_kind(client: Any) -> str | None:
    package = type(client).__module__.partition(".")[0]
    if package == "openai" and hasattr(client, "chat"):
        return "openai"
    if package == "anthropic" and hasattr(client, "messages"):
        return "anthropic"
    if package == "ollama" and hasattr(client, "chat"):
        return "ollama"
    if package == "google" and hasattr(client, "models"):
        return "gemini"
    return None


def is_async_client(client: Any) -> bool:
    return type(client).__name__.startswith("Async")


def _sdk_create(client: Any, kind: str, provider: str, request: Request) -> tuple[Callable[..., Any], dict[str, Any]]:
    body = dict(request.body)
    if kind == "openai":
        if provider == "openai-chat":
            return client.chat.completions.create, body
        if provider == "openai-responses":
            return client.responses.create, body
    elif kind == "anthropic" and provider == "anthropic":
        # output_config goes in the body as is, so SDK versions without the parameter send it too.
        extra = {key: body.pop(key) for key in ("output_config",) if key in body}
        if extra:
            body["extra_body"] = {**body.get("extra_body", {}), **extra}
        return client.messages.create, body
    elif kind == "ollama" and provider == "ollama":
        return client.chat, body
    elif kind == "gemini" and provider == "gemini":
        # google-genai takes the REST body's parts as keywords: contents, and the rest as config
        # (its models accept the camelCase names the REST API uses).
        config = dict(body.pop("generationConfig", {}))
        contents = body.pop("contents", None)
        config.update(body)
        return client.models.generate_content_stream, {"model": request.model, "contents": contents, "config": config}
    raise UsageError(f"a {type(client).__name__} client cannot send provider={provider!r}")


def sync_transport(client: Any, provider: str, request: Request | None, api_key: str | None) -> Any:
    @contextlib.contextmanager
    def transport(answer: Any) -> Iterator[Any]:
        feeder = answer._feeder
        if isinstance(client, Recording):
            replayed = _replayed(client, feeder)
            answer._closer = replayed.close
            try:
                yield replayed
            finally:
                replayed.close()
            return
        assert request is not None
        kind = sdk_kind(client)
        if kind is not None:
            from ._sdk import TeeEventStream, from_sdk, sdk_error

            create, kwargs = _sdk_create(client, kind, provider, request)
            try:
                sdk_stream = create(**kwargs)
            except (FieldstreamError, Warning):  # a warning raised as an error is the caller's choice
                raise
            except Exception as exc:
                raise sdk_error(exc) from exc
            # ollama's and google-genai's clients yield parsed chunks: they are teed as payloads.
            tee = TeeEventStream(sdk_stream, feeder) if kind in ("ollama", "gemini") else None
            with tee or from_sdk(sdk_stream, decoder=feeder) as events:
                answer._closer = events.close
                yield events
            return
        from ._httpx import connect

        url, http_client = _url_and_client(client, provider, request)
        headers = {**auth_headers(provider, api_key), **request.headers}
        with connect(http_client, "POST", url, decoder=feeder, json=request.body, headers=headers) as events:
            answer._closer = events.close
            yield events

    return transport


def async_transport(client: Any, provider: str, request: Request | None, api_key: str | None) -> Any:
    @contextlib.asynccontextmanager
    async def transport(answer: Any) -> AsyncIterator[Any]:
        feeder = answer._feeder
        if isinstance(client, Recording):
            areplayed = _areplayed(client, feeder)
            answer._closer = areplayed.aclose
            try:
                yield areplayed
            finally:
                await areplayed.aclose()
            return
        assert request is not None
        kind = sdk_kind(client)
        if kind is not None:
            from ._sdk import AsyncTeeEventStream, afrom_sdk, sdk_error

            create, kwargs = _sdk_create(client, kind, provider, request)
            try:
                sdk_stream = await create(**kwargs)
            except (FieldstreamError, Warning):  # a warning raised as an error is the caller's choice
                raise
            except Exception as exc:
                raise sdk_error(exc) from exc
            atee = AsyncTeeEventStream(sdk_stream, feeder) if kind in ("ollama", "gemini") else None
            async with atee or afrom_sdk(sdk_stream, decoder=feeder) as events:
                answer._closer = events.aclose
                yield events
            return
        from ._httpx import aconnect

        url, http_client = _url_and_client(client, provider, request)
        headers = {**auth_headers(provider, api_key), **request.headers}
        async with aconnect(http_client, "POST", url, decoder=feeder, json=request.body, headers=headers) as events:
            answer._closer = events.aclose
            yield events

    return transport


def _url_and_client(client: Any, provider: str, request: Request) -> tuple[str, Any]:
    if client is None:
        return default_base_url(provider) + request.path, None
    if isinstance(client, str):
        return client.rstrip("/") + request.path, None
    base = getattr(client, "base_url", None)
    if base is not None and hasattr(client, "stream"):  # an httpx client
        if not str(base):
            raise UsageError("an httpx client needs a base_url (httpx.Client(base_url=...)), or pass the URL")
        return str(base).rstrip("/") + request.path, client
    raise UsageError(
        "client must be an openai or anthropic SDK client, an httpx client, a base URL, "
        f"a fieldstream.Recording or None; got {type(client).__name__}"
    )


def _replayed(recording: Recording, feeder: Any) -> Generator[StreamEvent, None, None]:
    for chunk in recording.chunks():
        yield from feeder.feed(chunk)
    yield from feeder.close()


async def _areplayed(recording: Recording, feeder: Any) -> AsyncGenerator[StreamEvent, None]:
    async for chunk in recording.achunks():
        for event in feeder.feed(chunk):
            yield event
    for event in feeder.close():
        yield event
