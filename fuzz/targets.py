"""Fuzz targets: one function per layer that takes outside bytes, shared by atheris and hypothesis.

Each target takes arbitrary ``bytes`` and checks the library's contract on them:

1. *Parse or library error*: the input either parses or raises one of fieldstream's
   own errors (``FieldstreamError``); anything else escapes and is a finding.
2. *Chunking does not change the result*: the input fed whole, at pseudo-random
   split points and (for short inputs) one byte at a time gives the same events, or
   the same error type at the same offset/line/column/path with the same snapshot.
3. *Nothing emitted is contradicted*: every completed value and every string's
   deltas agree with the final value, or with the last good snapshot after an error.
4. *Differential oracle*: in strict mode, the value equals ``json.loads`` of the
   text, and the two reject the same inputs (``json.loads`` is laxer in two known
   ways: ``NaN``/``Infinity``, and no depth or length limit).  In lenient mode
   (the ``lenient`` target) the oracle is strict mode: whatever strict mode
   accepts, lenient mode reads with exactly the same events and no repair.

The first two bytes of the input are a header, so one byte string also chooses the
options and the split points; the fuzzer mutates them like any other byte.

    byte 0  bit 0 prose, 1 multiple, 2 keep_items=False, 3 deltas=False,
            4 small limits, 5 feed str instead of bytes, 6 also feed byte by byte,
            7 (lenient target) with a schema, whose types decide unquoted words
    byte 1  seed of the split points

A violated invariant raises ``AssertionError`` (a crash for atheris, a failing
example for hypothesis).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import re
import sys
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import fieldstream as fs

__all__ = [
    "TARGETS",
    "check_outputs",
    "fuzz_encoders",
    "fuzz_eventstream",
    "fuzz_lenient",
    "fuzz_ndjson",
    "fuzz_parser",
    "fuzz_sse",
    "fuzz_stream",
    "outcome",
    "splits",
    "under_rule",
]

# The harness caps nesting well below the default (1000) so that comparing snapshots
# with == and json.dumps never meets Python's recursion limit; the default depth is
# covered by tests/test_jsontestsuite.py (100,000 opening brackets).
_DEPTH = 200
_SMALL_LIMITS = {"max_depth": 6, "max_string_length": 12, "max_number_length": 10}


def splits(data: Any, seed: int) -> list[Any]:
    """``data`` cut at a few pseudo-random points chosen by ``seed`` (possibly none)."""
    if len(data) < 2:
        return [data]
    rng = random.Random(seed)
    count = rng.randint(1, min(len(data) - 1, 12))
    cuts = sorted(rng.sample(range(1, len(data)), count))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _normalize(events: Sequence[fs.Event]) -> list[Any]:
    # Adjacent deltas of one path are merged: how a string is cut depends on the chunks.
    out: list[Any] = []
    for e in events:
        if isinstance(e, fs.StringDelta):
            if out and out[-1][0] == "delta" and out[-1][1] == e.path:
                out[-1] = ("delta", e.path, out[-1][2] + e.text)
            else:
                out.append(("delta", e.path, e.text))
        elif isinstance(e, fs.DocumentCompleted):
            out.append(("done", e.index, _dump(e.value)))
        elif isinstance(e, fs.ValueCompleted):
            out.append((type(e).__name__, e.path, _dump(e.value)))
        elif isinstance(e, fs.Repair):
            out.append(("repair", e.path, e.kind, e.offset))
        else:  # pragma: no cover - no other events without a schema
            out.append((type(e).__name__, e.path))
    return out


def _dump(value: Any) -> str:
    # A canonical text that tells 1 from 1.0 and True from 1 (== does not).
    return json.dumps(value)


def outcome(chunks: Sequence[Any], make: Callable[[], Any]) -> tuple[Any, ...]:
    """Feed ``chunks`` then close; ("ok", events, snapshot) or ("error", ...)."""
    parser = make()
    events: list[Any] = []
    try:
        for chunk in chunks:
            events += parser.feed(chunk)
        events += parser.close()
    except fs.ParseError as exc:
        events += exc.events  # what the failing feed() completed before the fault
        _check_consistent(events, exc.snapshot, parser, complete=False)
        assert _dump(exc.snapshot) == _dump(parser.snapshot)
        where = (exc.offset, exc.line, exc.column, exc.path)
        # Completed values must match across chunkings; the deltas of a string cut by the
        # fault may end early (its text is in the snapshot), so they are left out here.
        completed = [e for e in _normalize(events) if e[0] != "delta"]
        return ("error", type(exc).__name__, where, _dump(exc.snapshot), completed)
    _check_consistent(events, parser.snapshot, parser, complete=True)
    return ("ok", _normalize(events), _dump(parser.snapshot))


def _get(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


def _check_consistent(events: Sequence[Any], snapshot: Any, parser: Any, *, complete: bool) -> None:
    """Every value emitted agrees with the deltas before it and with ``snapshot``.

    A string's deltas add up to its completed value.  Completed values sit at their
    path in the snapshot (for a single document whose items are kept), except under
    a key that occurs twice in one object, where the last value wins, as in
    ``json.loads``.  After an error the events of the failing ``feed()`` were never
    returned, so an unfinished string's deltas need only be a prefix of its text.
    """
    typed: dict[tuple, str] = {}
    counts: dict[tuple, int] = {}
    for e in events:
        if isinstance(e, fs.StringDelta):
            typed[e.path] = typed.get(e.path, "") + e.text
        elif isinstance(e, fs.ValueCompleted):
            counts[e.path] = counts.get(e.path, 0) + 1
            if isinstance(e.value, str) and parser.deltas:
                assert typed.pop(e.path, "") == e.value, e
    assert not (complete and typed), typed
    if parser.multiple or not parser.keep_items:
        return
    repeated = {path for path, count in counts.items() if count > 1}
    if not complete:  # a key given again, whose new value was being parsed at the fault
        current = tuple(parser.path)
        repeated |= {current[:i] for i in range(len(current) + 1) if current[:i] in counts}

    def shadowed(path: tuple) -> bool:
        return any(path[:i] in repeated for i in range(len(path) + 1))

    for e in events:
        if isinstance(e, fs.DocumentCompleted):
            assert _dump(e.value) == _dump(snapshot)
        elif isinstance(e, fs.ValueCompleted) and not shadowed(e.path):
            assert _dump(_get(snapshot, e.path)) == _dump(e.value), (e, snapshot)
    for path, text in typed.items():
        if not shadowed(path):
            assert _get(snapshot, path).startswith(text), (path, text, snapshot)


def _oracle(text: str) -> tuple[str, Any]:
    try:
        return "ok", json.loads(text)
    except RecursionError:
        return "skip", None
    except ValueError:  # JSONDecodeError, or an int beyond Python's digit limit
        return "error", None


def fuzz_parser(data: bytes, *, lenient: bool = False) -> None:
    """The core JSON parser, fed bytes or str, whole, split and byte by byte."""
    if len(data) < 2:
        return
    flags, seed, body = data[0], data[1], data[2:]
    options: dict[str, Any] = {
        "lenient": lenient,
        "prose": bool(flags & 1),
        "multiple": bool(flags & 2),
        "keep_items": not flags & 4,
        "deltas": not flags & 8,
        "max_depth": _DEPTH,
    }
    if flags & 16:
        options.update(_SMALL_LIMITS)
    payload: Any = body
    if flags & 32:
        payload = body.decode("utf-8", "surrogateescape")  # lone surrogates: str-only input

    if lenient and flags & 128:
        _fuzz_lenient_typed(payload, seed, options)
        return

    def make() -> fs.Parser:
        return fs.Parser(**options)

    whole = outcome([payload], make)
    split = outcome(splits(payload, seed), make)
    assert whole == split, (whole, split)
    if flags & 64 and len(payload) <= 256:
        per_byte = outcome([payload[i : i + 1] for i in range(len(payload))], make)
        assert whole == per_byte, (whole, per_byte)

    if lenient:
        strict = outcome([payload], lambda: fs.Parser(**{**options, "lenient": False}))
        if strict[0] == "ok":
            assert whole == strict, (whole, strict)  # valid input: no repair, the same events
        return
    if options["prose"] or options["multiple"] or flags & 16 or not options["keep_items"]:
        return
    if isinstance(payload, bytes):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            assert whole[0] == "error", whole  # invalid UTF-8 must be rejected
            return
    else:
        text = payload
    verdict, expected = _oracle(text)
    if verdict == "skip":
        return
    if whole[0] == "ok":
        assert verdict == "ok", ("parser accepted what json.loads rejects", text)
        assert whole[2] == _dump(expected)
    elif verdict == "ok":
        lax = any(word in text for word in ("NaN", "Infinity"))
        assert whole[1] == "LimitError" or lax, ("parser rejected what json.loads accepts", text, whole)


# -- the wire layers ---------------------------------------------------------
# These take a whole response body, so they have no header: the options and split
# points come from a checksum of the input, and recorded streams (the shared corpus)
# serve as seeds unchanged.


def _chunkings(data: bytes) -> list[list[bytes]]:
    seed = zlib.crc32(data)
    out = [[data], splits(data, seed)]
    if len(data) <= 512:
        out.append([data[i : i + 1] for i in range(len(data))])
    return out


def _drain(decoder: Any, chunks: Sequence[bytes]) -> tuple[list[Any], str | None]:
    # Through the decoders' generators, so that what came before an error is seen
    # whatever feed() it arrived in (feed() itself returns nothing when it raises).
    got: list[Any] = []
    try:
        for chunk in chunks:
            got += decoder._iter_feed(chunk)
        got += decoder.close()
    except fs.FieldstreamError as exc:
        assert isinstance(exc, fs.ParseError), exc
        return got, type(exc).__name__
    return got, None


_EOL = re.compile(r"\r\n|\r|\n")


def reference_sse(data: bytes) -> list[tuple[str, str, str | None, int | None]]:
    """The WHATWG event-stream algorithm, on the whole body at once (plus a final flush)."""
    text = data.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    out = []
    event, lines, last_id, retry = "", [], None, None
    for line in [*_EOL.split(text), ""]:
        if not line:
            if lines:
                out.append((event or "message", "\n".join(lines), last_id, retry))
            event, lines, retry = "", [], None
            continue
        if line[0] == ":":
            continue
        name, colon, value = line.partition(":")
        value = value[1:] if colon and value[:1] == " " else value
        if name == "data":
            lines.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return out


def fuzz_sse(data: bytes) -> None:
    """SSEDecoder: chunking-independent, equal to the reference algorithm, limits as LimitError."""
    small = zlib.crc32(data) % 4 == 0
    options = {"max_line_length": 40, "max_event_size": 60} if small else {}
    results = []
    for chunks in _chunkings(data):
        messages, error = _drain(fs.SSEDecoder(**options), chunks)
        results.append(([(m.event, m.data, m.id, m.retry) for m in messages], error))
    assert all(r == results[0] for r in results), results
    messages, error = results[0]
    if error is None:
        if not small:
            assert messages == reference_sse(data), (messages, reference_sse(data))
    else:
        assert error == "LimitError" and small, error


def fuzz_ndjson(data: bytes) -> None:
    """NDJSONDecoder: chunking-independent, equal to json.loads line by line."""
    small = zlib.crc32(data) % 4 == 0
    options = {"max_line_length": 40} if small else {}
    results = [_drain(fs.NDJSONDecoder(**options), chunks) for chunks in _chunkings(data)]
    dumped = [([_dump(v) for v in values], error) for values, error in results]
    assert all(r == dumped[0] for r in dumped), dumped
    values, error = dumped[0]
    expected = []
    for line in data.split(b"\n"):
        if small and len(line) > 40:  # checked before the line is known to be blank: it is never held
            assert error == "LimitError" and values == expected, (values, expected, error)
            return
        if not line.strip():  # the decoder counts any ASCII whitespace (\v, \f too) as a blank line
            continue
        try:
            expected.append(_dump(json.loads(line)))
        except (ValueError, RecursionError):
            assert error is not None and values == expected, (values, expected, error)
            return
    if error is None:
        assert values == expected, (values, expected)
    else:
        assert error == "LimitError" and small, error


_FORMATS = ("auto", "auto", "auto", "openai-chat", "openai-responses", "anthropic", "gemini", "ollama", "bedrock")


def _stream_events(data: bytes, chunks: Sequence[bytes], options: dict[str, Any]) -> list[Any]:
    decoder = fs.StreamDecoder(**options)
    events: list[Any] = []
    for chunk in chunks:
        events += decoder.feed(chunk)  # faults are events: nothing may raise here
    events += decoder.close()
    _check_stream(events, decoder)
    return _shape(events, lambda event: _normalize([event])[0], _dump, raw=False)


def _check_stream(events: Sequence[Any], decoder: Any) -> None:
    """Every target starts once, ends once (completed or faulted), and StreamCompleted is last."""
    assert isinstance(events[-1], fs.StreamCompleted) and not any(
        isinstance(e, fs.StreamCompleted) for e in events[:-1]
    )
    started: set[str] = set()
    ended: set[str] = set()
    for e in events:
        source = e.source.path if e.source is not None else None
        if isinstance(e, fs.TargetStarted):
            assert source not in started, e
            started.add(source)
        elif source is not None:
            assert source in started and source not in ended, (e, started, ended)
            if isinstance(e, (fs.TargetCompleted, fs.Fault)):
                ended.add(source)
    assert started == ended, (started, ended)


def fuzz_stream(data: bytes) -> None:
    """StreamDecoder over any body: never raises, targets end once, chunking does not matter."""
    check = zlib.crc32(data)
    options: dict[str, Any] = {"format": _FORMATS[check % len(_FORMATS)], "max_depth": _DEPTH}
    if check >> 8 & 1:
        options["content"] = ("json", "text")[check >> 9 & 1]
    if check >> 10 & 7 == 0:
        options["status_code"] = 400 + (check >> 13) % 200
    if check >> 16 & 1:
        options["lenient"] = True
    results = [_stream_events(data, chunks, options) for chunks in _chunkings(data)]
    assert all(r == results[0] for r in results), results


def fuzz_lenient(data: bytes) -> None:
    """The core parser in lenient mode: the same header and invariants, strict mode as the oracle."""
    fuzz_parser(data, lenient=True)


_LENIENT_MODEL: Any = None


def _lenient_model() -> Any:
    """A schema with every kind of place that decides how an unquoted word reads (docs/lenient.md)."""
    global _LENIENT_MODEL
    if _LENIENT_MODEL is None:
        from typing import Literal, Optional, Union

        from pydantic import BaseModel

        class Item(BaseModel):
            name: str = ""
            tags: list[Optional[str]] = []

        class Doc(BaseModel):
            a: str = ""
            b: Optional[str] = None
            c: Literal["01", "x", 1, True] = "x"
            d: Union[int, str] = 0
            e: list[Item] = []
            f: dict[str, bool] = {}
            g: float = 0.0
            h: Optional[Doc] = None
            t: tuple[str, int, Optional[bool]] = ("", 0, None)

        _LENIENT_MODEL = Doc
    return _LENIENT_MODEL


def _fuzz_lenient_typed(payload: Any, seed: int, options: dict[str, Any]) -> None:
    """Lenient mode with a schema: only fieldstream's errors, and every split gives the same events."""
    options = {k: v for k, v in options.items() if k in ("lenient", "prose", "max_depth", "max_string_length")}
    model = _lenient_model()

    def run(chunks: Sequence[Any]) -> tuple[Any, ...]:
        parser = fs.Parser(model, **options)
        events: list[Any] = []
        try:
            for chunk in chunks:
                events += parser.feed(chunk)
            events += parser.close()
        except fs.FieldstreamError as exc:
            where = getattr(exc, "offset", None)
            return ("error", type(exc).__name__, where, repr(parser.snapshot))
        out: list[Any] = []
        for e in events:
            if isinstance(e, fs.StringDelta) and out and out[-1][:2] == ("delta", e.path):
                out[-1] = ("delta", e.path, out[-1][2] + e.text)
            elif isinstance(e, fs.StringDelta):
                out.append(("delta", e.path, e.text))
            else:
                out.append(repr(e))
        return ("ok", out, repr(parser.snapshot))

    whole = run([payload])
    split = run(splits(payload, seed))
    assert whole == split, (whole, split)


