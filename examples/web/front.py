"""A port-switching front for two (or more) server processes: a reconnect lands on the other one.

Run two processes of the example sharing one Redis, and this front before them::

    FIELDSTREAM_REDIS=redis://127.0.0.1:6379/0 python examples/web/app.py --port 8001 &
    FIELDSTREAM_REDIS=redis://127.0.0.1:6379/0 python examples/web/app.py --port 8002 &
    python examples/web/front.py --port 8000 --backends 8001,8002   # open http://127.0.0.1:8000

Press Enter to switch: new connections go to the next backend and every open one is
cut, as a load balancer or a network change would.  The page reconnects with
``Last-Event-ID`` and the other process serves the rest of the answer from Redis,
while the first one goes on generating it.  ``/stats`` (through the front) tells
which process answered.  Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator


class SwitchingFront:
    """A TCP front on 127.0.0.1 that sends new connections to ``backend`` and can cut the open ones."""

    def __init__(self, backend: int, port: int = 0) -> None:
        self.backend = backend
        self.port = port
        self.connections: list[int] = []  # the backend of each accepted connection, in order
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]
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
        pair = {writer, up_writer}
        self._writers |= pair

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            for w in pair:
                w.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= pair

    def switch(self, backend: int) -> None:
        """New connections go to ``backend``; every open connection is cut now (returns once it is)."""

        async def cut() -> None:
            self.backend = backend
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(cut(), self._loop).result(30)

    async def _shutdown(self) -> None:
        # Connections still being piped are cancelled and awaited here, so none is left pending
        # when the loop closes ("Task was destroyed but it is pending").
        self._server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve in a background thread; yields the front's URL."""
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the front did not start")
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            self.switch(self.backend)
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--backends", default="8001,8002", help="backend ports, comma-separated")
    args = ap.parse_args(argv)
    backends = [int(p) for p in args.backends.split(",")]
    front = SwitchingFront(backends[0], args.port)
    with front.running() as url:
        print(f"front on {url} -> 127.0.0.1:{backends[0]}; Enter switches backend, Ctrl-D quits", file=sys.stderr)
        for turn, _ in enumerate(sys.stdin, start=1):
            front.switch(backends[turn % len(backends)])
            print(f"now -> 127.0.0.1:{front.backend} (open connections cut)", file=sys.stderr)


if __name__ == "__main__":
    main()
