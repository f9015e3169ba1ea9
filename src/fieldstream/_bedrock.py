"""AWS Bedrock ``ConverseStream`` without and with boto3.

Two ways in, one decoder:

* :func:`from_boto3` takes what ``client.converse_stream(...)`` returned (the
  response dict, or its ``"stream"``): boto3 has already decoded the binary
  framing into one dict per event, so each dict goes to
  :meth:`StreamDecoder.feed_payload`.  boto3 raises exception events
  (``throttlingException``, ...) as ``EventStreamError``: they become
  :class:`ErrorReceived` faults like any provider error; a failed read becomes
  :class:`TransportError`.  Neither boto3 nor botocore is imported here.
* :func:`bedrock_request` builds the plain HTTP request for
  :func:`fieldstream.connect`: the URL, the JSON body and the authorization,
  a Bedrock API key as a bearer token (``AWS_BEARER_TOKEN_BEDROCK``, as boto3
  reads it) or, without one, a SigV4 signature made by botocore's own signer
  (the ``bedrock`` extra).  The body then arrives as binary event-stream
  messages, which :class:`StreamDecoder` reads directly.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from ._errors import FieldstreamError, TransportError, UsageError
from ._eventstream import EVENTSTREAM_CONTENT_TYPE

__all__ = ["BedrockEventStream", "bedrock_request", "from_boto3"]

#: The environment variable boto3 reads a Bedrock API key from.
API_KEY_VARIABLE = "AWS_BEARER_TOKEN_BEDROCK"


class BedrockEventStream:
    """The events of one boto3 ``converse_stream()`` response; iterate it once.

    ``decoder`` is the :class:`StreamDecoder` fed with boto3's event dicts (read
    ``decoder.targets`` for the partial values so far).  Abandoning the loop or
    calling ``close()`` closes boto3's stream, and so the connection.
    """

    def __init__(self, stream: Any, decoder: Any) -> None:
        self.stream = stream
        self.decoder = decoder
        self._started = False
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        if self._started:
            raise UsageError("a BedrockEventStream can be iterated only once; keep the events you need")
        self._started = True
        return self._events()

    def _events(self) -> Iterator[Any]:
        decoder = self.decoder
        try:
            events = iter(self.stream)
            while True:
                try:
                    event = next(events)
                except StopIteration:
                    break
                except FieldstreamError:
                    raise
                except Exception as exc:  # botocore's and urllib3's errors: their packages are not imported here
                    error = getattr(exc, "response", None)
                    if isinstance(error, dict) and isinstance(error.get("Error"), dict):
                        # An exception event, raised by boto3: the same fault as from the wire.
                        code = error["Error"].get("Code") or type(exc).__name__
                        body = {"message": error["Error"].get("Message") or str(exc)}
                        yield from decoder.feed_payload({code: body}, code)
                        break
                    if self.closed:
                        raise UsageError(f"the boto3 stream was closed while being read: {exc}") from exc
                    raise TransportError(
                        f"{type(exc).__name__} while streaming from Bedrock: {exc}",
                        snapshot={str(s): t.snapshot for s, t in decoder.targets.items()},
                    ) from exc
                kind = next(iter(event), None) if isinstance(event, Mapping) else None
                yield from decoder.feed_payload(_as_sent(event), kind)
            yield from decoder.close()
        finally:
            self.close()

    def close(self) -> None:
        """Close boto3's stream (and so the connection); safe to call twice."""
        if not self.closed:
            self.closed = True
            close = getattr(self.stream, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> BedrockEventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<BedrockEventStream {type(self.stream).__name__}>"


def _as_sent(value: Any) -> Any:
    """boto3's value as the wire had it: blobs (``redactedContent``) as base64, timestamps as ISO 8601."""
    if isinstance(value, Mapping):
        return {str(key): _as_sent(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_sent(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def from_boto3(
    response: Any,
    *,
    schema: Any = None,
    tools: Any = None,
    content: str = "auto",
    decoder: Any = None,
    parser_options: dict[str, Any] | None = None,
) -> BedrockEventStream:
    """The events of a boto3 ``bedrock-runtime`` ``converse_stream()`` response.

        response = client.converse_stream(modelId=..., messages=...)
        with fieldstream.from_boto3(response, tools={"City": City}) as events:
            for event in events:
                ...

    ``response`` is the dict ``converse_stream()`` returned or its
    ``response["stream"]``.  The options are those of :class:`fieldstream.StreamDecoder`
    (the format is ``"bedrock"``).
    """
    stream = response.get("stream") if isinstance(response, Mapping) else response
    if stream is None or not hasattr(stream, "__iter__") or isinstance(stream, (str, bytes, Mapping)):
        raise UsageError(
            f"expected a converse_stream() response or its ['stream'], got {type(response).__name__}"
            " (for the openai and anthropic SDKs, use fieldstream.from_sdk)"
        )
    if decoder is None:
        from ._stream import StreamDecoder

        decoder = StreamDecoder("bedrock", schema=schema, tools=tools, content=content, **(parser_options or {}))  # type: ignore[arg-type]
    return BedrockEventStream(stream, decoder)


def bedrock_request(
    model_id: str,
    body: Mapping[str, Any],
    *,
    region: str | None = None,
    api_key: str | None = None,
    endpoint_url: str | None = None,
    credentials: Any = None,
) -> dict[str, Any]:
    """The keyword arguments of :func:`fieldstream.connect` for one ConverseStream call.

    ``body`` is the request as boto3 takes it, without ``modelId`` (``messages``,
    ``system``, ``inferenceConfig``, ``toolConfig``, ...).  ``region`` defaults to
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; ``endpoint_url`` replaces
    ``https://bedrock-runtime.{region}.amazonaws.com``.  Authorization: ``api_key``
    (or ``AWS_BEARER_TOKEN_BEDROCK``) as a bearer token; without one, a SigV4
    signature by botocore's signer with ``credentials`` (botocore credentials;
    default: botocore's own lookup: environment, profile, instance role).

        request = fieldstream.bedrock_request("amazon.nova-micro-v1:0", {"messages": [...]}, region="us-east-1")
        with fieldstream.connect(client, **request) as events:
            ...
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region and endpoint_url is None:
        raise UsageError("bedrock_request needs a region: region='us-east-1', or AWS_REGION in the environment")
    base = (endpoint_url or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
    url = f"{base}/model/{quote(model_id, safe='')}/converse-stream"
    content = json.dumps(dict(body), separators=(",", ":")).encode("utf-8")
    headers = {"content-type": "application/json", "accept": EVENTSTREAM_CONTENT_TYPE}
    api_key = api_key or os.environ.get(API_KEY_VARIABLE)
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    else:
        headers.update(_sigv4(url, content, headers, region or "us-east-1", credentials))
    return {"method": "POST", "url": url, "headers": headers, "body": content}


def _sigv4(url: str, content: bytes, headers: dict[str, str], region: str, credentials: Any) -> dict[str, str]:
    try:
        from botocore.auth import SigV4Auth  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from botocore.session import get_session  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise UsageError(
            "Bedrock without an API key needs SigV4 signing by botocore: pip install 'fieldstream[bedrock]',"
            f" or pass api_key= (or set {API_KEY_VARIABLE})"
        ) from None
    if credentials is None:
        credentials = get_session().get_credentials()
        if credentials is None:
            raise UsageError(f"no AWS credentials found for SigV4 (and no {API_KEY_VARIABLE})")
    request = AWSRequest(method="POST", url=url, data=content, headers=dict(headers))
    SigV4Auth(credentials, "bedrock", region).add_auth(request)
    signed = {k.lower(): v for k, v in request.headers.items()}
    return {k: v for k, v in signed.items() if k in ("authorization", "x-amz-date", "x-amz-security-token")}