def _botocore_frames(data: bytes) -> tuple[list[Any], bool] | None:
    """botocore's messages and whether it raised or left bytes unread (None: botocore is not installed)."""
    try:
        from botocore.eventstream import EventStreamBuffer
    except ImportError:  # pragma: no cover - botocore comes with the test extra
        return None
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    frames: list[Any] = []
    try:
        for message in buffer:
            frames.append((message.headers, message.payload))
    except Exception:  # noqa: BLE001 - botocore raises its ParserError, and struct/Key/Unicode errors
        return frames, True
    return frames, bool(buffer._data)


def fuzz_eventstream(data: bytes) -> None:
    """EventStreamDecoder: chunking-independent, equal to botocore's parser, every fault a ParseError.

    botocore is the differential oracle: the same messages before any fault, and
    where botocore raises (or is left holding a cut message) fieldstream raises.
    fieldstream is stricter in one place only: a header running past its section
    (botocore reads it short), which needs a forged message CRC to reach.  The
    body also goes through StreamDecoder, which must report, never raise.
    """
    small = zlib.crc32(data) % 4 == 0
    options = {"max_message_size": 64, "max_headers_length": 32} if small else {}
    results = []
    for chunks in _chunkings(data):
        messages, error = _drain(fs.EventStreamDecoder(**options), chunks)
        results.append(([(m.headers, m.payload) for m in messages], error))
    assert all(r == results[0] for r in results), results
    frames, error = results[0]
    reference = _botocore_frames(data)
    if reference is not None and not small:
        expected, failed = reference
        assert frames == expected[: len(frames)], (frames, expected)
        if failed:
            assert error is not None, ("botocore failed, fieldstream did not", data)
        elif error is not None:
            decoder = fs.EventStreamDecoder()
            try:
                for _ in decoder._iter_feed(data):
                    pass
                decoder.close()
            except fs.ParseError as exc:
                assert "header" in str(exc), exc
        else:
            assert frames == expected
    format = ("auto", "bedrock")[zlib.crc32(data) >> 3 & 1]
    stream = [_stream_events(data, chunks, {"format": format, "max_depth": _DEPTH}) for chunks in _chunkings(data)]
    assert all(r == stream[0] for r in stream), stream


