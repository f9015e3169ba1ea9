"""Many concurrent streams in one asyncio process, against a local server.

    python benchmarks/load.py                                 # 1,000 streams x 20 chunks
    python benchmarks/load.py --streams 2000 --chunks 50 --interval 0.05
    python benchmarks/load.py --soak 300                      # waves of streams for 5 minutes

The server (a separate process, plain asyncio, loopback only) answers each
``POST /v1/chat/completions/<k>`` with an OpenAI-style SSE stream whose content is
the JSON document ``{"stream": k, "items": [...]}``: one item per chunk, each item
carrying its stream number, its index and the server's send time
(``time.monotonic()``, one clock for every process on the machine).  The client
opens every stream at once with ``fieldstream.aconnect`` over one
``httpx.AsyncClient``; each ``ItemCompleted`` gives one latency sample: receive
time minus send time, i.e. the network, httpx, SSE framing, the provider layer and
the parser together.  No cross-talk: each stream's final value must equal the
document its own server handler sent, item for item.  Results print, and go to
``benchmarks/results/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "load.json"


# -- the server -------------------------------------------------------------------


def _chunk(content: str) -> bytes:
    payload = {
        "object": "chat.completion.chunk",
        "model": "load",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    data = b"data: " + json.dumps(payload).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chunks: int, interval: float) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        stream = int(request_line.split()[1].rstrip("/").rsplit("/", 1)[1])
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        )
        writer.write(_chunk('{"stream": %d, "items": [' % stream))
        for i in range(chunks):
            await asyncio.sleep(interval)
            closer = ", " if i < chunks - 1 else "]}"
            writer.write(_chunk('{"i": %d, "tag": "%d-%d", "sent": %r}%s' % (i, stream, i, time.monotonic(), closer)))
            await writer.drain()
        writer.write(_chunk("") + b"%x\r\n%s\r\n" % (len(b"data: [DONE]\n\n"), b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve(port: int, chunks: int, interval: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, chunks, interval), "127.0.0.1", port, backlog=4096, limit=2**16
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start_server(chunks: int, interval: float) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--chunks", str(chunks), "--interval", str(interval)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


# -- the client -------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _one(client: Any, url: str, k: int, chunks: int, latencies: list[float]) -> str | None:
    """Stream ``k``; ``None`` if its value is exactly its own document, else what went wrong."""
    import fieldstream as fs

    async with fs.aconnect(client, "POST", f"{url}/{k}", json={"stream": k}, format="openai-chat") as stream:
        value = None
        async for event in stream:
            if isinstance(event, fs.TargetEvent) and isinstance(event.event, fs.ItemCompleted):
                latencies.append(time.monotonic() - event.event.value["sent"])
            elif isinstance(event, fs.TargetCompleted):
                value = event.value
            elif isinstance(event, fs.Fault):
                return f"stream {k}: fault {event!r}"
    if not isinstance(value, dict) or value.get("stream") != k:
        return f"stream {k}: got {str(value)[:200]}"
    tags = [item["tag"] for item in value["items"]]
    if tags != [f"{k}-{i}" for i in range(chunks)]:
        return f"stream {k}: items {tags[:5]}..."
    return None


async def run_wave(port: int, streams: int, chunks: int) -> dict[str, Any]:
    import httpx

    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=0)
    timeout = httpx.Timeout(120.0, pool=120.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        started = time.perf_counter()
        cpu = time.process_time()
        outcomes = await asyncio.gather(
            *(_one(client, url, k, chunks, latencies) for k in range(streams)), return_exceptions=True
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    problems = [repr(o) if isinstance(o, BaseException) else o for o in outcomes if o is not None]
    latencies.sort()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 2) if latencies else 0.0

    return {
        "streams": streams,
        "chunks_per_stream": chunks,
        "seconds": round(seconds, 2),
        "items": len(latencies),
        "items_per_s": round(len(latencies) / seconds),
        # CPU the client spent, per item: what the machine's other work cannot inflate
        "client_cpu_s": round(cpu, 2),
        "client_cpu_us_per_item": round(1e6 * cpu / max(1, len(latencies))),
        "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100),
                       "mean": round(1000 * statistics.fmean(latencies), 2) if latencies else 0.0},
        "ok_streams": streams - len(problems),
        "problems": problems[:10],
        "rss_mb": round(_rss_mb(), 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--chunks", type=int, default=20, help="items, one per chunk, per stream (20)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between a stream's chunks (0.1)")
    parser.add_argument("--soak", type=float, default=0, help="repeat waves for this many seconds; report RSS per wave")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results ({RESULTS.relative_to(ROOT)})"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(0, args.chunks, args.interval))
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    proc, port = start_server(args.chunks, args.interval)
    try:
        waves = []
        deadline = time.monotonic() + args.soak
        while True:
            wave = asyncio.run(run_wave(port, args.streams, args.chunks))
            waves.append(wave)
            lat = wave["latency_ms"]
            print(
                f"wave {len(waves)}: {wave['ok_streams']}/{wave['streams']} streams exact, {wave['items']:,} items"
                f" in {wave['seconds']} s ({wave['items_per_s']:,}/s, client CPU {wave['client_cpu_us_per_item']} us/item); latency ms p50 {lat['p50']} p90 {lat['p90']}"
                f" p99 {lat['p99']} max {lat['max']}; client RSS {wave['rss_mb']} MB",
                flush=True,
            )
            for problem in wave["problems"]:
                print("  ", problem, flush=True)
            if time.monotonic() >= deadline:
                break
    finally:
        proc.terminate()
        proc.wait()
    summary = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
        "interval_s": args.interval,
        "soak_s": args.soak,
        "waves": waves,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(w["ok_streams"] == w["streams"] for w in waves) else 1


if __name__ == "__main__":
    sys.exit(main())
