"""Pydantic schemas of the generated kinds, for the typed peers.

Each kind has a ``BaseModel`` (for ``fieldstream.Parser(Model)``, jiter +
``model_validate`` and the final parse of the OpenAI SDK) and a ``TypedDict``
twin for pydantic's partial validation, which supports ``TypedDict`` but not
``BaseModel`` fields that are still missing.  Both accept exactly the generated
documents and dump back to the same plain value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field
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


class Arguments(BaseModel):
    city: str
    days: int


class Search(BaseModel):
    type: Literal["search"]
    query: str
    k: int


class Call(BaseModel):
    type: Literal["call"]
    tool: str
    arguments: Arguments


class Answer(BaseModel):
    type: Literal["answer"]
    text: str
    sources: list[str]


class Actions(BaseModel):
    steps: list[Annotated[Union[Search, Call, Answer], Field(discriminator="type")]]


class PlainSearch(BaseModel):
    type: str
    query: str
    k: int


class PlainCall(BaseModel):
    type: str
    tool: str
    arguments: Arguments


class PlainAnswer(BaseModel):
    type: str
    text: str
    sources: list[str]


class PlainActions(BaseModel):
    """The same steps as a plain union of models without a ``Literal`` tag (they ignore extra keys)."""

    steps: list[Union[PlainSearch, PlainCall, PlainAnswer]]


class FlatAction(BaseModel):
    """The same steps without a union: one model whose fields are all optional."""

    type: str
    query: Optional[str] = None
    k: Optional[int] = None
    tool: Optional[str] = None
    arguments: Optional[Arguments] = None
    text: Optional[str] = None
    sources: Optional[list[str]] = None


class FlatActions(BaseModel):
    steps: list[FlatAction]


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


class ArgumentsTD(TypedDict):
    city: str
    days: int


class SearchTD(TypedDict):
    type: Literal["search"]
    query: str
    k: int


class CallTD(TypedDict):
    type: Literal["call"]
    tool: str
    arguments: ArgumentsTD


class AnswerTD(TypedDict):
    type: Literal["answer"]
    text: str
    sources: list[str]


class ActionsTD(TypedDict):
    steps: list[Annotated[Union[SearchTD, CallTD, AnswerTD], Field(discriminator="type")]]


class PlainSearchTD(TypedDict):
    type: str
    query: str
    k: int


class PlainCallTD(TypedDict):
    type: str
    tool: str
    arguments: ArgumentsTD


class PlainAnswerTD(TypedDict):
    type: str
    text: str
    sources: list[str]


class PlainActionsTD(TypedDict):
    steps: list[Union[PlainSearchTD, PlainCallTD, PlainAnswerTD]]


class FlatActionTD(TypedDict, total=False):
    type: str
    query: str
    k: int
    tool: str
    arguments: ArgumentsTD
    text: str
    sources: list[str]


class FlatActionsTD(TypedDict):
    steps: list[FlatActionTD]


MODELS: dict[str, type[BaseModel]] = {
    "records": Records,
    "nested": Nested,
    "strings": Messages,
    "numbers": Rows,
    "actions": Actions,
    "actionsflat": FlatActions,
    "actionsplain": PlainActions,
}
TYPED_DICTS: dict[str, Any] = {
    "records": RecordsTD,
    "nested": NestedTD,
    "strings": MessagesTD,
    "numbers": RowsTD,
    "actions": ActionsTD,
    "actionsflat": FlatActionsTD,
    "actionsplain": PlainActionsTD,
}


def model_for(kind: str | None, *, typed_dict: bool = False) -> Any:
    """The schema of a generated kind; ``Any`` for the corpus payloads, which come
    from many different requests (schema-aware peers then validate plain JSON)."""
    if kind is None:
        return Any
    return (TYPED_DICTS if typed_dict else MODELS)[kind]
