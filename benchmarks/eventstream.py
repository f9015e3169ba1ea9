"""Throughput of the AWS event-stream framing: fieldstream's decoder against botocore's parser.

    python benchmarks/eventstream.py                  # ~4 MB of recorded Bedrock bodies, big frames too
    python benchmarks/eventstream.py --size 200KB     # quicker

Two inputs.  *Recorded*: the 10 real ConverseStream bodies in
``tests/corpus/streams/bedrock/*.eventstream`` (small frames, 60-270 bytes),
repeated to ``--size``.  *Big frames*: messages with 1 MiB payloads (a large
tool input or document), to show how each parser buffers a frame that arrives in
many reads.  Each input is fed in reads of 64 B, 1 KiB and 64 KiB, to
``fieldstream.EventStreamDecoder`` (framing only), to ``fieldstream.StreamDecoder``
(framing, JSON payloads and Bedrock targets), and to botocore's
``EventStreamBuffer`` (framing only; what boto3 runs before its own shape
parsing).  Every run checks the message count.  Best of ``--repeat`` runs, in
MB/s; results go to ``benchmarks/results/eventstream.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "eventstream.json"
CORPUS = ROOT / "tests" / "corpus" / "streams" / "bedrock"
READS = (64, 1024, 64 * 1024)


def _size(text: str) -> int:
    units = {"KB": 1000, "MB": 1000**2}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def _frame(payload: bytes) -> bytes:
    name, kind = b":event-type", b"contentBlockDelta"
    headers = bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(kind)) + kind
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def inputs(size: int) -> dict[str, tuple[bytes, int]]:
    """name -> (body, number of messages)."""
    recorded = b"".join(p.read_bytes() for p in sorted(CORPUS.glob("*.eventstream")))
    count = sum(1 for _ in _fieldstream_frames(recorded, len(recorded)))
    times = max(1, size // len(recorded))
    delta = json.dumps({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "x" * (1 << 20)}}}).encode()
    big = _frame(delta) * max(1, size // len(delta))
    return {"recorded": (recorded * times, count * times), "big frames": (big, max(1, size // len(delta)))}


def _fieldstream_frames(body: bytes, read: int) -> list[Any]:
    import fieldstream

    decoder = fieldstream.EventStreamDecoder()
    out: list[Any] = []
    for i in range(0, len(body), read):
        out += decoder.feed(body[i : i + read])
    decoder.close()
    return out


def _stream_decoder(body: bytes, read: int) -> int:
    import fieldstream

    decoder = fieldstream.StreamDecoder("bedrock")
    for i in range(0, len(body), read):
        decoder.feed(body[i : i + read])
    decoder.close()
    return decoder._framing._framer.messages  # type: ignore[no-any-return]


def _botocore_frames(body: bytes, read: int) -> list[Any]:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    out: list[Any] = []
    for i in range(0, len(body), read):
        buffer.add_data(body[i : i + read])
        out += list(buffer)
    return out


PARSERS: dict[str, Callable[[bytes, int], Any]] = {
    "fieldstream EventStreamDecoder": lambda body, read: len(_fieldstream_frames(body, read)),
    "fieldstream StreamDecoder (bedrock)": _stream_decoder,
    "botocore EventStreamBuffer": lambda body, read: len(_botocore_frames(body, read)),
}


def measure(size: int, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for name, (body, messages) in inputs(size).items():
        for read in READS:
            for parser, run in PARSERS.items():
                if name == "big frames" and parser.startswith("fieldstream StreamDecoder"):
                    continue  # a 1 MiB string of x's measures the JSON parser, not the framing
                best = float("inf")
                for _ in range(repeat):
                    start = time.perf_counter()
                    got = run(body, read)
                    best = min(best, time.perf_counter() - start)
                    assert got == messages, (parser, name, read, got, messages)
                rows.append(
                    {
                        "input": name,
                        "bytes": len(body),
                        "messages": messages,
                        "read": read,
                        "parser": parser,
                        "seconds": round(best, 4),
                        "mb_per_s": round(len(body) / best / 1e6, 1),
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="4MB", help="bytes per input (default 4MB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    rows = measure(_size(args.size), args.repeat)
    baseline = {(r["input"], r["read"]): r["seconds"] for r in rows if r["parser"].startswith("botocore")}
    print(f"{'input':<11} {'read':>6}  {'parser':<37} {'MB/s':>7}  vs botocore")
    for r in rows:
        ratio = baseline[(r["input"], r["read"])] / r["seconds"]
        print(f"{r['input']:<11} {r['read']:>6}  {r['parser']:<37} {r['mb_per_s']:>7}  {ratio:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "argv": sys.argv[1:]}
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
