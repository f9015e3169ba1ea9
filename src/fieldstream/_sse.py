"""A pure Server-Sent-Events decoder (WHATWG rules), no I/O.

Theory of operation
-------------------
``feed(data)`` decodes UTF-8 incrementally (invalid bytes become U+FFFD, as the
standard says), splits the text into lines at ``\\r\\n``, ``\\n`` or ``\\r``, and
interprets each complete line at once: ``data:`` lines accumulate, ``event:``,
``id:`` and ``retry:`` set fields, ``:`` lines are comments, and a blank line
dispatches the message.  Only the unfinished last line is kept between calls,
as a list of pieces (never re-joined until its end arrives), so every byte is
scanned once.  A ``\\r`` at the very end of a chunk ends its line straight away
(no waiting for the next byte); a ``\\n`` opening the next chunk is then skipped.

Fast path: between messages (no unfinished line, no data gathered, no byte
of a character pending), the commonest shape, ``data: ...`` and ``event: ...``
lines ended by ``\n`` or ``\r\n`` and a blank line, is cut straight from the
bytes: one ``find`` (``memchr``) per line instead of a regex, and the data is
decoded only when asked.  Anything else there (a lone ``\r``, comments,
``id:``, ``retry:``, other fields, a message over a limit, a byte-order mark)
and whatever follows an unfinished message goes through the general path
above, so the result is the same, message by message.  Cutting at ``\n`` never splits a UTF-8 character, so
decoding each message's bytes alone gives what decoding the whole body gives.

Unlike a browser, ``close()`` dispatches a final message that was not followed
by a blank line: recorded bodies and cut streams often end that way.

Limits (keyword options, :class:`LimitError` beyond them) bound what the decoder
may buffer: one line (``max_line_length``) and one message's data
(``max_event_size``), both counted in characters.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ._errors import LimitError, UsageError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "DEFAULT_MAX_LINE_LENGTH", "SSEDecoder", "SSEMessage"]

#: Longest SSE line, in characters (``LimitError`` beyond).
DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024
#: Most data one SSE message may carry, in characters (``LimitError`` beyond).
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

_EOL = re.compile(r"\r\n|\r|\n")
_UTF8 = codecs.getincrementaldecoder("utf-8")
_EVENTS: dict[bytes, str] = {}  # event names seen by the fast path (bounded), decoded once


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched SSE message.

    ``event`` is the ``event:`` field (``"message"`` when absent), ``data`` the
    ``data:`` lines joined with ``\\n``, ``id`` the last event id seen so far (it
    persists across messages, as the standard says) and ``retry`` the ``retry:``
    value given in this message, if any.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 50 else self.data[:47] + "..."
        return f"SSEMessage(event={self.event!r}, data={data!r}, id={self.id!r}, retry={self.retry!r})"


class SSEDecoder:
    """Incremental SSE decoder: ``feed(bytes)`` returns the messages it completed.

    >>> d = SSEDecoder()
    >>> d.feed(b"event: ping\\ndata: {}\\n\\ndata: a\\r")
    [SSEMessage(event='ping', data='{}', id=None, retry=None)]
    >>> d.feed(b"\\ndata: b")
    []
    >>> d.close()
    [SSEMessage(event='message', data='a\\nb', id=None, retry=None)]
    """

    def __init__(
        self,
        *,
        max_line_length: int = DEFAULT_MAX_LINE_LENGTH,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        for name, limit in (("max_line_length", max_line_length), ("max_event_size", max_event_size)):
            if type(limit) is not int or limit < 1:
                raise UsageError(f"{name} must be a positive int, got {limit!r}")
        self.max_line_length = max_line_length
        self.max_event_size = max_event_size
        #: The last ``id:`` seen (what a client sends back as ``Last-Event-ID``).
        self.last_event_id: str | None = None
        #: The last ``retry:`` value seen, in milliseconds.
        self.retry: int | None = None
        #: How many comment lines (``: ...``) were seen.
        self.comments = 0
        self._decoder: codecs.IncrementalDecoder | None = (
            None  # the general path's UTF-8 decoder, made when that path first runs
        )
        self._partial: list[str] = []  # pieces of the unfinished line
        self._partial_len = 0
        self._skip_lf = False  # the last chunk ended with '\r'
        self._bom_checked = False
        self._data: list[str] = []
        self._data_len = 0
        self._event = ""
        self._event_retry: int | None = None
        self._offset = 0  # characters consumed (for error messages)
        self._closed = False
        self._between = True  # between messages with nothing pending: the fast path may run
        self._fast_limit = min(max_line_length, max_event_size)

    def feed(self, data: bytes | bytearray | memoryview) -> list[SSEMessage]:
        """Decode the next bytes and return the messages they completed."""
        if self._closed:
            raise UsageError("feed() after close(): create a new SSEDecoder for a new stream")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"SSEDecoder.feed() takes bytes, not {type(data).__name__}")
        return list(self._iter_feed(data))

    def _iter_feed(self, data: bytes | bytearray | memoryview) -> Iterator[SSEMessage]:
        # A generator, so that a caller sees the messages before a limit error raises.
        for value, event, retry in self._iter_raw(bytes(data)):
            if type(value) is bytes:
                value = value.decode("utf-8", "replace")
            yield SSEMessage(event, value, self.last_event_id, retry)  # type: ignore[arg-type]

    def _iter_raw(self, data: bytes) -> Iterator[tuple[str | bytes, str, int | None]]:
        """The messages ``data`` completes as ``(data, event, retry)``; data is UTF-8 ``bytes`` from the fast path."""
        n = len(data)
        pos = 0
        while pos < n:
            if self._between:
                messages, pos = self._fast(data, pos)
                for value, event in messages:
                    yield value, event, None
                if pos >= n:
                    return
            yield from self._general(data, pos)
            pos = data.find(b"\n\n", pos)
            pos = n if pos < 0 else pos + 2

    def _general(self, data: bytes, pos: int) -> Iterator[tuple[str, str, int | None]]:
        """The general path, up to the end of the next message (then the fast path may resume)."""
        self._between = False
        end = data.find(b"\n\n", pos)
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = _UTF8("replace")
        for message in self._text(decoder.decode(data[pos : len(data) if end < 0 else end + 2], False)):
            yield message.data, message.event, message.retry
        self._between = (
            not self._partial
            and not self._data
            and not self._skip_lf
            and self._bom_checked
            and not self._event
            and self._event_retry is None
            and not decoder.getstate()[0]
        )

    def _single(self, data: bytes) -> tuple[bytes, str] | None:
        """A read that is exactly one message, ``data: ...`` (after an ``event: ...`` line or not),
        as ``(data, event)``; else ``None``.  Called between messages."""
        n = len(data)
        if not (self._bom_checked and data.endswith(b"\n\n") and n <= self._fast_limit) or 13 in data:
            return None
        if not data.isascii():
            return None
        event = "message"
        start = 0
        if data.startswith(b"event:"):  # Anthropic and Responses name every message
            start = data.find(b"\n") + 1
            name = data[7 : start - 1] if data[6:7] == b" " else data[6 : start - 1]
            event = _EVENTS.get(name)  # type: ignore[assignment]
            if event is None:
                return None  # a name not seen yet: the general fast path learns it
        if not data.startswith(b"data: ", start) or data.find(b"\n", start) != n - 2:
            return None
        self._offset += n
        return data[start + 6 : -2], event

    def _fast(self, data: bytes, pos: int) -> tuple[list[tuple[bytes, str]], int]:
        """The messages made only of ``data:``/``event:`` lines, cut from the bytes, and where it stopped.

        It stops at the start of the first message it cannot take whole (another
        field, a ``\\r`` that does not end a line before its ``\\n``, a line over a
        limit, a byte-order mark, or the end of ``data``).
        """
        limit = self._fast_limit
        if not self._bom_checked:  # the stream's first bytes: a byte-order mark is the general path's
            if not data or data[:1] == b"\xef":
                return [], pos
            self._bom_checked = True
        n = len(data)
        if (
            not pos
            and data[-2:] == b"\n\n"
            and data[:6] == b"data: "
            and data.find(b"\n") == n - 2
            and n <= limit
            and 13 not in data
            and data.isascii()
        ):  # the commonest read of all: exactly one message of one data line
            self._offset += n
            return [(data[6:-2], "message")], n
        messages: list[tuple[bytes, str]] = []
        find = data.find
        start = pos  # the start of the message being read
        value: bytes | None = None
        event = "message"
        offset = 0  # characters of the messages taken
        while True:
            end = find(b"\n", pos)  # one memchr per line
            if end < 0:  # (the offset of an unfinished message is counted when the general path reads it)
                return messages, start
            line = data[pos:end]
            if line[-1:] == b"\r":  # a CRLF line end (Gemini)
                line = line[:-1]
            if not line:  # a blank line: dispatch (a message without data dispatches nothing)
                if value is not None:
                    messages.append((value, event))
                value, event = None, "message"
                self._offset += offset + end + 1 - pos
                offset = 0
                pos = start = end + 1
                continue
            if 13 in line or len(line) > limit:  # bytes >= characters: the general path checks limits exactly
                return messages, start
            if line[:6] == b"data: ":
                value = line[6:] if value is None else value + b"\n" + line[6:]
            elif line[:5] == b"data:":
                value = line[5:] if value is None else value + b"\n" + line[5:]
            elif line[:6] == b"event:" and line.isascii():
                name = line[7:] if line[6:7] == b" " else line[6:]
                event = _EVENTS.get(name)  # type: ignore[assignment]
                if event is None:
                    event = name.decode("ascii") or "message"
                    if len(_EVENTS) < 256:
                        _EVENTS[name] = event
            else:
                return messages, start
            if value is not None and len(value) >= self.max_event_size:
                return messages, start
            offset += end + 1 - pos if line.isascii() else len(data[pos : end + 1].decode("utf-8", "replace"))
            pos = end + 1

    def close(self) -> list[SSEMessage]:
        """End the input: flush the last line and dispatch a final unterminated message."""
        if self._closed:
            raise UsageError("close() called twice")
        out = list(self._text(self._decoder.decode(b"", True))) if self._decoder is not None else []
        self._closed = True
        if self._partial:
            line = "".join(self._partial)
            self._partial = []
            self._line(line, out)
        self._dispatch(out)
        return out

    def _text(self, text: str) -> Iterator[SSEMessage]:
        out: list[SSEMessage] = []
        if not text:
            return
        if not self._bom_checked:  # one leading BOM is not part of the stream
            self._bom_checked = True
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return
        start = 0
        if self._skip_lf:
            self._skip_lf = False
            if text and text[0] == "\n":
                start = 1
        pos = start
        for match in _EOL.finditer(text, start):
            end = match.start()
            if self._partial:
                self._partial.append(text[pos:end])
                line = "".join(self._partial)
                self._partial = []
                self._partial_len = 0
            else:
                line = text[pos:end]
            if len(line) > self.max_line_length:
                self._too_long("line", self.max_line_length)
            self._line(line, out)
            if out:
                yield from out
                out.clear()
            pos = match.end()
        if pos < len(text):
            tail = text[pos:]
            self._partial.append(tail)
            self._partial_len += len(tail)
            if self._partial_len > self.max_line_length:
                self._too_long("line", self.max_line_length)
        elif text[-1] == "\r":
            self._skip_lf = True
        self._offset += len(text)

    def _line(self, line: str, out: list[SSEMessage]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == ":":
            self.comments += 1
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_len += len(value) + 1
            if self._data_len > self.max_event_size:
                self._too_long("event data", self.max_event_size)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit() and value.isascii():
            self.retry = self._event_retry = int(value)
        # Any other field name is ignored, as the standard says.

    def _dispatch(self, out: list[SSEMessage]) -> None:
        if self._data:
            out.append(
                SSEMessage(self._event or "message", "\n".join(self._data), self.last_event_id, self._event_retry)
            )
        self._data = []
        self._data_len = 0
        self._event = ""
        self._event_retry = None

    def _too_long(self, what: str, limit: int) -> None:
        self._closed = True
        raise LimitError(f"SSE {what} longer than {limit} characters", offset=self._offset)
