"""What a resumable stream costs, and what coalescing saves a slow reader.

    python benchmarks/resume.py                          # plain to_sse vs MemoryStore
    python benchmarks/resume.py --redis redis://127.0.0.1:6379/0   # and RedisStore
    python benchmarks/resume.py --events 2000 --json out.json

For each store: events per second from the source to the last frame read by one
client (the producer and the reader in one process), and the frames that reader got.
Then a slow reader (sleeping ``--lag`` seconds per frame) against a source that
produces at full speed: how many frames it got for how many events, and whether
every completion arrived.  Prints a table; ``--json`` writes the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fieldstream as fs


def document(items: int) -> str:
    return json.dumps({"items": [{"name": f"item {i} " * 4, "n": i, "ok": i % 2 == 0} for i in range(items)]})


def events_of(text: str, piece: int = 4) -> list[Any]:
    parser = fs.Parser()
    out: list[Any] = []
    for i in range(0, len(text), piece):
        out.extend(parser.feed(text[i : i + piece]))
    return out + parser.close()


async def source(events: list[Any]) -> AsyncIterator[Any]:
    for i, event in enumerate(events):
        if i % 8 == 0:
            await asyncio.sleep(0)  # a network source yields to the loop now and then
        yield event


async def read(frames: AsyncIterator[bytes], lag: float = 0.0) -> list[str]:
    kinds: list[str] = []
    async for chunk in frames:
        for block in chunk.decode().split("\n\n"):
            if block.startswith("event: "):
                kinds.append(block.split("\n", 1)[0][7:])
        if lag:
            await asyncio.sleep(lag)
    return kinds


async def one(store: fs.FrameStore | None, events: list[Any], lag: float = 0.0) -> dict[str, Any]:
    start = time.perf_counter()
    if store is None:
        frames = fs.to_sse(source(events), keepalive=None)
    else:
        frames = fs.to_sse(source(events), keepalive=None, store=store, stream_id=uuid.uuid4().hex)
    kinds = await read(frames, lag)
    seconds = time.perf_counter() - start
    completions = sum(1 for e in events if not isinstance(e, fs.StringDelta))
    return {
        "events": len(events),
        "frames": len(kinds),
        "seconds": round(seconds, 4),
        "events_per_s": round(len(events) / seconds),
        "completions_sent": completions,
        "completions_read": sum(1 for k in kinds if k in ("field", "done")),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    events = events_of(document(args.events // 40 or 1))
    stores: dict[str, Any] = {"plain to_sse": None, "MemoryStore": fs.MemoryStore()}
    if args.redis:
        redis = fs.RedisStore(args.redis, prefix=f"bench{uuid.uuid4().hex[:6]}:")
        await redis.check()
        stores["RedisStore"] = redis
    results: dict[str, Any] = {}
    for name, store in stores.items():
        await one(store, events[:50])  # warm up
        results[name] = await one(store, events)
        results[name + ", slow reader"] = await one(store, events, lag=args.lag)
    for store in stores.values():
        if store is not None:
            await store.aclose()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=4000, help="about how many events (default 4000)")
    ap.add_argument("--lag", type=float, default=0.002, help="the slow reader's pause per frame, seconds")
    ap.add_argument("--redis", help="a Redis URL: also measure RedisStore")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    results = asyncio.run(main_async(args))
    print(f"{'case':32} {'events':>7} {'frames':>7} {'events/s':>9} {'completions':>12}")
    for name, r in results.items():
        done = f"{r['completions_read']}/{r['completions_sent']}"
        print(f"{name:32} {r['events']:>7} {r['frames']:>7} {r['events_per_s']:>9} {done:>12}")
    if args.json:
        meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()[0]}
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
