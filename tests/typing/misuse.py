"""Typed API misuse that mypy must reject: each line marked ``# E: <error code>`` must give that error.

Checked by tests/test_typing.py; nothing here runs.
"""

from __future__ import annotations

from pydantic import BaseModel

import fieldstream as fs


class Step(BaseModel):
    title: str


def misuse() -> None:
    fs.Parser(Step, on_invalid="ignore")  # E: call-overload
    fs.Parser(Step, bogus=True)  # E: call-overload
    fs.Parser(prose="yes")  # E: call-overload
    fs.stream(None, Step, lenient="yes")  # E: call-overload
    result: str = fs.Parser(Step).result  # E: assignment
    fs.Parser(Step).feed(42)  # E: arg-type
    print(result)
