"""Lenient mode: the parser's scan loop for what models write when nothing constrains them.

Theory of operation
-------------------
``Parser(lenient=True)`` replaces the parser's ``_run`` (its scan loop) with
:meth:`LenientScanner.run`; everything else (the stack, the partial value, the
events, snapshots, limits, errors) is the parser's own.  The loop is the strict
one with the fault branches turned into repairs, so valid JSON takes the same
paths at the same cost, in one pass, O(n), and every split of the input gives
the same events.  Each repair emits a :class:`Repair` event naming its kind, the
path of the value it touched and the input offset where it happened.

What lenient mode accepts, and how ambiguities are decided (``docs/lenient.md``):

* strings and keys in single quotes; raw control characters (newlines, tabs) in
  strings; unknown escapes kept as written (``"\\x"`` is backslash, ``x``);
* a quote that may close a string is *held* until the next character that is
  not whitespace decides: what may follow a closed string (a comma, a colon, a
  bracket, another quote, a digit, a comment, a line break, the end of input)
  means it closed the string; anything else (a letter, ``.``, ``?``, ``>``)
  means the quote belongs to the text (``'it's'``, ``"say "hi" now"``).  Nothing
  held is ever emitted, so no completed value or delta changes later;
* unquoted keys (up to ``:``) and unquoted values (up to ``,``, ``]``, ``}``, a
  line end, or a comment or ``"`` after a blank; trimmed, typographic quotes
  around them dropped).  An unquoted value is resolved only once it ends:
  ``true``/``True``, ``false``/``False``, ``null``/``None``, ``NaN``,
  ``Infinity``/``-Infinity``, numbers in loose forms (``+1``, ``.5``, ``1.``,
  ``007``), otherwise the text itself.  With a schema, the schema decides
  between the text and the value (:mod:`fieldstream._lenient_schema`);
* ``//``, ``/* */`` and ``#`` comments wherever whitespace may be;
* trailing, doubled and missing commas, a missing colon, a colon between array
  items, a closing bracket of the wrong kind (it closes the innermost
  container; one of a kind not open at all is skipped), an array item's object
  that lost its ``}`` (a container where its next key should be), text after
  the document;
* a document cut off at the end: ``close()`` completes the text so far, drops a
  key that has no value yet, and closes every open container;
* at the top level (without ``prose``), text that cannot start a value (a fence,
  prose, ``and`` between fenced blocks) is skipped with a ``leading_text``
  repair.  A top-level word is read whole (up to a blank or an opener); one that
  is a number or a literal is *held* in ``scalars``, with the events that go
  before its completion, until what follows decides: the end of input (or with
  ``multiple`` a value) makes it a document, a prose word makes it prose too
  (``3 apples``).  A top-level ``(`` waits for the next character that is not a
  blank: a value makes it a tuple, anything else prose.  Nothing held is
  emitted before it is decided.

Internal steps follow the parser's rule: advance ``pos``, stop at the end of
the buffer with the state kept (``_pending`` holds at most an escape prefix, a
number prefix or one ``/``), or raise through ``Parser._fail``.  Lenient-only
states are negative so the parser's own ``state >= _S_ERROR`` checks hold.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from ._errors import LimitError, ParseError
from ._events import Event, Repair, RepairKind, _delta
from ._parser import (
    _ESCAPES,
    _HEX4,
    _LITERALS,
    _NUMBER,
    _NUMBER_RUN,
    _PROSE,
    _S_AFTER,
    _S_COLON,
    _S_END,
    _S_FIRST_ITEM,
    _S_FIRST_KEY,
    _S_KEY,
    _S_KEYSTR,
    _S_LITERAL,
    _S_NUMBER,
    _S_PROSE,
    _S_STRING,
    _S_VALUE,
    _WS,
    _describe,
    _Runner,
)

if TYPE_CHECKING:
    from ._parser import Parser

__all__ = ["LenientScanner"]

# Lenient-only states (negative: see the module docstring).
_L_BARE = -1  # an unquoted value; its text so far is in parser._parts
_L_BAREKEY = -2  # an unquoted key; its text so far is in parser._parts
_L_COMMENT = -3  # inside a comment; `resume` is the state after it
_L_PAREN = -4  # a top-level '(': a tuple, or prose, decided by the next character that is not a blank

# Run patterns always match (see _parser._Runner).
_DQ_RUN: _Runner = re.compile(r'[^"\\\x00-\x1f]*').match
_SQ_RUN: _Runner = re.compile(r"[^'\\\x00-\x1f]*").match
_CTRL_RUN: _Runner = re.compile(r"[\x00-\x1f]*").match
_BARE_RUN: _Runner = re.compile(r"[^,\]}\n\r/#\"]*").match
_BARE_RUN_PAREN: _Runner = re.compile(r"[^,\]})\n\r/#\"]*").match
_BAREKEY_RUN: _Runner = re.compile(r"[^:,{}\[\]\"'/#]*").match
_TOP_RUN: _Runner = re.compile(r"[^ \t\n\r{\[(]*").match  # a top-level word ends at a blank or an opener
_LOOSE_NUMBER = re.compile(r"[+-]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LOOSE_INT = re.compile(r"[+-]?[0-9][0-9_]*")
# what may follow a closing quote: a delimiter, another value (a missing comma), a comment; after
# anything else (a letter, `.`, `>`, `?`, `!`) the quote was text
_AFTER_CLOSE = frozenset(",:]}\"'/#{[(`-0123456789")
_LITERAL_END = frozenset(",]}\n\r")  # not a space: "null null" is one unquoted word
_VALUE_STOP = frozenset(",]})\n\r \t\"'#")  # what ends a number; anything else makes it a bare word
# at the top level, what the value scan reads as it reads it inside a container: a number, a comment (with
# `multiple`, also true/false/null, which may touch the next document: `truefalse`); the rest is a word
_TOP_SCAN = frozenset("-+.0123456789/#")
_TOP_SCAN_MULTIPLE = _TOP_SCAN | frozenset("tfn")
_TUPLE_START = frozenset("\"'{[()-+.0123456789")  # after a top-level '(': a tuple; anything else: prose
_WORDS: dict[str, tuple[Any, RepairKind | None]] = {
    "true": (True, None),
    "false": (False, None),
    "null": (None, None),
    "True": (True, "python_literal"),
    "False": (False, "python_literal"),
    "None": (None, "python_literal"),
    "TRUE": (True, "python_literal"),
    "FALSE": (False, "python_literal"),
    "NULL": (None, "python_literal"),
    "Null": (None, "python_literal"),
    "NaN": (math.nan, "nonfinite_number"),
    "Infinity": (math.inf, "nonfinite_number"),
    "+Infinity": (math.inf, "nonfinite_number"),
    "-Infinity": (-math.inf, "nonfinite_number"),
}
# typographic quotes around an unquoted key or value (“key”, ‘text’): read as quotes
_CURLY = {"\u201c": "\u201d", "\u2018": "\u2019"}


def _unquote(text: str) -> str:
    if len(text) >= 2 and _CURLY.get(text[0]) == text[-1]:
        return text[1:-1]
    return text


# what a word cut off by the end of input was going to be
_PREFIXES = {w[:i]: w for w in ("true", "false", "null", "True", "False", "None") for i in range(1, len(w))}


class LenientScanner:
    """The lenient scan loop of one :class:`Parser` and the little state it adds."""

    __slots__ = (
        "bare_at",
        "comment",
        "count",
        "held",
        "held_at",
        "ignore_rest",
        "marked",
        "p",
        "paren_at",
        "parens",
        "quote",
        "resume",
        "scalars",
        "skipping",
        "star",
        "word_long",
    )

    def __init__(self, parser: Parser[Any]) -> None:
        self.p = parser
        self.quote = '"'  # the quote of the current string or key
        self.held: list[str] | None = None  # a possible closing quote and the whitespace after it
        self.held_at = 0  # offset of that quote
        self.bare_at = 0  # offset where the current unquoted value began
        self.resume = 0  # the state a comment returns to
        self.comment = ""  # "line" or "block"
        self.star = False  # a block comment's text so far ends with '*'
        self.ignore_rest = False  # text after the document is being skipped
        self.marked: set[str] = set()  # repair kinds already reported for the current string
        self.count = 0  # repairs made so far
        self.parens: list[int] = []  # depths of the open arrays written as Python tuples, '(' ... ')'
        # the top level (docs/lenient.md): numbers and literals held until what follows says whether they
        # were documents or prose, as (offset, value, the events that go before its completion)
        self.scalars: list[tuple[int, Any, list[Event]]] = []
        self.skipping = False  # a run of top-level text is being skipped (one `leading_text` repair for it)
        self.word_long = False  # the top-level word is too long to be a number or a literal
        self.paren_at = 0  # offset of a top-level '(' not yet decided

    # -- repairs -----------------------------------------------------------

    def repair(self, kind: RepairKind, offset: int, events: list[Event], path: Any = None) -> None:
        """Count and emit one repair; ``path`` defaults to the current value's, or is ``"container"``."""
        self.count += 1
        if path is None:
            path = tuple(self.p._path)
        elif path == "container":
            path = tuple(self.p._path[:-1])
        if path and path[-1] is None:  # a key not read yet: the fix is the object's
            path = path[:-1]
        events.append(Repair(path, kind, offset))

    def _mark_string(self, kind: RepairKind, offset: int, events: list[Event], state: int) -> None:
        # once per string: a long text with raw newlines is one repair, not thousands
        if kind not in self.marked:
            self.marked.add(kind)
            self.repair(kind, offset, events, self.p._string_path if state == _S_STRING else "container")

    # -- the scan loop -----------------------------------------------------

    def run(self, buf: str, new: int, events: list[Event]) -> None:
        """Scan ``buf`` (the pending prefix plus a new chunk starting at ``new``)."""
        p = self.p
        n = len(buf)
        pos = 0
        state = p._state
        stack = p._stack
        path = p._path
        base = p._base
        ws = _WS
        try:
            while pos < n:
                if state == _S_STRING or state == _S_KEYSTR:
                    pos, state = self._string(buf, pos, n, state, events)
                    if state == _S_STRING or state == _S_KEYSTR:
                        break  # need more input
                    continue

                if state == _S_AFTER:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    top = stack[-1]
                    if c == ",":
                        pos += 1
                        if type(top) is list:
                            path[-1] += 1
                            state = _S_VALUE
                        else:
                            state = _S_KEY
                        continue
                    if (c == "]" and type(top) is list and not self.parens) or (c == "}" and type(top) is dict):
                        pos += 1
                        state = self._close(events)
                        continue
                    if c == "/" or c == "#":
                        pos, state = self._comment(buf, pos, n, state, events)
                        continue
                    if c == "]" or c == "}" or (c == ")" and type(top) is list):
                        if c != ")" or self.parens[-1:] != [len(stack)]:
                            self.repair("mismatched_bracket", base + pos, events, "container")
                        pos += 1
                        for _ in range(1 if c == ")" else self._closes(c)):
                            state = self._close(events)
                        continue
                    if c == ":" and type(top) is list:  # ["key": "value"]: the colon separates two items
                        self.repair("skipped_text", base + pos, events, "container")
                        pos += 1
                        path[-1] += 1
                        state = _S_VALUE
                        continue
                    self.repair("missing_comma", base + pos, events, "container")
                    if type(top) is list:
                        path[-1] += 1
                        state = _S_VALUE
                    else:
                        state = _S_KEY
                    continue

                if state <= _S_FIRST_ITEM and state >= 0:  # a value (or ']' right after '[')
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    if not stack and not p.prose and state == _S_VALUE:
                        # the top level: text that cannot start a value is skipped (docs/lenient.md)
                        if c in "\"'{[":
                            if self.scalars:  # with `multiple` the numbers and literals before it were documents
                                state = self._release(events) if p.multiple else self._skip(0, events)
                                continue
                            self.skipping = False
                        elif c == "(":
                            self.paren_at = base + pos
                            pos += 1
                            state = _L_PAREN
                            continue
                        elif c not in (_TOP_SCAN_MULTIPLE if p.multiple else _TOP_SCAN):
                            state = self._open_bare(base + pos)
                            continue
                    if c == '"' or c == "'":
                        p._started = True
                        if c == "'":
                            self.repair("single_quotes", base + pos, events)
                        pos += 1
                        self._open_string(c, _S_STRING)
                        state = _S_STRING
                        continue
                    if c == "{" or c == "[" or c == "(":
                        p._started = True
                        if c == "(":
                            self.repair("python_tuple", base + pos, events)
                            self.parens.append(len(stack) + 1)
                        pos += 1
                        if len(stack) >= p.max_depth:
                            p._fail(f"nesting deeper than max_depth={p.max_depth}", buf, pos - 1, LimitError)
                        container: Any = {} if c == "{" else []
                        p._attach(container, base + pos - 1)
                        stack.append(container)
                        if c == "{":
                            path.append(None)
                            state = _S_FIRST_KEY
                        else:
                            path.append(0)
                            p._lists += 1
                            state = _S_FIRST_ITEM
                        continue
                    if c == "]" or c == "}" or (c == ")" and stack and type(stack[-1]) is list):
                        if not stack:
                            p._fail(f"expected a JSON value but found {_describe(c)}", buf, pos)
                        top = stack[-1]
                        closes = 1 if c == ")" else self._closes(c)
                        if not closes:  # a stray closer: skipped
                            self.repair("mismatched_bracket", base + pos, events, "container")
                            pos += 1
                            continue
                        if state == _S_VALUE:
                            if type(top) is list:
                                self.repair("trailing_comma", base + pos, events, "container")
                                path[-1] -= 1  # the comma announced no item
                            else:
                                self.repair("missing_value", base + pos, events)
                                path[-1] = None  # the key without a value is dropped
                        if (c == "}") == (type(top) is list) or (c == ")") != (self.parens[-1:] == [len(stack)]):
                            self.repair("mismatched_bracket", base + pos, events, "container")
                        pos += 1
                        for _ in range(closes):
                            state = self._close(events)
                        continue
                    if c == ",":
                        if stack and type(stack[-1]) is dict:
                            self.repair("missing_value", base + pos, events)
                            path[-1] = None
                            state = _S_KEY  # the key without a value is dropped
                        else:
                            self.repair("extra_comma", base + pos, events, "container")
                        pos += 1
                        continue
                    if c == "/" or c == "#":
                        pos, state = self._comment(buf, pos, n, state, events)
                        continue
                    p._started = True
                    literal = _LITERALS.get(c)
                    if literal is not None:  # true, false, null, with a delimiter after: as strict mode
                        word, value = literal
                        end = pos + len(word)
                        if end < n and buf[end] in _LITERAL_END and buf.startswith(word, pos):
                            state = (
                                p._complete_scalar(value, events)
                                if stack
                                else self._hold(base + pos, value, [], events)
                            )
                            pos = end
                            continue
                        if not stack and p.multiple:  # `truefalse` is two documents there: read as strict mode
                            state = _S_LITERAL
                            continue
                    if c in "-0123456789+.":
                        pos, state = self._number(buf, pos, n, events)
                        continue
                    state = self._open_bare(base + pos)
                    continue

                if state == _S_FIRST_KEY or state == _S_KEY:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    if c == '"' or c == "'":
                        if c == "'":
                            self.repair("single_quotes", base + pos, events, "container")
                        pos += 1
                        self._open_string(c, _S_KEYSTR)
                        state = _S_KEYSTR
                        continue
                    if c == "}" or c == "]":
                        closes = self._closes(c)
                        if closes and state == _S_KEY:
                            self.repair("trailing_comma", base + pos, events, "container")
                        if c == "]":
                            self.repair("mismatched_bracket", base + pos, events, "container")
                        pos += 1
                        for _ in range(closes):  # none: a stray ']', skipped
                            state = self._close(events)
                        continue
                    if c == ",":
                        self.repair("extra_comma", base + pos, events, "container")
                        pos += 1
                        continue
                    if c == "/" or c == "#":
                        pos, state = self._comment(buf, pos, n, state, events)
                        continue
                    if c in "{[":
                        if state == _S_KEY and len(stack) > 1 and type(stack[-2]) is list:
                            # [{"a": 1, {"b": 2}]: the object's '}' is missing; the container is the next item
                            self.repair("missing_bracket", base + pos, events, "container")
                            path[-1] = None
                            self._close(events)
                            path[-1] += 1
                            state = _S_VALUE
                            continue
                        p._fail(f"expected a string key but found {_describe(c)}", buf, pos)
                    self.repair("unquoted_key", base + pos, events, "container")
                    p._parts = []
                    p._length = 0
                    state = _L_BAREKEY
                    continue

                if state == _S_COLON:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    if c == ":":
                        pos += 1
                        state = _S_VALUE
                        continue
                    if c == "/" or c == "#":
                        pos, state = self._comment(buf, pos, n, state, events)
                        continue
                    if c == "," or c == "}" or c == "]":
                        self.repair("missing_value", base + pos, events)
                        path[-1] = None
                        state = _S_KEY if c == "," else _S_AFTER
                        if c == ",":
                            pos += 1
                        continue
                    self.repair("missing_colon", base + pos, events, "container")
                    state = _S_VALUE
                    continue

                if state == _L_BARE:
                    if not stack:  # a top-level word: it ends at a blank or an opener
                        end = _TOP_RUN(buf, pos).end()
                        if end > pos and not self.word_long:
                            p._parts.append(buf[pos:end])
                            p._length += end - pos
                            self.word_long = p._length > p.max_number_length
                        pos = end
                        if end == n:
                            break
                        state = self._complete_bare(events)
                        continue
                    # inside '(' ... ')' a ')' ends the word too
                    end = (_BARE_RUN_PAREN if self.parens[-1:] == [len(stack)] else _BARE_RUN)(buf, pos).end()
                    if end > pos:
                        self._take_word(buf, pos, end)
                    pos = end
                    if end == n:
                        break
                    c = buf[pos]
                    if c == "/" or c == "#" or c == '"':
                        # after whitespace a comment, or a quote (a missing comma before a quoted key or
                        # value), ends the value; else it is text (a URL, C#, 12")
                        parts = p._parts
                        after_space = not parts or parts[-1][-1] in " \t"
                        if c == "/":
                            if pos + 1 == n:
                                p._pending = "/"
                                pos = n
                                break
                            after_space = after_space and buf[pos + 1] in "/*"
                        if not after_space:
                            if p._length >= p.max_string_length:
                                p._fail_limit_string(buf, pos)
                            parts.append(c)
                            p._length += 1
                            pos += 1
                            continue
                    state = self._complete_bare(events)
                    continue

                if state == _L_BAREKEY:
                    end = _BAREKEY_RUN(buf, pos).end()
                    if end > pos:
                        self._take_word(buf, pos, end)
                    pos = end
                    if end == n:
                        break
                    c = buf[pos]
                    key = "".join(p._parts).strip()
                    if c == "," or c == "}":  # a word with no value: dropped
                        p._parts = []
                        p._length = 0
                        self.repair("missing_value", base + pos, events, "container")
                        state = _S_AFTER
                        continue
                    if c != ":" or not key:
                        # stray words where a key should be (a note, a label): skipped
                        p._parts = []
                        p._length = 0
                        self.repair("skipped_text", base + pos, events, "container")
                        state = _S_KEY
                        if c == ":":
                            pos += 1
                        continue
                    path[-1] = _unquote(key)
                    p._parts = []
                    p._length = 0
                    pos += 1
                    state = _S_VALUE
                    continue

                if state == _L_COMMENT:
                    pos, state = self._in_comment(buf, pos, n)
                    continue

                if state == _L_PAREN:
                    pos = ws(buf, pos).end()
                    if pos == n:
                        break
                    state = self._paren(buf[pos] in _TUPLE_START, events)
                    continue

                if state == _S_NUMBER:
                    pos, state = self._number(buf, pos, n, events)
                    continue

                if state == _S_LITERAL:  # only at the top level with `multiple`
                    word, value = _LITERALS[buf[pos]]
                    end = pos + len(word)
                    if buf.startswith(word, pos):
                        state = self._hold(base + pos, value, [], events)
                        pos = end
                        continue
                    if end > n and word.startswith(buf[pos:]):
                        p._pending = buf[pos:]
                        pos = n
                        break
                    state = self._open_bare(base + pos)
                    continue

                if state == _S_END:
                    if self.ignore_rest:
                        pos = n
                        break
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    if (c == "/" or c == "#") and not p.prose:
                        pos, state = self._comment(buf, pos, n, state, events)
                        continue
                    if p.prose and not p.multiple:
                        pos = n  # the closing fence or prose after the value is ignored
                        break
                    if p.multiple:
                        p._started = False
                        state = _S_PROSE if p.prose else _S_VALUE
                        continue
                    self.repair("trailing_text", base + pos, events, ())
                    self.ignore_rest = True
                    pos = n
                    break

                if state == _S_PROSE:
                    pos = _PROSE(buf, pos).end()
                    if pos < n:
                        state = _S_VALUE
                    continue

                raise AssertionError(f"unknown state {state}")  # pragma: no cover
        except ParseError as exc:
            if state == _S_STRING:  # keep the text typed so far in the snapshot
                p._place_partial_string()
                exc.snapshot = p._root
            raise
        p._state = state
        p._plain_string = state == _S_STRING and self.quote == '"' and self.held is None
        count = buf.count("\n", new)
        if count:
            p._lines += count
            p._line_start = p._base + buf.rindex("\n", new) + 1
        p._base += n - len(p._pending)

    def _closes(self, c: str) -> int:
        """Whether a ``]`` or ``}`` closes the innermost container (1), or is stray (0: none of its kind is open)."""
        kind = dict if c == "}" else list
        return 1 if any(type(container) is kind for container in self.p._stack) else 0

    def _close(self, events: list[Event]) -> int:
        parens = self.parens
        if parens and parens[-1] == len(self.p._stack):
            parens.pop()
        return self.p._close_container(events)

    # -- strings -------------------------------------------------------------

    def _open_string(self, quote: str, state: int) -> None:
        p = self.p
        self.quote = quote
        if self.marked:
            self.marked = set()
        p._parts = []
        p._length = 0
        if state == _S_STRING:
            p._take_string_slot()  # the strict parser's rule: the slot is taken when the string opens

    def _string(self, buf: str, pos: int, n: int, state: int, events: list[Event]) -> tuple[int, int]:
        """Scan string or key text; return (pos, state): the state is unchanged while it goes on."""
        p = self.p
        quote = self.quote
        run = _DQ_RUN if quote == '"' else _SQ_RUN
        base = p._base
        pieces: list[str] = []
        while True:
            held = self.held
            if held is not None:
                end = _WS(buf, pos).end()
                if end > pos:
                    held.append(buf[pos:end])
                if end == n:
                    return n, state
                self.held = None
                c = buf[end]
                if (
                    c in _AFTER_CLOSE
                    or (c == ")" and self.parens[-1:] == [len(p._stack)])
                    or any("\n" in h for h in held)
                ):
                    return end, self._close_string(state, events)
                # the quote was part of the text ("it's", an unescaped inner quote)
                self._mark_string("inner_quote", self.held_at, events, state)
                text = "".join(held)
                room = p.max_string_length - p._length
                if len(text) > room:
                    # the error points at the letter that made the held text part of the
                    # string: always in this buffer, so every split reports the same place
                    if room > 0:
                        self._flush(state, [text[:room]], events)
                    p._fail_limit_string(buf, end)
                self._flush(state, [text], events)
                pos = end
            room = p.max_string_length - p._length
            while True:
                end = run(buf, pos).end()
                if end > pos:
                    if end - pos > room:
                        pieces.append(buf[pos : pos + room])
                        self._flush(state, pieces, events)
                        p._fail_limit_string(buf, pos + room)
                    room -= end - pos
                    pieces.append(buf[pos:end])
                if end == n:
                    self._flush(state, pieces, events)
                    return n, state
                c = buf[end]
                if c == quote:
                    if (end + 1 < n and buf[end + 1] in ",:]}") or (p.multiple and not p._stack):
                        # decided at once: a delimiter right after the quote (the common case), or a
                        # top-level string in `multiple` mode, which ends there (`"a"true` is two documents)
                        self._flush(state, pieces, events)
                        return end + 1, self._close_string(state, events)
                    break
                if c != "\\":
                    # a raw control character: kept as typed
                    stop = _CTRL_RUN(buf, end).end()
                    if "control_character" not in self.marked:
                        self._flush(state, pieces, events)  # the repair sits where it happened
                        self._mark_string("control_character", base + end, events, state)
                    if stop - end > room:
                        pieces.append(buf[end : end + room])
                        self._flush(state, pieces, events)
                        p._fail_limit_string(buf, end + room)
                    room -= stop - end
                    pieces.append(buf[end:stop])
                    pos = stop
                    continue
                if end + 1 == n:
                    self._flush(state, pieces, events)
                    p._pending = buf[end:]
                    return n, state
                if room == 0:
                    self._flush(state, pieces, events)
                    p._fail_limit_string(buf, end)
                room -= 1
                e = buf[end + 1]
                simple = _ESCAPES.get(e)
                if simple is not None or e == "'":
                    pieces.append(simple or e)
                    pos = end + 2
                    continue
                if e == "u":
                    if end + 6 > n and _HEX4.match(buf[end + 2 :] + "0000"):
                        self._flush(state, pieces, events)
                        p._pending = buf[end:]
                        return n, state
                    if _HEX4.match(buf, end + 2):
                        code = int(buf[end + 2 : end + 6], 16)
                        pos = end + 6
                        if 0xD800 <= code < 0xDC00:
                            rest = buf[pos : pos + 6]
                            if len(rest) < 6 and "\\u".startswith(rest[:2]):
                                if not rest[2:] or _HEX4.match(rest[2:] + "0000"):
                                    # maybe the low half of a surrogate pair: wait for it
                                    self._flush(state, pieces, events)
                                    p._pending = buf[end:]
                                    return n, state
                            if rest[:2] == "\\u" and _HEX4.match(rest, 2):
                                low = int(rest[2:], 16)
                                if 0xDC00 <= low < 0xE000:
                                    pieces.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                                    pos += 6
                                    continue
                        pieces.append(chr(code))
                        continue
                # an unknown escape: the backslash is text, as written
                if "invalid_escape" not in self.marked:
                    self._flush(state, pieces, events)
                    self._mark_string("invalid_escape", base + end, events, state)
                pieces.append("\\")
                pos = end + 1
            # a quote that may close the string: hold it until the next character decides
            self._flush(state, pieces, events)
            self.held = [quote]
            self.held_at = base + end
            pos = end + 1
            if pos == n:
                return n, state

    def _flush(self, state: int, pieces: list[str], events: list[Event]) -> None:
        if not pieces:
            return
        p = self.p
        text = pieces[0] if len(pieces) == 1 else "".join(pieces)
        pieces.clear()
        p._parts.append(text)
        p._length += len(text)
        if state == _S_STRING and p.deltas:
            events.append(_delta(p._string_path, text))

    def _close_string(self, state: int, events: list[Event]) -> int:
        p = self.p
        parts = p._parts
        text = parts[0] if len(parts) == 1 else "".join(parts)
        p._parts = []
        p._length = 0
        if state == _S_KEYSTR:
            p._path[-1] = text
            return _S_COLON
        return p._complete_scalar(text, events)

    # -- unquoted values and numbers -----------------------------------------

    def _open_bare(self, offset: int, prefix: str = "") -> int:
        p = self.p
        p._parts = [prefix] if prefix else []
        p._length = len(prefix)
        self.bare_at = offset
        self.word_long = False
        return _L_BARE

    def _number(self, buf: str, pos: int, n: int, events: list[Event]) -> tuple[int, int]:
        p = self.p
        end: int = _NUMBER_RUN(buf, pos).end()
        if end - pos > p.max_number_length:
            p._fail(f"number longer than max_number_length={p.max_number_length}", buf, pos, LimitError)
        if end == n:
            p._pending = buf[pos:]
            return n, _S_NUMBER
        token = buf[pos:end]
        if p.multiple and not p._stack and _NUMBER.fullmatch(token):
            pass  # `6null` is two documents there, as in strict mode
        elif buf[end] == "/":  # a comment ends the number; 1/3 is a word
            if end + 1 == n:
                p._pending = buf[pos:]
                return n, _S_NUMBER
            if buf[end + 1] not in "/*":
                return end, self._open_bare(p._base + pos, token)
        elif buf[end] not in _VALUE_STOP:
            # -Infinity, 0x1F, 12abc: an unquoted word that starts like a number
            return end, self._open_bare(p._base + pos, token)
        match = _NUMBER.match(token)
        if match is not None and match.end() == len(token):
            if match.group(1) is None and match.group(2) is None:
                try:
                    value: Any = int(token)
                except ValueError:  # beyond sys.get_int_max_str_digits()
                    p._fail("integer has more digits than Python's int limit", buf, pos, LimitError)
            else:
                value = float(token)
            return end, p._complete_scalar(value, events) if p._stack else self._hold(p._base + pos, value, [], events)
        self._open_bare(p._base + pos, token)
        return end, self._complete_bare(events)

    def _take_word(self, buf: str, pos: int, end: int) -> None:
        """Add ``buf[pos:end]`` to the unquoted word or key being read, within ``max_string_length``."""
        p = self.p
        room = p.max_string_length - p._length
        if end - pos > room:
            p._fail_limit_string(buf, pos + room)
        p._parts.append(buf[pos:end])
        p._length += end - pos

    def _complete_bare(self, events: list[Event]) -> int:
        """Resolve the unquoted value in ``_parts`` and complete it; return the next state."""
        p = self.p
        text = "".join(p._parts).strip()
        p._parts = []
        p._length = 0
        top = not p._stack
        if top and self.word_long:
            return self._skip(self.bare_at, events)
        value: Any
        kind: RepairKind | None
        word = _WORDS.get(text)
        prose = False
        try:
            if word is not None and word[1] is None:  # true, false, null: valid JSON, as it is
                value, kind = word
            elif _NUMBER.fullmatch(text):  # a valid JSON number (cut off at close, or at a comment)
                value, kind = float(text) if text.strip("-0123456789") else int(text), None
            else:
                if word is not None:
                    value, kind = word
                elif _LOOSE_NUMBER.fullmatch(text):
                    kind = "number_format"
                    value = int(text) if _LOOSE_INT.fullmatch(text) else float(text)
                else:
                    value, kind, prose = _unquote(text), "unquoted_string", True
                # two readings (`None`, `007`): a schema may say the text is meant
                if kind != "unquoted_string" and p._bare_is_text(tuple(p._path), text, value):
                    value, kind = text, "unquoted_string"
        except ValueError:  # more digits than Python's int limit (max_number_length raised above it)
            value, kind, prose = text, "unquoted_string", True
        if top:
            if prose:  # a word that is no number or literal: prose before (or between) documents
                return self._skip(self.bare_at, events, fence=text.startswith("```"))
            out: list[Event] = []  # held with the value: emitted only if it turns out a document
        else:
            out = events
        if kind is not None:
            self.repair(kind, self.bare_at, out)
        if p.deltas and type(value) is str and value:
            out.append(_delta(tuple(p._path), value))
        if top:
            return self._hold(self.bare_at, value, out, events)
        return p._complete_scalar(value, events)

    # -- the top level -----------------------------------------------------------

    def _hold(self, offset: int, value: Any, out: list[Event], events: list[Event]) -> int:
        """A top-level number or literal: held until what follows says whether it is a document.

        Without ``multiple`` it is one only if nothing but blanks and comments follow it; with ``multiple``
        also if a value follows it (``1 [2]`` is two documents, as in strict mode), never if a word does.
        """
        if self.scalars and not self.p.multiple:
            self._skip(offset, events)
        self.scalars.append((offset, value, out))
        self.p._started = False
        return _S_VALUE

    def _skip(self, offset: int, events: list[Event], fence: bool = False) -> int:
        """Top-level text that starts no value: skipped, with the numbers and literals held before it
        (not for a fence: in ```` ```json\n42\n``` ```` the closing fence leaves ``42`` a document)."""
        scalars = self.scalars
        if scalars and not fence:
            offset = scalars[0][0]
            self.count -= sum(type(e) is Repair for held in scalars for e in held[2])  # never emitted
            scalars.clear()
        if not self.skipping:
            self.skipping = True
            self.repair("leading_text", offset, events, ())
        self.p._started = False
        return _S_VALUE

    def _release(self, events: list[Event]) -> int:
        """The end of input follows (or with ``multiple``, a value): the held scalars are documents."""
        p = self.p
        state = _S_VALUE
        scalars, self.scalars = self.scalars, []
        self.skipping = False
        for _, value, out in scalars:
            if state == _S_END:  # only with `multiple`: without it at most one is held
                p._started = False
            events.extend(out)
            state = p._complete_scalar(value, events)
        return state

    def _paren(self, tuple_: bool, events: list[Event]) -> int:
        """Decide a top-level '(': a tuple (``(1, 2)``) when a value follows it, else prose (``(see below)``)."""
        p = self.p
        if not tuple_:
            return self._skip(self.paren_at, events)
        if self.scalars:
            if p.multiple:
                self._release(events)
                p._started = False
            else:
                self._skip(0, events)
        self.skipping = False
        p._started = True
        self.repair("python_tuple", self.paren_at, events)
        self.parens.append(1)
        container: list[Any] = []
        p._attach(container, self.paren_at)
        p._stack.append(container)
        p._path.append(0)
        p._lists += 1
        return _S_FIRST_ITEM

    # -- comments --------------------------------------------------------------

    def _comment(self, buf: str, pos: int, n: int, state: int, events: list[Event]) -> tuple[int, int]:
        """At a '/' or '#' where whitespace may be: skip a comment, or treat the text as it comes."""
        p = self.p
        c = buf[pos]
        if c == "/":
            if pos + 1 == n:
                p._pending = "/"
                return n, state
            kind = {"/": "line", "*": "block"}.get(buf[pos + 1])
            if kind is None:
                if state <= _S_FIRST_ITEM and state >= 0:
                    p._started = True
                    return pos, self._open_bare(p._base + pos)
                p._fail(f"unexpected {_describe(c)}", buf, pos)
            pos += 2
        else:
            kind = "line"
            pos += 1
        self.repair("comment", p._base + pos - (1 if c == "#" else 2), events)
        self.comment = kind
        self.star = False
        self.resume = state
        return self._in_comment(buf, pos, n)

    def _in_comment(self, buf: str, pos: int, n: int) -> tuple[int, int]:
        if self.comment == "line":
            end = buf.find("\n", pos)
            if end < 0:
                return n, _L_COMMENT
            return end + 1, self.resume
        if self.star and pos < n and buf[pos] == "/":
            return pos + 1, self.resume
        end = buf.find("*/", pos)
        if end < 0:
            if n > pos:  # only the comment's own text: the '*' of '/*' does not count
                self.star = buf[n - 1] == "*"
            return n, _L_COMMENT
        return end + 2, self.resume

    # -- end of input ------------------------------------------------------------

    def finish(self, events: list[Event]) -> None:
        """At ``close()``: complete what the input left unfinished (a cut-off document)."""
        p = self.p
        state = p._state
        pending, p._pending = p._pending, ""
        start = p._base  # where the pending text begins
        offset = start + len(pending)  # the end of input
        if state == _L_COMMENT:
            state = self.resume
        if state == _L_PAREN:  # a '(' at the very end: prose
            state = self._skip(self.paren_at, events)
        if state == _S_LITERAL:
            state = self._open_bare(start, pending)
        if state == _S_NUMBER:
            token = pending
            while token and not _LOOSE_NUMBER.fullmatch(token):
                token = token[:-1]
            if token != pending:
                self.repair("truncated", offset, events)
            if token:
                self._open_bare(start, token)
                state = self._complete_bare(events)
            else:
                state = _S_VALUE
        if state == _L_BARE:
            text = "".join(p._parts).strip()
            word = _PREFIXES.get(text) if p._stack else None  # a cut-off top-level word is prose
            if word is not None and not p._bare_is_text(tuple(p._path), text, _WORDS[word][0]):
                self.repair("truncated", offset, events)
                p._parts = [word]
            state = self._complete_bare(events)
        if state == _S_STRING or state == _S_KEYSTR:
            if self.held is not None:
                self.held = None
            else:
                self.repair("truncated", offset, events, p._string_path if state == _S_STRING else "container")
            state = self._close_string(state, events)
        if state == _L_BAREKEY or state == _S_COLON:
            state = _S_AFTER  # a key with no value yet is dropped
        if self.scalars:  # the end of input follows them: they were documents
            state = self._release(events)
        if state >= 0 and state <= _S_FIRST_ITEM and not p._stack:
            p._state = state
            return  # nothing started: close() reports it
        while state != _S_END and p._stack:
            if type(p._stack[-1]) is dict:
                p._path[-1] = None
            self.repair("truncated", offset, events, tuple(p._path[:-1]))
            state = self._close(events)
        p._state = state
        p._plain_string = False
