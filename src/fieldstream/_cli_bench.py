"""``fieldstream bench``: a quick, self-contained speed check from an install.

Feeds generated record lists in small chunks to fieldstream and to whichever
peers are installed (jiter re-parsing the buffer per chunk, ijson's C push
parser, ``json.loads`` once at the end) in this one process, and prints the
CPU time per stream with ratios to fieldstream.  ``--e2e`` runs the end-to-end
case at small size instead: the same documents as the content of an OpenAI chat
stream (one SSE event per chunk), as raw bytes through ``StreamDecoder``, through
a hand-rolled loop (SSE split + ``json.loads`` per event + jiter re-parse per
delta) and through the floor (SSE split + ``json.loads``).  The full harness, with
every peer each in its own process, latency percentiles and plots, is
``python -m benchmarks`` (``--e2e``) in a source checkout.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable
from typing import Any, TextIO

from ._cli_common import CommandError, positive_int

__all__ = ["register"]

_WORDS = "stream parse token field value chunk model schema delta event latency record".split()


def _document(size: int) -> str:
    rng = random.Random(size)
    items: list[dict[str, Any]] = []
    length = 12
    while length < size:
        item = {
            "id": len(items),
            "name": " ".join(rng.choice(_WORDS) for _ in range(2)),
            "active": rng.random() < 0.7,
            "score": round(rng.uniform(0, 100), 3),
            "tags": [rng.choice(_WORDS) for _ in range(rng.randint(1, 3))],
            "note": None if rng.random() < 0.5 else "naïve “quoted” text\n",
        }
        items.append(item)
        length += len(json.dumps(item, ensure_ascii=False)) + 2
    return json.dumps({"items": items}, ensure_ascii=False)


def _fieldstream(chunks: list[str]) -> Any:
    from ._parser import Parser

    parser = Parser()
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    return parser.snapshot


def _json_loads(chunks: list[str]) -> Any:
    parts: list[str] = []
    for chunk in chunks:  # receive the chunks as a stream would, then parse once
        parts.append(chunk)  # noqa: PERF402
    return json.loads("".join(parts))


def _jiter(chunks: list[str]) -> Any:
    import jiter

    buffer = ""
    for chunk in chunks:
        buffer += chunk
        if buffer.strip():
            jiter.from_json(buffer.encode(), partial_mode=True)
    return jiter.from_json(buffer.encode())


def _ijson(chunks: list[str]) -> Any:
    import ijson  # type: ignore[import-untyped]

    events = ijson.sendable_list()
    coro = ijson.get_backend("yajl2_c").basic_parse_coro(events, use_float=True)
    builder = ijson.ObjectBuilder()
    for chunk in chunks:
        if chunk:
            coro.send(chunk.encode())
        for event, value in events:
            builder.event(event, value)
        del events[:]
    coro.close()
    return builder.value


def _body(chunks: list[str]) -> list[bytes]:
    head = b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"gpt-bench","choices":[{"index":0,'
    reads = [head + b'"delta":{"content":' + json.dumps(c).encode() + b'},"finish_reason":null}]}\n\n' for c in chunks]
    return [*reads, head + b'"delta":{},"finish_reason":"stop"}]}\n\n', b"data: [DONE]\n\n"]


def _e2e_fieldstream(reads: list[bytes]) -> Any:
    from ._stream import StreamDecoder

    decoder = StreamDecoder("openai-chat")
    for read in reads:
        decoder.feed(read)
    decoder.close()
    return decoder.result.values["choices[0]"]


def _events(reads: list[bytes]) -> Any:
    pending = b""
    for read in reads:  # a minimal SSE split: one data line per event
        *blocks, pending = (pending + read).split(b"\n\n")
        for block in blocks:
            data = block[6:]
            if data != b"[DONE]":
                yield json.loads(data)


def _e2e_handrolled(reads: list[bytes]) -> Any:
    import jiter

    buffer = ""
    for payload in _events(reads):
        content = payload["choices"][0]["delta"].get("content")
        if content:
            buffer += content
            jiter.from_json(buffer.encode(), partial_mode="trailing-strings")
    return jiter.from_json(buffer.encode())


def _e2e_floor(reads: list[bytes]) -> Any:
    parts = [p["choices"][0]["delta"].get("content") or "" for p in _events(reads)]
    return json.loads("".join(parts))


def _e2e_peers() -> list[tuple[str, Callable[[list[bytes]], Any]]]:
    peers: list[tuple[str, Callable[[list[bytes]], Any]]] = [("fieldstream", _e2e_fieldstream)]
    try:
        import jiter  # noqa: F401

        peers.append(("json.loads + jiter/delta", _e2e_handrolled))
    except ImportError:
        pass
    peers.append(("floor: json.loads/event", _e2e_floor))
    return peers


def _peers() -> list[tuple[str, Callable[[list[str]], Any]]]:
    peers: list[tuple[str, Callable[[list[str]], Any]]] = [("fieldstream", _fieldstream)]
    try:
        import jiter  # noqa: F401

        peers.append(("jiter re-parse/chunk", _jiter))
    except ImportError:
        pass
    try:
        import ijson

        ijson.get_backend("yajl2_c")
        peers.append(("ijson yajl2_c + builder", _ijson))
    except ImportError:
        pass
    peers.append(("json.loads once", _json_loads))
    return peers


def _time(run: Callable[[Any], Any], chunks: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.process_time()
        run(chunks)
        best = min(best, time.process_time() - start)
    return best


def _cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    peers: list[tuple[str, Callable[[Any], Any]]] = list(_e2e_peers() if args.e2e else _peers())
    sizes = args.sizes
    rows: list[dict[str, Any]] = []
    for size in sizes:
        text = _document(size)
        chunks: Any = [text[i : i + args.chunk_size] for i in range(0, len(text), args.chunk_size)]
        if args.e2e:
            chunks = _body(chunks)
        expected = json.loads(text)
        row: dict[str, Any] = {"size": len(text), "chunks": len(chunks), "ms": {}}
        for name, run in peers:
            if run(chunks) != expected:  # also the warm-up
                raise CommandError(f"{name} returned a wrong value at {len(text)} characters")
            row["ms"][name] = _time(run, chunks, args.repeats) * 1e3
        rows.append(row)
    if args.json:
        case = "e2e: OpenAI chat SSE body, one event per chunk" if args.e2e else "parse"
        timing = "CPU ms, min of repeats"
        out.write(json.dumps({"case": case, "chunk_size": args.chunk_size, "timing": timing, "rows": rows}) + "\n")
        return 0
    names = [name for name, _ in peers]
    out.write(
        f"CPU ms per stream ({args.chunk_size}-character chunks, best of {args.repeats}); x = ratio to fieldstream\n"
    )
    out.write(f"{'size':>9}  " + "  ".join(f"{n:>24}" for n in names) + "\n")
    for row in rows:
        base = row["ms"]["fieldstream"]
        cells = [f"{row['ms'][n]:>10.2f} ms ({row['ms'][n] / base:>6.2f}x)" for n in names]
        out.write(f"{row['size']:>9}  " + "  ".join(f"{c:>24}" for c in cells) + "\n")
    missing = {"jiter re-parse/chunk", "ijson yajl2_c + builder"} - set(names) if not args.e2e else set()
    if missing:
        out.write(f"not installed: {', '.join(sorted(missing))} (pip install 'fieldstream[bench]')\n")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="quick speed check against installed peers")
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=[1000, 4000, 15000],
        metavar="N,N,...",
        help="document sizes in characters (default 1000,4000,15000)",
    )
    p.add_argument("--chunk-size", type=positive_int, default=4, metavar="N", help="characters per chunk (default 4)")
    p.add_argument("--repeats", type=positive_int, default=3, help="timed runs per peer; the best is shown (default 3)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--e2e", action="store_true", help="end to end: raw provider bytes (an OpenAI chat SSE body)")
    p.set_defaults(handler=_cmd_bench)


def _sizes(text: str) -> list[int]:
    """An argparse type: comma-separated document sizes, each at least 1."""
    return [positive_int(part.strip()) for part in text.split(",")]
