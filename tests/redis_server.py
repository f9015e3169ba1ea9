"""A real redis-server (Debian's package) on a free loopback port, started and stopped by the tests.

Never a mock: when ``redis-server`` or the ``redis`` client is missing the tests that
need it skip, naming what is missing (``.ci/run`` installs both, so CI runs them).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .asgi_server import free_port

REDIS_SERVER = shutil.which("redis-server")
MISSING = (
    "redis-server is not installed (apt-get install redis-server; .ci/run installs it)"
    if REDIS_SERVER is None
    else None
)


@contextlib.contextmanager
def redis_server(startup_timeout: float = 30.0) -> Iterator[str]:
    """Start ``redis-server`` on 127.0.0.1 with no persistence; yields its ``redis://`` URL."""
    assert REDIS_SERVER is not None
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir, open(f"{workdir}/redis.log", "wb") as log:
        proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + startup_timeout
        try:
            while True:  # ready when it answers PING
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = Path(workdir, "redis.log").read_text("utf-8", errors="replace")
                    raise RuntimeError(f"redis-server did not start:\n{output}")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait()
