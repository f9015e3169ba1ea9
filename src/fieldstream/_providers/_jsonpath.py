"""JSON text from values addressed by JSON path (Gemini 3 ``partialArgs``).

Gemini streams function-call arguments as fragments ``{jsonPath, stringValue |
numberValue | boolValue | nullValue, willContinue}`` in document order.  Rather
than patch a value (and re-serialise it for every fragment), :class:`PathWriter`
writes the JSON text those fragments spell, once, so the target's parser streams
it like any other arguments.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring  # json.dumps of a str with ensure_ascii=False, without its wrapper
from typing import Any

__all__ = ["PathWriter", "parse_json_path"]

_PATH_MEMO = 256  # most distinct paths a writer remembers parsed
_STEP = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]""")


def parse_json_path(text: str) -> tuple[str | int, ...]:
    """``$.a.b[0]['c d']`` -> ``("a", "b", 0, "c d")``."""
    steps: list[str | int] = []
    pos = 1 if text.startswith("$") else 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported jsonPath {text!r}")
        key, index, single, double = match.groups()
        steps.append(int(index) if index is not None else (key or single or double or ""))
        pos = match.end()
    return tuple(steps)


class PathWriter:
    """Writes JSON text for values given by path, in document order (Gemini ``partialArgs``).

    The root is an object.  Containers open as paths descend into them and close
    when a later path leaves them; a string stays open while fragments for the
    same path keep coming, so split strings join.
    """

    def __init__(self) -> None:
        self._open: list[str | int] = []  # path of the innermost open container
        self._closers: list[str] = []  # closing bracket of each open container, root first
        self._counts: list[int] = []  # members written in each open container
        self._string: tuple[str | int, ...] | None = None  # path of the open string
        self._paths: dict[str, tuple[str | int, ...]] = {}  # jsonPath text -> parsed (a string's fragments repeat it)

    def write(self, fragment: dict[str, Any]) -> str:
        text = str(fragment.get("jsonPath", "$"))
        path = self._paths.get(text)
        if path is None:
            path = parse_json_path(text)
            if len(self._paths) < _PATH_MEMO:
                self._paths[text] = path
        out: list[str] = []
        if not self._closers:
            out.append("{")
            self._closers.append("}")
            self._counts.append(0)
        if "stringValue" in fragment and self._string == path:
            out.append(encode_basestring(str(fragment["stringValue"]))[1:-1])
            return "".join(out)
        if self._string is not None:
            out.append('"')
            self._string = None
        if not path:
            return "".join(out)
        parent = path[:-1]
        common = 0
        while common < len(self._open) and common < len(parent) and self._open[common] == parent[common]:
            common += 1
        while len(self._open) > common:
            self._open.pop()
            self._counts.pop()
            out.append(self._closers.pop())
        for depth in range(common, len(path)):
            self._member(path[depth], out)
            if depth < len(path) - 1:  # open the container that holds the next step
                opener = "[" if type(path[depth + 1]) is int else "{"
                out.append(opener)
                self._open.append(path[depth])
                self._closers.append("]" if opener == "[" else "}")
                self._counts.append(0)
        if "stringValue" in fragment:
            out.append(encode_basestring(str(fragment["stringValue"]))[:-1])
            self._string = path
        else:
            value = next(
                (fragment[k] for k in ("numberValue", "boolValue", "structValue", "listValue") if k in fragment), None
            )
            out.append(json.dumps(value, ensure_ascii=False))
        return "".join(out)

    def _member(self, step: str | int, out: list[str]) -> None:
        if self._counts[-1]:
            out.append(",")
        self._counts[-1] += 1
        if not isinstance(step, int):
            out.append(encode_basestring(step) + ":")

    def close(self) -> str:
        """The text that closes everything still open (``{}`` if nothing was written)."""
        out = '"' if self._string is not None else ""
        self._string = None
        if not self._closers:
            return "{}"
        out += "".join(reversed(self._closers))
        self._closers, self._counts, self._open = [], [], []
        return out
