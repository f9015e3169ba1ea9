"""Repeats: an envelope equal to one seen before but for its text, read without parsing it.

Theory of operation
-------------------
Most events of a provider stream are the same JSON envelope again with another
piece of text in one string: OpenAI chat chunks repeat their id, model and
fingerprint around ``"content":"..."``, Anthropic deltas their type and block
index around ``"text":"..."``.  Parsing each envelope whole and walking it in
the provider costs more than everything else on the per-event path.

A :class:`Repeat` is learned from one such envelope (its bytes, and the text the
provider read from it): the bytes before the string that holds the text
(``head``) and the text after it (``tail``).  An envelope that starts with the
same ``head``, then holds one JSON string token, then the same ``tail``, is the
same JSON document with another string at that place (JSON is context free: one
string token swapped for another changes that leaf and nothing else), so the
provider would make the same step of it with the new text.  Only the string is
decoded, by the standard library's own string scanner (``json.loads``'s
semantics, lone surrogates included); anything else (a broken escape, a raw
control character, an empty string, another tail) is not a repeat and takes
the whole path, which decides it exactly as before.

Two tails that are not equal still match where the difference cannot change the
document: blanks among the closing brackets at the very end (``}   }``), and
the value of one member at the end of the envelope that the provider never reads
(OpenAI's ``"obfuscation"`` padding), while that value is a plain string.

A provider says which envelopes are such repeats (its ``leaf(payload)``): only
those whose one step is :class:`Text` of a single string leaf, for a target
already open, and that change none of its state; see :mod:`._providers`.
"""

from __future__ import annotations

import json.decoder
import json.encoder
from collections.abc import Callable
from typing import Any

__all__ = ["Repeat", "learn"]

# json.loads's own string scanner (the C one when built): (text, index after the closing quote).
_scanstring: Any = getattr(json.decoder, "scanstring")  # (not in the stubs)
# json.dumps of a str, without its Python-level checks (the C encoders when built).
_written: Any = getattr(json.encoder, "encode_basestring")
_escaped: Any = getattr(json.encoder, "encode_basestring_ascii")
# A probe in the leaf's place (see learn), and what comes right before a value token.
_PROBE = b'"\\u0000"'
_BEFORE_VALUE = frozenset(b":,[ \t\r\n")
_TRIES = 8  # candidate tokens tried, from the end of the envelope
_BLANKS = b" \t\r\n"


class Repeat:
    """The envelope an event repeats: ``head`` (up to the text's opening quote) and ``tail``
    (after its closing quote), for ``source`` (SSE event name ``event``)."""

    __slots__ = ("after", "before", "closers", "event", "frame", "head", "number", "source", "tail", "tail_number")

    def __init__(
        self,
        event: Any,
        head: bytes,
        tail: bytes,
        source: Any,
        varying: tuple[bytes, bytes] | None = None,
        number: bytes | None = None,
        unread: tuple[str, ...] = (),
    ) -> None:
        self.event = event
        self.head = head
        #: The rest of the head after an unread number in it (``head`` ends with its key).
        self.number = number
        self.tail = tail
        self.source = source
        #: What comes before the head in a read that is one SSE message (its event line, and
        #: its data line's name).
        self.frame = b"data: " if event == "message" else f"event: {event}\ndata: ".encode()
        #: The tail is only closing brackets and blanks: the blanks may differ (spaces and tabs;
        #: a line end would end the SSE data line).
        self.closers = tail.translate(None, b" \t") if not tail.strip(b"}] \t") else None
        #: Around the value of the unread member at the end, when there is one: the tail before it
        #: and after it.
        self.before: bytes | None = varying[0] if varying is not None else None
        self.after = varying[1] if varying is not None else b""
        #: (before, after) an unread number in the tail, when there is one and no ``varying``.
        self.tail_number = None if varying is not None else _split_number(tail, unread)

    def text(self, data: bytes) -> str | None:
        """The text of envelope ``data`` if it repeats this one (a non-empty string); else ``None``."""
        start = self._start(data, 0)
        return self._text(data, start, len(data)) if start >= 0 else None

    def message(self, data: bytes) -> str | None:
        """The same for a read that is exactly one SSE message of one data line (``data: ...\\n\\n``)."""
        frame = self.frame
        if not data.startswith(frame) or not data.endswith(b"\n\n"):
            return None
        if self.number is None:  # (_start, inlined for the commonest head)
            head = self.head
            if not data.startswith(head, len(frame)):
                return None
            return self._text(data, len(frame) + len(head), len(data) - 2)
        start = self._start(data, len(frame))
        return self._text(data, start, len(data) - 2) if start >= 0 else None

    def _start(self, data: bytes, at: int) -> int:
        # Where the text token starts (after its opening quote) if the head is at `at`; else -1.
        head = self.head
        if not data.startswith(head, at):
            return -1
        at += len(head)
        rest = self.number
        if rest is None:
            return at
        end = data.find(rest[0], at, at + 20)  # the digits of an unread number, then the rest
        digits = data[at:end]
        if end < 0 or not digits.isdigit() or (digits[0] == 48 and len(digits) > 1):  # (no leading zero)
            return -1
        return end + len(rest) if data.startswith(rest, end) else -1

    def _text(self, data: bytes, start: int, stop: int) -> str | None:
        # data[start:stop] must be the rest of one string token (from after its opening quote),
        # then a tail this envelope allows.  The tail is found from the end, then the token is
        # decoded alone: as it is when it holds no escape, no quote but its last and no control
        # character (so no line end either); else by json.loads's own scanner, which must end
        # exactly at the tail.
        before = self.before
        if before is not None:  # its value differs every time: no use comparing the whole tail
            after = self.after
            if not data.endswith(after, start, stop):
                return None
            cut = stop - len(after)
            end = data.rfind(before, start, cut)
            value = data[end + len(before) : cut]
            if end < 0 or (value and not value.isalnum()):  # (OpenAI's are: any other takes the whole path)
                return None
        elif self.tail_number is not None:  # (before, after) around digits that differ every time
            before, after = self.tail_number
            if not data.endswith(after, start, stop):
                return None
            at = data.rfind(b":", start, stop - len(after)) + 1
            digits = data[at : stop - len(after)]
            if not at or not digits.isdigit() or (digits[0] == 48 and len(digits) > 1):
                return None
            end = at - len(before)
            if not data.startswith(before, end):
                return None
        else:
            tail = self.tail
            end = stop - len(tail)
            if not data.startswith(tail, end):
                closers = self.closers
                if closers is None:
                    return None
                end = start + len(data[start:stop].rstrip(b"}] \t"))
                if data[end:stop].translate(None, b" \t") != closers:
                    return None
        if end <= start + 1:
            return None  # an empty string: a provider may mean more by "" (a first chunk)
        token = data[start:end].decode("utf-8", "replace")
        last = len(token) - 1
        if token.find('"') == last and "\\" not in token and token.isprintable():
            return token[:last]
        try:
            text, at = _scanstring(token, 0, True)
        except ValueError:  # not one string token: the whole path says what it is
            return None
        return text if at == len(token) and text else None


