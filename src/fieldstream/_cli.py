"""The ``fieldstream`` command line: a thin front-end over the library.

Each subcommand lives in its own function; ``main()`` dispatches.  The JSONL
output of ``parse`` (and of ``replay``) is a fixed machine format, documented in
the README: extend it, never break it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any, TextIO

from ._errors import FieldstreamError
from ._events import DocumentCompleted, Event, Repair, StringDelta, ValueCompleted, ValueInvalid
from ._paths import format_path
from ._records import error_to_json, event_to_json, short_json

__all__ = ["main"]

# Further subcommands, one private module each, with ``register(subparsers)``;
# a module's handler gets ``(args, out)`` and returns the exit status.
_COMMAND_MODULES: list[str] = [
    "._cli_bench",
    "._cli_record",
    "._cli_replay",
]


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=True)


def _read_chunks(source: str | None, chunk_size: int) -> Iterator[str]:
    if source is None:
        text = resources.files("fieldstream").joinpath("_data/example.json").read_text("utf-8")
    elif source == "-":
        text = sys.stdin.read()
    else:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    for i in range(0, len(text), chunk_size):
        yield text[i : i + chunk_size]


def _readable(event: Event, out: TextIO) -> None:
    if isinstance(event, StringDelta):
        out.write(f"{format_path(event.path)} += {json.dumps(event.text, ensure_ascii=False)}\n")
    elif isinstance(event, ValueCompleted):
        out.write(f"{format_path(event.path)} = {short_json(event.value)}\n")
    elif isinstance(event, DocumentCompleted):
        out.write(f"-- document {event.index} complete\n")
    elif isinstance(event, ValueInvalid):
        out.write(f"{format_path(event.path)} INVALID: {event.errors}\n")
    elif isinstance(event, Repair):
        out.write(f"{format_path(event.path)} repaired: {event.kind} at offset {event.offset}\n")


def _load_model(spec: str) -> Any:
    import importlib

    module_name, _, attr = spec.partition(":")
    if not attr:
        raise SystemExit(f"fieldstream: --model takes module:Class, got {spec!r}")
    sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"fieldstream: cannot import {module_name!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"fieldstream: {module_name!r} has no attribute {attr!r}") from None


def _cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    from ._parser import Parser

    options: dict[str, Any] = {"prose": args.prose, "multiple": args.multiple, "lenient": args.lenient}
    try:
        parser = Parser(_load_model(args.model), **options) if args.model else Parser(**options)
    except FieldstreamError as exc:  # not a usable model, pydantic missing
        raise SystemExit(f"fieldstream: {exc}") from None
    emit = (lambda e: out.write(_dumps(event_to_json(e)) + "\n")) if args.jsonl else (lambda e: _readable(e, out))
    try:
        for chunk in _read_chunks(args.file, args.chunk_size):
            for event in parser.feed(chunk):
                emit(event)
        for event in parser.close():
            emit(event)
    except FieldstreamError as exc:
        if args.jsonl:
            out.write(_dumps(error_to_json(exc)) + "\n")
        else:
            out.write(f"error: {exc}\n")
        out.flush()
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fieldstream", description="Structured streaming of LLM output.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse JSON chunk by chunk and print the events")
    p.add_argument("file", nargs="?", help="JSON file, '-' for stdin; default: a bundled example")
    p.add_argument("--chunk-size", type=int, default=4, metavar="N", help="characters per chunk (default 4)")
    p.add_argument("--jsonl", action="store_true", help="print one JSON object per event (machine format)")
    p.add_argument("--model", metavar="MODULE:CLASS", help="validate against a pydantic model")
    p.add_argument("--prose", action="store_true", help="skip text before the first { or [")
    p.add_argument("--multiple", action="store_true", help="accept several top-level values (NDJSON)")
    p.add_argument("--lenient", action="store_true", help="repair what models write outside JSON (docs/lenient.md)")
    p.set_defaults(handler=_cmd_parse)

    import importlib

    for module_name in _COMMAND_MODULES:  # each registers its subcommand(s)
        importlib.import_module(module_name, __package__).register(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "chunk_size", 1) < 1:
        raise SystemExit("fieldstream: --chunk-size must be at least 1")
    out = sys.stdout
    try:
        return int(args.handler(args, out))
    except BrokenPipeError:  # `fieldstream parse ... | head`
        return 0
    except KeyboardInterrupt:
        return 130
