"""Iteration sugar: feed a token stream (sync or async iterable of chunks), get updates.

Instead of chunks, each also takes a stream: an answer stream (:func:`fieldstream.stream`),
an event stream (``connect()``, ``from_sdk()``), what ``connect()`` returns, or an
openai/anthropic SDK stream; the schema then applies to its answer.

    for snapshot in iter_snapshots(tokens, Model): ...     the (typed) partial value after each change
    for item in iter_items(tokens, list[Model]): ...        each top-level array item, validated, once complete

``a``-prefixed twins take an async iterable.  The schema is optional: without
one the values are plain JSON.  Keyword options go to :class:`Parser`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from ._errors import SchemaError, UsageError
from ._events import Event, ItemCompleted, ValueInvalid
from ._parser import Parser
from ._paths import format_path

__all__ = ["aiter_items", "aiter_snapshots", "iter_items", "iter_snapshots"]

Chunk = str | bytes


def _parser(schema: Any, options: dict[str, Any]) -> Parser[Any]:
    return Parser(schema, **options) if schema is not None else Parser(**options)


def _answer(chunks: Any, schema: Any, options: dict[str, Any]) -> Any:
    from ._answer import as_answer, is_stream_source

    if not is_stream_source(chunks):
        return None
    if options:
        raise UsageError(f"parser options {sorted(options)} do not apply to a stream: give them where it is made")
    return as_answer(chunks, schema)


def iter_snapshots(chunks: Iterable[Chunk], schema: Any = None, /, **options: Any) -> Iterator[Any]:
    """Yield ``parser.snapshot`` after every chunk that produced an event.

    The snapshot is a live object that later chunks extend: copy it to keep it.
    The last one yielded is the complete (validated) value.  For a stream, the
    answer's snapshot after each answer event.
    """
    answer = _answer(chunks, schema, options)
    if answer is not None:
        for event in answer:
            if isinstance(event, Event):
                yield answer.snapshot
        return
    parser = _parser(schema, options)
    for chunk in chunks:
        if parser.feed(chunk):
            yield parser.snapshot
    if parser.close():
        yield parser.snapshot


async def aiter_snapshots(chunks: AsyncIterable[Chunk], schema: Any = None, /, **options: Any) -> AsyncIterator[Any]:
    """Async twin of :func:`iter_snapshots`."""
    answer = _answer(chunks, schema, options)
    if answer is not None:
        async for event in answer:
            if isinstance(event, Event):
                yield answer.snapshot
        return
    parser = _parser(schema, options)
    async for chunk in chunks:
        if parser.feed(chunk):
            yield parser.snapshot
    if parser.close():
        yield parser.snapshot


def _items(events: list[Event]) -> Iterator[Any]:
    for event in events:
        if type(event) is ItemCompleted and len(event.path) == 1:
            yield event.value
        elif type(event) is ValueInvalid:  # the first invalid value, at any depth, ends the iteration
            raise SchemaError(
                "a value failed validation", path=format_path(event.path), errors=event.errors
            ) from event.error


def iter_items(chunks: Iterable[Chunk], schema: Any = None, /, **options: Any) -> Iterator[Any]:
    """Yield each item of a top-level array as soon as it is complete (validated with a schema).

    With ``list[Model]`` each item is a ``Model``; an invalid item raises
    :class:`SchemaError` (pydantic's error as ``__cause__``).  For a stream, the
    items of its answer.
    """
    answer = _answer(chunks, schema, options)
    if answer is not None:
        for event in answer:
            if isinstance(event, Event):
                yield from _items([event])
        return
    parser = _parser(schema, options)
    for chunk in chunks:
        yield from _items(parser.feed(chunk))
    yield from _items(parser.close())


async def aiter_items(chunks: AsyncIterable[Chunk], schema: Any = None, /, **options: Any) -> AsyncIterator[Any]:
    """Async twin of :func:`iter_items`."""
    answer = _answer(chunks, schema, options)
    if answer is not None:
        async for event in answer:
            if isinstance(event, Event):
                for item in _items([event]):
                    yield item
        return
    parser = _parser(schema, options)
    async for chunk in chunks:
        for item in _items(parser.feed(chunk)):
            yield item
    for item in _items(parser.close()):
        yield item
