"""Threads: reading a snapshot never changes what the parser produces; concurrent feed is refused.

A UI timer that reads ``parser.snapshot`` while another thread feeds must see
consistent values and leave the final value exact; a second thread calling
``feed()`` while one is inside it gets :class:`UsageError` (chunk order between
two feeders is undefined), never corrupt events.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import weakref
from typing import Any

import pytest

import fieldstream as fs

ITEMS = 20_000
DOC = json.dumps({"items": [f"item-{i}" for i in range(ITEMS)], "tail": "end"})


def _chunks(size: int = 5) -> list[str]:
    return [DOC[i : i + size] for i in range(0, len(DOC), size)]


def _read_while_feeding(parser: fs.Parser) -> Any:
    stop = threading.Event()
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            parser.snapshot  # noqa: B018 - the read is the point
            reads += 1

    thread = threading.Thread(target=reader)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a race would show in one run
    thread.start()
    try:
        events = []
        for chunk in _chunks():
            events += parser.feed(chunk)
        events += parser.close()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert reads > 0
    return events


def test_reading_the_snapshot_from_another_thread_never_changes_the_result() -> None:
    # Before, about half the items came out wrong (an unfinished string appended twice).
    parser = fs.Parser()
    events = _read_while_feeding(parser)
    assert events[-1].value == json.loads(DOC)
    items = [e for e in events if isinstance(e, fs.ItemCompleted)]
    assert [e.value for e in items] == [f"item-{i}" for i in range(ITEMS)]
    assert [e.path[-1] for e in items] == list(range(ITEMS))


def test_reading_the_snapshot_does_not_change_parser_state() -> None:
    parser = fs.Parser()
    parser.feed('["ab", "c')
    before = (parser._placed, list(parser._parts), parser._state, json.dumps(parser._root))
    assert parser.snapshot == ["ab", "c"]
    assert parser.snapshot == ["ab", "c"]
    assert parser._placed == before[0] and parser._state == before[2]
    assert json.dumps(parser._root) == json.dumps(["ab", "c"])
    assert parser.feed('d"]') == [fs.StringDelta((1,), "d"), fs.ItemCompleted((1,), "cd"),
                                  fs.ValueCompleted((), ["ab", "cd"]), fs.DocumentCompleted(["ab", "cd"])]  # fmt: skip


def test_typed_snapshot_from_another_thread() -> None:
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        items: list[str]
        tail: str

    parser = fs.Parser(M)
    events = _read_while_feeding(parser)
    assert events[-1].value == M.model_validate_json(DOC)


def test_a_second_thread_feeding_at_once_is_refused() -> None:
    inside = threading.Event()
    release = threading.Event()

    class SlowParser(fs.Parser[Any]):
        def _feed(self, chunk: Any) -> Any:  # holds the first feeder inside feed() while the others try
            inside.set()
            release.wait(10)
            return super()._feed(chunk)

    parser = SlowParser()
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(parser.feed('{"a": ')))
    first.start()
    assert inside.wait(10)
    refused: list[BaseException] = []

    def second(call: Any) -> None:
        try:
            call()
        except fs.UsageError as exc:
            refused.append(exc)

    others = [threading.Thread(target=second, args=(c,)) for c in (lambda: parser.feed("1"), parser.close)]
    for t in others:
        t.start()
    for t in others:  # they wait for the first feeder's lock
        t.join(0.2)
        assert t.is_alive()
    release.set()
    first.join()
    for t in others:
        t.join(10)
    assert len(refused) == 2 and all("another thread was feeding" in str(e) for e in refused)
    assert parser.feed("1}")[-1] == fs.DocumentCompleted({"a": 1})  # the refused calls changed nothing


def test_two_threads_feeding_in_turn_never_corrupt_events() -> None:
    # Whatever interleaving the threads get, every call either runs whole or is refused.
    parser = fs.Parser(multiple=True)
    events: list[Any] = []
    refused = 0
    lock = threading.Lock()

    def feeder(n: int) -> None:
        nonlocal refused
        for i in range(2000):
            try:
                got = parser.feed(f"[{n}, {i}]\n")
            except fs.UsageError:
                with lock:
                    refused += 1
                continue
            with lock:
                events.extend(got)

    threads = [threading.Thread(target=feeder, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    documents = [e.value for e in events if isinstance(e, fs.DocumentCompleted)]
    assert len(documents) + refused == 4000
    assert all(len(d) == 2 and d[0] in (0, 1) for d in documents)


# -- memory: the typed plan cache ---------------------------------------------------------------


def test_a_model_made_per_request_is_freed_with_its_plan() -> None:
    pydantic = pytest.importorskip("pydantic")
    refs = []
    for i in range(20):
        model = pydantic.create_model(f"Tool{i}", city=(str, ...), days=(int, 1))
        parser = fs.Parser(model)
        parser.feed('{"city": "x", "days": 2}')
        refs.append(weakref.ref(model))
        del model, parser
    gc.collect()
    assert [r for r in refs if r() is not None] == []


def test_plans_of_other_schemas_are_bounded() -> None:
    pytest.importorskip("pydantic")
    from typing import Literal

    from fieldstream import _typed

    for i in range(_typed.MAX_CACHED_PLANS + 50):
        fs.Parser(list[Literal[f"v{i}"]]).feed(f'["v{i}"]')  # type: ignore[valid-type]
    assert len(_typed._plans) <= _typed.MAX_CACHED_PLANS