def under_rule(value: Any) -> Any:
    """What reading an output back gives for ``value``, under the one output rule (``_json_out``).

    Non-finite numbers read back as None; a string reads back as JSON.parse would give
    it (lone surrogates kept, an adjacent high and low surrogate joined into one character).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if isinstance(value, dict):
        return {under_rule(k): under_rule(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [under_rule(v) for v in value]
    return value


def _read_back(text: str) -> Any:
    # An output line must be valid UTF-8, one line for any line splitter, and JSON.
    text.encode("utf-8")
    assert text.splitlines() == [text], text
    return json.loads(text)


def check_outputs(events: Sequence[Any], error: Any = None) -> None:
    """Every encoder, fed ``events`` (and the error that ended them): valid output that reads back as the value."""
    from fieldstream._cli import _readable
    from fieldstream._json_out import dumps
    from fieldstream._records import error_to_json, event_to_json

    records = [event_to_json(e) for e in events]
    if error is not None:
        snapshot = getattr(error, "snapshot", None)
        records.append(error_to_json(error, snapshot=snapshot, exception=type(error).__name__))
    for record in records:
        assert _read_back(dumps(record)) == under_rule(record), record
    encoder = fs.SSEEncoder()
    frames = [encoder.encode(e) for e in events]
    frames.append(encoder.error(error) if error is not None else encoder.end())
    for record, frame in zip(records, frames):
        lines = frame.decode("utf-8").split("\n")
        data = [line[6:] for line in lines if line.startswith("data: ")]
        assert len(data) == 1 and _read_back(data[0]) == under_rule(record), frame
    assert b"".join(frames[:-1]) == fs.sse_encode(events, end=False)
    for frame, as_dict in zip(frames[:-1], fs.to_sse_dicts(iter(events))):
        assert _read_back(as_dict["data"]) == _read_back(frame.decode("utf-8").split("data: ")[1].split("\n")[0])
    out = io.StringIO()
    for event in events:
        _readable(event, out)
    out.getvalue().encode("utf-8")


def fuzz_encoders(data: bytes) -> None:
    """Any value the parser accepts (or the part before an error) through every output: JSONL, SSE, readable."""
    flags = data[0] if data else 0
    parser = fs.Parser(multiple=bool(flags & 1), lenient=bool(flags & 2), max_depth=_DEPTH)
    events: list[Any] = []
    try:
        for chunk in splits(data[1:], data[0] if data else 0):
            events += parser.feed(chunk)
        events += parser.close()
    except fs.ParseError as exc:
        check_outputs(events + list(exc.events), exc)
        return
    check_outputs(events)


#: name -> target.
TARGETS: dict[str, Callable[[bytes], None]] = {
    "encoders": fuzz_encoders,
    "eventstream": fuzz_eventstream,
    "lenient": fuzz_lenient,
    "ndjson": fuzz_ndjson,
    "parser": fuzz_parser,
    "sse": fuzz_sse,
    "stream": fuzz_stream,
}


# -- payload shapes ------------------------------------------------------------
# The wire targets above mutate bytes; these mutate the *shape* of the payloads the
# providers read: any field of any recorded payload becomes another type, a deep or
# a large value, or goes missing.  The body is then decoded four ways (feed_payload
# with the payloads as objects; the SSE body whole, at random splits and per byte)
# with and without a schema, and through connect()/aconnect() from a loopback server.
#
#     byte 0  which recording        byte 1  bits 0-1 mutations - 1, 2 typed (tools and
#     then 4 bytes per mutation:             schema), 3 an explicit format, 4 NDJSON body,
#     payload, field, kind, size             5 error status (connect), 6 aconnect
#     the rest: the seed of the split points


def _recordings() -> list[list[tuple[str | None, Any]]]:
    """The recorded streams (tests/corpus/streams) as lists of (SSE event name, payload)."""
    root = __import__("pathlib").Path(__file__).resolve().parent.parent / "tests" / "corpus" / "streams"
    out: list[list[tuple[str | None, Any]]] = []
    for path in sorted(root.rglob("*")):
        body = path.read_bytes() if path.is_file() else b""
        payloads: list[tuple[str | None, Any]] = []
        if path.suffix == ".sse":
            for message in fs.SSEDecoder().feed(body):
                if message.data.strip() != "[DONE]":
                    try:
                        payloads.append(
                            (None if message.event == "message" else message.event, json.loads(message.data))
                        )
                    except ValueError:
                        continue
        elif path.suffix in (".ndjson", ".jsonl"):
            payloads = [(None, json.loads(line)) for line in body.splitlines() if line.strip()]
        if payloads:
            out.append(payloads[:40])  # enough to reach every kind of payload, cheap to decode
    return out


_RECORDINGS: list[list[tuple[str | None, Any]]] | None = None
_DEEP = "\x00deep\x00"  # stands for a deep value, spliced into the JSON text


def _positions(value: Any) -> list[tuple[Any, Any]]:
    """Every place in ``value`` a mutation can hit: (container, key), in document order."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            for key in item:
                out.append((item, key))
                stack.append(item[key])
        elif type(item) is list:
            for index in range(len(item)):
                out.append((item, index))
                stack.append(item[index])
    return out


