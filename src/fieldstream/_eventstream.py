"""A pure decoder for AWS's binary event-stream framing (``application/vnd.amazon.eventstream``), no I/O.

Theory of operation
-------------------
Bedrock's ``ConverseStream`` (and every other AWS streaming API) frames each
event as one binary message::

    prelude   total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers   name length (u8) | name (UTF-8) | type (u8) | value     (repeated)
    payload   total length - headers length - 16 bytes (JSON for Bedrock)
    trailer   CRC32 of everything before it (u32)

All integers are big-endian.  ``feed(data)`` appends to one receive buffer and
advances an offset through it; a message is decoded once all of its bytes are
there, and nothing is sliced or scanned twice (the consumed prefix is dropped
once per ``feed()``; a header set seen before is not parsed again, which makes
small frames about twice as fast: ``benchmarks/eventstream.py``).  The prelude
is checked as soon as its 12 bytes arrive, so a hostile length is refused before
anything is buffered for it: its CRC, that the lengths fit each other (at least
16 bytes, headers within the message), and the limits ``max_message_size`` and
``max_headers_length``.  The message CRC is
checked before the headers are read.  Header values are typed: booleans,
signed integers of 1, 2, 4 and 8 bytes, byte arrays, strings, timestamps
(milliseconds, as an int) and UUIDs (16 bytes), as botocore returns them.

Every corruption raises from ``feed()``/``close()``: a bad CRC, lengths that do
not fit, an unknown header type, a header running past its section, a name
given twice or a string that is not UTF-8 raise :class:`ParseError`; a limit
raises :class:`LimitError`; bytes left over at ``close()`` (a cut message) raise
:class:`IncompleteError`.  After an error the decoder takes no more input.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ._errors import IncompleteError, LimitError, ParseError, UsageError

__all__ = [
    "DEFAULT_MAX_HEADERS_LENGTH",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "EVENTSTREAM_CONTENT_TYPE",
    "EventStreamDecoder",
    "EventStreamMessage",
    "is_eventstream_prelude",
]

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
#: Most header bytes one message may carry (AWS's own limit, as botocore enforces it).
DEFAULT_MAX_HEADERS_LENGTH = 128 * 1024
#: Longest message, prelude to trailer: AWS's payload limit (24 MiB) plus the headers' and the framing's.
DEFAULT_MAX_MESSAGE_SIZE = 24 * 1024 * 1024 + DEFAULT_MAX_HEADERS_LENGTH + 16

_PRELUDE = 12  # total length, headers length, prelude CRC
_OVERHEAD = 16  # the prelude and the message CRC
_U32 = struct.Struct(">I")
_PRELUDE_STRUCT = struct.Struct(">III")
_SEEN_HEADER_SETS = 64  # distinct header sets remembered (Bedrock sends about ten)
_SEEN_HEADER_SIZE = 1024
# Header value type -> fixed size and struct format (None: length-prefixed or sizeless).
_FIXED = {2: (1, ">b"), 3: (2, ">h"), 4: (4, ">i"), 5: (8, ">q"), 8: (8, ">q")}


def is_eventstream_prelude(head: bytes) -> bool:
    """Whether ``head`` (at least 12 bytes) starts with a well-formed prelude: lengths that fit, a good CRC."""
    if len(head) < _PRELUDE:
        return False
    total, headers, crc = _PRELUDE_STRUCT.unpack_from(head)
    return bool(total >= _OVERHEAD and headers <= total - _OVERHEAD and zlib.crc32(head[:8]) == crc)


@dataclass(frozen=True, slots=True)
class EventStreamMessage:
    """One decoded message: its typed ``headers`` and its raw ``payload``.

    The headers AWS sets are ``:message-type`` (``event``, ``exception`` or
    ``error``), ``:event-type`` / ``:exception-type``, ``:content-type``, and for
    errors ``:error-code`` and ``:error-message``.
    """

    headers: dict[str, Any] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str | None:
        kind = self.headers.get(":message-type")
        return kind if isinstance(kind, str) else None

    @property
    def event_type(self) -> str | None:
        """``:event-type`` for an event, ``:exception-type`` for an exception, ``:error-code`` for an error."""
        for name in (":event-type", ":exception-type", ":error-code"):
            value = self.headers.get(name)
            if isinstance(value, str):
                return value
        return None

    def __repr__(self) -> str:
        payload = self.payload if len(self.payload) <= 50 else self.payload[:47] + b"..."
        return f"EventStreamMessage({self.message_type} {self.event_type}, payload={payload!r})"


class EventStreamDecoder:
    """Incremental event-stream decoder: ``feed(bytes)`` returns the messages it completed.

    >>> import struct, zlib
    >>> def frame(headers: bytes, payload: bytes) -> bytes:
    ...     prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    ...     prelude += struct.pack(">I", zlib.crc32(prelude))
    ...     body = prelude + headers + payload
    ...     return body + struct.pack(">I", zlib.crc32(body))
    >>> header = b"\\x0b:event-type\\x07\\x00\\x0bmessageStop"
    >>> body = frame(header, b'{"stopReason":"end_turn"}')
    >>> d = EventStreamDecoder()
    >>> d.feed(body[:20])
    []
    >>> d.feed(body[20:])
    [EventStreamMessage(None messageStop, payload=b'{"stopReason":"end_turn"}')]
    >>> d.close()
    []
    """

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers_length: int = DEFAULT_MAX_HEADERS_LENGTH,
    ) -> None:
        for name, limit in (("max_message_size", max_message_size), ("max_headers_length", max_headers_length)):
            if type(limit) is not int or limit < 1:
                raise UsageError(f"{name} must be a positive int, got {limit!r}")
        self.max_message_size = max_message_size
        self.max_headers_length = max_headers_length
        #: How many messages were decoded.
        self.messages = 0
        self._buffer = bytearray()
        self._pos = 0  # start of the message being received, in _buffer
        self._total = 0  # its total length, once its prelude was read (0: not yet)
        self._headers_length = 0
        self._offset = 0  # bytes of the body dropped from _buffer (for error offsets)
        self._seen: dict[bytes, dict[str, Any]] = {}  # header bytes -> parsed headers
        self._closed = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[EventStreamMessage]:
        """Decode the next bytes (split anywhere) and return the messages they completed."""
        if self._closed:
            raise UsageError("feed() after close() or after an error: create a new EventStreamDecoder")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"EventStreamDecoder.feed() takes bytes, not {type(data).__name__}")
        return list(self._iter_feed(data))

    def _iter_feed(self, data: bytes | bytearray | memoryview) -> Iterator[EventStreamMessage]:
        # A generator, so that a caller sees the good messages before a bad one raises.
        buffer = self._buffer
        buffer += data
        while True:
            available = len(buffer) - self._pos
            if not self._total:
                if available < _PRELUDE:
                    break
                self._prelude()
            if available < self._total:
                break
            message = self._message()
            self._pos += self._total
            self._total = 0
            self.messages += 1
            yield message
        if self._pos:  # drop what was consumed: at most one partial message stays
            del buffer[: self._pos]
            self._offset += self._pos
            self._pos = 0

    def close(self) -> list[EventStreamMessage]:
        """End the input; bytes of a message that never completed raise :class:`IncompleteError`."""
        if self._closed:
            raise UsageError("close() called twice or after an error")
        self._closed = True
        left = len(self._buffer) - self._pos
        if left:
            need = f"{self._total}-byte message" if self._total else "12-byte prelude"
            raise IncompleteError(
                f"event stream cut: {left} bytes of a {need} at the end", offset=self._offset + self._pos
            )
        return []

    def _prelude(self) -> None:
        total, headers, crc = _PRELUDE_STRUCT.unpack_from(self._buffer, self._pos)
        computed = zlib.crc32(self._buffer[self._pos : self._pos + 8])
        if computed != crc:
            self._fail(f"event-stream prelude CRC mismatch (sent {crc:#010x}, computed {computed:#010x})")
        if total < _OVERHEAD or headers > total - _OVERHEAD:
            self._fail(f"event-stream lengths do not fit: message {total} bytes, headers {headers} bytes")
        if headers > self.max_headers_length:
            self._fail(f"event-stream headers longer than {self.max_headers_length} bytes ({headers})", LimitError)
        if total > self.max_message_size:
            self._fail(f"event-stream message longer than {self.max_message_size} bytes ({total})", LimitError)
        self._total = total
        self._headers_length = headers

    def _message(self) -> EventStreamMessage:
        total = self._total
        # One copy of the message (never a view: the receive buffer must stay resizable).
        view = memoryview(bytes(self._buffer[self._pos : self._pos + total]))
        (crc,) = _U32.unpack_from(view, total - 4)
        computed = zlib.crc32(view[: total - 4])
        if computed != crc:
            self._fail(f"event-stream message CRC mismatch (sent {crc:#010x}, computed {computed:#010x})")
        headers_end = _PRELUDE + self._headers_length
        raw = bytes(view[_PRELUDE:headers_end])
        # A stream repeats a few header sets (one per event type): parse each once.
        headers = self._seen.get(raw)
        if headers is None:
            headers = self._headers(memoryview(raw))
            if len(raw) <= _SEEN_HEADER_SIZE:  # bounded: 64 sets of at most 1 KiB
                if len(self._seen) >= _SEEN_HEADER_SETS:
                    self._seen.clear()
                self._seen[raw] = headers
        return EventStreamMessage(dict(headers), bytes(view[headers_end : total - 4]))

    def _headers(self, data: memoryview) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        pos, end = 0, len(data)
        while pos < end:
            size = data[pos]
            name_bytes = bytes(data[pos + 1 : pos + 1 + size])
            pos += 1 + size
            if pos >= end:
                self._fail("event-stream header runs past the headers section")
            name = self._text(name_bytes, "header name")
            kind = data[pos]
            pos += 1
            value: Any
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                width, fmt = _FIXED[kind]
                if pos + width > end:
                    self._fail(f"event-stream header {name!r} runs past the headers section")
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += width
            elif kind in (6, 7):
                if pos + 2 > end:
                    self._fail(f"event-stream header {name!r} runs past the headers section")
                length = data[pos] << 8 | data[pos + 1]
                pos += 2
                if pos + length > end:
                    self._fail(f"event-stream header {name!r} runs past the headers section")
                raw = bytes(data[pos : pos + length])
                value = raw if kind == 6 else self._text(raw, f"header {name!r}")
                pos += length
            elif kind == 9:
                if pos + 16 > end:
                    self._fail(f"event-stream header {name!r} runs past the headers section")
                value = bytes(data[pos : pos + 16])
                pos += 16
            else:
                self._fail(f"event-stream header {name!r} has unknown type {kind}")
            if name in headers:
                self._fail(f"event-stream header {name!r} given twice")
            headers[name] = value
        return headers

    def _text(self, raw: bytes, what: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(f"event-stream {what} is not UTF-8: {raw[:40]!r}")

    def _fail(self, message: str, cls: type[ParseError] = ParseError) -> NoReturn:
        self._closed = True
        raise cls(message, offset=self._offset + self._pos)
