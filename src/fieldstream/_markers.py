"""Per-field streaming markers for typed parsing, used as ``typing.Annotated`` metadata.

    name: Annotated[str, Live]          the text streams: deltas and the text so far in the snapshot
    tags: Annotated[list[str], Whole]   the value appears only once complete (no items one by one)

A marker stores its mode in the pydantic core schema's ``metadata`` under the key
``"fieldstream"``; pydantic ignores it, and the typed layer reads it when it
plans the schema.  This module imports nothing from pydantic, so the markers can
be used in models without making the core depend on it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Live", "Whole", "StreamMode"]


class StreamMode:
    """A streaming marker; use the instances :data:`Live` and :data:`Whole`."""

    __slots__ = ("mode",)

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = dict(handler(source))
        schema["metadata"] = {**schema.get("metadata", {}), "fieldstream": self.mode}
        return schema

    def __repr__(self) -> str:
        return "Live" if self.mode == "live" else "Whole"


#: A string field whose text streams: ``StringDelta`` events and the text so far
#: in the snapshot.  The default for plain ``str`` fields without constraints.
Live = StreamMode("live")
#: A value that appears (in events and the snapshot) only once complete and
#: validated: no item-by-item list, no live text.
Whole = StreamMode("whole")
