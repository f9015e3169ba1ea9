"""Framing: a provider's response body, as bytes arrive, into decoded payloads.

Theory of operation
-------------------
:class:`Framing` is the first layer of :class:`~fieldstream.StreamDecoder`.  It
chooses how the body is framed from the first non-blank byte (unless an HTTP
error status was given): ``{`` means one JSON document per line (Ollama NDJSON,
chunk lists; if the first line is not JSON, one pretty-printed document, decoded
at the end), ``[`` a JSON array of chunks (Gemini without ``alt=sse``), anything
else Server-Sent Events; a body that opens with a valid AWS event-stream prelude
(or a ``content_type`` of ``application/vnd.amazon.eventstream``) is binary
event-stream messages (Bedrock), each handed on as ``{event type: payload}``.  A
leading BOM is dropped.

What it finds goes to its *sink* (the decoder), in body order:
``_payload(payload, event, out)`` for each decoded payload (an SSE message's
JSON, an NDJSON line, an array item, an event-stream message), ``_apply(step,
out)`` for a provider error it read itself (an error body, an ``event: error``
message in plain text, an event-stream error message), ``_fault(fault, out)``
for data it could not read, and ``_done()`` for ``[DONE]``, the end marker that
is not a payload.  A failure of the wire format itself (a line over the limit, a
broken prelude) is one :class:`Malformed` fault, after which the framing ignores
the rest of the body.

Envelopes are parsed by jiter when it is installed, with ``json.loads`` deciding
whatever jiter refuses (:mod:`._envelope`): the payloads are ``json.loads``'s.

An SSE message that repeats the envelope learned before but for its text
(:mod:`._repeat`) is not parsed: its text goes to the sink's ``_repeat(source,
text, out)``.  The sink's ``_payload`` says when a payload was one text step for
its last target, and its ``_leaf(payload, event)`` (the provider's) whether the
envelope may be learned.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from . import _envelope
from ._errors import FieldstreamError, LimitError, ParseError, UsageError
from ._events import ItemCompleted
from ._eventstream import EVENTSTREAM_CONTENT_TYPE, EventStreamDecoder, EventStreamMessage, is_eventstream_prelude
from ._ndjson import NDJSONDecoder
from ._parser import Parser
from ._providers import Error, Step, error_step
from ._repeat import Repeat, learn
from ._sse import SSEDecoder
from ._stream_events import Fault, Malformed, StreamEvent

__all__ = ["FrameSink", "Framing"]

_WHITESPACE = b" \t\r\n"
# Envelopes learned as repeats beyond those repeated, after which a stream stops learning.
_LEARN = 8
_BOM = b"\xef\xbb\xbf"


class FrameSink(Protocol):
    """Where :class:`Framing` hands what it read (the decoder)."""

    status_code: int | None
    content_type: str | None

    def _payload(self, payload: Any, event: str | None, out: list[StreamEvent]) -> bool: ...

    def _repeat(self, source: Any, text: str, out: list[StreamEvent]) -> bool: ...

    def _leaf(self, payload: Any, event: str | None) -> tuple[Any, str, tuple[str, ...]] | None: ...

    def _apply(self, step: Step, out: list[StreamEvent]) -> None: ...

    def _fault(self, fault: Fault, out: list[StreamEvent]) -> None: ...

    def _done(self) -> None: ...


class Framing:
    """Bytes in, payloads out to ``sink``; ``kind`` names the framing once it is known.

    ``kind``: ``"sse"``, ``"ndjson"``, ``"json"`` (one whole document), ``"json-array"``,
    ``"eventstream"``, ``"error-body"``, ``"text"`` or ``"payloads"`` (the decoder was
    fed decoded payloads); ``None`` until the first non-blank byte.
    """

    __slots__ = (
        "_array_parser",
        "_body",
        "_body_size",
        "_again",
        "_framer",
        "_head",
        "_kept",
        "_learned",
        "_repeat",
        "_sink",
        "_sink_payload",
        "_sink_repeat",
        "_sse",
        "broken",
        "fast_loads",
        "kind",
        "loads",
        "max_event_size",
    )

    def __init__(self, sink: FrameSink, max_event_size: int) -> None:
        self._sink = sink
        self._sink_payload = sink._payload  # (bound once: called per payload)
        self._sink_repeat = sink._repeat
        #: The envelope the SSE messages repeat (see ``_repeat``), once learned.
        self._repeat: Repeat | None = None
        self._learned = 0  # envelopes learned less those repeated: learning stops past a few
        self._again = False  # the last payload read whole was text for the last target
        self.max_event_size = max_event_size
        self.kind: str | None = None
        self.broken = False  # the wire format failed; later input is ignored
        #: The envelope parser: jiter when installed, ``json.loads`` semantics (see ``_envelope``).
        self.loads: Any = _envelope.loads
        #: jiter itself (``None`` without it), for the hot path; its refusals go to ``loads``.
        self.fast_loads: Any = _envelope.fast_loads
        self._framer: Any = None
        self._sse: SSEDecoder | None = None  # the SSE decoder while the hot path may run (not broken)
        self._head = b""
        self._body: list[bytes] = []  # error-body and text framings keep the whole body
        self._body_size = 0
        self._array_parser: Parser[Any] | None = None
        self._kept: list[bytes] | None = None  # an NDJSON body's bytes until its first line decodes

    def feed(self, data: bytes | bytearray | memoryview, out: list[StreamEvent]) -> None:
        """Read the next bytes of the body (split anywhere)."""
        sse = self._sse
        if sse is not None and sse._between and type(data) is bytes:
            # The hot path: whole SSE messages cut straight from the bytes (see SSEDecoder._fast).
            repeat = self._repeat
            if repeat is not None:  # the hottest: one message repeating the envelope learned
                text = repeat.message(data)
                if text is not None and len(data) <= sse._fast_limit:
                    try:
                        if self._sink_repeat(repeat.source, text, out):
                            # (characters, as SSEDecoder counts what it takes)
                            sse._offset += len(data) if data.isascii() else len(data.decode("utf-8", "replace"))
                            if self._learned:
                                self._learned -= 1
                            return
                    except FieldstreamError as exc:
                        self._break(exc, out)
                        return
            single = sse._single(data)
            if single is not None:  # the commonest read: one whole message
                try:
                    self._message(single[0], single[1], out)
                except FieldstreamError as exc:
                    self._break(exc, out)
                return
            messages, pos = sse._fast(data, 0)
            if messages:
                try:
                    for value, event in messages:
                        self._message(value, event, out)
                except FieldstreamError as exc:
                    self._break(exc, out)
                    return
            if pos == len(data):
                return
            data = data[pos:]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"StreamDecoder.feed() takes bytes, not {type(data).__name__}")
        if self.broken or not data:
            return
        if self.kind is None:
            data = self._head + bytes(data)
            if not self._choose(data):
                # Only blanks so far, or the start of a BOM or of an event-stream prelude.  Whole
                # blank lines mean nothing in any framing, but the blanks after the last line end
                # open the next line ("   data: x" is a field named "   data" in SSE): kept.
                cut = 0 if data[:1] == b"\x00" else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
                self._head = data[cut:]
                if len(self._head) <= self.max_event_size:
                    return
                self._choose(b"data:")  # a line of blanks beyond the limit: SSE says so
            self._head = b""
            if self.kind in ("json-array", "ndjson") and data.startswith(_BOM):
                data = data[3:]  # SSE drops its own BOM; JSON text must not see it
        self._feed(bytes(data), out)

    def close(self, out: list[StreamEvent]) -> None:
        """End the body: flush what the framing holds (a last line, an error body, a whole document)."""
        if self.broken:
            return
        if self.kind is None:  # only blanks came, or nothing
            self._choose(self._head, final=True)
        if self.kind == "payloads":
            return
        kind = self.kind
        sink = self._sink
        try:
            if kind == "sse":
                for message in self._framer.close():
                    self._sse_message(message.data, message.event, out)
            elif kind in ("ndjson", "eventstream"):
                for payload in self._framer.close():  # an event-stream decoder has none left: it only checks
                    sink._payload(payload, None, out)
            elif kind == "json-array":
                self._array_events(self._array_parser.close(), out)  # type: ignore[union-attr]
            elif kind == "error-body":
                self._error_body(b"".join(self._body), out)
            elif kind == "json":
                try:
                    payload = json.loads(b"".join(self._body))
                except (ValueError, RecursionError) as exc:
                    raise ParseError(f"the body is neither NDJSON nor one JSON document ({exc})") from exc
                sink._payload(payload, None, out)
            elif kind == "text":
                text = b"".join(self._body).decode("utf-8", "replace")
                sink._fault(Malformed(None, f"not a provider stream: {text[:200]!r}", None, text), out)
        except FieldstreamError as exc:
            self._break(exc, out)

    def detach(self) -> None:
        """Forget the sink once its decoder is closed (nothing reaches it after ``close``): the
        decoder and its framing refer to each other, and without this cycle a closed stream is
        freed by reference counting at once, not later by the cycle collector (whose passes over
        every stream's objects cost ~2-4% of a short stream's time)."""
        del self._sink, self._sink_payload, self._sink_repeat

    # -- choosing ----------------------------------------------------------

    def _choose(self, data: bytes, final: bool = False) -> bool:
        sink = self._sink
        if sink.status_code is not None and sink.status_code >= 400:
            self.kind = "error-body"
            return True
        ctype = (sink.content_type or "").split(";")[0].strip().lower()
        if ctype == EVENTSTREAM_CONTENT_TYPE or (data[:1] == b"\x00" and is_eventstream_prelude(data[:12])):
            self.kind = "eventstream"
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
            self.kind = "ndjson"
            self._framer = NDJSONDecoder(max_line_length=self.max_event_size)
            self._kept = []
        elif first == b"[":
            self.kind = "json-array"
            # Items are handed on as they complete; the parser need not keep them.
            self._array_parser = Parser(deltas=False, keep_items=False)
        elif first in b"dei:r" or head.startswith(b"retry"):
            self.kind = "sse"
            self._framer = self._sse = SSEDecoder(
                max_line_length=self.max_event_size, max_event_size=self.max_event_size
            )
        else:
            self.kind = "text"
        return True

    # -- reading -----------------------------------------------------------

    def _feed(self, data: bytes, out: list[StreamEvent]) -> None:
        kind = self.kind
        sink = self._sink
        try:
            if kind == "sse":
                framer = self._framer
                pos = 0
                if framer._between:  # the fast path, without a generator per read
                    messages, pos = framer._fast(data, 0)
                    for value, event in messages:
                        self._message(value, event, out)
                if pos < len(data):
                    for value, event, _ in framer._iter_raw(data[pos:] if pos else data):
                        self._sse_message(value, event, out)
            elif kind == "ndjson":
                self._keep(data)
                try:
                    for payload in self._framer._iter_feed(data):
                        self._kept = None
                        sink._payload(payload, None, out)
                except ParseError as exc:
                    if self._kept is None or isinstance(exc, LimitError):
                        raise
                    # The first line is not JSON: one pretty-printed JSON document (a response
                    # that was not streamed), decoded whole at the end.
                    self.kind = "json"
                    self._body, self._kept = self._kept, None
            elif kind == "eventstream":
                for message in self._framer._iter_feed(data):
                    self._event_message(message, out)
            elif kind == "json-array":
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
                    raise LimitError(f"{kind} body longer than {self.max_event_size} bytes", offset=self._body_size)
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
        self.broken = True
        self._sse = None
        message = str(exc) if isinstance(exc, LimitError) else f"{self.kind} framing failed: {exc}"
        self._sink._fault(Malformed(None, message, error=exc), out)

    def _message(self, value: bytes, event: str, out: list[StreamEvent]) -> None:
        """One SSE message from the fast path (UTF-8 ``bytes``): a repeat of the envelope learned
        before, else parsed (jiter first, ``_sse_message`` for what it refuses)."""
        repeat = self._repeat
        if repeat is not None and event == repeat.event:
            text = repeat.text(value)
            if text is not None and self._sink_repeat(repeat.source, text, out):
                if self._learned:
                    self._learned -= 1
                return
        fast = self.fast_loads
        if fast is None or value == b"[DONE]":
            self._sse_message(value, event, out)
            return
        try:
            payload = fast(value)
        except (ValueError, TypeError, RecursionError):
            self._sse_message(value, event, out, _envelope.stdlib_loads)  # json.loads decides what jiter refused
            return
        self._after(self._sink_payload(payload, event, out), value, event, payload)

    def _after(self, text: bool, value: bytes, event: str, payload: Any) -> None:
        # A payload read whole was applied; `text`: its one step was text for the last target.
        # The second such payload in a row is learned (see _repeat) if the provider says it is
        # a repeat: a block of one or two deltas is not worth learning.  A stream whose
        # envelopes never repeat (choices interleaved, a field that changes every time) stops
        # trying after a few.
        if not text:
            self._again = False
        elif not self._again:
            self._again = True
        elif self._learned < _LEARN:
            self._learn(value, event, payload)

    def _learn(self, value: bytes, event: str, payload: Any) -> None:
        self._learned += 1
        leaf = self._sink._leaf(payload, event)
        if leaf is not None:
            self._repeat = learn(value, event, *leaf, lambda probe: self._probe(probe, event))

    def _probe(self, data: bytes, event: str) -> Any:
        # The provider's reading of a probe envelope (see _repeat.learn), if it is JSON at all.
        try:
            payload = self.loads(data)
        except (ValueError, RecursionError):
            return None
        return self._sink._leaf(payload, event)

    def _sse_message(self, data: str | bytes, event: str, out: list[StreamEvent], loads: Any = None) -> None:
        """One SSE message: its JSON to the sink, ``[DONE]`` as the end marker, else a fault.

        ``data`` is UTF-8 ``bytes`` from the fast path, else ``str``; ``loads`` the parser to
        use (``json.loads`` where jiter already refused the data; ``self.loads`` by default).
        """
        sink = self._sink
        if type(data) is bytes and data == b"[DONE]":  # not JSON: no parser need refuse it first
            sink._done()
            return
        try:
            payload = (loads or self.loads)(data)
        except RecursionError:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            message = "SSE data nested deeper than Python's recursion limit (about 1000)"
            sink._fault(Malformed(None, message, None, text, LimitError(message)), out)
            return
        except ValueError:
            if not isinstance(data, str):
                data = data.decode("utf-8", "replace")
            if data.strip() == "[DONE]":  # never JSON, so asking the parser first changes nothing
                sink._done()
                return
            if event == "error":  # an error message in plain text
                sink._apply(Error(data, None, None, data), out)
            else:
                sink._fault(Malformed(None, f"SSE data is not JSON: {data[:200]!r}", None, data), out)
            return
        applied = sink._payload(payload, event, out)
        if type(data) is bytes:
            self._after(applied, data, event, payload)

    def _event_message(self, message: EventStreamMessage, out: list[StreamEvent]) -> None:
        # One binary message as a payload in boto3's shape: {event type: decoded JSON payload}.
        sink = self._sink
        headers = message.headers
        name = message.event_type
        if message.message_type == "error":
            error = {"code": headers.get(":error-code"), "message": headers.get(":error-message") or name}
            sink._apply(error_step({"error": error}), out)
            return
        try:
            body = json.loads(message.payload) if message.payload.strip() else {}
        except (ValueError, RecursionError):
            text = message.payload[:200].decode("utf-8", "replace")
            sink._fault(Malformed(None, f"event-stream {name} payload is not JSON: {text!r}", None, text), out)
            return
        if name == "chunk" and isinstance(body, dict) and isinstance(body.get("bytes"), str):
            # InvokeModelWithResponseStream: the model's own event (Anthropic's, ...), base64 in JSON.
            try:
                inner = json.loads(base64.b64decode(body["bytes"], validate=True))
            except (ValueError, binascii.Error, RecursionError):
                sink._fault(
                    Malformed(None, f"event-stream chunk bytes are not base64 JSON: {body['bytes'][:200]!r}"), out
                )
                return
            sink._payload(inner, None, out)
        elif name is None:
            sink._payload(body, None, out)
        else:
            if message.message_type == "exception" and not isinstance(body, dict):
                body = {"message": str(body)}
            sink._payload({name: body}, name, out)

    def _array_events(self, events: list[Any], out: list[StreamEvent]) -> None:
        for event in events:
            if type(event) is ItemCompleted and len(event.path) == 1:
                self._sink._payload(event.value, None, out)

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
            step = Error(str(payload)[:1000] or f"HTTP {self._sink.status_code}", None, None, payload)
        self._sink._apply(step, out)
