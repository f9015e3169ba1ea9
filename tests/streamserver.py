"""A real HTTP/1.1 server on 127.0.0.1 that streams scripted bodies and records disconnects.

Each path gets a :class:`Script`: status, headers, the body chunks, a pause between
chunks, and how the body ends (``"end"``, ``"reset"`` the connection, or ``"stall"``).
Between chunks the handler watches the socket: an EOF from the client (or a failed
write) is recorded as a disconnect, with how many chunks had been sent by then.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    chunks: list[bytes] = field(default_factory=list)
    status: int = 200
    content_type: str = "text/event-stream"
    delay: float = 0.0  # seconds between chunks
    end: str = "end"  # "end", "reset" (RST mid-body) or "stall" (send nothing more)
    headers: dict[str, str] = field(default_factory=dict)
    delays: list[float] | None = None  # a pause before each chunk (a model's pace), instead of `delay`


@dataclass
class Visit:
    """What the server saw of one request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    sent: int = 0  # chunks written
    completed: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _client_gone(self, timeout: float) -> bool:
        # Wait up to `timeout` for the client to close its end (EOF) or reset it.
        readable, _, _ = select.select([self.connection], [], [], timeout)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        visit = Visit(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
        self.server.visits.append(visit)
        script = self.server.scripts.get(self.path.split("?")[0])
        if script is None:
            script = Script([b'{"error": {"message": "no such route"}}'], status=404, content_type="application/json")
        self.send_response(script.status)
        self.send_header("content-type", script.content_type)
        # Every response ends its connection (below); saying so keeps a client from reusing it for
        # the next request in the moment before it sees the close ("Server disconnected").
        self.send_header("connection", "close")
        for key, value in script.headers.items():
            self.send_header(key, value)
        if script.status >= 400 or script.end == "end" and script.delay == 0 and script.delays is None:
            body = b"".join(script.chunks)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            visit.sent = len(script.chunks)
            visit.completed.set()
            self.close_connection = True
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for i, chunk in enumerate(script.chunks):
                if self._client_gone(script.delays[i] if script.delays is not None else script.delay):
                    visit.disconnected.set()
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                visit.sent += 1
            if script.end == "end":
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                visit.completed.set()
            elif script.end == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                visit.completed.set()
            else:  # stall until the client gives up
                if self._client_gone(30.0):
                    visit.disconnected.set()
        except OSError:  # a write to a closed connection
            visit.disconnected.set()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    scripts: dict[str, Script]
    visits: list[Visit]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up is what the tests provoke; visits record it


class StreamServer:
    """The server: ``serve(path, script)``, then request ``server.url(path)``."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.scripts = {}
        self._server.visits = []
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, script: Script) -> None:
        self._server.scripts[path] = script

    @property
    def visits(self) -> list[Visit]:
        return self._server.visits

    def last_visit(self, timeout: float = 10.0) -> Visit:
        deadline = time.monotonic() + timeout
        while not self._server.visits and time.monotonic() < deadline:
            time.sleep(0.005)
        return self._server.visits[-1]

    def start(self) -> StreamServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def running() -> Iterator[StreamServer]:
    """A pytest fixture body: a started server, stopped afterwards."""
    server = StreamServer().start()
    try:
        yield server
    finally:
        server.stop()


def sse(*payloads: Any, done: bool = True) -> list[bytes]:
    """SSE ``data:`` events, one chunk each, for JSON payloads (and ``[DONE]``)."""
    chunks = [b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads]
    return chunks + ([b"data: [DONE]\n\n"] if done else [])
