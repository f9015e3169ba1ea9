"""Resumable streams: frames in a store (in-process, and a real redis-server), replay after a reconnect,
Stop and the grace period close the upstream, limits, and coalescing for a slow reader.

Every wait is for a condition (an asyncio.Event the source sets), with a generous
timeout, so a loaded machine only makes the tests slower.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import fieldstream as fs

from .asgi_server import free_port, parse_sse
from .redis_server import MISSING, redis_server

DOC = json.dumps(
    {
        "title": 'Café "Nord" \u2028 ok',
        "items": [{"name": "a" * 40, "n": 1.5}, {"name": "b\nc", "n": None}, {"name": "", "n": True}],
        "notes": "line1\nline2 " * 10,
        "empty": {},
        "list": [],
    }
)
WAIT = 60.0  # seconds: only ever reached when something is broken


def events_of(text: str, piece: int = 3) -> list[fs.Event]:
    parser = fs.Parser()
    events: list[fs.Event] = []
    for i in range(0, len(text), piece):
        events.extend(parser.feed(text[i : i + piece]))
    events.extend(parser.close())
    return events


def joined(frames: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Frames without ids, adjacent deltas of one path joined (their split carries no meaning)."""
    out: list[tuple[str, Any]] = []
    for frame in frames:
        data = frame["data"]
        if out and frame["event"] == "delta" and out[-1][0] == "delta" and out[-1][1]["path"] == data["path"]:
            out[-1] = ("delta", {**data, "text": out[-1][1]["text"] + data["text"]})
        else:
            out.append((frame["event"], data))
    return out


def seqs(frames: list[dict[str, Any]], stream_id: str) -> list[int]:
    out = []
    for frame in frames:
        if "id" in frame:
            sid, _, seq = frame["id"].rpartition(":")
            assert sid == stream_id
            out.append(int(seq))
    return out


class Upstream:
    """An async event source standing in for a model call: gated steps, and it records how it ended."""

    def __init__(self, events: list[Any], *, hold_at: int | None = None) -> None:
        self.events = events
        self.hold_at = hold_at  # stop before this event until released
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.closed = asyncio.Event()
        self.finished = asyncio.Event()
        self.sent = 0

    async def __call__(self) -> AsyncIterator[Any]:
        try:
            for i, event in enumerate(self.events):
                if i == self.hold_at:
                    self.held.set()
                    await self.release.wait()
                await asyncio.sleep(0)
                self.sent += 1
                yield event
            self.finished.set()
        finally:
            self.closed.set()


async def take(frames: AsyncIterator[bytes], until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Read frames until ``until(frames so far)``; then leave (the client goes away)."""
    got: list[dict[str, Any]] = []
    async for chunk in frames:
        got += parse_sse(chunk.decode())
        if until(got):
            break
    await frames.aclose()  # type: ignore[attr-defined]
    return got


async def read_all(frames: AsyncIterator[bytes]) -> list[dict[str, Any]]:
    return await asyncio.wait_for(take(frames, lambda got: False), WAIT)


# ---------------------------------------------------------------- stores under test

StoreFactory = Callable[..., Awaitable[fs.FrameStore]]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if MISSING:
        pytest.skip(MISSING)
    pytest.importorskip("redis", reason="the redis client package is not installed (pip install 'fieldstream[redis]')")
    with redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of stores; for Redis each call is another "instance" with its own connection."""
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    if request.param == "memory":
        shared: dict[str, fs.MemoryStore] = {}

        async def memory(**policy: Any) -> fs.FrameStore:
            # one process: every "instance" is the same store (one per policy)
            return shared.setdefault(repr(sorted(policy.items())), fs.MemoryStore(**policy))

        return memory
    url = request.getfixturevalue("redis_url")

    async def redis(**policy: Any) -> fs.FrameStore:
        store = fs.RedisStore(url, prefix=prefix, **policy)
        await store.check()
        return store

    return redis


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, WAIT * 2))  # type: ignore[arg-type]


# ---------------------------------------------------------------- tests


