"""Memory per open stream against what its final value holds, typed and plain (one run).

    python -m benchmarks.memory_open            # 4 KB to 1 MB answers
    python -m benchmarks.memory_open --quick    # the 4 KB answer only (the smoke test)

For each generated answer of the end-to-end case (:mod:`.bodies`: a ``records``
JSON answer streamed as OpenAI chat token deltas), the same measurement as
``python -m benchmarks --e2e`` (:func:`.e2e._memory`, ``tracemalloc``): one
session fed the body up to its ``open_reads`` (the answer one token short of
complete); *retained* is what it holds then, after ``gc``, *peak* the most it held
on the way.  Sessions: ``StreamDecoder`` typed (``schema=Records``) and plain, and
the bare ``Parser(Records)`` / ``Parser()`` fed the answer's token deltas.

*value* is what the final value holds, measured the same way: the retained
``tracemalloc`` size of the ``Records`` that ``model_validate_json(answer)``
builds (its core validator with pydantic's process-wide string cache off, so
that every string it holds is counted as its own) or of ``json.loads(answer)``
(plain).  The ratio
*open/value* is the issue's target (typed at most 1.3).  Results go to
``benchmarks/results/memory-open.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from .bodies import GENERATED_SIZES, generated_body, token_deltas
from .competitors import load
from .e2e import _memory, _value_size
from .generate import generate
from .schemas import model_for

__all__ = ["main", "run"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "memory-open.json"


class _ParserSession:
    """A bare ``Parser`` fed the answer's token deltas (the reads of the body are not used)."""

    def __init__(self, context: Any) -> None:
        import fieldstream

        schema, self.deltas = context
        self.parser = fieldstream.Parser(schema) if schema is not None else fieldstream.Parser()
        self.fed = 0

    def feed(self, _read: bytes) -> None:
        if self.fed < len(self.deltas) - 1:  # one token short of complete, as the body's open reads
            self.parser.feed(self.deltas[self.fed])
            self.fed += 1


class _ParserModule:
    Session = _ParserSession


def _parser_memory(body: Any, schema: Any) -> dict[str, float]:
    deltas = token_deltas(generate(body.kind or "records", body.answer))
    opened = type("_Body", (), {"reads": [b""] * len(deltas), "open_reads": len(deltas) - 1})()
    _memory(_ParserModule, opened, (schema, deltas))  # warm-up: the schema's plan and validators
    return _memory(_ParserModule, opened, (schema, deltas))


def run(sizes: tuple[int, ...]) -> dict[str, Any]:
    typed_module = load("e2e_fieldstream_typed")
    plain_module = load("e2e_fieldstream")
    rows = []
    for size in sizes:
        body = generated_body(size)
        model = model_for(body.kind)
        row: dict[str, Any] = {"answer": body.name, "characters": body.answer}
        model.model_validate_json(generate(body.kind or "records", body.answer))  # warm-up
        row["typed_value_kib"] = _value_size(body, True)
        row["plain_value_kib"] = _value_size(body, False)
        for name, module, typed in (("decoder_typed", typed_module, True), ("decoder_plain", plain_module, False)):
            context = module.prepare(body)
            _memory(module, body, context)  # warm-up
            row[name] = _memory(module, body, context)
        row["parser_typed"] = _parser_memory(body, model)
        row["parser_plain"] = _parser_memory(body, None)
        for name in ("decoder_typed", "parser_typed", "decoder_plain", "parser_plain"):
            value = row["typed_value_kib" if name.endswith("typed") else "plain_value_kib"]
            row[name]["open_over_value"] = row[name]["retained_kib"] / value
            row[name]["streams_per_gib"] = 2**30 / max(row[name]["retained_kib"] * 1024, 1)
        rows.append(row)
        print(
            f"{body.name:12} value {row['typed_value_kib']:8,.0f} KiB typed, {row['plain_value_kib']:8,.0f} plain | "
            + " | ".join(
                f"{n} {row[n]['retained_kib']:8,.0f} ({row[n]['open_over_value']:.2f})"
                for n in row
                if "_" in n and isinstance(row[n], dict)
            ),
            file=sys.stderr,
            flush=True,
        )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python -m benchmarks.memory_open",
        "results": rows,
    }


def markdown(data: dict[str, Any]) -> str:
    out = [
        "# Memory per open stream against its final value",
        "",
        f"`{data['command']}`, Python {data['python']}, {data['cores']} cores, {data['date']}.  tracemalloc, KiB: "
        "retained / peak while the answer is one token short of complete; *open/value* is retained over what the "
        "final value holds (`model_validate_json` typed, `json.loads` plain).",
        "",
        "| answer | value typed | StreamDecoder typed | Parser typed | value plain | StreamDecoder plain | Parser plain |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in data["results"]:

        def cell(name: str) -> str:
            m = row[name]
            return f"{m['retained_kib']:,.0f} / {m['peak_kib']:,.0f} (**{m['open_over_value']:.2f}x**)"

        out.append(
            f"| {row['answer']} | {row['typed_value_kib']:,.0f} | {cell('decoder_typed')} | {cell('parser_typed')} "
            f"| {row['plain_value_kib']:,.0f} | {cell('decoder_plain')} | {cell('parser_plain')} |"
        )
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 4 KB answer only")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results (.json and .md)")
    args = parser.parse_args(argv)
    gc.collect()
    if tracemalloc.is_tracing():  # pragma: no cover - the measurement starts its own
        tracemalloc.stop()
    data = run((4_000,) if args.quick else GENERATED_SIZES)
    if args.quick:
        data["command"] += " --quick"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2) + "\n")
    args.json.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
