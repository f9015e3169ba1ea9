"""JSON paths: a tuple of keys and indices, and its ``$.a[0].b`` text form.

The text form is fixed (other tools parse the CLI's JSONL): the root is ``$``,
keys that are identifiers print as ``.key``, any other key as ``["<json string>"]``
and indices as ``[i]``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Union

__all__ = ["Path", "format_path"]

Path = tuple[Union[str, int], ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@lru_cache(maxsize=4096)
def _key(key: str) -> str:
    if _IDENTIFIER.match(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def format_path(path: Path) -> str:
    """Return the text form of ``path``: ``("a", 0, "b c")`` becomes ``$.a[0]["b c"]``."""
    parts = ["$"]
    for step in path:
        if type(step) is int:
            parts.append(f"[{step}]")
        else:
            parts.append(_key(step))
    return "".join(parts)
