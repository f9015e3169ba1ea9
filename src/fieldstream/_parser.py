"""The sans-IO incremental JSON parser.

Theory of operation
-------------------
``feed(chunk)`` scans only the new text, once.  The parser is a state machine
(the ``_S*`` constants below); the state says what may come next, and the only
text ever kept between chunks is an unfinished *token prefix* (``_pending``): part
of a number, of ``true``/``false``/``null``, or of a string escape.  It is bounded
by ``max_number_length`` (and 12 characters for an escape), so nothing is scanned
twice.  String contents are never kept as pending text: each chunk's run of a
string is decoded straight away, emitted as a :class:`StringDelta` and appended
to a list of parts.

The partial value is built in place: a container is attached to its parent when
it opens, a string when it opens (as ``""``), any other scalar when it completes.
``snapshot`` returns that live object, with the text typed so far of an
unfinished string written into the string's slot, so reading it costs O(that
string), never re-parses anything and never changes what the parser does next.

Threads: one thread feeds a parser at a time.  ``feed()``/``close()`` hold a lock;
a second thread calling them meanwhile waits, then gets :class:`UsageError` if the
first consumed input (it is a bug: the order of its chunks would be undefined).  ``snapshot`` may be read from any thread:
it waits for the feed in progress, so it never sees a half-applied chunk.

Scanning is driven by compiled regular expressions that consume whole runs
(string text, whitespace, number characters) in C; Python code runs once per
token, not once per character.

Internal steps either advance ``pos``, stop at the end of the buffer (need more
input, state kept), or raise :class:`ParseError` through ``_fail``.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar, overload

from ._errors import IncompleteError, LimitError, ParseError, UsageError
from ._events import DocumentCompleted, Event, ItemCompleted, StringDelta, ValueCompleted, _completed, _delta
from ._paths import Path, format_path
from ._textbuf import TextBuffer

if TYPE_CHECKING:
    from ._typed import TypedLayer

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NUMBER_LENGTH",
    "DEFAULT_MAX_STRING_LENGTH",
    "Parser",
]

T = TypeVar("T")

#: Deepest nesting of arrays and objects accepted (``LimitError`` beyond).
DEFAULT_MAX_DEPTH = 1000
#: Longest string value or key, in characters (``LimitError`` beyond).
DEFAULT_MAX_STRING_LENGTH = 64 * 1024 * 1024
#: Longest number token, in characters; also bounds the text held between chunks.
DEFAULT_MAX_NUMBER_LENGTH = 4300

# States.  What may come next:
_S_VALUE = 0  # a value (top level, after ':' or after ',' in an array)
_S_FIRST_ITEM = 1  # a value or ']' (just after '[')
_S_FIRST_KEY = 2  # a key or '}' (just after '{')
_S_KEY = 3  # a key (after ',' in an object)
_S_COLON = 4  # ':'
_S_AFTER = 5  # ',' or the closing bracket of the current container
_S_STRING = 6  # more of a string value
_S_KEYSTR = 7  # more of a key
_S_NUMBER = 8  # more of a number (its prefix is in _pending)
_S_LITERAL = 9  # more of true/false/null (its prefix is in _pending)
_S_END = 10  # after a top-level value: whitespace (or the next document)
_S_PROSE = 11  # text before the first '{' or '[' (prose mode)
_S_ERROR = 12
_S_CLOSED = 13

# The run patterns (`*`) always match, so their `.match(...).end()` is safe; typed
# as returning Any to say so to mypy without a None check on the hot path.
_Runner = Callable[[str, int], Any]
_WS: _Runner = re.compile(r"[ \t\n\r]*").match
_STRING_RUN: _Runner = re.compile(r'[^"\\\x00-\x1f]*').match
_NUMBER_RUN: _Runner = re.compile(r"[0-9eE.+\-]*").match
_PROSE: _Runner = re.compile(r"[^{\[]*").match
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+\-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: dict[str, tuple[str, Any]] = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_NUMBER_START = frozenset("-0123456789")
_NOTHING: Any = object()  # ``result`` before any document completed
_KEY_MEMO = 1024  # most distinct keys remembered for sharing (then the memo starts over)
_KEY_MEMO_LENGTH = 64  # longest key remembered (as pydantic's string cache: a hostile key is not kept)
# Keys seen by any parser, so that repeated keys share one object: json.loads has such a memo per
# call, pydantic a process-wide string cache.  Process-wide here too: an open stream holds no memo
# of its own, and every stream of one schema shares its key objects.  Bounded in count and in key
# length; dict reads and writes are atomic, and a lost race only means a key is not shared.
_KEYS: dict[str, str] = {}
_FAR = 1 << 30  # a stack index no container reaches: "none" for _bare_lo / _keep_from
_WINDOW = 512  # characters of a container's text parsed again at first (then doubled), see _raw_value


class _Bare:
    """The value of a container a typed parser did not keep: where its text starts.

    A completion event carries it in place of the plain value; the typed layer
    asks for the value (``Parser._raw_value``) only when pydantic must see it
    whole (a value that failed validation, a document nested too deep).
    """

    __slots__ = ("path", "start")

    def __init__(self, start: int, path: Path) -> None:
        self.start = start
        self.path = path


def _describe(char: str) -> str:
    if char in '{}[],:"':
        return repr(char)
    if char.isprintable() and not char.isspace():
        return repr(char)
    return f"U+{ord(char):04X}"


class Parser(Generic[T]):
    """Incremental JSON parser: ``feed()`` chunks, get events, read ``snapshot``.

    >>> p = Parser()
    >>> p.feed('{"a": [1, "h')
    [ItemCompleted($.a[0], 1), StringDelta($.a[1], 'h')]
    >>> p.snapshot
    {'a': [1, 'h']}
    >>> p.feed('i"]}')
    [StringDelta($.a[1], 'i'), ItemCompleted($.a[1], 'hi'), ValueCompleted($.a, [1, 'hi']), ValueCompleted($, {'a': [1, 'hi']}), DocumentCompleted({'a': [1, 'hi']}, index=0)]
    >>> p.close()
    []

    Options (keyword-only):

    ``prose``
        Skip any text before the first ``{`` or ``[`` (prose, a ```json fence) and
        ignore what follows the top-level value.  Off by default: strict RFC 8259.
    ``multiple``
        Accept several top-level values one after another (NDJSON, concatenated
        JSON); each ends with a :class:`DocumentCompleted`.
    ``deltas``
        Emit :class:`StringDelta` events (default ``True``).
    ``keep_items``
        Keep completed array items in their array (default ``True``).  With
        ``False`` an item is dropped right after its :class:`ItemCompleted`
        event, so an endless array streams in constant memory.  This applies to
        the outermost arrays only (those not inside another array): each of
        their items is delivered whole, nested arrays included, but the outer
        array itself, in the snapshot and in later events, holds only its
        unfinished item.  With a schema the same holds for the validated
        value: the items of an outermost streamed list are validated, delivered
        and dropped, and the list is validated empty at the end; a container the
        schema validates whole (a tuple, a set, a constrained or after-validated
        list) keeps its items, since pydantic needs them.
    ``max_depth``, ``max_string_length``, ``max_number_length``
        Limits against hostile input; exceeding one raises :class:`LimitError`.
    ``lenient``
        Repair what models write outside a JSON grammar (single quotes, unquoted
        keys and words, Python literals, comments, trailing or missing commas, a
        cut-off end...) in the same single pass; each fix emits a :class:`Repair`
        event.  Off by default.  See ``docs/lenient.md``.

    With a schema as first argument (a pydantic model or any type a
    ``TypeAdapter`` accepts), ``Parser(Model)`` is a ``Parser[Model]``: events
    carry validated values, ``snapshot`` is the typed partial value and
    ``result`` the validated final value; a value that fails validation gives a
    :class:`ValueInvalid` event (``on_invalid="event"``, the default) or raises
    :class:`SchemaError` (``on_invalid="raise"``).  See ``docs/typed.md``.
    ``Parser(typing.Any)`` is the plain parser.
    """

    # No per-instance __dict__: an open stream holds one parser per target (memory per open stream).
    __slots__ = (
        "_bare_lo",
        "_base",
        "_decoder",
        "_documents",
        "_error",
        "_error_in_string",
        "_keep_from",
        "_last",
        "_length",
        "_lenient",
        "_line_start",
        "_lines",
        "_lists",
        "_lock",
        "_own_text",
        "_parts",
        "_path",
        "_pending",
        "_placed",
        "_plain_string",
        "_root",
        "_run",
        "_stack",
        "_started",
        "_starts",
        "_state",
        "_string_path",
        "_text",
        "_typed",
        "_words",
        "deltas",
        "keep_items",
        "max_depth",
        "max_number_length",
        "max_string_length",
        "multiple",
        "on_invalid",
        "prose",
        "schema",
    )

    @overload
    def __init__(
        self: Parser[Any],
        schema: None = None,
        /,
        *,
        on_invalid: Literal["event", "raise"] = "event",
        prose: bool = False,
        multiple: bool = False,
        deltas: bool = True,
        keep_items: bool = True,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
        max_number_length: int = DEFAULT_MAX_NUMBER_LENGTH,
        lenient: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self,
        schema: type[T],
        /,
        *,
        on_invalid: Literal["event", "raise"] = "event",
        prose: bool = False,
        multiple: bool = False,
        deltas: bool = True,
        keep_items: bool = True,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
        max_number_length: int = DEFAULT_MAX_NUMBER_LENGTH,
        lenient: bool = False,
    ) -> None: ...
    @overload
    def __init__(  # a type form that is not a class (``Union[...]``, ``Annotated[...]``): values are Any
        self: Parser[Any],
        schema: Any,
        /,
        *,
        on_invalid: Literal["event", "raise"] = "event",
        prose: bool = False,
        multiple: bool = False,
        deltas: bool = True,
        keep_items: bool = True,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
        max_number_length: int = DEFAULT_MAX_NUMBER_LENGTH,
        lenient: bool = False,
    ) -> None: ...

    def __init__(
        self,
        schema: Any = None,
        /,
        *,
        on_invalid: Literal["event", "raise"] = "event",
        prose: bool = False,
        multiple: bool = False,
        deltas: bool = True,
        keep_items: bool = True,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
        max_number_length: int = DEFAULT_MAX_NUMBER_LENGTH,
        lenient: bool = False,
    ) -> None:
        for name, limit in (
            ("max_depth", max_depth),
            ("max_string_length", max_string_length),
            ("max_number_length", max_number_length),
        ):
            if type(limit) is not int or limit < 1:
                raise UsageError(f"{name} must be a positive int, got {limit!r}")
        if on_invalid not in ("event", "raise"):
            raise UsageError(f"on_invalid must be 'event' or 'raise', got {on_invalid!r}")
        self.schema = schema
        self.on_invalid = on_invalid
        self.prose = prose
        self.multiple = multiple
        self.deltas = deltas
        self.keep_items = keep_items
        self.max_depth = max_depth
        self.max_string_length = max_string_length
        self.max_number_length = max_number_length

        self._state = _S_PROSE if prose else _S_VALUE
        self._stack: list[Any] = []  # open containers, innermost last
        self._lists = 0  # how many of them are arrays (for keep_items=False)
        self._path: list[Any] = []  # key or index of the current value in each container
        self._pending = ""  # unfinished token prefix (number, literal, escape)
        self._parts: list[str] = []  # decoded text of the current string or key
        self._length = 0  # characters in _parts
        self._string_path: Path = ()  # path of the current string value
        self._placed = False  # the open string holds its list's last slot (attached when it opened)
        self._root: Any = None
        self._started = False  # the current document has begun
        self._documents = 0
        self._base = 0  # absolute offset of the buffer's first character
        self._lines = 0  # newlines before the current chunk
        self._line_start = 0  # absolute offset just after the last of them
        self._decoder: Any = None
        self._error: ParseError | None = None
        self._lock = threading.Lock()  # held by feed()/close(), and by snapshot while it writes the string
        self._plain_string = True  # feed()'s fast path for plain string text applies
        self._lenient: Any = None
        self._words: Callable[[Path, str, Any], bool] | None = None  # see _bare_is_text
        self._run: Callable[[str, int, list[Event]], None] = self._scan  # the scan loop (lenient mode's own)
        if lenient:
            from ._lenient import LenientScanner  # its own module: strict parsing never loads it

            self._lenient = LenientScanner(self)
            self._run = self._lenient.run
        self._error_in_string = False  # the error came inside a string value (its text stays readable)
        self._last: Any = _NOTHING  # the value of the last completed document
        # With a schema the typed layer transforms the events (every JSON value is valid for ``Any``:
        # that is the plain parser).  It validates arrays whole from their items, so the core keeps them.
        # A typed parser keeps one copy of the value, the validated one: the containers the
        # typed layer assembles from validated children are *bare* (nothing is stored in them,
        # and their completion event carries a ``_Bare``), and the text is kept instead, to parse
        # a container again in the rare case pydantic must see it whole.  Stack indexes in
        # [_bare_lo, _keep_from) are bare; from _keep_from down (a subtree the schema validates
        # whole, a union's object, an unknown key) everything is kept.  Plain parser: none bare.
        self._bare_lo = _FAR
        self._keep_from = _FAR
        # A typed parser: the absolute offset of each open container; a bare container is never
        # written to, so once it holds a child its offset is stored as ~offset (negative), which
        # is how its close knows it is not empty.
        self._starts: list[int] | None = None
        self._text: TextBuffer | None = None  # a typed parser: the text that bare containers may need
        self._own_text: TextBuffer | None = None  # _text when fed here (not a StreamDecoder target's, shared)
        self._typed: TypedLayer | None = None
        if schema is not None and schema is not Any:
            from ._typed import TypedLayer  # lazy: pydantic is an optional extra

            self._typed = TypedLayer(
                schema, on_invalid, self._unfinished_string, keep_items=keep_items, resolve=self._raw_value
            )
            self._starts = []
            self._text = self._own_text = TextBuffer(self._text_needed_from)
            # keep_items=False: the containers around the outermost arrays are kept as plain
            # values (whose outermost arrays drop their items), the items are bare.
            self._bare_lo = 0 if keep_items else _FAR

    # -- public API ------------------------------------------------------

    @property
    def snapshot(self) -> Any:
        """The partial value parsed so far, as plain dicts, lists and scalars.

        With a schema, the typed partial value (see ``docs/typed.md``): typed
        ``Any`` because a partial model breaks its own annotations (its
        unfinished fields are ``None``).

        Holds every completed value, every open container and the text typed so
        far of an unfinished string; a number or literal appears only once
        complete.  ``None`` before the document starts.  It is a live object that
        later chunks keep extending: ``copy.deepcopy`` it to keep a frozen copy.
        Still readable after an error, and from any thread (see the module notes).
        """
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Any:
        # Called with the lock held; with a schema, the typed layer's snapshot.
        if self._typed is not None:
            return self._typed.snapshot()
        if self._state == _S_STRING:
            self._place_partial_string()
        return self._root

    @property
    def result(self) -> T:
        """The value of the last completed document: with a schema, validated and typed ``T``.

        Raises :class:`UsageError` while no document has completed (or, with a
        schema, none was valid).
        """
        if self._typed is not None:
            return self._typed.result()  # type: ignore[no-any-return]
        value = self._last
        if value is _NOTHING:
            raise UsageError("no document has completed yet: read `snapshot` for the partial value")
        return value  # type: ignore[no-any-return]

    @property
    def path(self) -> Path:
        """The path of the value being parsed now (keys are known before values start)."""
        return tuple(self._path)

    @property
    def repairs(self) -> int:
        """How many :class:`Repair` events lenient mode has emitted so far (always 0 in strict mode)."""
        return 0 if self._lenient is None else self._lenient.count

    @property
    def documents(self) -> int:
        """How many top-level documents have completed."""
        return self._documents

    def feed(self, chunk: str | bytes | bytearray | memoryview) -> list[Event]:
        """Parse the next chunk and return the events it completed, in document order.

        ``chunk`` is ``str`` or UTF-8 ``bytes`` split anywhere (even inside a
        multi-byte character).  An empty chunk is not the end of input: call
        :meth:`close` for that.  Raises :class:`ParseError` on invalid input
        (its ``events`` and ``snapshot`` are typed with a schema) and, with
        ``on_invalid="raise"``, :class:`SchemaError`.
        """
        lock = self._lock
        if not lock.acquire(False):
            self._wait_turn("feed")
        try:
            typed = self._typed
            if typed is None:
                return self._feed(chunk)
            if typed._raised is not None:  # (TypedLayer.step, inlined: a call less per chunk)
                typed.check()
            try:
                events = self._feed(chunk) if self._own_text is None else self._feed_typed(chunk)
            except ParseError as exc:
                typed.failed(exc)
                raise
            if not events or (
                events[0].path is typed._live and events[0].__class__ is StringDelta and len(events) == 1
            ):
                return events  # nothing completed, or the next piece of the live string (as transform says)
            return typed.convert(events)
        finally:
            lock.release()

    def _wait_turn(self, what: str) -> None:
        # The lock is held: by a snapshot reader (a moment), or by another thread's feed.
        # Wait, then refuse if input was consumed meanwhile: two feeders make the order of
        # chunks undefined.  (No flag is written per feed: this path alone pays.)
        mark = (self._base, self._documents, self._state)
        self._lock.acquire()
        if (self._base, self._documents, self._state) != mark:
            self._lock.release()
            raise UsageError(
                f"{what}() while another thread was feeding this parser: feed one parser from one thread at a time"
            )

    def _unfinished_string(self) -> tuple[Path, str] | None:
        """The seam for the typed layer: the path and text so far of an unfinished string value."""
        state = self._state
        if (state == _S_STRING or (state == _S_ERROR and self._error_in_string)) and self._parts:
            return self._string_path, "".join(self._parts)
        return None

    def _feed_typed(self, chunk: str | bytes | bytearray | memoryview) -> list[Event]:
        # A typed parser keeps the text it parses (a bytes chunk's, once decoded, in _feed):
        # here, so that the plain parser's feed pays nothing for it.
        if type(chunk) is str and (self._decoder is None or not self._decoder.getstate()[0]):
            self._own_text.append(chunk)  # type: ignore[union-attr]
        return self._feed(chunk)

    def _feed(self, chunk: str | bytes | bytearray | memoryview) -> list[Event]:
        if self._state >= _S_ERROR:
            self._refuse("feed")
        events: list[Event] = []
        try:
            if type(chunk) is not str:
                chunk = self._decode(chunk, events, final=False)
                if self._own_text is not None:
                    self._own_text.append(chunk)
            elif self._decoder is not None and self._decoder.getstate()[0]:
                raise UsageError("a str chunk was fed while a UTF-8 character from a bytes chunk is unfinished")
            state = self._state
            if state == _S_STRING and not self._pending and self._plain_string:
                # Fast path for the commonest chunk, a piece of a string value being
                # typed: all plain text (no quote, backslash or control character,
                # hence no newline) is one delta, with no scanning loop.  Printable
                # excludes the control characters (three C scans, no match object);
                # what is not printable but allowed (a no-break space) takes the loop.
                n = len(chunk)
                if (
                    n
                    and '"' not in chunk
                    and "\\" not in chunk
                    and chunk.isprintable()
                    and self._length + n <= self.max_string_length
                ):
                    self._parts.append(chunk)
                    self._length += n
                    self._base += n
                    return [_delta(self._string_path, chunk)] if self.deltas else []
            elif state == _S_KEYSTR and not self._pending and self._lenient is None:
                # The same for a piece of a key (tokens of small tool arguments): no event.
                n = len(chunk)
                if (
                    n
                    and '"' not in chunk
                    and "\\" not in chunk
                    and chunk.isprintable()
                    and self._length + n <= self.max_string_length
                ):
                    self._parts.append(chunk)
                    self._length += n
                    self._base += n
                    return events
            elif state <= _S_AFTER and self._lenient is None and chunk and _WS(chunk, 0).end() == len(chunk):
                # Only whitespace between tokens (a " " token): nothing to scan but newlines.
                count = chunk.count("\n")
                if count:
                    self._lines += count
                    self._line_start = self._base + chunk.rindex("\n") + 1
                self._base += len(chunk)
                return events
            if chunk:
                pending = self._pending
                if pending:
                    self._pending = ""
                    self._run(pending + chunk, len(pending), events)
                else:
                    self._run(chunk, 0, events)
        except ParseError as exc:
            exc.events = events  # completed before the fault: raising must not lose them
            raise
        return events

    def close(self) -> list[Event]:
        """Mark the end of input and return the last events.

        Completes a top-level number still waiting for a delimiter.  Raises
        :class:`IncompleteError` if a document is unfinished (or, in strict and
        prose modes, if there was none at all).
        """
        lock = self._lock
        if not lock.acquire(False):
            self._wait_turn("close")
        try:
            typed = self._typed
            if typed is None:
                return self._close()
            return typed.step(self._close, None)
        finally:
            lock.release()

    def _close(self, _: None = None) -> list[Event]:
        if self._state >= _S_ERROR:
            self._refuse("close")
        events: list[Event] = []
        if self._decoder is not None:
            tail = self._decode(b"", events, final=True)
            if tail:
                if self._own_text is not None:
                    self._own_text.append(tail)
                self._run(tail, 0, events)
        if self._lenient is not None:
            self._lenient.finish(events)
        state = self._state
        if state == _S_NUMBER and not self._stack:
            buf, self._pending = self._pending, ""
            self._number(buf, 0, len(buf), events, final=True)
            state = self._state
        if state == _S_END or (self.multiple and not self._started):  # NDJSON may be empty
            self._state = _S_CLOSED
            return events
        if not self._started:
            what = "no JSON value found in the input" if self.prose else "no JSON document in the input"
        else:
            what = "input ended before the JSON document was complete"
        if state == _S_STRING:
            self._place_partial_string()
        pending = self._pending
        self._pending = ""
        self._fail(what, pending, len(pending), IncompleteError)

    # -- scanning --------------------------------------------------------

    def _scan(self, buf: str, new: int, events: list[Event]) -> None:
        """Scan ``buf`` (the pending prefix plus a new chunk starting at ``new``)."""
        n = len(buf)
        pos = 0
        state = self._state
        stack = self._stack
        path = self._path
        append = events.append
        ws = _WS
        try:
            while pos < n:
                if state == _S_STRING:
                    pieces: list[str] = []
                    try:
                        pos, closed = self._string(buf, pos, n, pieces, self.max_string_length - self._length)
                    except ParseError:
                        if pieces:  # the text before the fault is delivered, as any split would
                            text = "".join(pieces)
                            self._parts.append(text)
                            self._length += len(text)
                            if self.deltas:
                                append(_delta(self._string_path, text))
                        raise
                    if pieces:
                        text = pieces[0] if len(pieces) == 1 else "".join(pieces)
                        self._parts.append(text)
                        self._length += len(text)
                        if self.deltas:
                            append(_delta(self._string_path, text))
                    if not closed:
                        break
                    parts = self._parts
                    value = parts[0] if len(parts) == 1 else "".join(parts)
                    self._parts = []
                    self._length = 0
                    state = self._complete_scalar(value, events)
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
                    if (c == "]" and type(top) is list) or (c == "}" and type(top) is dict):
                        pos += 1
                        state = self._close_container(events)
                        continue
                    expected = "',' or ']'" if type(top) is list else "',' or '}'"
                    self._fail(f"expected {expected} but found {_describe(c)}", buf, pos)

                if state <= _S_FIRST_ITEM:  # a value (or ']' right after '[')
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    self._started = True
                    if c == '"':
                        pos += 1
                        self._take_string_slot()
                        state = _S_STRING
                        continue
                    if c == "{" or c == "[":
                        pos += 1
                        if len(stack) >= self.max_depth:
                            self._fail(f"nesting deeper than max_depth={self.max_depth}", buf, pos - 1, LimitError)
                        container: Any = {} if c == "{" else []
                        self._attach(container, self._base + pos - 1)
                        stack.append(container)
                        if c == "{":
                            path.append(None)
                            state = _S_FIRST_KEY
                        else:
                            path.append(0)
                            self._lists += 1
                            state = _S_FIRST_ITEM
                        continue
                    if c == "]" and state == _S_FIRST_ITEM:
                        pos += 1
                        state = self._close_container(events)
                        continue
                    if c in _NUMBER_START:
                        self._state = _S_NUMBER
                        pos = self._number(buf, pos, n, events, final=False)
                        state = self._state
                        continue
                    literal = _LITERALS.get(c)
                    if literal is not None:
                        word, value = literal
                        end = pos + len(word)
                        if buf.startswith(word, pos):
                            pos = end
                            state = self._complete_scalar(value, events)
                            continue
                        if end > n and word.startswith(buf[pos:]):
                            self._pending = buf[pos:]
                            state = _S_LITERAL
                            pos = n
                            break
                        self._fail(f"invalid literal, expected {word!r}", buf, pos)
                    if c == "]" and state == _S_VALUE and stack and type(stack[-1]) is list:
                        self._fail("trailing comma before ']'", buf, pos)
                    self._fail(f"expected a JSON value but found {_describe(c)}", buf, pos)

                if state == _S_KEYSTR:
                    pieces = self._parts
                    before = len(pieces)
                    pos, closed = self._string(buf, pos, n, pieces, self.max_string_length - self._length)
                    for piece in pieces[before:]:
                        self._length += len(piece)
                    if not closed:
                        break
                    key = pieces[0] if len(pieces) == 1 else "".join(pieces)
                    known = _KEYS.get(key)
                    if known is None:  # one object per distinct key (see _KEYS)
                        known = key
                        if len(key) <= _KEY_MEMO_LENGTH:
                            if len(_KEYS) >= _KEY_MEMO:
                                _KEYS.clear()
                            _KEYS[key] = key
                    path[-1] = known
                    self._parts = []
                    self._length = 0
                    state = _S_COLON
                    continue

                if state == _S_FIRST_KEY or state == _S_KEY:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    c = buf[pos]
                    if c == '"':
                        pos += 1
                        state = _S_KEYSTR
                        continue
                    if c == "}" and state == _S_FIRST_KEY:
                        pos += 1
                        state = self._close_container(events)
                        continue
                    if c == "}":
                        self._fail("trailing comma before '}'", buf, pos)
                    self._fail(f"expected a string key but found {_describe(c)}", buf, pos)

                if state == _S_COLON:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    if buf[pos] != ":":
                        self._fail(f"expected ':' but found {_describe(buf[pos])}", buf, pos)
                    pos += 1
                    state = _S_VALUE
                    continue

                if state == _S_NUMBER:
                    pos = self._number(buf, pos, n, events, final=False)
                    state = self._state
                    continue

                if state == _S_LITERAL:
                    word, value = _LITERALS[buf[pos]]
                    end = pos + len(word)
                    if buf.startswith(word, pos):
                        pos = end
                        state = self._complete_scalar(value, events)
                        continue
                    if end > n and word.startswith(buf[pos:]):
                        self._pending = buf[pos:]
                        pos = n
                        break
                    self._fail(f"invalid literal, expected {word!r}", buf, pos)

                if state == _S_END:
                    if buf[pos] in " \t\n\r":
                        pos = ws(buf, pos).end()
                        if pos == n:
                            break
                    if self.prose and not self.multiple:
                        pos = n  # the closing fence or prose after the value is ignored
                        break
                    if self.multiple:
                        self._started = False
                        state = _S_PROSE if self.prose else _S_VALUE
                        continue
                    self._fail(f"unexpected {_describe(buf[pos])} after the JSON document", buf, pos)

                if state == _S_PROSE:
                    pos = _PROSE(buf, pos).end()
                    if pos < n:
                        state = _S_VALUE
                    continue

                raise AssertionError(f"unknown state {state}")  # pragma: no cover
        except ParseError as exc:
            if state == _S_STRING:  # keep the text typed so far in the snapshot
                self._place_partial_string()
                self._error_in_string = True
                exc.snapshot = self._root
            raise
        self._state = state
        # Move the base offset past what was consumed; count newlines for error
        # positions (the pending prefix never holds a newline).
        count = buf.count("\n", new)
        if count:
            self._lines += count
            self._line_start = self._base + buf.rindex("\n", new) + 1
        self._base += n - len(self._pending)

    def _string(self, buf: str, pos: int, n: int, pieces: list[str], room: int) -> tuple[int, bool]:
        """Decode string text from ``pos``; return (new pos, whether the closing quote was seen).

        ``room`` is how many more characters ``max_string_length`` allows: the limit
        error points at the first character beyond it, wherever the chunks were cut.
        """
        run = _STRING_RUN
        while True:
            end = run(buf, pos).end()
            if end > pos:
                if end - pos > room:
                    pieces.append(buf[pos : pos + room])
                    self._fail_limit_string(buf, pos + room)
                room -= end - pos
                pieces.append(buf[pos:end])
            if end == n:
                return n, False
            c = buf[end]
            if c == '"':
                return end + 1, True
            if c != "\\":
                self._fail(f"unescaped control character {_describe(c)} in string", buf, end)
            if end + 1 == n:
                self._pending = buf[end:]
                return n, False
            e = buf[end + 1]
            if room == 0:
                self._fail_limit_string(buf, end)
            room -= 1
            simple = _ESCAPES.get(e)
            if simple is not None:
                pieces.append(simple)
                pos = end + 2
                continue
            if e != "u":
                self._fail(f"invalid escape '\\{e}' in string", buf, end)
            if end + 6 > n:
                if _HEX4.match(buf[end + 2 :] + "0000"):
                    self._pending = buf[end:]
                    return n, False
                self._fail("invalid \\u escape in string", buf, end)
            if not _HEX4.match(buf, end + 2):
                self._fail("invalid \\u escape in string", buf, end)
            code = int(buf[end + 2 : end + 6], 16)
            pos = end + 6
            if 0xD800 <= code < 0xDC00:
                rest = buf[pos : pos + 6]
                if len(rest) < 6 and "\\u".startswith(rest[:2]):
                    if not rest[2:] or _HEX4.match(rest[2:] + "0000"):
                        # maybe the low half of a surrogate pair: wait for it
                        self._pending = buf[end:]
                        return n, False
                if rest[:2] == "\\u" and _HEX4.match(rest, 2):
                    low = int(rest[2:], 16)
                    if 0xDC00 <= low < 0xE000:
                        pieces.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        pos += 6
                        continue
            pieces.append(chr(code))  # lone surrogates are kept, as json.loads does

    def _number(self, buf: str, pos: int, n: int, events: list[Event], *, final: bool) -> int:
        """Scan a number at ``pos``; complete it, or keep its prefix pending."""
        end: int = _NUMBER_RUN(buf, pos).end()
        if end - pos > self.max_number_length:
            self._fail(f"number longer than max_number_length={self.max_number_length}", buf, pos, LimitError)
        if end == n and not final:
            self._pending = buf[pos:]
            return n
        token = buf[pos:end]
        match = _NUMBER.match(token)
        if match is None or match.end() != len(token):
            bad = pos + (match.end() if match else 0)
            if bad >= n:
                self._fail("input ended inside a number", buf, n, IncompleteError)
            self._fail(f"invalid number {token!r}", buf, bad)
        if match.group(1) is None and match.group(2) is None:
            try:
                value: Any = int(token)
            except ValueError:  # beyond sys.get_int_max_str_digits()
                self._fail("integer has more digits than Python's int limit", buf, pos, LimitError)
        else:
            value = float(token)
        self._complete_scalar(value, events)
        return end

    # -- building the value ----------------------------------------------

    def _bare_is_text(self, path: Path, text: str, value: Any) -> bool:
        """Lenient mode: whether the unquoted ``text`` at ``path`` is kept as written, not read as ``value``."""
        if self._words is not None:  # a parser re-reading a container: its owner's rule, at the container's place
            return self._words(path, text, value)
        return self._typed is not None and self._typed.bare_is_text(path, text, value)

    def _attach(self, value: Any, start: int) -> None:
        """Attach a container opening at absolute offset ``start`` to its parent."""
        stack = self._stack
        starts = self._starts
        if starts is not None:  # a schema: decide whether this container is kept
            depth = len(stack)
            starts.append(start)
            if depth < self._keep_from and self._typed.keeps_raw(tuple(self._path), type(value) is dict):  # type: ignore[union-attr]
                self._keep_from = depth
            if self._bare_lo == _FAR and not self.keep_items and not self._lists and type(value) is list:
                self._bare_lo = depth + 1  # the items of this outermost array are bare
            if depth and self._bare_lo <= depth - 1 < self._keep_from:
                if starts[-2] >= 0:
                    starts[-2] = ~starts[-2]  # the parent holds a child (see _starts)
                return
        if not stack:
            self._root = value
            self._started = True
        elif type(stack[-1]) is list:
            stack[-1].append(value)
        else:
            stack[-1][self._path[-1]] = value

    def _complete_scalar(self, value: Any, events: list[Event]) -> int:
        """Attach a finished scalar, emit its event; return the next state."""
        stack = self._stack
        if not stack:
            self._root = value
            events.append(_completed(ValueCompleted, (), value))
            return self._end_document(events)
        top = stack[-1]
        starts = self._starts
        if starts is not None and self._bare_lo <= len(stack) - 1 < self._keep_from:  # bare: nothing stored
            if starts[-1] >= 0:
                starts[-1] = ~starts[-1]  # but it holds a child (see _starts)
            events.append(_completed(ItemCompleted if type(top) is list else ValueCompleted, tuple(self._path), value))
        elif type(top) is list:
            if self._placed:
                self._placed = False
                if self.keep_items or self._lists > 1 or len(stack) > self._keep_from:
                    top[-1] = value
                else:
                    top.pop()
            elif self.keep_items or self._lists > 1 or len(stack) > self._keep_from:
                top.append(value)
            events.append(_completed(ItemCompleted, tuple(self._path), value))
        else:
            top[self._path[-1]] = value
            events.append(_completed(ValueCompleted, tuple(self._path), value))
        self._state = _S_AFTER
        return _S_AFTER

    def _close_container(self, events: list[Event]) -> int:
        stack = self._stack
        value = stack.pop()
        self._path.pop()
        path = tuple(self._path)  # the closed container's (its event's, and a bare one's)
        if type(value) is list:
            self._lists -= 1
        index = len(stack)  # the closed container's
        starts = self._starts
        if starts is not None:
            start = starts.pop()
            if index == self._keep_from:
                self._keep_from = _FAR  # kept whole: its event carries the value
            elif start < 0 and self._bare_lo <= index < self._keep_from:
                # Bare and not empty (an empty one is its own value): the typed layer parses its
                # text again if it ever needs the value.
                value = _Bare(~start, path)
            if index + 1 == self._bare_lo and not self.keep_items:
                self._bare_lo = _FAR  # the outermost array closed
        if stack:
            parent = index - 1
            if self._bare_lo <= parent < self._keep_from:
                if starts[-1] >= 0:  # type: ignore[index]
                    starts[-1] = ~starts[-1]  # type: ignore[index]  # the parent holds a child (see _starts)
                if type(stack[-1]) is list:
                    events.append(_completed(ItemCompleted, path, value))
                else:
                    events.append(_completed(ValueCompleted, path, value))
            elif type(stack[-1]) is list:
                events.append(_completed(ItemCompleted, path, value))
                if not self.keep_items and self._lists == 1 and parent < self._keep_from:
                    stack[-1].pop()  # it was attached when it opened
            else:
                events.append(_completed(ValueCompleted, path, value))
            self._state = _S_AFTER
            return _S_AFTER
        events.append(_completed(ValueCompleted, path, value))
        return self._end_document(events)

    def _end_document(self, events: list[Event]) -> int:
        self._last = self._root
        events.append(DocumentCompleted(self._root, self._documents))
        self._documents += 1
        self._state = _S_END
        return _S_END

    def _take_string_slot(self) -> None:
        # A string value takes its slot when it opens, so that `snapshot` only ever writes its
        # text there and never changes what the parser does next (a reader in another thread).
        self._string_path = tuple(self._path)
        stack = self._stack
        if not stack:
            self._root = ""
        elif self._starts is not None and self._bare_lo <= len(stack) - 1 < self._keep_from:
            pass  # a bare container: no slot
        elif type(stack[-1]) is list:
            stack[-1].append("")
            self._placed = True
        else:
            stack[-1][self._path[-1]] = ""

    def _place_partial_string(self) -> None:
        # The slot was taken when the string opened: only its text changes here.
        parts = self._parts
        text = "".join(parts)
        if len(parts) > 1:
            parts[:] = [text]
        stack = self._stack
        if not stack:
            self._root = text
        elif self._bare_lo <= len(stack) - 1 < self._keep_from:
            pass  # a bare container: no slot
        elif type(stack[-1]) is list:
            stack[-1][-1] = text
        else:
            stack[-1][self._path[-1]] = text

    # -- the text a typed parser keeps ------------------------------------

    def _text_needed_from(self) -> int:
        # Only the text of the open bare containers can still be asked for (events are
        # transformed within the feed that made them), so what came before may be dropped.
        lo = self._bare_lo
        if len(self._stack) <= lo:
            return self._base
        start: int = self._starts[lo]  # type: ignore[index]
        return ~start if start < 0 else start

    def _share_text(self, text: TextBuffer | None) -> None:
        """The seam for ``StreamDecoder``: read the text from a target's own buffer, or stop sharing it.

        Shared, its offsets must be this parser's: everything fed here, from the
        first feed on, and nothing else (``keep_items=True``).  ``None`` copies the
        text so far here, before this parser is fed text the target does not hold.
        """
        if self._text is None:
            return
        if text is not None:
            self._text = text
            self._own_text = None
        elif self._own_text is None:
            mine = TextBuffer(self._text_needed_from)
            mine.append(self._text.text())
            self._text = self._own_text = mine

    def _raw_value(self, bare: Any) -> Any:
        """The plain value of a bare container, parsed again from its text (the typed layer's seam).

        Used only where pydantic must see a container whole: one that failed
        validation (for its :class:`ValueInvalid` and pydantic's exact errors) or a
        document nested deeper than pydantic's parser goes.  The text is parsed
        in growing windows, so this costs O(the container's text).
        """
        if type(bare) is not _Bare:
            return bare
        text = self._text
        assert text is not None
        sub: Parser[Any] = Parser(
            lenient=self._lenient is not None,
            deltas=False,
            max_depth=self.max_depth,
            max_string_length=self.max_string_length,
            max_number_length=self.max_number_length,
        )
        if self._lenient is not None:
            prefix = bare.path  # the schema's rule for unquoted words, at the container's place
            sub._words = lambda path, text, value: self._bare_is_text(prefix + path, text, value)
        pos, end, size = bare.start, text.end, _WINDOW
        while True:
            last = pos >= end
            try:
                events = sub.close() if last else sub.feed(text.slice(pos, pos + size))
            except ParseError as exc:  # what follows the container is not part of it
                events = exc.events
                last = True
            for event in events:
                if type(event) is DocumentCompleted:
                    return event.value
            if last:
                raise AssertionError("a bare container's text did not parse again")  # pragma: no cover
            pos += size
            size *= 2

    # -- errors ----------------------------------------------------------

    def _decode(self, chunk: Any, events: list[Event], *, final: bool) -> str:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise UsageError(f"feed() takes str or bytes, not {type(chunk).__name__}")
        if self._decoder is None:
            self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            return self._decoder.decode(chunk, final)  # type: ignore[no-any-return]
        except UnicodeDecodeError as exc:
            # Parse the valid text before the bad byte first, as a byte-at-a-time feed
            # would: the snapshot and the error's position must not depend on chunking.
            good = bytes(exc.object[: exc.start]).decode("utf-8")
            if good and self._own_text is not None:
                self._own_text.append(good)
            if good:
                pending = self._pending
                self._pending = ""
                self._run(pending + good, len(pending), events)
            if self._state == _S_STRING:
                self._place_partial_string()
                self._error_in_string = True
            pending = self._pending
            self._pending = ""
            message = f"invalid UTF-8 ({exc.reason})"
            self._fail(message, pending, len(pending), ParseError, cause=exc)

    def _fail_limit_string(self, buf: str, pos: int) -> NoReturn:
        self._fail(f"string longer than max_string_length={self.max_string_length}", buf, pos, LimitError)

    def _fail(
        self,
        message: str,
        buf: str,
        pos: int,
        cls: type[ParseError] = ParseError,
        cause: BaseException | None = None,
    ) -> NoReturn:
        """Enter the error state and raise ``cls`` located at ``buf[pos]``."""
        offset = self._base + pos
        newlines = buf.count("\n", 0, pos)
        if newlines:
            column = pos - buf.rindex("\n", 0, pos)
        else:
            column = offset - self._line_start + 1
        error = cls(
            message,
            offset=offset,
            line=self._lines + newlines + 1,
            column=column,
            path=format_path(tuple(p for p in self._path if p is not None)),
            snapshot=self._root,
        )
        self._state = _S_ERROR
        self._error = error
        raise error from cause

    def _refuse(self, what: str) -> NoReturn:
        if self._state == _S_CLOSED:
            raise UsageError(f"{what}() after close(): create a new Parser for a new stream")
        raise UsageError(
            f"{what}() after a parse error ({self._error}): the parser cannot recover; create a new Parser"
        )

    def __repr__(self) -> str:
        if self._typed is not None:
            name = getattr(self.schema, "__name__", repr(self.schema))
            return f"<Parser({name}) documents={self._documents} offset={self._base}>"
        return f"<Parser documents={self._documents} offset={self._base} path={format_path(tuple(p for p in self._path if p is not None))}>"
