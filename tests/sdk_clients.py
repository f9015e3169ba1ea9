"""What tests of SDK clients share: closing the clients a test made, and running a coroutine to rest.

Import ``made``, ``run`` and the autouse fixture ``_close_clients`` into a test module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

#: SDK clients made by a test, closed after it: their pooled connections must not outlive it.
_CLIENTS: list[Any] = []


def made(client: T) -> T:
    _CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        client = _CLIENTS.pop()
        close = getattr(client, "close", None) or getattr(getattr(client, "_client", None), "close", None)
        if close is not None and not asyncio.iscoroutinefunction(close):
            close()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with a last turn of the loop: older httpx closes transports there."""

    async def settled() -> T:
        result = await main
        await asyncio.sleep(0.05)
        return result

    return asyncio.run(settled())