def _replacement(kind: int, size: int, old: Any) -> Any:
    table: list[Any] = [
        None, True, False, 0, -1.5, 10**30, float("nan"), "", "text", [], {}, [old], {"x": old},
        json.dumps(old) if kind == 13 else None, "é\u2028" * (size * 40), [0] * (size * 8),
        ["a", {"b": [1]}, None], {"type": "error", "error": {"message": "m"}}, _DEEP, "DELETE",
    ]  # fmt: skip
    return table[kind % len(table)]


def mutate_payloads(data: bytes) -> tuple[list[tuple[str | None, Any]], list[int], int]:
    """The recorded payloads chosen and changed by ``data``; the deep nestings; the flags."""
    global _RECORDINGS
    if _RECORDINGS is None:
        _RECORDINGS = _recordings()
    if len(data) < 2:
        data = data + b"\x00\x00"
    payloads = json.loads(json.dumps(_RECORDINGS[data[0] % len(_RECORDINGS)]))  # a private copy
    flags = data[1]
    deep: list[int] = []
    pos = 2
    for _ in range((flags & 3) + 1):
        if pos + 4 > len(data):
            break
        which, field, kind, size = data[pos : pos + 4]
        pos += 4
        event, payload = payloads[which % len(payloads)]
        places = _positions(payload)
        if places:
            container, key = places[field % len(places)]
            old = container[key]
        else:
            old = payload
        new = _replacement(kind, size, json.loads(json.dumps(old)))
        if new is _DEEP:
            deep.append(size * 8 if size < 250 else 100_000)
            new = _DEEP
        if not places or field % (len(places) + 1) == len(places):  # the payload itself
            payloads[which % len(payloads)] = [event, None if new == "DELETE" else new]
            continue
        container, key = places[field % len(places)]
        if new == "DELETE" and type(container) is dict:
            del container[key]
        else:
            container[key] = new
    return [(e, p) for e, p in payloads], deep, flags