def test_a_stored_stream_reads_like_a_plain_one_with_stream_ids(make_store: StoreFactory) -> None:
    events = events_of(DOC)

    async def main() -> None:
        store = await make_store()
        frames = await read_all(fs.to_sse(Upstream(events)(), store=store, stream_id="s1", keepalive=None))
        plain = parse_sse(fs.sse_encode(events).decode())
        assert joined(frames) == joined(plain)
        numbers = seqs(frames, "s1")
        assert numbers == sorted(set(numbers)) and numbers[-1] == len(plain)  # coalesced frames skip numbers
        # a late joiner gets every frame, in order, and the same final value
        late = await read_all(fs.resume_sse(store, "s1:0", keepalive=None))
        assert joined(late) == joined(plain)
        await store.aclose()

    run(main())


@pytest.mark.parametrize("cut", [1, 2, 4])
def test_a_reconnect_gets_the_missed_frames_once_on_another_instance(make_store: StoreFactory, cut: int) -> None:
    events = events_of(DOC)

    async def main() -> None:
        first, second = await make_store(), await make_store()
        upstream = Upstream(events, hold_at=len(events) // 2)
        before = await take(
            fs.to_sse(upstream(), store=first, stream_id="s2", keepalive=None), lambda got: len(got) >= cut
        )
        upstream.release.set()  # generation goes on while the client is away
        await asyncio.wait_for(upstream.finished.wait(), WAIT)
        last = before[-1]["id"]
        after = await read_all(fs.resume_sse(second, last, keepalive=None))
        numbers = seqs(before + after, "s2")
        assert numbers == sorted(set(numbers))  # nothing twice, nothing out of order
        assert joined(before + after) == joined(parse_sse(fs.sse_encode(events).decode()))
        assert after[-1]["event"] == "end"
        await first.aclose()
        await second.aclose()

    run(main())


def test_stop_closes_the_upstream_at_once(make_store: StoreFactory) -> None:
    events = events_of(DOC)

    async def main() -> None:
        store, other = await make_store(), await make_store()
        upstream = Upstream(events, hold_at=10)  # a model that goes quiet mid-answer
        frames = fs.to_sse(upstream(), store=store, stream_id="s3", keepalive=None)
        reading = asyncio.ensure_future(read_all(frames))
        await asyncio.wait_for(upstream.held.wait(), WAIT)
        assert await other.stop("s3")  # the stop request may land on another instance
        await asyncio.wait_for(upstream.closed.wait(), WAIT)
        got = await reading
        assert not upstream.finished.is_set()
        assert got[-1]["event"] == "end" and got[-1]["data"] == {"event": "end", "reason": "stopped"}
        assert not await store.stop("nope")
        await store.aclose()
        await other.aclose()

    run(main())


def test_no_client_for_the_grace_period_closes_the_upstream(make_store: StoreFactory) -> None:
    events = events_of(DOC)

    async def main() -> None:
        store = await make_store(grace=0.3)
        upstream = Upstream(events, hold_at=10)
        frames = fs.to_sse(upstream(), store=store, stream_id="s4", keepalive=None)
        await take(frames, lambda got: len(got) >= 2)  # the client leaves, and never comes back
        await asyncio.wait_for(upstream.closed.wait(), WAIT)
        assert not upstream.finished.is_set()
        late = await read_all(fs.resume_sse(store, "s4:0", keepalive=None))
        assert late[-1]["data"] == {"event": "end", "reason": "abandoned"}
        await store.aclose()

    run(main())


def test_a_client_within_the_grace_period_keeps_the_generation(make_store: StoreFactory) -> None:
    events = events_of(DOC)

    async def main() -> None:
        store = await make_store(grace=30.0)
        upstream = Upstream(events, hold_at=10)
        frames = fs.to_sse(upstream(), store=store, stream_id="s5", keepalive=None)
        before = await take(frames, lambda got: len(got) >= 2)
        upstream.release.set()
        await asyncio.wait_for(upstream.finished.wait(), WAIT)  # it finished with nobody connected
        after = await read_all(fs.resume_sse(store, before[-1]["id"], keepalive=None))
        assert after[-1]["data"] == {"event": "end"}
        await store.aclose()

    run(main())


def test_server_side_limits_end_the_stream_and_close_the_upstream(make_store: StoreFactory) -> None:
    events = events_of(DOC, piece=1)

    async def main() -> None:
        store = await make_store(max_frames=10)
        upstream = Upstream(events)
        frames = await read_all(fs.to_sse(upstream(), store=store, stream_id="s6", keepalive=None))
        assert frames[-1]["event"] == "error" and frames[-1]["data"]["kind"] == "limit"
        assert "10 frames" in frames[-1]["data"]["message"]
        assert seqs(frames, "s6")[-1] <= 10
        assert upstream.closed.is_set() and not upstream.finished.is_set()

        timed = await make_store(max_duration=0.2)
        upstream = Upstream(events, hold_at=3)
        frames = await read_all(fs.to_sse(upstream(), store=timed, stream_id="s7", keepalive=None))
        assert frames[-1]["event"] == "error" and "seconds" in frames[-1]["data"]["message"]
        assert upstream.closed.is_set()
        await store.aclose()
        await timed.aclose()

    run(main())


def test_an_unknown_stream_gets_one_error_frame(make_store: StoreFactory) -> None:
    async def main() -> None:
        store = await make_store()
        frames = await read_all(fs.resume_sse(store, "nosuch:3", keepalive=None))
        assert [f["data"]["kind"] for f in frames] == ["gone"]
        assert "id" not in frames[0]
        await store.aclose()

    run(main())


def test_a_slow_reader_gets_coalesced_deltas_and_every_completion(make_store: StoreFactory) -> None:
    events = events_of(DOC, piece=1)

    async def main() -> None:
        store = await make_store()
        upstream = Upstream(events, hold_at=len(events) - 1)
        frames = fs.to_sse(upstream(), store=store, stream_id="s8", keepalive=None)
        first = await frames.__anext__()  # the reader lags: it reads nothing more for a while
        await asyncio.wait_for(upstream.held.wait(), WAIT)  # ...while generation runs on
        upstream.release.set()
        rest = await read_all(frames)
        got = parse_sse(first.decode()) + rest
        plain = parse_sse(fs.sse_encode(events).decode())
        assert len(got) < len(plain) / 2  # many deltas became one
        assert joined(got) == joined(plain)
        completions = [f for f in got if f["event"] != "delta"]
        assert completions == [
            {**f, "id": c["id"]} for f, c in zip([p for p in plain if p["event"] != "delta"], completions)
        ]
        await store.aclose()

    run(main())


def test_redis_unavailable_is_a_clear_error_at_start() -> None:
    pytest.importorskip("redis", reason="the redis client package is not installed (pip install 'fieldstream[redis]')")
    store = fs.RedisStore(f"redis://127.0.0.1:{free_port()}/0")

    async def main() -> None:
        with pytest.raises(fs.TransportError, match="MemoryStore"):
            await store.check()
        with pytest.raises(fs.TransportError):
            await store.create("x")
        await store.aclose()

    run(main())


def test_options_are_checked() -> None:
    with pytest.raises(fs.UsageError, match="grace"):
        fs.MemoryStore(grace=0)
    with pytest.raises(fs.UsageError, match="max_frames"):
        fs.MemoryStore(max_frames=1)
    with pytest.raises(fs.UsageError, match="stream_id needs a store"):
        fs.to_sse([], stream_id="x")
    with pytest.raises(fs.UsageError, match="stream id"):
        fs.to_sse([], store=fs.MemoryStore(), stream_id="a:b")
    with pytest.raises(fs.UsageError, match="resumable event id"):
        fs.resume_sse(fs.MemoryStore(), "17")
    with pytest.raises(fs.UsageError, match="protocol"):
        fs.to_sse([], protocol="nope")  # type: ignore[call-overload]
    with pytest.raises(fs.UsageError, match="url or a client"):
        fs.RedisStore()

    async def taken() -> None:
        store = fs.MemoryStore()
        await store.create("dup")
        with pytest.raises(fs.UsageError, match="already exists"):
            await store.create("dup")

    run(taken())


# Last-Event-ID comes from the client: anything may arrive in it.
HOSTILE_EVENT_IDS: list[Any] = [
    "",
    " ",
    "17",
    "a:",
    ":1",
    "a:-1",
    "a:1.5",
    "a:1e3",
    "a:1:2",
    "a b:1",
    "a\x00:1",
    "a:1\r\nid: b:2",
    "\u00e4:1",
    "a" * 129 + ":1",
    "a:" + "9" * 19,
    "a:" + "9" * 5000,
    "*:1",
    None,
    17,
    b"a:1",
]


@pytest.mark.parametrize("event_id", HOSTILE_EVENT_IDS)
def test_a_hostile_last_event_id_is_a_usage_error(event_id: Any) -> None:
    assert fs.parse_event_id(event_id) is None
    with pytest.raises(fs.UsageError, match="resumable event id"):
        fs.resume_sse(fs.MemoryStore(), event_id)


def test_without_a_store_a_slow_client_does_not_stall_the_generation() -> None:
    events = events_of(DOC, piece=1)

    async def main() -> None:
        upstream = Upstream(events)
        frames = fs.to_sse(upstream(), keepalive=None)
        first = await frames.__anext__()
        await asyncio.wait_for(upstream.finished.wait(), WAIT)  # the source ran to its end meanwhile
        rest = [chunk async for chunk in frames]
        got = parse_sse((first + b"".join(rest)).decode())
        plain = parse_sse(fs.sse_encode(events).decode())
        assert len(got) < len(plain) / 2
        assert joined(got) == joined(plain)
        assert [int(f["id"]) for f in got] == list(range(1, len(got) + 1))  # ids still count up

    run(main())


def test_throttle_sends_at_most_one_batch_per_interval() -> None:
    events = events_of(DOC, piece=1)

    async def main() -> None:
        upstream = Upstream(events)
        got = await read_all(fs.to_sse(upstream(), keepalive=None, throttle=0.05))
        assert joined(got) == joined(parse_sse(fs.sse_encode(events).decode()))

    run(main())


def test_a_source_that_fails_with_a_bug_ends_the_stream_with_an_error_frame(make_store: StoreFactory) -> None:
    async def source() -> AsyncIterator[Any]:
        yield events_of('{"a": 1}')[0]
        raise KeyError("a bug in the caller's source")

    async def main() -> None:
        store = await make_store()
        frames = await read_all(fs.to_sse(source(), store=store, stream_id="s9", keepalive=None))
        assert frames[-1]["event"] == "error"
        assert frames[-1]["data"] == {
            "event": "error",
            "message": "the server failed while generating",
            "kind": "server",
        }
        await store.aclose()

    run(main())


def test_a_reader_learns_when_the_producers_process_died(make_store: StoreFactory) -> None:
    from fieldstream._resume import _PRODUCERS

    events = events_of(DOC)

    async def main() -> None:
        store = await make_store(grace=0.4)  # beats last 5 s: what a dead process leaves behind
        upstream = Upstream(events, hold_at=5)
        frames = fs.to_sse(upstream(), store=store, stream_id="s10", keepalive=None)
        reading = asyncio.ensure_future(read_all(frames))
        await asyncio.wait_for(upstream.held.wait(), WAIT)
        for task in list(_PRODUCERS):  # the producer vanishes without a last frame, as in a crash
            task.cancel()
        got = await reading
        assert got[-1]["event"] == "error" and got[-1]["data"]["kind"] == "lost"
        assert "id" not in got[-1]
        await store.aclose()

    run(main())


def test_the_resume_benchmark_runs(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "resume.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/resume.py", "--events", "80", "--lag", "0.001", "--json", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text("utf-8"))["results"]
    for r in results.values():  # numbers are measured, never asserted; every completion is
        assert r["completions_read"] == r["completions_sent"]


def test_the_examples_front_switches_backend_on_enter() -> None:
    import subprocess
    import sys
    from pathlib import Path

    front = Path(__file__).resolve().parents[1] / "examples" / "web" / "front.py"
    result = subprocess.run(
        [sys.executable, str(front), "--port", str(free_port()), "--backends", "8101,8102"],
        input="\n\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "now -> 127.0.0.1:8102" in result.stderr and result.stderr.rstrip().endswith("8101 (open connections cut)")


def test_a_resume_after_the_final_frame_ends_at_once(make_store: StoreFactory) -> None:
    async def main() -> None:
        store = await make_store()
        frames = await read_all(fs.to_sse(events_of('{"a": 1}'), store=store, stream_id="s11", keepalive=None))
        assert await read_all(fs.resume_sse(store, frames[-1]["id"], keepalive=None)) == []
        assert await read_all(fs.resume_sse(store, frames[-2]["id"], keepalive=None)) == frames[-1:]
        await store.aclose()

    run(main())
