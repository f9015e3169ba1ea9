"""``fieldstream record URL``: save a streamed response body and its timing sidecar.

The body is written exactly as it arrives (raw bytes, every read flushed), and the
sidecar ``NAME.timing.jsonl`` gets one ``{"t": seconds since the request started,
"n": bytes}`` line per network read, so ``fieldstream replay NAME`` plays it back
at the pace it came.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ._cli_common import CommandError, help_text, positive_float, usage_error
from ._errors import FieldstreamError, StreamError, TransportError
from ._recording import sidecar_for

__all__ = ["register"]

_EXTENSIONS = {
    "text/event-stream": ".sse",
    "application/x-ndjson": ".ndjson",
    "application/json": ".json",
    "application/vnd.amazon.eventstream": ".eventstream",  # Bedrock ConverseStream: binary
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "record", help="POST a request and save the streamed body with its timing", description=help_text(__doc__)
    )
    p.add_argument("url", help="the streaming endpoint, e.g. https://api.openai.com/v1/chat/completions")
    p.add_argument("--data", "-d", metavar="JSON|@FILE", help="request body (JSON text, or @file to read it)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'K: V'", help="request header (repeatable)")
    p.add_argument("-X", "--method", default="POST", help="HTTP method (default POST)")
    p.add_argument(
        "-o",
        "--output",
        metavar="NAME",
        help="body file (default: recording.sse / .ndjson / .eventstream, by content type)",
    )
    p.add_argument(
        "--timeout", type=positive_float, default=600.0, metavar="S", help="read timeout in seconds (default 600)"
    )
    p.add_argument("--timeline", metavar="IMAGE", help="also draw the stream's timeline (.png, .svg, .pdf)")
    p.set_defaults(handler=_cmd_record)


def _headers(lines: list[str]) -> dict[str, str]:
    headers = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise usage_error(f"-H takes 'Key: value', got {line!r}")
        headers[key.strip()] = value.strip()
    return headers


def _body(data: str | None) -> bytes | None:
    """The request body: --data's bytes (as given on the command line, or read from @FILE), checked to be JSON."""
    if data is None:
        return None
    if data.startswith("@"):
        try:
            body = Path(data[1:]).read_bytes()
        except OSError as exc:
            raise usage_error(f"cannot read --data file {data[1:]!r}: {exc.strerror or exc}") from None
    else:
        body = os.fsencode(data)  # the argument's own bytes, even when they are not UTF-8
    from ._parser import Parser

    parser = Parser()  # fieldstream's parser: any depth it accepts, bytes checked as UTF-8, no recursion
    try:
        parser.feed(body)
        parser.close()
    except FieldstreamError as exc:
        raise usage_error(f"--data is not JSON: {exc}") from None
    return body


def _output(name: str | None) -> Path | None:
    """Check -o before the request is sent (it may cost money): a file we can create, in a folder that exists."""
    if name is None:
        folder = Path.cwd()
    else:
        path = Path(name)
        if path.is_dir():
            raise usage_error(f"-o {name!r} is a folder; give a file name")
        folder = path.parent
    if not folder.is_dir():
        raise usage_error(f"cannot write {name!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise usage_error(f"cannot write into the folder {str(folder)!r}: permission denied")
    return None if name is None else Path(name)


def _cmd_record(args: argparse.Namespace, out: TextIO) -> int:
    try:
        import httpx
    except ImportError:
        raise SystemExit("fieldstream record needs httpx: pip install 'fieldstream[cli]'") from None
    from ._cli_replay import check_image
    from ._httpx import MAX_ERROR_BODY, _not_a_stream, _status_error
    from ._stream import StreamDecoder
    from ._timeline import Timeline

    check_image("--timeline", args.timeline)
    headers = _headers(args.header)
    body = _body(args.data)
    chosen = _output(args.output)
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    progress = _Progress()
    # Decoded alongside, only for the timeline's fields; the body is saved as it came.
    decoder = StreamDecoder()
    timeline = Timeline()
    try:
        with httpx.Client(timeout=httpx.Timeout(args.timeout, connect=10.0)) as client:
            start = time.perf_counter()  # the request starts now (not with the client's setup)
            timeline.start(start)
            with client.stream(args.method, args.url, content=body, headers=headers) as response:
                if response.status_code >= 400:
                    raise _status_error(response, response.read()[:MAX_ERROR_BODY])
                error = _not_a_stream(response)
                if error is not None:
                    raise error
                timeline.note_headers(response.headers)
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                path = chosen or Path("recording" + _EXTENSIONS.get(ctype, ".txt"))
                with path.open("wb") as data, sidecar_for(path).open("w", encoding="utf-8") as timing, progress:
                    for chunk in response.iter_bytes():
                        t = time.perf_counter() - start
                        data.write(chunk)
                        data.flush()
                        timing.write(json.dumps({"t": round(t, 4), "n": len(chunk)}) + "\n")
                        timing.flush()
                        progress.update(len(chunk), t)
                        timeline.read(len(chunk), t)
                        timeline.observe(decoder.feed(chunk), t)
    except httpx.HTTPError as exc:
        error = TransportError(f"{type(exc).__name__} while recording {args.url}: {exc}")
        return _fail(error)
    except StreamError as exc:
        return _fail(exc)
    except OSError as exc:  # the disk filled, the folder went away
        raise CommandError(f"cannot write the recording: {exc.strerror or exc}") from None
    timeline.observe(decoder.close(), progress.elapsed)
    summary = f"saved {progress.bytes} bytes in {progress.reads} reads over {progress.elapsed:.2f} s"
    print(f"{summary} to {path} (timing: {sidecar_for(path)})", file=sys.stderr)
    print(f"fieldstream record: {timeline.summary()}", file=sys.stderr)
    if args.timeline:
        timeline.plot(args.timeline, title=path.name)
        print(f"fieldstream record: timeline drawn to {args.timeline}", file=sys.stderr)
    return 0


def _fail(error: FieldstreamError) -> int:
    print(f"fieldstream record: {error}", file=sys.stderr)
    return 1


class _Progress:
    """A live line on stderr (rich, when stderr is a terminal): bytes, reads, elapsed."""

    def __init__(self) -> None:
        self.bytes = self.reads = 0
        self.elapsed = 0.0
        self._live: Any = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.live import Live
            except ImportError:
                return self  # no live line; the summary still prints
            self._live = Live(self._line(), console=Console(stderr=True), refresh_per_second=12, transient=True)
            self._live.__enter__()
        return self

    def _line(self) -> Any:
        from rich.text import Text

        return Text.assemble(("recording ", "bold"), f"{self.bytes:,} bytes  {self.reads} reads  {self.elapsed:.1f} s")

    def update(self, n: int, t: float) -> None:
        self.bytes += n
        self.reads += 1
        self.elapsed = t
        if self._live is not None:
            self._live.update(self._line())

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc_info)