def _payload_texts(payloads: list[tuple[str | None, Any]], deep: list[int]) -> list[str]:
    texts = []
    depths = iter(deep)
    for _, payload in payloads:
        text = json.dumps(payload, ensure_ascii=False)
        while json.dumps(_DEEP) in text:
            n = next(depths, 8)
            text = text.replace(json.dumps(_DEEP), "[" * n + "]" * n, 1)
        texts.append(text)
    return texts


def shape_body(data: bytes) -> tuple[bytes, list[tuple[str | None, Any]] | None, dict[str, Any], int]:
    """The body (SSE or NDJSON), the payloads as objects (None if one is too deep for json.loads), options, flags."""
    payloads, deep, flags = mutate_payloads(data)
    texts = _payload_texts(payloads, deep)
    if flags & 16:
        body = "".join(t.replace("\n", " ") + "\n" for t in texts).encode()
    else:
        body = "".join(
            (f"event: {e}\n" if isinstance(e, str) and e.isprintable() else "") + f"data: {t}\n\n"
            for (e, _), t in zip(payloads, texts)
        ).encode()
    objects: list[tuple[str | None, Any]] | None = []
    if any(n > 400 for n in deep):
        # Where json.loads stops depends on how deep the caller's stack already is (about
        # 1,000 frames in all): the decoder, called deeper than this harness, may reject what
        # the harness decoded.  Such payloads are compared across chunkings only.
        objects = None
    for (event, _), text in zip(payloads, texts if objects is not None else ()):
        try:
            objects.append((event if isinstance(event, str) else None, json.loads(text)))  # type: ignore[union-attr]
        except RecursionError:
            objects = None
            break
        except ValueError:  # the stand-in for a deep value was inside a string (kind 13): not a deep value
            return shape_body(bytes([data[0], data[1] & ~3]))
    options: dict[str, Any] = {"max_depth": _DEPTH}
    if flags & 4:
        options["tools"] = _typed_tools(payloads)
        options["schema"] = dict[str, Any]
    if flags & 8:
        options["format"] = _FORMATS[3 + data[-1] % 5]
    return body, objects, options, flags


