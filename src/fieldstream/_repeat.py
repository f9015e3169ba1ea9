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
from collections.abc import Callable
from typing import Any

__all__ = ["Repeat", "learn"]

# json.loads's own string scanner (the C one when built): (text, index after the closing quote).
_scanstring: Any = getattr(json.decoder, "scanstring")  # (not in the stubs)
# A probe in the leaf's place (see learn), and what comes right before a value token.
_PROBE = b'"\\u0000"'
_BEFORE_VALUE = frozenset(b":,[ \t\r\n")
_TRIES = 8  # candidate tokens tried, from the end of the envelope
_BLANKS = b" \t\r\n"


class Repeat:
    """The envelope an event repeats: ``head`` (up to the text's opening quote) and ``tail``
    (after its closing quote), for ``source`` (SSE event name ``event``)."""

    __slots__ = ("closers", "event", "head", "source", "tail", "varying")

    def __init__(self, event: Any, head: bytes, tail: bytes, source: Any, varying: tuple[bytes, bytes] | None) -> None:
        self.event = event
        self.head = head
        self.tail = tail
        self.source = source
        #: The tail is only closing brackets and blanks: blanks may differ.
        self.closers = tail.translate(None, _BLANKS) if not tail.strip(b"}] \t\r\n") else None
        #: (before, after) the value of the unread member at the end, when there is one.
        self.varying = varying

    def text(self, data: bytes) -> str | None:
        """The text of ``data`` if it repeats this envelope (a non-empty string); else ``None``."""
        head = self.head
        if not data.startswith(head):
            return None
        start = len(head)
        close = data.find(b'"', start)
        text = data[start:close].decode("utf-8", "replace")
        if close > start and "\\" not in text and text.isprintable():
            tail = data[close + 1 :]  # (no escape, no control character: the token is its bytes)
        else:  # json.loads's own scanner reads the token (that quote may be escaped)
            rest = data[start:].decode("utf-8", "replace")
            try:
                text, end = _scanstring(rest, 0, True)
            except ValueError:  # not one string token: the whole path says what it is
                return None
            if not text:
                return None  # an empty delta may mean something else to a provider (a first chunk)
            tail = data[start + end :] if len(rest) == len(data) - start else rest[end:].encode("utf-8", "replace")
        if tail == self.tail:
            return text
        closers = self.closers
        if closers is not None:
            return text if tail.translate(None, _BLANKS) == closers else None
        varying = self.varying
        if varying is not None:
            before, after = varying
            if tail.startswith(before) and tail.endswith(after):
                value = tail[len(before) : len(tail) - len(after)]
                if not value or value.isalnum():  # (OpenAI's are: any other takes the whole path)
                    return text
        return None


def learn(
    data: bytes, event: Any, source: Any, text: str, varying: str | None, leaf: Callable[[bytes], Any]
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
    ``varying``: the key of a member at the end whose value the provider never reads.
    """
    written = json.dumps(text, ensure_ascii=False)  # the token as encoders write it: as is, or
    escaped = json.dumps(text)  # with every non-ASCII character escaped
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
                return Repeat(event, data[: at + 1], tail, source, _varying(tail, varying))
    return None


def _varying(tail: bytes, key: str | None) -> tuple[bytes, bytes] | None:
    # The member `key` with a plain string value, last in the envelope: (the tail up to the
    # value, the tail after it).  Its quote after "," or "{" opens a token (a quote inside a string
    # comes after a backslash), so it is a key of the root object that the final "}" closes.
    if key is None:
        return None
    name = f'"{key}":"'.encode()
    at = tail.rfind(name)
    close = tail.rfind(b'"')
    if at <= 0 or tail[at - 1] not in b",{" or tail[close:].strip(_BLANKS) != b'"}':
        return None
    return tail[: at + len(name)], tail[close:]
