"""Frame stores for resumable streams: in-process (:class:`MemoryStore`) and Redis Streams (:class:`RedisStore`).

Theory of operation
-------------------
A store keeps, per stream id, the numbered frames of one stream (``seq`` counts
from 1), a *lease* that readers renew while a client is connected, and a stop
flag.  The producer (see ``_resume.py``) appends; readers read everything after
a sequence number, waiting up to a timeout for more.  Frames are stored before
numbering into bytes, so a reader can coalesce the ones it is late for.

Policy lives on the store, since every instance sharing it must agree:
``grace`` (seconds a stream keeps generating with no client), ``ttl`` (seconds
a stream's frames are kept after its last frame), ``max_frames`` (frames one
stream may hold; more is a server-side limit that ends it) and ``max_duration``
(seconds one stream may generate; ``None``: no limit).

The producer also *beats* (renews an ``alive`` mark) while it runs, so a reader on
another instance can tell a quiet stream from one whose producer's process died.

In Redis a stream is five keys under ``prefix + id``: ``:meta``, ``:alive``, ``:frames`` (a Redis
Stream whose entry ids are ``0-<seq>``, so ``XREAD`` after ``0-<seq>`` is exactly
"what came after frame seq", and a duplicate append fails instead of repeating a
frame), ``:lease`` (expires on its own when no reader renews it) and ``:stop`` (a
list the producer blocks on with ``BLPOP``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from ._errors import TransportError, UsageError

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_TTL",
    "FrameStore",
    "MemoryStore",
    "RedisStore",
    "StoredFrame",
]

#: Seconds a stream goes on generating while no client is connected.
DEFAULT_GRACE = 30.0
#: Seconds a finished (or abandoned) stream's frames stay readable after its last frame.
DEFAULT_TTL = 600.0
#: Frames one stream may hold; the producer ends a longer stream with an ``error`` frame.
DEFAULT_MAX_FRAMES = 100_000


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One stored frame: its number, SSE event name (``""``: none), data text, and whether it ends the stream."""

    seq: int
    event: str
    data: str
    final: bool = False


