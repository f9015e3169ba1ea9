"""A real reverse proxy on 127.0.0.1 that either relays a streamed body as it comes or buffers it whole.

``buffer=True`` behaves like nginx with ``proxy_buffering on`` in front of an SSE
endpoint: it reads the upstream body to the end, then sends it in one write with a
``content-length``.  ``buffer=False`` relays every upstream read at once (chunked).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def _proxy(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        self.send_response(response.status)
        self.send_header("content-type", response.getheader("content-type") or "application/octet-stream")
        try:
            if self.server.buffer:
                data = response.read()
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                while chunk := response.read1(65536):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            upstream.close()
        self.close_connection = True


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream_host: str
    upstream_port: int
    buffer: bool


def running_proxy(upstream: str, *, buffer: bool) -> Iterator[str]:
    """A pytest fixture body: the proxy's base URL while it runs."""
    parts = urlsplit(upstream)
    server = _ProxyServer(("127.0.0.1", 0), _Handler)
    server.upstream_host = parts.hostname or "127.0.0.1"
    server.upstream_port = parts.port or 80
    server.buffer = buffer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
