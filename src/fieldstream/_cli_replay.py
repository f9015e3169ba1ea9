"""``fieldstream replay [FILE]``: play a recorded provider stream through StreamDecoder.

The body is cut into the reads its timing sidecar lists (``NAME.timing.jsonl``) and
fed at their pace (``--speed``, ``--no-delay``); without a sidecar, fixed-size reads
at a fixed gap.  Views: live in a terminal (rich), plain lines when stdout is not a
terminal, or ``--jsonl``, the machine format of ``stream_event_to_json`` with a
``"source"`` on every line.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from ._cli_common import CommandError, help_text, load_model, positive_float, usage_error
from ._errors import FieldstreamError
from ._json_out import dumps, safe_text
from ._providers import FORMAT_CHOICES
from ._records import error_to_json, short_json

__all__ = ["register"]

BUNDLED = "openai_chat_json_object.sse"
_FRAME = 1 / 30  # the live view redraws at most this often (seconds)
_MAX_TREE_DEPTH = 24  # the live view draws deeper values on one line


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("replay", help="replay a recorded provider stream, live", description=help_text(__doc__))
    p.add_argument(
        "file",
        nargs="?",
        help=".sse, .ndjson, .chunks.jsonl, .eventstream or any raw body; default: a bundled recording",
    )
    p.add_argument("--format", default="auto", choices=FORMAT_CHOICES, help="provider wire format (default: detected)")
    p.add_argument("--content", default="auto", choices=("auto", "json", "text"), help="how to read content targets")
    p.add_argument("--model", metavar="MODULE:CLASS", help="validate the structured content against a pydantic model")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=positive_float, default=1.0, metavar="X", help="play X times as fast (default 1)")
    pace.add_argument("--no-delay", action="store_true", help="feed every read at once")
    p.add_argument("--jsonl", action="store_true", help="print one JSON object per event (machine format)")
    p.add_argument(
        "--timeline",
        nargs="?",
        const="",
        metavar="IMAGE",
        help="print the timeline (a 'timeline' record with --jsonl) and, given IMAGE (.png, .svg, .pdf), draw it",
    )
    p.add_argument("--lenient", action="store_true", help="repair what models write outside JSON (docs/lenient.md)")
    p.set_defaults(handler=_cmd_replay)


def check_image(option: str, value: str | None) -> None:
    """A timeline image path must name an image, so a stray FILE is not taken for one."""
    if not value:
        return
    if Path(value).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise usage_error(f"{option} takes an image path (.png, .svg or .pdf), got {value!r}")
    # Checked now, before a replay or a (paid) recording, not when the picture is drawn.
    if not Path(value).resolve().parent.is_dir():
        raise usage_error(f"{option} {value!r}: the folder does not exist")
    if importlib.util.find_spec("matplotlib") is None:
        raise usage_error(f"{option} needs matplotlib: pip install 'fieldstream[plot]'")


def _reads(args: argparse.Namespace, stack: ExitStack) -> tuple[str, Iterator[tuple[float, bytes]], int, bool]:
    from ._recording import read_timing, timed_reads, to_wire_bytes

    if args.file is None:
        path = stack.enter_context(resources.as_file(resources.files("fieldstream").joinpath("_data", BUNDLED)))
    else:
        path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise usage_error(f"cannot open {args.file!r}: {exc.strerror or exc}") from None
    try:
        body = to_wire_bytes(path, raw)
        timing = read_timing(path)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    return path.name, timed_reads(body, timing), len(body), timing is not None


def _cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    from . import StreamDecoder
    from ._timeline import Timeline

    check_image("--timeline", args.timeline)
    schema = load_model(args.model) if args.model else None
    try:
        decoder = StreamDecoder(args.format, schema=schema, content=args.content, lenient=args.lenient)
    except FieldstreamError as exc:  # not a usable model, pydantic missing
        raise usage_error(str(exc)) from None
    timeline = Timeline()
    with ExitStack() as stack:
        name, reads, size, timed = _reads(args, stack)
        if args.jsonl:
            view: Any = _JsonlView(out)
        elif out.isatty():
            try:
                view = _LiveView(name, size, timed)
            except ImportError:
                print(
                    "fieldstream replay: rich is not installed, so showing plain lines instead of the live view"
                    " (pip install 'fieldstream[cli]')",
                    file=sys.stderr,
                )
                view = _PlainView(out)
        else:
            view = _PlainView(out)
        view.timeline = timeline
        stack.enter_context(view)
        start = time.perf_counter()
        last = 0.0
        try:
            for t, chunk in reads:
                if not args.no_delay:
                    wait = t / args.speed - (time.perf_counter() - start)
                    if wait > 0:
                        time.sleep(wait)
                # The recorded times, whatever the pace of the replay: the timeline is the stream's.
                timeline.read(len(chunk), t)
                events = decoder.feed(chunk)
                timeline.observe(events, t)
                view.read(chunk, events, decoder)
                last = t
            events = decoder.close()
            timeline.observe(events, last)
            view.read(b"", events, decoder)
        except FieldstreamError as exc:
            raise CommandError(str(exc)) from None
    _report_timeline(args, timeline, name, out, timed)
    return 1 if decoder.faults else 0


def _report_timeline(args: argparse.Namespace, timeline: Any, name: str, out: TextIO, timed: bool) -> None:
    """The buffering verdict on stderr; with --timeline the timeline itself, and its picture."""
    if not timed:
        print("fieldstream replay: no timing sidecar, so no timeline (fixed pace)", file=sys.stderr)
    else:
        print(f"fieldstream replay: {timeline.summary()}", file=sys.stderr)
    if args.timeline is None:
        return
    if args.jsonl:
        out.write(dumps(timeline.to_record()) + "\n")
    else:
        out.write(_timeline_text(timeline))
    out.flush()
    if args.timeline:
        timeline.plot(args.timeline, title=name)
        print(f"fieldstream replay: timeline drawn to {args.timeline}", file=sys.stderr)


def _timeline_text(timeline: Any) -> str:
    record = timeline.to_record()
    lines = [f"-- timeline: {timeline.summary().removeprefix('timeline: ')}"]
    for f in record["fields"]:
        if f["path"] != "$":
            lines.append(f"   {f['completed']:8.3f} s  {f['source']} {f['path']}  (from {f['started']:.3f} s)")
    return "\n".join(lines) + "\n"


class _JsonlView:
    timeline: Any = None

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> _JsonlView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def read(self, chunk: bytes, events: list[Any], decoder: Any) -> None:
        from . import stream_event_to_json

        for event in events:
            try:
                record = stream_event_to_json(event)
                record.setdefault("source", None)  # every line names its target (null: the whole stream)
                line = dumps(record)
            except FieldstreamError as exc:  # a model's serializer raised: an error record ends the output
                source = getattr(event, "source", None)
                error = error_to_json(exc, source=None if source is None else str(source), exception=type(exc).__name__)
                self.out.write(dumps(error) + "\n")
                self.out.flush()
                raise
            self.out.write(line + "\n")
        self.out.flush()


class _PlainView:
    """One line per thing worth a line: targets starting and ending, completed fields, faults."""

    timeline: Any = None

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> _PlainView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def read(self, chunk: bytes, events: list[Any], decoder: Any) -> None:
        for event in events:
            line = self._line(event)
            if line is not None:  # hostile text (lone surrogates) leaves as escapes
                self.out.write(safe_text(line) + "\n")
        self.out.flush()

    @staticmethod
    def _line(event: Any) -> str | None:
        from . import (
            Fault,
            Repair,
            StreamCompleted,
            TargetCompleted,
            TargetEvent,
            TargetStarted,
            ValueCompleted,
            ValueInvalid,
        )

        if isinstance(event, TargetStarted):
            s = event.source
            return f"{s.path} started ({s.kind}{f' {s.name}' if s.name else ''})"
        if isinstance(event, TargetEvent) and isinstance(event.event, ValueCompleted) and event.event.path:
            return f"{event.source.path} {event.event.path_text} = {short_json(event.event.value)}"
        if isinstance(event, TargetEvent) and isinstance(event.event, ValueInvalid):
            return f"{event.source.path} {event.event.path_text} INVALID: {short_json(event.event.errors, 300)}"
        if isinstance(event, TargetEvent) and isinstance(event.event, Repair):  # --lenient: as `parse` shows it
            e = event.event
            return f"{event.source.path} {e.path_text} repaired: {e.kind} at offset {e.offset}"
        if isinstance(event, TargetCompleted):
            return f"{event.source.path} done: {short_json(event.value)}"
        if isinstance(event, Fault):
            where = event.source.path if event.source is not None else "stream"
            return f"{where} {type(event).__name__.lower()}: {event.message}"
        if isinstance(event, StreamCompleted):
            return f"-- end: finish {event.finish_reasons or '-'}, usage {short_json(event.usage, 200)}"
        return None


class _LiveView:
    """The terminal view: every target's value filling in, completed fields ticked."""

    def __init__(self, name: str, size: int, timed: bool) -> None:
        from rich.console import Console

        self.console = Console()
        self.name = name
        self.size = size
        self.timed = timed
        self.bytes = self.reads = self.events = 0
        self.start = time.perf_counter()
        self.drawn = 0.0
        self.done_paths: dict[str, set[tuple[Any, ...]]] = {}
        self.faults: dict[str, Any] = {}
        self.stream_faults: list[Any] = []
        self.end: Any = None
        self.decoder: Any = None
        self.live: Any = None
        self.timeline: Any = None

    def __enter__(self) -> _LiveView:
        from rich.live import Live

        self.live = Live(console=self.console, auto_refresh=False, transient=True, vertical_overflow="crop")
        self.live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.live.__exit__(*exc_info)
        if self.decoder is not None:  # the whole final view stays on screen
            self.console.print(self._render(tail=None))

    def read(self, chunk: bytes, events: list[Any], decoder: Any) -> None:
        from . import Fault, StreamCompleted, TargetCompleted, TargetEvent, ValueCompleted

        self.decoder = decoder
        if chunk:
            self.bytes += len(chunk)
            self.reads += 1
        self.events += len(events)
        for event in events:
            if isinstance(event, TargetEvent) and isinstance(event.event, ValueCompleted):
                self.done_paths.setdefault(event.source.path, set()).add(event.event.path)
            elif isinstance(event, TargetCompleted):
                self.done_paths.setdefault(event.source.path, set()).add(())
            elif isinstance(event, Fault):
                if event.source is None:
                    self.stream_faults.append(event)
                else:
                    self.faults[event.source.path] = event
            elif isinstance(event, StreamCompleted):
                self.end = event
        now = time.perf_counter()
        if now - self.drawn >= _FRAME or self.end is not None:
            self.drawn = now
            self.live.update(self._render(tail=max(self.console.height - 1, 5)), refresh=True)

    # -- rendering -------------------------------------------------------

    def _render(self, tail: int | None) -> Any:
        from rich.text import Text

        body = Text()
        for source, target in self.decoder.targets.items():
            self._target(body, source, target)
        for fault in self.stream_faults:
            body.append(safe_text(f"✗ {type(fault).__name__}: {fault.message}\n"), style="bold red")
        if tail is None:
            return Text("\n").join([body, self._status()])
        # Keep the part being filled in on screen: the last rows that fit above the status.
        rows = list(body.wrap(self.console, self.console.width))
        status = list(self._status().wrap(self.console, self.console.width))
        room = max(tail - len(status), 1)
        return Text("\n").join([*rows[-room:], *status])

    def _target(self, out: Any, source: Any, target: Any) -> None:
        done = self.done_paths.get(source.path, set())
        fault = self.faults.get(source.path)
        label = safe_text(f"{source.path}  {source.kind}" + (f" {source.name}" if source.name else ""))
        state = (
            ("✓ done", "green") if target.done else ("✗ " + type(fault).__name__, "red") if fault else ("…", "yellow")
        )
        out.append(label, style="bold magenta")
        out.append(f"  {state[0]}\n", style=state[1])
        snapshot = target.snapshot
        if not isinstance(snapshot, (dict, list, str, int, float, bool, type(None))):  # typed (--model)
            from ._records import jsonable

            snapshot = jsonable(snapshot)
        if isinstance(snapshot, str):
            snapshot = safe_text(snapshot)
        if target.is_json or (target.done and not isinstance(snapshot, str)):
            if snapshot is not None:
                self._value(out, snapshot, (), done, 1, target.done)
            out.append("\n")
        else:
            out.append("  " + (snapshot or ""), style="dim" if source.kind == "reasoning" else "")
            if not target.done and fault is None:
                out.append("▌", style="yellow")
            out.append("\n")
        if fault is not None:
            out.append(safe_text(f"  ✗ {fault.message}\n"), style="red")
        out.append("\n")

    def _value(self, out: Any, value: Any, path: tuple[Any, ...], done: set[Any], indent: int, all_done: bool) -> None:
        complete = all_done or path in done
        pad = "  " * indent
        if isinstance(value, (dict, list)) and indent > _MAX_TREE_DEPTH:  # deep content: one line, no recursion
            out.append(short_json(value, 200), style="" if complete else "dim")
            return
        if isinstance(value, (dict, list)):
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            opener, closer = ("{", "}") if isinstance(value, dict) else ("[", "]")
            out.append(opener if path else pad + opener)
            for i, (key, child) in enumerate(items):
                out.append("\n" + pad + "  ")
                if isinstance(value, dict):
                    out.append(dumps(key), style="bold cyan")
                    out.append(": ")
                self._value(out, child, (*path, key), done, indent + 1, all_done)
                if i < len(items) - 1:
                    out.append(",")
                self._mark(out, child, (*path, key), done, all_done)
            if not complete:
                out.append("\n" + pad + "  …", style="dim")
            out.append(("\n" + pad if items or not complete else "") + closer, style="" if complete else "dim")
            if not path:
                self._mark(out, value, path, done, all_done)
            return
        if isinstance(value, str) and not complete:
            out.append(dumps(value)[:-1], style="yellow")
            out.append("▌", style="yellow")
            return
        text = dumps(value)
        out.append(text, style="green" if isinstance(value, str) else "blue")

    @staticmethod
    def _mark(out: Any, value: Any, path: tuple[Any, ...], done: set[Any], all_done: bool) -> None:
        if all_done or path in done:
            out.append(" ✓", style="green")

    def _status(self) -> Any:
        from rich.text import Text

        elapsed = time.perf_counter() - self.start
        status = Text()
        if self.end is None:
            status.append("▶ ", style="bold yellow")
        else:
            status.append(
                "✓ " if not self.decoder.faults else "✗ ", style="bold green" if not self.decoder.faults else "bold red"
            )
        status.append(f"{self.name}  {self.bytes:,}/{self.size:,} bytes  {self.reads} reads  ")
        status.append(f"{self.events} events  {elapsed:.1f} s" + ("" if self.timed else " (untimed: fixed pace)"))
        if self.timeline is not None and self.timed:
            # What makes a streaming UI feel fast: the first usable field, and the rate now (own line).
            first = self.timeline.first_field
            status.append("\n  first field " + (f"{first:.2f} s" if first is not None else "-"), style="cyan")
            rate = self.timeline.characters_per_second
            if rate is not None:
                status.append(f"  {rate:,.0f} chars/s", style="cyan")
        if self.end is not None:
            if self.end.finish_reasons:
                status.append("  finish " + ", ".join(f"{k}={v}" for k, v in self.end.finish_reasons.items()))
            counts = {
                k: v for k, v in (self.end.usage or {}).items() if isinstance(v, int) and k.lower().endswith("tokens")
            }
            if counts:  # the token counts, whatever the provider calls them
                status.append("  " + " ".join(f"{k}={v}" for k, v in counts.items()), style="dim")
        return status
