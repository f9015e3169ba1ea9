"""A pure newline-delimited JSON decoder (Ollama bodies, chunk lists), no I/O.

Theory of operation
-------------------
``feed(data)`` splits bytes at ``\\n``; each complete line is decoded with
:func:`json.loads` (``\\r`` and blank lines are whitespace to it).  Only the
unfinished last line is kept, as a list of pieces, so nothing is scanned twice
except by ``json.loads`` itself, once per line.  ``close()`` decodes a last line
that has no newline.  A line longer than ``max_line_length`` bytes raises
:class:`LimitError`; a line that is not JSON raises :class:`ParseError` naming
its line number (the decoder then refuses more input).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._errors import LimitError, ParseError, UsageError

__all__ = ["DEFAULT_MAX_NDJSON_LINE_LENGTH", "NDJSONDecoder"]

#: Longest NDJSON line, in bytes (``LimitError`` beyond).
DEFAULT_MAX_NDJSON_LINE_LENGTH = 16 * 1024 * 1024


class NDJSONDecoder:
    """Incremental NDJSON decoder: ``feed(bytes)`` returns the values of the lines it completed.

    >>> d = NDJSONDecoder()
    >>> d.feed(b'{"a": 1}\\n{"b"')
    [{'a': 1}]
    >>> d.feed(b': 2}')
    []
    >>> d.close()
    [{'b': 2}]

    With ``lines=True`` it returns each non-blank line as ``str`` without decoding it.
    """

    def __init__(self, *, lines: bool = False, max_line_length: int = DEFAULT_MAX_NDJSON_LINE_LENGTH) -> None:
        if type(max_line_length) is not int or max_line_length < 1:
            raise UsageError(f"max_line_length must be a positive int, got {max_line_length!r}")
        self.lines = lines
        self.max_line_length = max_line_length
        self._partial: list[bytes] = []
        self._partial_len = 0
        self._line_no = 0
        self._offset = 0  # bytes before the unfinished line
        self._closed = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[Any]:
        """Split the next bytes into lines and return the decoded complete ones."""
        if self._closed:
            raise UsageError("feed() after close() or after an error: create a new NDJSONDecoder")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"NDJSONDecoder.feed() takes bytes, not {type(data).__name__}")
        return list(self._iter_feed(bytes(data)))

    def _iter_feed(self, data: bytes) -> Iterator[Any]:
        # A generator, so that a caller sees the good lines before the bad one raises.
        out: list[Any] = []
        pos = 0
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                break
            if self._partial:
                self._partial.append(data[pos:end])
                line = b"".join(self._partial)
                self._partial = []
                self._partial_len = 0
            else:
                line = data[pos:end]
            self._line(line, out)
            yield from out
            out.clear()
            self._offset += len(line) + 1
            pos = end + 1
        if pos < len(data):
            self._partial.append(data[pos:])
            self._partial_len += len(data) - pos
            if self._partial_len > self.max_line_length:
                self._fail(f"NDJSON line longer than {self.max_line_length} bytes", LimitError)

    def close(self) -> list[Any]:
        """End the input and decode a last line that has no newline."""
        if self._closed:
            raise UsageError("close() called twice or after an error")
        out: list[Any] = []
        if self._partial:
            line = b"".join(self._partial)
            self._partial = []
            self._line(line, out)
        self._closed = True
        return out

    def _line(self, line: bytes, out: list[Any]) -> None:
        self._line_no += 1
        if len(line) > self.max_line_length:
            self._fail(f"NDJSON line longer than {self.max_line_length} bytes", LimitError)
        if not line.strip():
            return
        if self.lines:
            try:
                out.append(line.decode("utf-8").rstrip("\r"))
            except UnicodeDecodeError as exc:
                self._fail(f"invalid UTF-8 in NDJSON line {self._line_no}", ParseError, exc)
            return
        try:
            out.append(json.loads(line))
        except (ValueError, RecursionError) as exc:
            self._fail(f"NDJSON line {self._line_no} is not JSON ({exc})", ParseError, exc)

    def _fail(self, message: str, cls: type[ParseError], cause: BaseException | None = None) -> None:
        self._closed = True
        raise cls(message, offset=self._offset, line=self._line_no or 1) from cause
