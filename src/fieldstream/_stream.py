"""StreamDecoder: raw provider bytes in, stream events out, no I/O.

Theory of operation
-------------------
Three layers, each fed as bytes arrive and none waiting for more than it needs:

1. *Framing*, chosen from the first non-blank byte unless an HTTP error status
   was given: ``{`` means one JSON document per line (Ollama NDJSON, chunk
   was given: ``{`` means one JSON document per line (Ollama NDJSON, chunk
   lists; if the first line is not JSON, one pretty-printed document, decoded at
   the end), ``[`` a JSON array of chunks (Gemini without ``alt=sse``), anything
   else Server-Sent Events; a body that opens with a valid AWS event-stream
   prelude (or a ``content_type`` of ``application/vnd.amazon.eventstream``) is
   binary event-stream messages (Bedrock), each handed on as ``{event type:
   payload}``.  A leading BOM is dropped.  The framing decoder yields payloads;
   ``[DONE]`` is an end marker, not a payload.
2. *Provider*: the format named by ``format=`` or detected from the first
   payload that tells (its ``type``, ``object`` or top-level keys); a small
   pure class per format turns each payload into steps (:mod:`._providers`).
   A whole (non-streamed) response is first rewritten as the payloads of the
   stream that would have carried it (``streamed`` is then ``False``).  A
   payload or step of the wrong shape is a :class:`Malformed` fault; the other
   steps still apply.
3. *Targets*: each step addresses a target by :class:`Source`.  A JSON target
   owns a :class:`Parser` fed with the fragments as they come; a text target
   passes them on as :class:`TextDelta`.  With ``content="auto"`` a content
   target waits only for its first non-blank character: ``{`` or ``[`` makes
   it JSON.  Tool-call arguments are always JSON; ``""`` means ``{}``.

Every target ends once, with :class:`TargetCompleted` or a :class:`Fault`
carrying its last good snapshot.  ``close()`` ends the open targets (cut when
the provider's end marker never came) and returns :class:`StreamCompleted`
last.  Input faults never raise from ``feed()``/``close()``; they are events,
and :meth:`StreamDecoder.raise_for_faults` turns them into a :class:`StreamError`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from . import _envelope
from ._errors import FieldstreamError, LimitError, ParseError, StreamError, UsageError
from ._events import DocumentCompleted, ItemCompleted, ValueInvalid
from ._eventstream import EVENTSTREAM_CONTENT_TYPE, EventStreamDecoder, EventStreamMessage, is_eventstream_prelude
from ._ndjson import NDJSONDecoder
from ._parser import Parser
from ._providers import FORMAT_CHOICES, StreamFormat, detect, error_step, make_provider, unstreamed
from ._sse import DEFAULT_MAX_EVENT_SIZE, SSEDecoder
from ._stream_events import (
    ErrorReceived,
    Fault,
    Malformed,
    Refused,
    Source,
    StreamCompleted,
    StreamEvent,
    TargetCompleted,
    TargetEvent,
    TargetStarted,
    TextDelta,
    Truncated,
)
from ._textbuf import TextBuffer
from ._usage import usage_estimate

__all__ = ["DEFAULT_MAX_TARGETS", "ContentMode", "StreamDecoder", "StreamFormat", "Target"]

#: Most targets one stream may open (choices, tool calls, blocks); later ones are refused.
DEFAULT_MAX_TARGETS = 10_000

ContentMode = Literal["auto", "json", "text"]
_CONTENT_MODES = get_args(ContentMode)

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_OPEN, _COMPLETED, _FAULTED = 0, 1, 2
_PENDING, _JSON, _TEXT = "pending", "json", "text"
# What a provider or a step may raise on a payload of the wrong shape (valid JSON, or any value
# given to feed_payload): reported as a Malformed fault, never raised.  RecursionError: nesting
# deeper than Python's recursion limit, met by json.loads/json.dumps.
_FOREIGN = (ArithmeticError, AttributeError, LookupError, RecursionError, TypeError, ValueError)
_ENDINGS = {
    "eof": "the stream ended",
    "error": "the stream failed",
    "cancelled": "the stream was cancelled",
    "incomplete": "the target ended",
}


class Target:
    """The live state of one target: read ``snapshot`` while it streams.

    ``snapshot`` is the partial JSON value (a live object, see ``Parser.snapshot``)
    or the text so far; ``raw`` the text received; ``value`` the final value once
    ``done``; ``fault`` the fault that ended it, if one did.

    The text is kept in a few pieces, not one string per delta (a
    :class:`TextBuffer`): about one byte per ASCII character in all.  A typed
    parser reads the same buffer (it needs the text only to parse a failed
    container again), so the text is held once.  With ``keep_items=False`` a JSON
    target keeps only the text since the last outermost array item completed, so
    its memory stays bounded by one item.
    """

    __slots__ = ("_buffer", "_state", "_value", "fault", "mode", "parser", "source")

    def __init__(self, source: Source, mode: str) -> None:
        self.source = source
        self.mode = mode  # "pending" (content="auto", nothing but blanks yet), "json" or "text"
        self.parser: Parser[Any] | None = None
        self.fault: Fault | None = None
        self._buffer = TextBuffer()
        self._state = _OPEN
        self._value: Any = None

    def _forget(self) -> None:
        self._buffer.clear()

    @property
    def raw(self) -> str:
        """All text the provider sent for this target (with ``keep_items=False``: since the last item)."""
        return self._buffer.text()

    @property
    def snapshot(self) -> Any:
        """The partial value (JSON target) or the text so far (text target)."""
        if self._state == _COMPLETED:
            return self._value
        if self.mode == _JSON:
            return self.parser.snapshot if self.parser is not None else None
        return self.raw

    @property
    def is_json(self) -> bool:
        return self.mode == _JSON

    @property
    def done(self) -> bool:
        """Whether the target completed (``value`` is final)."""
        return self._state == _COMPLETED

    @property
    def open(self) -> bool:
        return self._state == _OPEN

    @property
    def value(self) -> Any:
        """The final value (``None`` until ``done``)."""
        return self._value

    def __repr__(self) -> str:
        state = ("open", "done", "faulted")[self._state]
        return f"<Target {self.source.path} {self.mode} {state}>"


class StreamDecoder:
    """Decode a provider's streamed response body into per-target events.

    >>> d = StreamDecoder()
    >>> events = d.feed(b'data: {"choices":[{"index":0,"delta":{"content":"{\\\\"a\\\\": 1}"}}]}\\n\\n')
    >>> events
    [TargetStarted(Source('choices[0]', content)), TargetEvent(choices[0], ValueCompleted($.a, 1)), TargetEvent(choices[0], ValueCompleted($, {'a': 1})), TargetCompleted(choices[0], {'a': 1})]
    >>> d.feed(b'data: [DONE]\\n\\n')
    []
    >>> d.close()
    [StreamCompleted(finish_reasons={}, usage=None)]

    ``format``: ``"auto"`` (detected from the bytes) or a format name (``FORMATS`` in
    :mod:`._providers`): ``"openai-chat"``, ``"openai-responses"``, ``"anthropic"``,
    ``"gemini"``, ``"ollama"``, ``"bedrock"``.
    ``schema``: a type for structured-output content, given to ``Parser(schema)``.
    ``tools``: tool name -> type for that tool's arguments.
    ``content``: ``"auto"`` (JSON when its first non-blank character is ``{`` or
    ``[``, else text), ``"json"`` or ``"text"``.
    ``status_code``: the HTTP status; at 400 and above the body is read as an
    error body and reported as :class:`ErrorReceived`.
    ``content_type``: the response's content type, where the transport knows it
    (``application/vnd.amazon.eventstream`` chooses the binary event-stream
    framing without waiting for the first bytes); may be set until the first ``feed()``.
    ``max_event_size``: the longest SSE line/message, NDJSON line or event-stream message accepted
    (and the longest error body kept); ``max_targets``: the most targets kept
    (``DEFAULT_MAX_TARGETS``); beyond either, a :class:`Malformed` fault.
    Other keyword options go to every :class:`Parser` (``max_depth``, ``lenient``, ...).
    """

    def __init__(
        self,
        format: StreamFormat = "auto",
        *,
        schema: Any = None,
        tools: Mapping[str, Any] | None = None,
        content: ContentMode = "auto",
        status_code: int | None = None,
        content_type: str | None = None,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_targets: int = DEFAULT_MAX_TARGETS,
        **parser_options: Any,
    ) -> None:
        if format not in FORMAT_CHOICES:
            raise UsageError(f"format must be one of {', '.join(map(repr, FORMAT_CHOICES))}; got {format!r}")
        if content not in _CONTENT_MODES:
            raise UsageError(f"content must be one of {', '.join(map(repr, _CONTENT_MODES))}; got {content!r}")
        for forbidden in ("multiple", "prose"):
            if forbidden in parser_options:
                raise UsageError(f"{forbidden}= does not apply to provider streams (each target holds one document)")
        try:  # reject unknown or bad options (and unusable schemas) now, not mid-stream
            if parser_options:
                Parser(**parser_options)
            for probe in (schema, *(tools or {}).values()):
                if probe is not None:
                    Parser(probe, **parser_options)
        except TypeError as exc:
            raise UsageError(f"unknown parser option: {exc}") from None
        except ImportError as exc:
            raise UsageError(f"a schema needs pydantic: pip install 'fieldstream[pydantic]' ({exc})") from None
        for name, limit in (("max_event_size", max_event_size), ("max_targets", max_targets)):
            if type(limit) is not int or limit < 1:
                raise UsageError(f"{name} must be a positive int, got {limit!r}")
        self.max_targets = max_targets
        self.schema = schema
        self.tools = dict(tools) if tools else {}
        self.content = content
        self.status_code = status_code
        self.content_type = content_type
        self.max_event_size = max_event_size
        self.parser_options = parser_options
        self._keep_items = parser_options.get("keep_items", True)
        #: Every target seen so far, by source (a source equals its path string).
        self.targets: dict[Source, Target] = {}
        #: Every fault emitted so far.
        self.faults: list[Fault] = []
        #: Usage, merged across chunks; finish reasons by scope; model and response id.
        self.usage: dict[str, Any] | None = None
        self.finish_reasons: dict[str, Any] = {}
        self.model: str | None = None
        self.response_id: str | None = None
        self._format: str | None = None if format == "auto" else format
        self._provider: Any = None if format == "auto" else make_provider(format)
        #: How the body is framed: "sse", "ndjson", "json" (one whole document), "json-array",
        #: "eventstream", "error-body", "text" or "payloads" (fed with feed_payload); None until the
        #: first non-blank byte.
        self.framing: str | None = None
        self._framer: Any = None
        self._head = b""
        self._body: list[bytes] = []  # error-body and text framings keep the whole body
        self._body_size = 0
        self._array_parser: Parser[Any] | None = None
        self._kept: list[bytes] | None = None  # an NDJSON body's bytes until its first line decodes
        self._payloads = 0  # payloads decoded
        self._recognized = False  # some payload told the provider something beyond model and id
        #: False when the body was one whole (non-streamed) response, decoded as if streamed.
        self.streamed = True
        self._loads: Any = _envelope.loads  # jiter when installed, json.loads semantics (see _envelope)
        self._fast_loads: Any = _envelope.fast_loads  # jiter itself (None without it), for the hot loop
        self._last: tuple[Any, Target | None] = (None, None)  # the last step's source and its target
        self._ended = False
        self._errored = False
        self._broken = False  # the wire format failed; later input is ignored
        self._too_many = False  # max_targets was reached
        self._closed = False
        self._result: StreamCompleted | None = None
        self._first: Any = None  # the first payload (named by a fault when none matched)

    # -- public API ------------------------------------------------------

    @property
    def format(self) -> str | None:
        """The provider format (given, or detected once a payload told; ``None`` before)."""
        return self._format

    @property
    def result(self) -> StreamCompleted:
        """The :class:`StreamCompleted` event (after ``close()``): usage, finish reasons, values."""
        if self._result is None:
            raise UsageError("result is known after close()")
        return self._result

    def feed(self, data: bytes | bytearray | memoryview) -> list[StreamEvent]:
        """Decode the next bytes of the body (split anywhere) and return the events they completed."""
        if self._closed:
            raise UsageError("feed() after close(): create a new StreamDecoder for a new stream")
        out: list[StreamEvent] = []
        if self.framing == "sse" and type(data) is bytes and not self._broken and self._framer._between:
            # The hot path (see _feed_framing): whole SSE messages cut from the bytes.
            single = self._framer._single(data)
            if single is not None:  # the commonest read: one whole message
                try:
                    self._sse_fast(single[0], single[1], out)
                except FieldstreamError as exc:
                    self._break(exc, out)
                return out
            messages, pos = self._framer._fast(data, 0)
            if messages:
                try:
                    self._sse_messages(messages, out)
                except FieldstreamError as exc:
                    self._break(exc, out)
                    return out
            if pos == len(data):
                return out
            data = data[pos:]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"StreamDecoder.feed() takes bytes, not {type(data).__name__}")
        if self._broken or not data:
            return out
        if self.framing is None:
            data = self._head + bytes(data)
            if not self._choose_framing(data):
                # Only blanks so far, or the start of a BOM or of an event-stream prelude.  Whole
                # blank lines mean nothing in any framing, but the blanks after the last line end
                # open the next line ("   data: x" is a field named "   data" in SSE): kept.
                cut = 0 if data[:1] == b"\x00" else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
                self._head = data[cut:]
                if len(self._head) <= self.max_event_size:
                    return out
                self._choose_framing(b"data:")  # a line of blanks beyond the limit: SSE says so
            self._head = b""
            if self.framing in ("json-array", "ndjson") and data.startswith(_BOM):
                data = data[3:]  # SSE drops its own BOM; JSON text must not see it
        self._feed_framing(bytes(data), out)
        return out

    def feed_payload(self, payload: Any, event: str | None = None) -> list[StreamEvent]:
        """Decode one payload that was already framed and parsed (an SDK chunk as a dict).

        ``payload`` is what one SSE message's data or one NDJSON line holds, as
        plain JSON values (``chunk.model_dump()`` of an SDK object); ``event`` the
        SSE event name, if any.  Use it instead of :meth:`feed`, not with it.
        A value that is not plain JSON (a set, bytes, an SDK object, a non-``str``
        key) is reported as one :class:`Malformed` fault, and nothing of it applies.
        An SDK consumes ``[DONE]`` itself: say ``close(ended=True)`` when its
        iterator finished normally.
        """
        if self._closed:
            raise UsageError("feed_payload() after close(): create a new StreamDecoder for a new stream")
        if self.framing not in (None, "payloads"):
            raise UsageError(f"feed_payload() after feed(): this decoder reads {self.framing} bytes")
        self.framing = "payloads"
        out: list[StreamEvent] = []
        wrong = _not_plain_json(payload)
        if wrong is not None or not (event is None or isinstance(event, str)):
            # A value that no JSON text decodes to (an SDK object, a set, bytes): reported whole.
            what = wrong or f"an event name of type {type(event).__name__}"
            self._fault(
                Malformed(None, f"feed_payload() takes plain JSON values; got {what}", None, _dump(payload)), out
            )
            return out
        self._payload(payload, event, out)
        return out

    def close(self, *, cancelled: bool = False, ended: bool | None = None) -> list[StreamEvent]:
        """End the input: flush the framing, end every open target, return :class:`StreamCompleted` last.

        ``cancelled=True`` says the caller stopped reading (the user hit "stop"):
        open targets end as :class:`Truncated` with reason ``"cancelled"``.

        The stream *ended normally* when the provider's end marker arrived (``[DONE]``,
        ``message_stop``, ``response.completed``, a finish reason, Ollama's ``done``):
        open targets then complete, and ``StreamCompleted.complete`` is true; otherwise
        they are cut (:class:`Truncated`, reason ``"eof"``).  ``ended=True`` says the
        transport saw the end although no payload did: an SDK iterator that consumed
        ``[DONE]`` itself, fed with :meth:`feed_payload` (some OpenAI-compatible
        providers send no finish reason).  ``ended=False`` says it did not end normally.
        """
        if self._closed:
            raise UsageError("close() called twice")
        if ended not in (None, True, False):
            raise UsageError(f"ended must be True, False or None, got {ended!r}")
        self._closed = True
        out: list[StreamEvent] = []
        if not self._broken:
            if self.framing is None:  # only blanks came, or nothing
                self._choose_framing(self._head, final=True)
            if self.framing != "payloads":
                self._close_framing(out)
        if self._provider is not None:
            for step in self._provider.end():
                self._apply_safely(step, None, out)
        if ended is not None:
            self._ended = ended
        if self._payloads and not self._recognized and not self.faults:
            # Payloads came, but none meant anything to the provider: a wrong format=, or no
            # provider's stream at all.  Saying "complete" with nothing in it would be false.
            named = f"format={self._format!r}" if self._format else "any provider's format"
            seen = detect(self._first, None) if self._first is not None else None
            hint = f"; the first looks like {seen!r}" if seen and seen != self._format else ""
            message = f"none of the {self._payloads} payload(s) matched {named}{hint}"
            self._fault(Malformed(None, message, None, _dump(self._first)), out)
            self._ended = False
        if cancelled:
            reason, cut = "cancelled", True
        elif self._errored:
            reason, cut = "error", True
        elif self._ended:
            reason, cut = "incomplete", False
        else:
            reason, cut = "eof", True
        still_open = [target for target in self.targets.values() if target.open]
        for target in still_open:
            self._end(target, reason, cut, out)
        values = {t.source.path: t.value for t in self.targets.values() if t.done}
        complete = self._ended and not self._errored and not (cancelled and still_open)
        self._result = StreamCompleted(
            usage=self.usage,
            finish_reasons=dict(self.finish_reasons),
            model=self.model,
            response_id=self.response_id,
            format=self._format,
            complete=complete,
            values=values,
            streamed=self.streamed,
            usage_estimate=None if complete and _counts_output(self.usage) else self._usage_estimate(),
        )
        out.append(self._result)
        return out

    def _usage_estimate(self) -> dict[str, Any]:
        # What the model delivered, for billing a stream whose final usage never came.
        targets = self.targets.values()
        names = [t.source.name for t in targets if t.source.kind == "tool_call"]
        return usage_estimate((t.raw for t in targets), names)

    def raise_for_faults(self) -> None:
        """Raise :class:`StreamError` for the first fault seen (with its snapshot and raw text), if any."""
        if not self.faults:
            return
        fault = self.faults[0]
        where = f" in {fault.source.path}" if fault.source is not None else ""
        error = StreamError(
            f"{type(fault).__name__}{where}: {fault.message}",
            snapshot=fault.snapshot,
            raw=fault.raw,
            provider_message=fault.message if isinstance(fault, (ErrorReceived, Refused)) else None,
            status_code=fault.status_code if isinstance(fault, ErrorReceived) else None,
        )
        error.fault = fault  # type: ignore[attr-defined]
        raise error

    def __repr__(self) -> str:
        return f"<StreamDecoder format={self._format} framing={self.framing} targets={len(self.targets)}>"

    # -- framing ---------------------------------------------------------

    def _choose_framing(self, data: bytes, final: bool = False) -> bool:
        if self.status_code is not None and self.status_code >= 400:
            self.framing = "error-body"
            return True
        ctype = (self.content_type or "").split(";")[0].strip().lower()
        if ctype == EVENTSTREAM_CONTENT_TYPE or (data[:1] == b"\x00" and is_eventstream_prelude(data[:12])):
            self.framing = "eventstream"
            self._framer = EventStreamDecoder(max_message_size=self.max_event_size)
            return True
        if data[:1] == b"\x00" and len(data) < 12 and not final:
            return False  # maybe the start of an event-stream prelude
        if len(data) < 3 and _BOM.startswith(data):
            return False  # maybe the start of a byte-order mark
        head = (data[3:] if data.startswith(_BOM) else data).lstrip(_WHITESPACE)
        if not head:
            return False
        first = head[:1]
        if first == b"{":
            self.framing = "ndjson"
            self._framer = NDJSONDecoder(max_line_length=self.max_event_size)
            self._kept = []
        elif first == b"[":
            self.framing = "json-array"
            # Items are handed on as they complete; the parser need not keep them.
            self._array_parser = Parser(deltas=False, keep_items=False)
        elif first in b"dei:r" or head.startswith(b"retry"):
            self.framing = "sse"
            self._framer = SSEDecoder(max_line_length=self.max_event_size, max_event_size=self.max_event_size)
        else:
            self.framing = "text"
        return True

    def _feed_framing(self, data: bytes, out: list[StreamEvent]) -> None:
        framing = self.framing
        try:
            if framing == "sse":
                framer = self._framer
                pos = 0
                if framer._between:  # the fast path, without a generator per read
                    messages, pos = framer._fast(data, 0)
                    if messages:
                        self._sse_messages(messages, out)
                if pos < len(data):
                    for value, event, _ in framer._iter_raw(data[pos:] if pos else data):
                        self._sse_message(value, event, out)
            elif framing == "ndjson":
                self._keep(data)
                try:
                    for payload in self._framer._iter_feed(data):
                        self._kept = None
                        self._payload(payload, None, out)
                except ParseError as exc:
                    if self._kept is None or isinstance(exc, LimitError):
                        raise
                    # The first line is not JSON: one pretty-printed JSON document (a response
                    # that was not streamed), decoded whole at the end.
                    self.framing = "json"
                    self._body, self._kept = self._kept, None
            elif framing == "eventstream":
                for message in self._framer._iter_feed(data):
                    self._event_message(message, out)
            elif framing == "json-array":
                try:
                    events = self._array_parser.feed(data)  # type: ignore[union-attr]
                except ParseError as exc:
                    self._array_events(exc.events, out)  # items completed before the fault
                    raise
                self._array_events(events, out)
            else:
                self._body.append(data)
                self._body_size += len(data)
                if self._body_size > self.max_event_size:
                    raise LimitError(f"{framing} body longer than {self.max_event_size} bytes", offset=self._body_size)
        except FieldstreamError as exc:
            self._break(exc, out)

    def _close_framing(self, out: list[StreamEvent]) -> None:
        framing = self.framing
        try:
            if framing == "sse":
                for message in self._framer.close():
                    self._sse_message(message.data, message.event, out)
            elif framing in ("ndjson", "eventstream"):
                for payload in self._framer.close():  # an event-stream decoder has none left: it only checks
                    self._payload(payload, None, out)
            elif framing == "json-array":
                self._array_events(self._array_parser.close(), out)  # type: ignore[union-attr]
            elif framing == "error-body":
                self._error_body(b"".join(self._body), out)
            elif framing == "json":
                try:
                    payload = json.loads(b"".join(self._body))
                except (ValueError, RecursionError) as exc:
                    raise ParseError(f"the body is neither NDJSON nor one JSON document ({exc})") from exc
                self._payload(payload, None, out)
            elif framing == "text":
                text = b"".join(self._body).decode("utf-8", "replace")
                self._fault(Malformed(None, f"not a provider stream: {text[:200]!r}", None, text), out)
        except FieldstreamError as exc:
            self._break(exc, out)

    def _keep(self, data: bytes) -> None:
        kept = self._kept
        if kept is not None:
            kept.append(data)
            self._body_size += len(data)
            if self._body_size > self.max_event_size:
                self._kept = None

    def _break(self, exc: FieldstreamError, out: list[StreamEvent]) -> None:
        self._broken = True
        message = str(exc) if isinstance(exc, LimitError) else f"{self.framing} framing failed: {exc}"
        self._fault(Malformed(None, message, error=exc), out)

    def _sse_messages(self, messages: list[tuple[bytes, str]], out: list[StreamEvent]) -> None:
        for value, event in messages:
            self._sse_fast(value, event, out)

    def _sse_fast(self, value: bytes, event: str, out: list[StreamEvent]) -> None:
        """The hot path: what ``_sse_message`` and ``_payload`` do, with the commonest case inlined.

        Inlined: parsing the envelope with the fast parser (a refusal, ``[DONE]`` for
        one, goes to ``_sse_message``, which lets ``json.loads`` decide), the
        provider's step, and a text step for the target of the step before.
        """
        fast = self._fast_loads
        provider = self._provider
        if fast is None or provider is None:  # no fast parser, or the format is not known yet
            self._sse_message(value, event, out)
            return
        try:
            payload = fast(value)
        except (ValueError, TypeError, RecursionError):
            self._sse_message(value, event, out)
            return
        self._payload(payload, event, out)

    def _sse_message(self, data: str | bytes, event: str, out: list[StreamEvent]) -> None:
        try:
            payload = self._loads(data)  # bytes (UTF-8) from the SSE fast path, else str
        except RecursionError:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            message = "SSE data nested deeper than Python's recursion limit (about 1000)"
            self._fault(Malformed(None, message, None, text, LimitError(message)), out)
            return
        except ValueError:
            if not isinstance(data, str):
                data = data.decode("utf-8", "replace")
            if data.strip() == "[DONE]":  # never JSON, so asking the parser first changes nothing
                self._ended = True
                return
            if event == "error":  # an error message in plain text
                self._apply(("error", data, None, None, data), out)
            else:
                self._fault(Malformed(None, f"SSE data is not JSON: {data[:200]!r}", None, data), out)
            return
        self._payload(payload, event, out)

    def _event_message(self, message: EventStreamMessage, out: list[StreamEvent]) -> None:
        # One binary message as a payload in boto3's shape: {event type: decoded JSON payload}.
        headers = message.headers
        name = message.event_type
        if message.message_type == "error":
            error = {"code": headers.get(":error-code"), "message": headers.get(":error-message") or name}
            self._apply(error_step({"error": error}), out)
            return
        try:
            body = json.loads(message.payload) if message.payload.strip() else {}
        except (ValueError, RecursionError):
            text = message.payload[:200].decode("utf-8", "replace")
            self._fault(Malformed(None, f"event-stream {name} payload is not JSON: {text!r}", None, text), out)
            return
        if name == "chunk" and isinstance(body, dict) and isinstance(body.get("bytes"), str):
            # InvokeModelWithResponseStream: the model's own event (Anthropic's, ...), base64 in JSON.
            try:
                inner = json.loads(base64.b64decode(body["bytes"], validate=True))
            except (ValueError, binascii.Error, RecursionError):
                self._fault(
                    Malformed(None, f"event-stream chunk bytes are not base64 JSON: {body['bytes'][:200]!r}"), out
                )
                return
            self._payload(inner, None, out)
        elif name is None:
            self._payload(body, None, out)
        else:
            if message.message_type == "exception" and not isinstance(body, dict):
                body = {"message": str(body)}
            self._payload({name: body}, name, out)

    def _array_events(self, events: list[Any], out: list[StreamEvent]) -> None:
        for event in events:
            if type(event) is ItemCompleted and len(event.path) == 1:
                self._payload(event.value, None, out)

    def _error_body(self, body: bytes, out: list[StreamEvent]) -> None:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to decode: its text
            payload = body.decode("utf-8", "replace")
        if isinstance(payload, list) and payload and isinstance(payload[0], dict):
            payload = payload[0]  # Gemini wraps its error bodies in a list
        if isinstance(payload, dict):
            step = error_step(payload)
        else:
            step = ("error", str(payload)[:1000] or f"HTTP {self.status_code}", None, None, payload)
        self._apply(step, out)

    # -- payloads and steps ------------------------------------------------

    def _payload(self, payload: Any, event: str | None, out: list[StreamEvent]) -> None:
        self._payloads += 1
        whole = None
        if self._payloads == 1:  # a whole (non-streamed) response is the one payload of its body
            self._first = payload
            try:
                whole = unstreamed(payload, self._format)
            except _FOREIGN:
                pass  # not a whole response's shape after all: the provider reports it
        if whole is not None:  # a whole response (the request did not ask for a stream)
            self.streamed = False
            self._format = self._format or whole[0]
            for part in whole[1]:
                self._payload(part, None, out)
            return
        provider = self._provider
        if provider is None:
            format = detect(payload, event)
            if format is None:
                if isinstance(payload, dict) and (
                    "error" in payload or payload.get("type") == "error" or event == "error"
                ):
                    self._apply_safely(error_step(payload), payload, out)
                return  # a ping or keep-alive before the first telling payload
            self._format = format
            provider = self._provider = make_provider(format)
        try:
            steps = provider.step(payload, event)
        except _FOREIGN as exc:
            # Providers read untrusted JSON: a payload of the wrong shape is reported, not raised.
            self._unexpected(payload, exc, out)
            return
        for step in steps:
            if step[0] == "text":  # the commonest step: text for the target of the step before
                last, target = self._last
                if step[1] is last and target is not None and type(step[2]) is str:
                    self._text(target, step[2], out)
                    continue
            self._apply_safely(step, payload, out)

    def _apply_safely(self, step: tuple[Any, ...], payload: Any, out: list[StreamEvent]) -> None:
        # One step of a wrong shape (a list where a name or usage belongs) is reported and
        # skipped; the other steps of the payload still apply, so nothing else is lost.
        try:
            self._apply(step, out)
        except _FOREIGN as exc:
            self._unexpected(payload, exc, out)

    def _unexpected(self, payload: Any, exc: Exception, out: list[StreamEvent]) -> None:
        message = f"unexpected {self._format or 'provider'} payload ({type(exc).__name__}: {str(exc)[:300]})"
        self._fault(Malformed(None, message, None, _dump(payload), exc), out)

    def _apply(self, step: tuple[Any, ...], out: list[StreamEvent]) -> None:
        tag = step[0]
        if tag != "meta":
            self._recognized = True
        if tag == "text":
            source = step[1]
            last, target = self._last
            if source is not last or target is None:  # most steps address the target of the step before
                target = self.targets.get(source) or self._start(source, out)
                if target is None:
                    return
                self._last = (source, target)
            if type(step[2]) is str:
                self._text(target, step[2], out)
            else:  # a delta of the wrong type in a damaged payload
                self._fault(Malformed(None, f"{target.source} got a {type(step[2]).__name__} where text belongs"), out)
        elif tag == "open":
            if step[1] not in self.targets:
                self._start(step[1], out)
        elif tag == "end":
            ending = self.targets.get(step[1])
            if ending is not None and ending.open:
                self._end(ending, "incomplete", False, out)
        elif tag == "close" or tag == "finish":
            if tag == "finish":
                _, scope, reason, cut, prefix = step
                self.finish_reasons[scope] = reason
            else:
                prefix, reason, cut = step[1], "incomplete", False
            for target in list(self.targets.values()):
                if target.open and target.source.within(prefix):
                    self._end(target, reason if cut else "incomplete", cut, out)
        elif tag == "usage":
            if not isinstance(step[1], dict):
                self._fault(
                    Malformed(None, f"usage is a {type(step[1]).__name__}, not an object", None, _dump(step[1])), out
                )
            elif step[2] and self.usage is not None:
                self.usage = _merge(self.usage, step[1])
            else:
                self.usage = dict(step[1]) if isinstance(step[1], dict) else step[1]
        elif tag == "meta":
            self.model = step[1] if isinstance(step[1], str) and step[1] else self.model
            self.response_id = self.response_id or (step[2] if isinstance(step[2], str) else None)
        elif tag == "refusal":
            _, prefix, message, details = step
            self._fault(Refused(None, message, None, None, details), out)
            for target in list(self.targets.values()):
                if target.open and target.source.within(prefix):
                    self._end(target, "refusal", True, out)
        elif tag == "error":
            _, message, code, kind, payload = step
            status = self.status_code if self.framing == "error-body" else None
            if status is None and isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                found = payload["error"].get("status_code")
                status = found if isinstance(found, int) else None
            self._fault(ErrorReceived(None, message, None, None, code, kind, status, payload), out)
            self._errored = True
            for target in list(self.targets.values()):
                if target.open:
                    self._end(target, "error", True, out)
        elif tag == "ended":
            self._ended = True

    # -- targets -----------------------------------------------------------

    def _start(self, source: Source, out: list[StreamEvent]) -> Target | None:
        if len(self.targets) >= self.max_targets:
            if not self._too_many:
                self._too_many = True
                message = f"more than max_targets={self.max_targets} targets; later ones are ignored"
                self._fault(Malformed(None, message, error=LimitError(message)), out)
            return None
        if not (_is_text(source.id) and _is_text(source.name)):
            kinds = f"id {type(source.id).__name__}, name {type(source.name).__name__}"
            self._fault(Malformed(None, f"{source.path}: a tool call's id and name must be strings ({kinds})"), out)
            source = Source(source.path, source.kind, _text_or_none(source.id), _text_or_none(source.name))
        if source.kind == "tool_call":
            mode = _JSON
        elif source.kind == "content":
            mode = {"auto": _PENDING, "json": _JSON, "text": _TEXT}[self.content]
        else:
            mode = _TEXT
        target = Target(source, mode)
        if mode == _JSON:
            target.parser = self._parser_for(source)
            if self._keep_items:
                target.parser._share_text(target._buffer)
        self.targets[source] = target
        out.append(TargetStarted(source))
        return target

    def _parser_for(self, source: Source) -> Parser[Any]:
        schema = self.schema if source.kind == "content" else self.tools.get(source.name or "")
        if schema is None:
            return Parser(**self.parser_options)
        return Parser(schema, **self.parser_options)

    def _text(self, target: Target, text: str, out: list[StreamEvent]) -> None:
        if not text:
            return
        target._buffer.append(text)
        if target._state != _OPEN:
            return
        if target.mode == _PENDING:
            if not text.strip():
                return
            target.mode = _JSON if text.lstrip()[0] in "{[" else _TEXT
            text = target.raw
            if target.mode == _JSON:
                target.parser = self._parser_for(target.source)
                if self._keep_items:  # one copy of the text: a typed parser reads the target's
                    target.parser._share_text(target._buffer)
        if target.mode == _TEXT:
            out.append(_text_delta(target.source, text))
            return
        try:
            events = target.parser.feed(text)  # type: ignore[union-attr]
        except RecursionError:  # validating a value nested deeper than Python's stack allows
            self._malformed(target, _too_deep(), out)
            return
        except FieldstreamError as exc:
            # What the failing delta completed before the fault is delivered first.
            self._forward(target, getattr(exc, "events", None) or [], out)
            if target.open:
                self._malformed(target, exc, out)
            return
        if events:
            self._forward(target, events, out)

    def _forward(self, target: Target, events: list[Any], out: list[StreamEvent]) -> None:
        source = target.source
        append = out.append
        for event in events:
            cls = type(event)
            if cls is DocumentCompleted:
                target._state = _COMPLETED
                target._value = event.value
                append(TargetCompleted(source, event.value, target.raw))
                return  # anything after the document is kept in `raw` only
            if cls is ItemCompleted and not self._keep_items and _outermost(event.path):
                target._forget()  # keep_items=False: the text of the items before is not kept either
            made = _new(TargetEvent)  # _target_event, inlined
            _set_event_source(made, source)
            _set_event_event(made, event)
            append(made)
            if cls is ValueInvalid and not event.path:
                # The whole document failed its schema: the target ends here, with that error.
                first = event.errors[0].get("msg", "") if event.errors and isinstance(event.errors[0], dict) else ""
                message = f"the value does not match the schema ({len(event.errors)} error(s)): {first}"
                fault = Malformed(source, message, target.snapshot, target.raw, event.error)
                self._cut(target, fault, out)
                return

    def _end(self, target: Target, reason: str, cut: bool, out: list[StreamEvent]) -> None:
        """End an open target: it completes, or it faults with its last good snapshot."""
        source = target.source
        if target.mode == _JSON:
            parser = target.parser
            assert parser is not None
            if not target.raw.strip() and source.kind == "tool_call" and not cut:
                # A tool called without arguments streams "" (Anthropic) or nothing at all.
                parser._share_text(None)  # the "{}" is not the target's text
                try:
                    self._forward(target, parser.feed("{}") + parser.close(), out)
                except FieldstreamError as exc:
                    self._malformed(target, exc, out)
                return
            try:
                events = parser.close()
            except RecursionError:
                self._malformed(target, _too_deep(), out)
                return
            except ParseError as exc:
                self._forward(target, exc.events, out)
                if target.open:
                    message = _ENDINGS.get(reason, f"the target was cut ({reason})") + " before its JSON was complete"
                    self._cut(target, Truncated(source, message, None, None, reason), out)
                return
            except FieldstreamError as exc:
                self._malformed(target, exc, out)
                return
            self._forward(target, events, out)
            if target.open:  # the parser ended without a document it could deliver
                self._cut(target, Malformed(source, "the target ended without a complete value"), out)
            return
        text = target.raw
        if target.mode == _PENDING:  # nothing but blanks came: that is the text
            target.mode = _TEXT
            if text:
                out.append(TextDelta(source, text))
        if cut:
            self._cut(target, Truncated(source, f"the text was cut ({reason})", text, text, reason), out)
        elif source.kind == "refusal":
            self._cut(target, Refused(source, text, text, text), out)
        else:
            target._state = _COMPLETED
            target._value = text
            out.append(TargetCompleted(source, text, text, is_json=False))

    def _cut(self, target: Target, fault: Fault, out: list[StreamEvent]) -> None:
        if fault.snapshot is None and target.mode == _JSON:
            fault = _with(fault, snapshot=target.snapshot, raw=target.raw)
        target._state = _FAULTED
        target.fault = fault
        self._fault(fault, out)

    def _malformed(self, target: Target, exc: FieldstreamError, out: list[StreamEvent]) -> None:
        snapshot = target.parser.snapshot if target.parser is not None else None
        self._cut(target, Malformed(target.source, str(exc), snapshot, target.raw, exc), out)

    def _fault(self, fault: Fault, out: list[StreamEvent]) -> None:
        self.faults.append(fault)
        out.append(fault)


def _too_deep() -> LimitError:
    return LimitError("a value nested deeper than Python's recursion limit allows to validate")


def _is_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_SCALARS = (str, int, float, bool, type(None))


def _not_plain_json(value: Any) -> str | None:
    """What in ``value`` is not a plain JSON value (``None`` when all of it is); no recursion."""
    stack: list[Any] = [value]
    open_ids: set[int] = set()  # the containers being walked (a cycle meets one of them again)
    while stack:
        item = stack.pop()
        if isinstance(item, _SCALARS):
            continue
        if type(item) is _Leave:
            open_ids.discard(item.id)
            continue
        if type(item) is list or type(item) is dict:
            if id(item) in open_ids:
                return "a container that holds itself"
            open_ids.add(id(item))
            stack.append(_Leave(id(item)))
            if type(item) is list:
                stack.extend(item)
                continue
            assert type(item) is dict
            for key in item:
                if type(key) is not str:
                    return f"a {type(key).__name__} key"
            stack.extend(item.values())
        else:
            return f"a {type(item).__name__}"
    return None


class _Leave:
    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id


def _dump(value: Any) -> str:
    """``value`` as JSON text for a fault's ``raw``, whatever it holds (no exception escapes)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):  # circular, or nested too deep
        return f"<{type(value).__name__} that is not JSON>"


# Hot-path events built without the frozen dataclass __init__ (see _parser.py): a new
# instance, then the slot descriptors set its fields.
_new: Any = object.__new__
_set_event_source: Any = vars(TargetEvent)["source"].__set__
_set_event_event: Any = vars(TargetEvent)["event"].__set__
_set_text_source: Any = vars(TextDelta)["source"].__set__
_set_text_text: Any = vars(TextDelta)["text"].__set__


def _text_delta(source: Source, text: str) -> TextDelta:
    made: TextDelta = _new(TextDelta)
    _set_text_source(made, source)
    _set_text_text(made, text)
    return made


def _outermost(path: tuple[Any, ...]) -> bool:
    """Whether an item at ``path`` lies in an outermost array (one not inside another array)."""
    arrays = 0
    for key in path:
        if type(key) is int:
            arrays += 1
    return arrays == 1


def _counts_output(usage: dict[str, Any] | None) -> bool:
    # Whether the provider's usage accounts for what was generated (the keys vary by provider).
    keys = ("completion_tokens", "output_tokens", "candidatesTokenCount", "eval_count", "outputTokens", "total_tokens")
    return usage is not None and any(isinstance(usage.get(key), int) for key in keys)


def _with(fault: Fault, **changes: Any) -> Fault:
    return dataclasses.replace(fault, **changes)


def _merge(old: dict[str, Any], new: Any) -> dict[str, Any]:
    """Usage split over several chunks (Anthropic): later non-null values win, nested dicts merge."""
    merged = dict(old)
    if isinstance(new, dict):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = _merge(merged[key], value)
            elif value is not None:
                merged[key] = value
    return merged
