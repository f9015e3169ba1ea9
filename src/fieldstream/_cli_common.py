"""What every ``fieldstream`` subcommand shares: exit statuses, reading input, loading a model.

Exit statuses: 0 success; 1 bad input or a fault in the stream or document
(a parse error, a truncation, a refusal, a provider error, with ``--model`` a
validation failure); 2 a usage mistake (a bad option value, a file named on the
command line that cannot be opened).  A subcommand raises :class:`CommandError`
for both; ``main()`` prints its one line and returns its status, so no traceback
reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import typing
from collections.abc import Iterator
from typing import IO, Any

__all__ = [
    "READ_SIZE",
    "CommandError",
    "help_text",
    "load_model",
    "open_input",
    "positive_float",
    "positive_int",
    "read_pieces",
    "usage_error",
]

#: The most bytes one read of a file or stdin asks for; a read returns what has arrived.
READ_SIZE = 64 * 1024


class CommandError(Exception):
    """A one-line message for stderr and the exit status (1: bad input or a fault; 2: a usage mistake)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def usage_error(message: str) -> CommandError:
    return CommandError(message, 2)


def help_text(doc: str | None) -> str:
    """A module docstring as ``--help`` text: no reStructuredText double backticks."""
    return (doc or "").replace("``", "")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def open_input(name: str) -> IO[bytes]:
    """The file ``name`` (``-``: stdin) opened for reading bytes; a usage error when it cannot be."""
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # the caller closes it
    except OSError as exc:
        raise usage_error(f"cannot open {name!r}: {exc.strerror or exc}") from None


def read_pieces(source: IO[bytes]) -> Iterator[bytes]:
    """The bytes of ``source`` as they arrive: each read returns what one read call brings (stdin: now)."""
    read = getattr(source, "read1", source.read)
    while True:
        try:
            piece = read(READ_SIZE)
        except OSError as exc:
            raise CommandError(f"cannot read the input: {exc.strerror or exc}") from None
        if not piece:
            return
        yield piece


def load_model(spec: str) -> Any:
    """The pydantic model (or type) that ``--model module:Class`` names, imported from the working directory."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise usage_error(f"--model takes module:Class, got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        obj: Any = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of the user's module is a usage error
        raise usage_error(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise usage_error(f"{module_name!r} has no attribute {attr!r}") from None
    if not (isinstance(obj, type) or typing.get_origin(obj) is not None):
        kind = type(obj).__name__
        raise usage_error(f"--model takes a pydantic model or type, but {spec} is a {kind}, not a pydantic model")
    return obj
