"""Pydantic schemas of the generated kinds, for the typed peers.

Each kind has a ``BaseModel`` (for ``fieldstream.Parser(Model)``, jiter +
``model_validate`` and the final parse of the OpenAI SDK) and a ``TypedDict``
twin for pydantic's partial validation, which supports ``TypedDict`` but not
``BaseModel`` fields that are still missing.  Both accept exactly the generated
documents and dump back to the same plain value.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel
from typing_extensions import TypedDict


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


class Node(BaseModel):
    level: int
    label: str
    child: Optional[Node]


class Nested(BaseModel):
    trees: list[Node]


class Message(BaseModel):
    role: str
    text: str


class Messages(BaseModel):
    messages: list[Message]


class Row(BaseModel):
    t: int
    values: list[Union[int, float]]


class Rows(BaseModel):
    rows: list[Row]


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


class NodeTD(TypedDict):
    level: int
    label: str
    child: Optional[NodeTD]


class NestedTD(TypedDict):
    trees: list[NodeTD]


class MessageTD(TypedDict):
    role: str
    text: str


class MessagesTD(TypedDict):
    messages: list[MessageTD]


class RowTD(TypedDict):
    t: int
    values: list[Union[int, float]]


class RowsTD(TypedDict):
    rows: list[RowTD]


MODELS: dict[str, type[BaseModel]] = {"records": Records, "nested": Nested, "strings": Messages, "numbers": Rows}
TYPED_DICTS: dict[str, Any] = {"records": RecordsTD, "nested": NestedTD, "strings": MessagesTD, "numbers": RowsTD}


def model_for(kind: str | None, *, typed_dict: bool = False) -> Any:
    """The schema of a generated kind; ``Any`` for the corpus payloads, which come
    from many different requests (schema-aware peers then validate plain JSON)."""
    if kind is None:
        return Any
    return (TYPED_DICTS if typed_dict else MODELS)[kind]
