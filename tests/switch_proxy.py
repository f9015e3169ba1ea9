"""A port-switching TCP front on loopback: what a load balancer does to a reconnect, on demand.

Browsers connect to one port; :meth:`SwitchingProxy.switch` points new connections
at another backend and cuts every open one (a dropped connection mid-stream), so the
client's reconnect lands on the other server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from .asgi_server import free_port


class SwitchingProxy:
    def __init__(self, backend: int) -> None:
        self.backend = backend
        self.port = free_port()
        self.connections: list[int] = []  # the backend of each accepted connection, in order
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend = self.backend
        self.connections.append(backend)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            for w in (writer, up_writer):
                w.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def switch(self, backend: int) -> None:
        """New connections go to ``backend``; every open connection is cut now."""

        async def cut() -> None:
            self.backend = backend
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(cut(), self._loop).result(30)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        self._thread.start()
        self._ready.wait(30)
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            self.switch(self.backend)
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()