def _typed_tools(payloads: list[tuple[str | None, Any]]) -> dict[str, Any]:
    from pydantic import BaseModel, ConfigDict

    class Arguments(BaseModel):
        model_config = ConfigDict(extra="allow")
        city: str | None = None
        days: list[int] = []

    names = {"weather", "get_weather", "final_result", "get_capital", "search", "bash"}
    return {name: Arguments for name in names}


def _decoded(chunks: Sequence[bytes], options: dict[str, Any]) -> tuple[list[Any], Any]:
    decoder = fs.StreamDecoder(**options)
    events: list[Any] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events, decoder


def _from_payloads(objects: list[tuple[str | None, Any]], options: dict[str, Any]) -> tuple[list[Any], Any]:
    decoder = fs.StreamDecoder(**options)
    events: list[Any] = []
    for event, payload in objects:
        events += decoder.feed_payload(payload, event)
    events += decoder.close()
    return events, decoder


def _comparable(events: Sequence[Any], decoder: Any) -> list[Any]:
    _check_stream(events, decoder)
    _check_not_contradicted(events, decoder)
    return _shape(events, _inner, _dump_any, raw=True)


def _shape(
    events: Sequence[Any], inner_of: Callable[[Any], tuple[Any, ...]], dump: Callable[[Any], str], *, raw: bool
) -> list[Any]:
    """A stream's events in a form that does not depend on the chunking (adjacent deltas merged).

    ``inner_of`` and ``dump`` render a target's event and a value; ``raw``: a fault says whether it kept its text.
    """
    out: list[Any] = []
    for e in events:
        if isinstance(e, fs.TextDelta):
            if out and out[-1][0] == "text" and out[-1][1] == e.source.path:
                out[-1] = ("text", e.source.path, out[-1][2] + e.text)
                continue
            out.append(("text", e.source.path, e.text))
        elif isinstance(e, fs.TargetEvent):
            inner = inner_of(e.event)
            if (
                inner[0] == "delta"
                and out
                and out[-1][:3] == ("event", e.source.path, "delta")
                and out[-1][3] == inner[1]
            ):
                out[-1] = (*out[-1][:4], out[-1][4] + inner[2])
                continue
            out.append(("event", e.source.path, *inner))
        elif isinstance(e, fs.StreamCompleted):
            out.append(("completed", e.complete, dump(e.values), dump(e.usage), dump(e.finish_reasons)))
        elif isinstance(e, fs.Fault):
            fault = (type(e).__name__, e.source and e.source.path, dump(e.snapshot))
            out.append((*fault, e.raw is not None) if raw else fault)
        else:
            out.append((type(e).__name__, e.source and e.source.path, repr(e)))
    return out


