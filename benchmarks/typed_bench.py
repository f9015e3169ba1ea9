"""Typed streaming benchmark: fieldstream ``Parser(Model)`` vs re-validating per chunk.

Each peer gets the same document in 4-character chunks and, after every chunk,
produces a validated partial value:

* ``fieldstream``: ``Parser(Model)``; ``feed(chunk)`` then read ``parser.snapshot``
  (a partial ``Model`` whose completed fields are validated once each);
* ``pydantic partial``: ``TypeAdapter(T).validate_json(buffer,
  experimental_allow_partial="trailing-strings")`` on the whole buffer per chunk,
  with ``T`` the ``TypedDict`` twin of the model (pydantic's partial mode cannot
  leave ``BaseModel`` fields missing) and, for comparison, ``T = Model``;
* ``jiter + validate``: ``jiter.from_json(buffer, partial_mode="trailing-strings")``
  then ``TypeAdapter(Model).validate_python(obj, experimental_allow_partial=True)``
  per chunk (a failed validation of a half object counts, as it does for users).

Documents: the ``records`` shape of the core benchmark (a list of records with
ints, strings, a bool, a float, a list of tags and an optional note), grown to
~4 KB, ~15 KB and ~60 KB.  All peers run in the same process and the same run;
times are the best of ``--repeat`` runs.  ``python benchmarks/typed_bench.py
[--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import fieldstream  # noqa: E402

CHUNK = 4
SIZES = (4_000, 15_000, 60_000)
_WORDS = (
    "stream parse token field value chunk model schema delta event latency "
    "record window buffer index cursor offset object array string number"
).split()


class Record(BaseModel):
    id: int
    name: str
    email: str
    active: bool
    score: float
    tags: list[str]
    note: Optional[str]


class Records(BaseModel):
    items: list[Record]


class RecordTD(TypedDict):
    id: int
    name: str
    email: str
    active: bool
    score: float
    tags: list[str]
    note: Optional[str]


class RecordsTD(TypedDict):
    items: list[RecordTD]


def document(size: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    items: list[Any] = []
    text = ""
    while len(text) < size:
        i = len(items)
        items.append(
            {
                "id": i,
                "name": " ".join(rng.choice(_WORDS) for _ in range(2)).title(),
                "email": f"user{i}@example.com",
                "active": rng.random() < 0.7,
                "score": round(rng.uniform(0, 100), 3),
                "tags": [rng.choice(_WORDS) for _ in range(rng.randint(1, 4))],
                "note": None if rng.random() < 0.5 else " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8))),
            }
        )
        text = json.dumps({"items": items})
    return text


def run_fieldstream(chunks: list[str]) -> Any:
    parser = fieldstream.Parser(Records)
    for chunk in chunks:
        parser.feed(chunk)
        parser.snapshot
    parser.close()
    return parser.snapshot


def run_fieldstream_untyped(chunks: list[str]) -> Any:
    parser = fieldstream.Parser()
    for chunk in chunks:
        parser.feed(chunk)
        parser.snapshot
    parser.close()
    return parser.snapshot


def _pydantic_partial(schema: Any) -> Callable[[list[str]], Any]:
    adapter = TypeAdapter(schema)

    def run(chunks: list[str]) -> Any:
        buf = ""
        for chunk in chunks:
            buf += chunk
            try:
                adapter.validate_json(buf, experimental_allow_partial="trailing-strings")
            except ValidationError:
                pass
        return adapter.validate_json(buf)

    return run


def run_jiter_validate(chunks: list[str]) -> Any:
    import jiter

    adapter = TypeAdapter(Records)
    buf = ""
    for chunk in chunks:
        buf += chunk
        try:
            adapter.validate_python(
                jiter.from_json(buf.encode(), partial_mode="trailing-strings"), experimental_allow_partial=True
            )
        except (ValidationError, ValueError):
            pass
    return adapter.validate_python(jiter.from_json(buf.encode()))


PEERS: dict[str, Callable[[list[str]], Any]] = {
    "fieldstream Parser(Model) + snapshot": run_fieldstream,
    "fieldstream Parser() (untyped, reference)": run_fieldstream_untyped,
    "pydantic partial per chunk (TypedDict)": _pydantic_partial(RecordsTD),
    "pydantic partial per chunk (Model)": _pydantic_partial(Records),
    "jiter re-parse + validate per chunk": run_jiter_validate,
}


def best(run: Callable[[list[str]], Any], chunks: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(chunks)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)

    results: list[dict[str, Any]] = []
    for size in args.sizes:
        text = document(size)
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
        expected = Records.model_validate_json(text)
        assert run_fieldstream(chunks) == expected  # the peers compute the same final value
        assert run_jiter_validate(chunks) == expected
        row = {"size": len(text), "chunks": len(chunks), "seconds": {}}
        for name, run in PEERS.items():
            row["seconds"][name] = best(run, chunks, args.repeat)
        results.append(row)
        base = row["seconds"]["fieldstream Parser(Model) + snapshot"]
        print(f"\n{len(text):,} characters, {len(chunks):,} chunks of {CHUNK}")
        for name, seconds in row["seconds"].items():
            per_chunk = seconds / len(chunks) * 1e6
            print(f"  {name:44} {seconds * 1e3:9.2f} ms  {per_chunk:8.2f} µs/chunk  {seconds / base:7.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"chunk": CHUNK, "python": sys.version, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