def learn(
    data: bytes, event: Any, source: Any, text: str, unread: tuple[str, ...], leaf: Callable[[bytes], Any]
) -> Repeat | None:
    """The :class:`Repeat` of envelope ``data``, whose one step was ``text`` for ``source``.

    ``text`` is the value of one string leaf of ``data`` (the provider says so).
    The leaf is found by its token, from the end, and proven by a probe: the
    envelope with a ``"\\u0000"`` token in its place must still be valid JSON and
    the provider's ``leaf(data)`` must read ``"\\x00"`` from it for ``source``.  A
    quote that is not a value token's makes the probe invalid JSON, and a token
    the provider does not read makes it read other text: only the leaf passes,
    and then any string token there makes the same envelope with that text.
    ``None`` when no token passes (the text escaped otherwise, say).
    ``unread``: keys the provider never reads, whose values may differ: a plain
    string as the last member of the envelope, or a number before the text.
    """
    if b"\n" in data or b"\r" in data:
        return None  # blanks that end SSE lines: not one data line
    written = _written(text)  # the token as encoders write it: as is, or
    escaped = _escaped(text)  # with every non-ASCII character escaped
    for token in (written,) if written == escaped else (written, escaped):
        try:
            plain = token.encode()
        except UnicodeEncodeError:  # a lone surrogate: only an escape can say it
            continue
        end = len(data)
        for _ in range(_TRIES):
            at = data.rfind(plain, 0, end)
            if at <= 0:
                break
            end = at + len(plain) - 1
            if data[at - 1] not in _BEFORE_VALUE:
                continue  # the quote ends a string, or a key: not a value's
            tail = data[at + len(plain) :]
            found = leaf(data[:at] + _PROBE + tail)
            if found is not None and found[0] is source and found[1] == "\x00":
                head, number = _split_number(data[: at + 1], unread) or (data[: at + 1], None)
                return Repeat(event, head, tail, source, _varying(tail, unread), number, unread)
    return None


def _split_number(text: bytes, keys: tuple[str, ...]) -> tuple[bytes, bytes] | None:
    # An unread member with a number value (Responses' sequence_number): `text` up to its value,
    # and after it.  After "," or "{" its quote opens a key (see _varying).
    for key in keys:
        name = f'"{key}":'.encode()
        at = text.find(name)
        if at > 0 and text[at - 1] in b",{":
            start = end = at + len(name)
            while text[end : end + 1].isdigit():
                end += 1
            if end > start and text[end : end + 1] in (b",", b"}"):
                return text[:start], text[end:]
    return None


def _varying(tail: bytes, keys: tuple[str, ...]) -> tuple[bytes, bytes] | None:
    # An unread member with a plain string value, last in the envelope: (the tail up to the
    # value, the tail after it).  Its quote after "," or "{" opens a token (a quote inside a string
    # comes after a backslash), so it is a key of the root object that the final "}" closes.
    close = tail.rfind(b'"')
    if tail[close:].strip(_BLANKS) != b'"}':
        return None
    for key in keys:
        name = f'"{key}":"'.encode()
        at = tail.rfind(name)
        if at > 0 and tail[at - 1] in b",{" and at + len(name) <= close:
            return tail[: at + len(name)], tail[close:]
    return None