def _inner(event: Any) -> tuple[Any, ...]:
    if isinstance(event, fs.StringDelta):
        return ("delta", event.path, event.text)
    return (type(event).__name__, event.path, _dump_any(getattr(event, "value", None)))


def _dump_any(value: Any) -> str:
    # Typed values (models) compare by their JSON; plain values by json.dumps.
    from pydantic_core import to_json

    try:
        return to_json(value, fallback=repr).decode()
    except ValueError:  # deeper than pydantic serialises
        return _dump(value)


def _check_not_contradicted(events: Sequence[Any], decoder: Any) -> None:
    """Nothing emitted is contradicted, nothing received is lost.

    Text deltas join to the target's final text (or to its fault's snapshot), and to
    every character it received; a JSON target's completed values are what its final
    value (or its fault's snapshot) holds at their paths; every fault carries the raw
    text received for its target up to it.
    """
    texts: dict[str, str] = {}
    for e in events:
        if isinstance(e, fs.TextDelta):
            texts[e.source.path] = texts.get(e.source.path, "") + e.text
    for source, target in decoder.targets.items():
        path = source.path
        end = target.fault
        if target.is_json:
            final = target.value if target.done else (end.snapshot if end is not None else None)
            if end is not None:
                assert end.raw is None or target.raw.startswith(end.raw), (path, end.raw, target.raw)
            typed = decoder.schema is not None or bool(decoder.tools)
            if typed or final is None or (end is not None and not isinstance(end, fs.Malformed | fs.Truncated)):
                continue
            if end is not None and not isinstance(final, dict | list):
                continue
            mine = [e.event for e in events if isinstance(e, fs.TargetEvent) and e.source.path == path]
            # A key given twice in one object: the last value wins (as in json.loads), so what
            # completed under the first is not in the result.  A path met again after it
            # completed (a delta, a value) marks such a key.
            reopened: set[tuple[Any, ...]] = set()
            seen: set[tuple[Any, ...]] = set()
            for e in mine:
                for cut in range(len(e.path) + 1):
                    if e.path[:cut] in seen:
                        reopened.add(e.path[:cut])
                if isinstance(e, fs.ValueCompleted):
                    seen.add(e.path)
            for e in mine:
                if isinstance(e, fs.ValueCompleted) and not any(e.path[: len(p)] == p for p in reopened):
                    _assert_at(final, e.path, e.value)
        else:
            text = texts.get(path, "")
            if target.done:
                # text after the end (a delta past content_block_stop) is kept in raw only
                assert text == target.value and target.raw.startswith(text), (path, text, target.value)
            elif end is not None and end.raw is not None:
                assert text == end.raw and target.raw.startswith(text), (path, text, end.raw)