def _check_policy(grace: float, ttl: float, max_frames: int, max_duration: float | None) -> None:
    if not grace > 0:
        raise UsageError(f"grace must be a positive number of seconds, got {grace!r}")
    if not ttl > 0:
        raise UsageError(f"ttl must be a positive number of seconds, got {ttl!r}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 2:
        raise UsageError(f"max_frames must be an int of at least 2, got {max_frames!r}")
    if max_duration is not None and not max_duration > 0:
        raise UsageError(f"max_duration must be a positive number of seconds or None, got {max_duration!r}")


class FrameStore:
    """What a store does; :class:`MemoryStore` and :class:`RedisStore` are the two kinds."""

    grace: float
    ttl: float
    max_frames: int
    max_duration: float | None

    async def create(self, stream_id: str) -> None:
        """Register a new stream; :class:`UsageError` if the id is taken."""
        raise NotImplementedError

    async def exists(self, stream_id: str) -> bool:
        """Whether the stream is known (and not expired)."""
        raise NotImplementedError

    async def append(self, stream_id: str, frame: StoredFrame) -> None:
        """Add the next frame (``frame.seq`` is one more than the last)."""
        raise NotImplementedError

    async def read(self, stream_id: str, after: int, timeout: float) -> list[StoredFrame]:
        """Frames numbered above ``after``, waiting up to ``timeout`` seconds for one; ``[]`` if none came."""
        raise NotImplementedError

    async def hold(self, stream_id: str) -> None:
        """A client is connected: renew the stream's lease for ``grace`` seconds."""
        raise NotImplementedError

    async def held(self, stream_id: str) -> bool:
        """Whether a client renewed the lease within the last ``grace`` seconds."""
        raise NotImplementedError

    async def stop(self, stream_id: str) -> bool:
        """Ask the stream's producer to close its upstream now; ``False`` if the stream is unknown."""
        raise NotImplementedError

    async def beat(self, stream_id: str, seconds: float) -> None:
        """The producer is alive, and says so again within ``seconds``."""
        raise NotImplementedError

    async def alive(self, stream_id: str) -> bool:
        """Whether the stream's producer beat recently (a producer whose process died stops beating)."""
        raise NotImplementedError

    async def wait_stop(self, stream_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a stop request (the producer's side)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections (and, for a memory store, forget every stream)."""


@dataclass
class _Stream:
    frames: list[StoredFrame] = field(default_factory=list)
    lease_until: float = 0.0
    alive_until: float = 0.0
    expires: float = 0.0
    stop: asyncio.Event | None = None
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class MemoryStore(FrameStore):
    """Frames kept in this process: resumes after a dropped connection, on one server instance.

    >>> import fieldstream
    >>> store = fieldstream.MemoryStore(grace=5.0)
    >>> store.grace, store.ttl, store.max_frames
    (5.0, 600.0, 100000)
    """

    def __init__(
        self,
        *,
        grace: float = DEFAULT_GRACE,
        ttl: float = DEFAULT_TTL,
        max_frames: int = DEFAULT_MAX_FRAMES,
        max_duration: float | None = None,
    ) -> None:
        _check_policy(grace, ttl, max_frames, max_duration)
        self.grace, self.ttl, self.max_frames, self.max_duration = grace, ttl, max_frames, max_duration
        self._streams: dict[str, _Stream] = {}

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._streams.items() if s.expires < now]:
            del self._streams[key]

    def _get(self, stream_id: str) -> _Stream | None:
        self._sweep()
        return self._streams.get(stream_id)

    async def create(self, stream_id: str) -> None:
        if self._get(stream_id) is not None:
            raise UsageError(f"stream {stream_id!r} already exists; give each stream its own id")
        now = time.monotonic()
        self._streams[stream_id] = _Stream(lease_until=now + self.grace, expires=now + self.ttl)

    async def exists(self, stream_id: str) -> bool:
        return self._get(stream_id) is not None

    async def append(self, stream_id: str, frame: StoredFrame) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            raise UsageError(f"stream {stream_id!r} is unknown or expired")
        last = stream.frames[-1].seq if stream.frames else 0
        if frame.seq != last + 1:
            raise UsageError(f"frame {frame.seq} of stream {stream_id!r} does not follow frame {last}")
        stream.frames.append(frame)
        stream.expires = time.monotonic() + self.ttl
        waiters, stream.waiters = stream.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def read(self, stream_id: str, after: int, timeout: float) -> list[StoredFrame]:
        stream = self._get(stream_id)
        if stream is None:
            return []
        if len(stream.frames) <= after:
            waiter = asyncio.get_running_loop().create_future()
            stream.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except asyncio.TimeoutError:
                return []
            finally:
                if waiter in stream.waiters:
                    stream.waiters.remove(waiter)
        # seq n sits at index n - 1
        return stream.frames[max(after, 0) :]

    async def hold(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.lease_until = time.monotonic() + self.grace

    async def held(self, stream_id: str) -> bool:
        stream = self._streams.get(stream_id)
        return stream is not None and time.monotonic() < stream.lease_until

    async def beat(self, stream_id: str, seconds: float) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.alive_until = time.monotonic() + seconds

    async def alive(self, stream_id: str) -> bool:
        stream = self._streams.get(stream_id)
        return stream is not None and time.monotonic() < stream.alive_until

    def _stop_event(self, stream: _Stream) -> asyncio.Event:
        if stream.stop is None:
            stream.stop = asyncio.Event()
        return stream.stop

    async def stop(self, stream_id: str) -> bool:
        stream = self._get(stream_id)
        if stream is None:
            return False
        self._stop_event(stream).set()
        return True

    async def wait_stop(self, stream_id: str, timeout: float) -> bool:
        stream = self._streams.get(stream_id)
        if stream is None:
            return False
        event = self._stop_event(stream)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        self._streams.clear()


class RedisStore(FrameStore):
    """Frames kept in Redis Streams: resumes on any server instance that shares the Redis.

    ``url`` is a Redis URL (``redis://127.0.0.1:6379/0``) or ``client`` an
    existing ``redis.asyncio.Redis``.  Needs the ``redis`` extra.  Call
    :meth:`check` at startup: it raises :class:`TransportError` with a clear
    message when Redis cannot be reached; fall back to :class:`MemoryStore` to
    serve one instance.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "fieldstream:",
        grace: float = DEFAULT_GRACE,
        ttl: float = DEFAULT_TTL,
        max_frames: int = DEFAULT_MAX_FRAMES,
        max_duration: float | None = None,
    ) -> None:
        _check_policy(grace, ttl, max_frames, max_duration)
        self.grace, self.ttl, self.max_frames, self.max_duration = grace, ttl, max_frames, max_duration
        if (url is None) == (client is None):
            raise UsageError("give RedisStore either a url or a client")
        if client is None:
            try:
                import redis.asyncio
            except ImportError:
                raise UsageError("RedisStore needs the redis package: pip install 'fieldstream[redis]'") from None
            try:
                client = redis.asyncio.Redis.from_url(str(url))
            except ValueError as exc:
                raise UsageError(f"bad Redis URL {url!r}: {exc}") from None
        self.url = url
        self._redis = client
        self._prefix = prefix

    def _key(self, stream_id: str, part: str) -> str:
        return f"{self._prefix}{stream_id}:{part}"

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        # Nothing but fieldstream's errors leaves the library: Redis errors become TransportError.
        try:
            return await getattr(self._redis, name)(*args, **kwargs)
        except (OSError, asyncio.TimeoutError) as exc:
            raise TransportError(f"Redis at {self.url or 'the given client'} failed: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                raise TransportError(f"Redis at {self.url or 'the given client'} failed: {exc}") from exc
            raise

    async def check(self) -> None:
        """Raise :class:`TransportError` unless Redis answers (call it at startup)."""
        try:
            await self._call("ping")
        except TransportError as exc:
            raise TransportError(
                f"cannot reach Redis at {self.url or 'the given client'} ({exc.__cause__}); start redis-server, "
                "or serve a single instance with fieldstream.MemoryStore()"
            ) from exc.__cause__

    async def create(self, stream_id: str) -> None:
        ms = int(self.ttl * 1000)
        if not await self._call("set", self._key(stream_id, "meta"), b"1", nx=True, px=ms):
            raise UsageError(f"stream {stream_id!r} already exists; give each stream its own id")
        await self._call("set", self._key(stream_id, "lease"), b"1", px=int(self.grace * 1000))

    async def exists(self, stream_id: str) -> bool:
        return bool(await self._call("exists", self._key(stream_id, "meta")))

    async def append(self, stream_id: str, frame: StoredFrame) -> None:
        ms = int(self.ttl * 1000)
        frames, meta = self._key(stream_id, "frames"), self._key(stream_id, "meta")
        fields = {"e": frame.event, "d": frame.data, "f": "1" if frame.final else "0"}
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(frames, fields, id=f"0-{frame.seq}")
                pipe.pexpire(frames, ms)
                pipe.pexpire(meta, ms)
                await pipe.execute()
        except (OSError, asyncio.TimeoutError) as exc:
            raise TransportError(f"Redis at {self.url or 'the given client'} failed: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                raise TransportError(f"Redis at {self.url or 'the given client'} failed: {exc}") from exc
            raise

    async def read(self, stream_id: str, after: int, timeout: float) -> list[StoredFrame]:
        block = max(1, int(timeout * 1000))
        reply = await self._call("xread", {self._key(stream_id, "frames"): f"0-{max(after, 0)}"}, block=block)
        frames: list[StoredFrame] = []
        for _key, entries in reply or []:
            for entry_id, fields in entries:
                seq = int(entry_id.split(b"-")[1])
                frames.append(StoredFrame(seq, fields[b"e"].decode(), fields[b"d"].decode(), fields[b"f"] == b"1"))
        return frames

    async def hold(self, stream_id: str) -> None:
        await self._call("set", self._key(stream_id, "lease"), b"1", px=int(self.grace * 1000))

    async def held(self, stream_id: str) -> bool:
        return bool(await self._call("exists", self._key(stream_id, "lease")))

    async def stop(self, stream_id: str) -> bool:
        if not await self.exists(stream_id):
            return False
        key = self._key(stream_id, "stop")
        await self._call("rpush", key, b"1")
        await self._call("pexpire", key, int(self.ttl * 1000))
        return True

    async def wait_stop(self, stream_id: str, timeout: float) -> bool:
        return bool(await self._call("blpop", [self._key(stream_id, "stop")], timeout=max(timeout, 0.01)))

    async def beat(self, stream_id: str, seconds: float) -> None:
        await self._call("set", self._key(stream_id, "alive"), b"1", px=max(1, int(seconds * 1000)))

    async def alive(self, stream_id: str) -> bool:
        return bool(await self._call("exists", self._key(stream_id, "alive")))

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection is not an error worth raising
            await self._redis.aclose()
