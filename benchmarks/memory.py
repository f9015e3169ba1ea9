"""Peak memory of parsing a big array, with and without keeping the items.

    python benchmarks/memory.py                       # 100 MB both modes, 1 GB streaming, json.loads
    python benchmarks/memory.py --size 10MB --huge 0  # quicker
    python benchmarks/memory.py --tracemalloc         # also Python-level peaks (slower)
    python benchmarks/memory.py --stream 100MB        # the array as an OpenAI chat stream through
                                                      # StreamDecoder(keep_items=False), 64-char deltas
    python benchmarks/memory.py --bounded 1MB,10MB,100MB
        # keep_items=False at several sizes, plain and typed, tracemalloc peak of each run:
        # StreamDecoder (64-char deltas) and Parser(list[Item]) (64-char chunks); flat = bounded

The input is a JSON array of ~900-byte items (id, title, an 800-character body,
three tags, a score), generated on the fly in 64 KiB chunks, so even the 1 GB
input never exists as a whole, on disk or in memory.  Each measurement runs in its
own process; peak RSS is ``VmHWM`` (Linux), and "growth" is that peak minus the RSS
just before parsing (the interpreter and the library).  The streaming run also
samples the current RSS at every tenth of the input, to show it stays flat.
Every run checks the items it got: count, and the last one equal to what was sent.
Results print as a table and go to ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"

_BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. " * 9)[
    :800
]
_ITEM = (
    '{"id": %d, "title": "Item number %d", "body": "' + _BODY + '", "tags": ["alpha", "beta", "gamma"], "score": 0.5}'
)


def item_model() -> Any:
    """The pydantic model of one generated item (for the typed runs)."""
    from pydantic import BaseModel

    class Item(BaseModel):
        id: int
        title: str
        body: str
        tags: list[str]
        score: float

    return Item


def expected_item(i: int) -> dict[str, object]:
    return {"id": i, "title": f"Item number {i}", "body": _BODY, "tags": ["alpha", "beta", "gamma"], "score": 0.5}


def generate(total: int, chunk: int = 65536) -> Iterator[str]:
    """``[item, item, ...]`` of at least ``total`` characters, in chunks of about ``chunk``."""
    yield "["
    sent = 0
    i = 0
    parts: list[str] = []
    size = 0
    while sent + size < total:
        text = (", " if i else "") + _ITEM % (i, i)
        parts.append(text)
        size += len(text)
        i += 1
        if size >= chunk:
            yield "".join(parts)
            sent += size
            parts, size = [], 0
    if parts:
        yield "".join(parts)
    yield "]"


def _status_mb(field: str) -> float:
    # VmRSS (now) and VmHWM (peak) come from one source, so their difference is exact.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def worker(mode: str, total: int, chunk: int, trace: bool) -> dict[str, object]:
    """Parse ``total`` generated characters one way; runs in a fresh process."""
    sys.path.insert(0, str(ROOT / "src"))
    import fieldstream as fs

    schema: Any = None
    if mode in ("stream-typed", "parser-typed"):
        schema = list[item_model()]  # type: ignore[misc]
        warm = fs.Parser(schema, keep_items=False)  # pydantic, the schema's plan and validators: made once
        warm.feed("".join(generate(2000)))
        del warm
    if trace:
        import tracemalloc

        tracemalloc.start()
    start_rss = _rss_mb()
    samples: list[float] = []
    started = time.perf_counter()
    count = 0
    last: object = None
    if mode in ("stream", "stream-typed"):
        # The same array as the content of an OpenAI chat stream, in 64-character deltas,
        # through StreamDecoder(keep_items=False): memory must stay that of one item.
        decoder = fs.StreamDecoder("openai-chat", schema=schema, keep_items=False)
        fed = 0
        mark = total / 10
        head = b'data: {"choices":[{"index":0,"delta":{"content":'
        for piece in generate(total, chunk):
            for i in range(0, len(piece), 64):
                delta = piece[i : i + 64]
                for event in decoder.feed(head + json.dumps(delta).encode() + b"}}]}\n\n"):
                    inner = getattr(event, "event", None)
                    if type(inner) is fs.ItemCompleted and inner.path == (count,):
                        count += 1
                        last = inner.value
                        if schema is not None:
                            last = last.model_dump()
            fed += len(piece)
            if fed >= mark:
                samples.append(round(_rss_mb(), 1))
                mark += total / 10
        decoder.feed(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
        decoder.close()
        assert decoder.targets["choices[0]"].value == []
    elif mode == "parser-typed":
        # Parser(list[Item], keep_items=False) fed 64-character chunks: each item is validated,
        # delivered and dropped.
        parser = fs.Parser(schema, keep_items=False)
        fed = 0
        mark = total / 10
        for piece in generate(total, chunk):
            for i in range(0, len(piece), 64):
                for event in parser.feed(piece[i : i + 64]):
                    if type(event) is fs.ItemCompleted and len(event.path) == 1:
                        count += 1
                        last = event.value.model_dump()
            fed += len(piece)
            if fed >= mark:
                samples.append(round(_rss_mb(), 1))
                mark += total / 10
        parser.close()
        assert parser.result == []
    elif mode == "json.loads":
        value = json.loads("".join(generate(total, chunk)))
        count, last = len(value), value[-1]
    else:
        parser = fs.Parser(keep_items=mode == "keep_items=True")
        fed = 0
        mark = total / 10
        for piece in generate(total, chunk):
            for event in parser.feed(piece):
                if type(event) is fs.ItemCompleted and len(event.path) == 1:
                    count += 1
                    last = event.value
            fed += len(piece)
            if fed >= mark:
                samples.append(round(_rss_mb(), 1))
                mark += total / 10
        parser.close()
        if mode == "keep_items=True":
            assert len(parser.snapshot) == count
        else:
            assert parser.snapshot == []
    seconds = time.perf_counter() - started
    assert last == expected_item(count - 1), last
    result: dict[str, object] = {
        "mode": mode,
        "mb": round(total / 1e6),
        "items": count,
        "seconds": round(seconds, 1),
        "mb_per_s": round(total / 1e6 / seconds, 1),
        "rss_before_mb": round(start_rss, 1),
        "rss_peak_mb": round(_peak_mb(), 1),
        "growth_mb": round(_peak_mb() - start_rss, 1),
        "rss_samples_mb": samples,
    }
    if trace:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        result["tracemalloc_peak_kib"] = round(tracemalloc.get_traced_memory()[1] / 2**10)
    return result


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"a size like 100MB or 1GB, not {text!r}")
    scale = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}[(match.group(2) or "").upper()]
    return int(float(match.group(1)) * scale)


def measure(mode: str, total: int, chunk: int, trace: bool) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", mode, "--size", str(total), "--chunk", str(chunk)]
    if trace:
        command.append("--tracemalloc")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=_size, default=100 * 10**6, help="input for the both-modes comparison (100MB)")
    parser.add_argument("--huge", type=_size, default=10**9, help="input for the streaming run (1GB; 0 to skip)")
    parser.add_argument("--chunk", type=int, default=65536, help="characters per feed() (64 KiB, a network read)")
    parser.add_argument("--tracemalloc", action="store_true", help="also record Python-level peaks (slower)")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results ({RESULTS.relative_to(ROOT)})"
    )
    parser.add_argument("--stream", type=_size, default=0, help="only the StreamDecoder run, of this size")
    parser.add_argument(
        "--bounded",
        type=lambda text: [_size(part) for part in text.split(",")],
        default=None,
        help="only the keep_items=False runs (StreamDecoder plain and typed, typed Parser) at these sizes, traced",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.chunk, args.tracemalloc)))
        return 0
    plan = [("json.loads", args.size), ("keep_items=True", args.size), ("keep_items=False", args.size)]
    if args.huge:
        plan.append(("keep_items=False", args.huge))
    if args.stream:
        plan = [("stream", args.stream)]
        args.json = args.json.with_name("memory-stream.json")
    if args.bounded:
        plan = [(mode, size) for size in args.bounded for mode in ("stream", "stream-typed", "parser-typed")]
        args.json = args.json.with_name("memory-bounded.json")
        args.tracemalloc = True
    results = []
    print(
        f"{'mode':<18}{'input':>8}{'items':>11}{'time s':>9}{'MB/s':>7}{'peak RSS MB':>13}{'growth MB':>11}", flush=True
    )
    for mode, total in plan:
        result = measure(mode, total, args.chunk, trace=bool(args.bounded))
        if args.tracemalloc and total == args.size and not args.bounded:
            result["tracemalloc_peak_mb"] = measure(mode, total, args.chunk, trace=True)["tracemalloc_peak_mb"]
        results.append(result)
        print(
            f"{mode:<18}{result['mb']:>6}MB{result['items']:>11,}{result['seconds']:>9}{result['mb_per_s']:>7}"
            f"{result['rss_peak_mb']:>13}{result['growth_mb']:>11}"
            + (f"  tracemalloc peak {result['tracemalloc_peak_kib']:,} KiB" if "tracemalloc_peak_kib" in result else "")
            + (
                f"  tracemalloc peak {result['tracemalloc_peak_mb']} MB"
                if "tracemalloc_peak_mb" in result and "tracemalloc_peak_kib" not in result
                else ""
            ),
            flush=True,
        )
        if result["rss_samples_mb"]:
            print(f"{'':<18}RSS at each tenth of the input (MB): {result['rss_samples_mb']}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "chunk": args.chunk,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