def _assert_at(value: Any, path: tuple[Any, ...], expected: Any) -> None:
    for step in path:
        if (isinstance(value, dict) and step in value) or (
            isinstance(value, list) and type(step) is int and step < len(value)
        ):
            value = value[step]
        else:
            raise AssertionError(("an emitted value is missing from the result", path, expected))
    assert _dump(value) == _dump(expected), (path, value, expected)


def fuzz_shapes(data: bytes) -> None:
    """Payloads of any shape: no foreign exception; chunking, feed_payload and bytes agree."""
    body, objects, options, flags = shape_body(data)
    seed = zlib.crc32(data)
    runs = [_decoded([body], options), _decoded(splits(body, seed), options)]
    if len(body) <= 2048:
        runs.append(_decoded([body[i : i + 1] for i in range(len(body))], options))
    results = [_comparable(events, decoder) for events, decoder in runs]
    assert all(r == results[0] for r in results[1:]), results
    if objects is not None and not flags & 16:
        events, decoder = _from_payloads(objects, options)
        assert _comparable(events, decoder) == results[0], (_comparable(events, decoder), results[0])


_SERVER: Any = None
_CLIENT: Any = None
_SSL: Any = None  # one context for every client: making one costs tens of milliseconds


# atheris 2.3 (the last release with a Python 3.10 wheel) rewrites 3.10 bytecode so that an
# instrumented async context manager's __aexit__ fails ("'async with' received an object from
# __aexit__ that does not implement __await__").  Under it, on 3.10, the async way is left to the
# hypothesis runs (tests/test_fuzz.py), which are not instrumented.
_ASYNC_BROKEN_BY_INSTRUMENTATION = sys.version_info < (3, 11) and "atheris" in sys.modules


def fuzz_connect(data: bytes) -> None:
    """connect()/aconnect() from a loopback server: the events of StreamDecoder.feed, or a StreamError."""
    import asyncio

    import httpx

    from tests.streamserver import Script, StreamServer

    global _SERVER, _CLIENT, _SSL
    if _SERVER is None:
        import ssl

        _SERVER = StreamServer().start()
        _SSL = ssl.create_default_context()
        _CLIENT = httpx.Client(verify=_SSL)
    body, _, options, flags = shape_body(data)
    status = 500 if flags & 32 else 200
    pieces = splits(body, zlib.crc32(data)) if body else [b""]
    _SERVER.serve("/fuzz", Script(pieces, status=status, content_type="text/event-stream", delay=1e-6))
    del _SERVER.visits[:]
    parser_options = {k: v for k, v in options.items() if k not in ("format", "schema", "tools")}
    kwargs = {
        "format": options.get("format", "auto"),
        "schema": options.get("schema"),
        "tools": options.get("tools"),
        "parser_options": parser_options,
        "headers": {"connection": "close"},  # the test server closes after each response
    }
    events: list[Any] = []
    streams: list[Any] = []
    try:
        if flags & 64 and not _ASYNC_BROKEN_BY_INSTRUMENTATION:

            async def run() -> None:
                async with (
                    httpx.AsyncClient(verify=_SSL) as client,
                    fs.aconnect(client, "POST", _SERVER.url("/fuzz"), **kwargs) as stream,
                ):
                    streams.append(stream)
                    async for event in stream:
                        events.append(event)

            asyncio.run(run())
        else:
            with fs.connect(_CLIENT, "POST", _SERVER.url("/fuzz"), **kwargs) as stream:
                streams.append(stream)
                events.extend(stream)
    except fs.StreamError as exc:
        assert status == 500 and exc.status_code == 500, exc
        return
    assert status == 200, "an error status gave events"
    expected, decoder = _decoded([body], options)
    assert _comparable(events, streams[0].decoder) == _comparable(expected, decoder)


TARGETS["shapes"] = fuzz_shapes
TARGETS["connect"] = fuzz_connect
