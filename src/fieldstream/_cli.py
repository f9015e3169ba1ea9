"""The ``fieldstream`` command line: a thin front-end over the library.

Each subcommand lives in its own function; ``main()`` dispatches and turns every
failure into one line on stderr and an exit status (see ``_cli_common``).  The
JSONL output of ``parse`` (and of ``replay``) is a fixed machine format,
documented in the README: extend it, never break it; every line is written by
the one output rule (``_json_out``).  Input is read as bytes, in pieces as they
arrive, so events print as soon as they complete and memory stays bounded by the
parsed value.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from importlib import resources
from typing import IO, Any, TextIO

from ._cli_common import CommandError, load_model, open_input, positive_int, read_pieces, usage_error
from ._errors import FieldstreamError, ParseError
from ._events import DocumentCompleted, Event, Repair, StringDelta, ValueCompleted, ValueInvalid
from ._json_out import dumps, safe_text
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


def _readable(event: Event, out: TextIO) -> None:
    # Human lines; paths may hold lone surrogates, so each line goes through the output rule's escaping.
    if isinstance(event, StringDelta):
        out.write(f"{safe_text(format_path(event.path))} += {dumps(event.text)}\n")
    elif isinstance(event, ValueCompleted):
        out.write(f"{safe_text(format_path(event.path))} = {short_json(event.value)}\n")
    elif isinstance(event, DocumentCompleted):
        out.write(f"-- document {event.index} complete\n")
    elif isinstance(event, ValueInvalid):
        out.write(f"{safe_text(format_path(event.path))} INVALID: {short_json(event.errors, 300)}\n")
    elif isinstance(event, Repair):
        out.write(f"{safe_text(format_path(event.path))} repaired: {event.kind} at offset {event.offset}\n")


def _hint(name: str | None, head: bytes, error: FieldstreamError) -> str | None:
    """A next step for a common mistake: an SSE recording given to parse, NDJSON without --multiple."""
    start = head.lstrip()[:6]
    if (name or "").endswith((".sse", ".chunks.jsonl")) or start.startswith((b"data:", b"event:", b"id:", b": ")):
        return f"this looks like a recorded provider stream: try fieldstream replay {name or 'FILE'}"
    if isinstance(error, ParseError) and error.reason.endswith("after the JSON document"):
        return "more than one JSON value: add --multiple to read several (NDJSON)"
    return None


def _cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    from ._parser import Parser

    schema = load_model(args.model) if args.model else None
    options: dict[str, Any] = {"prose": args.prose, "multiple": args.multiple, "lenient": args.lenient}
    try:
        parser = Parser(schema, **options) if schema is not None else Parser(**options)
    except FieldstreamError as exc:  # not a usable model, pydantic missing
        raise usage_error(str(exc)) from None
    invalid = False

    def emit(events: list[Event]) -> None:
        nonlocal invalid
        for event in events:
            invalid = invalid or isinstance(event, ValueInvalid)
            if args.jsonl:
                out.write(dumps(event_to_json(event)) + "\n")
            else:
                _readable(event, out)

    if args.file is None:
        source: IO[bytes] = io.BytesIO(resources.files("fieldstream").joinpath("_data/example.json").read_bytes())
    else:
        source = open_input(args.file)
    head = b""
    size = args.chunk_size
    try:
        with source if args.file not in (None, "-") else contextlib.nullcontext():
            for piece in read_pieces(source):
                head = head or piece[:64]
                for i in range(0, len(piece), size):
                    emit(parser.feed(piece[i : i + size]))
                out.flush()  # each event is out as soon as the read that completed it
            emit(parser.close())
    except FieldstreamError as exc:
        emit(getattr(exc, "events", None) or [])  # what the failing feed completed before the fault
        out.write(dumps(error_to_json(exc)) + "\n" if args.jsonl else f"error: {safe_text(str(exc))}\n")
        out.flush()
        hint = _hint(args.file, head, exc)
        if hint:
            print(f"fieldstream parse: {hint}", file=sys.stderr)
        return 1
    if invalid:
        print("fieldstream parse: some values failed validation against the model", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="fieldstream",
        description="Structured streaming of LLM output.",
        epilog="Exit status: 0 success, 1 bad input or a fault in the stream, 2 a usage mistake.",
    )
    from . import __version__

    ap.add_argument("--version", action="version", version=f"fieldstream {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("parse", help="parse JSON chunk by chunk and print the events")
    p.add_argument("file", nargs="?", help="JSON file, '-' for stdin; default: a bundled example")
    p.add_argument(
        "--chunk-size", type=positive_int, default=4, metavar="N", help="bytes fed per parser call (default 4)"
    )
    p.add_argument("--jsonl", action="store_true", help="print one JSON object per event (machine format)")
    p.add_argument("--model", metavar="MODULE:CLASS", help="validate against a pydantic model (or type)")
    p.add_argument("--prose", action="store_true", help="skip text before the first { or [")
    p.add_argument("--multiple", action="store_true", help="accept several top-level values (NDJSON)")
    p.add_argument("--lenient", action="store_true", help="repair what models write outside JSON (docs/lenient.md)")
    p.set_defaults(handler=_cmd_parse)

    for module_name in _COMMAND_MODULES:  # each registers its subcommand(s)
        importlib.import_module(module_name, __package__).register(sub)
    return ap


def _utf8(stream: TextIO) -> TextIO:
    # Output is UTF-8 whatever the locale (the JSONL format is UTF-8 JSON); the output rule
    # already escapes lone surrogates, so nothing unencodable is left to write.
    if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
        stream.reconfigure(encoding="utf-8")
    return stream


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits by itself on --help and usage errors)."""
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:  # bare `fieldstream`
        ap.print_help()
        return 0
    name = f"fieldstream {args.command}"
    try:
        out = _utf8(sys.stdout)
        return int(args.handler(args, out))
    except CommandError as exc:
        print(f"{name}: {safe_text(str(exc).splitlines()[0] if str(exc) else '')}", file=sys.stderr)
        return exc.status
    except FieldstreamError as exc:  # a fault no subcommand expected (an unwritable picture, ...)
        print(f"{name}: {safe_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `fieldstream parse ... | head`
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, never a traceback
        print(f"{name}: internal error, please report it: {type(exc).__name__}: {safe_text(str(exc))}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after a broken pipe that would print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
