"""The packaged browser client: node's test runner over its unit tests, tsc over its declarations, the wheel ships it."""

from __future__ import annotations

import asyncio

import pytest

import fieldstream as fs

from .node_env import JS, NODE, node_modules, run_node


def test_the_client_unit_tests_pass_under_nodes_test_runner() -> None:
    if NODE is None:
        pytest.skip("node is not installed (apt-get install nodejs; .ci/run installs it)")
    result = run_node("--test", "client.test.mjs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout


def test_the_declarations_compile_with_tsc_on_an_example() -> None:
    modules = node_modules()
    result = run_node(str(modules / "typescript" / "bin" / "tsc"), "-p", str(JS / "tsconfig.json"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_client_ships_in_the_package_and_is_served() -> None:
    js = fs.CLIENT_DIR / "fieldstream.js"
    assert js.is_file() and (fs.CLIENT_DIR / "fieldstream.d.ts").is_file()

    async def get(path: str, method: str = "GET") -> tuple[int, dict[bytes, bytes], bytes]:
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request"}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await fs.client_app({"type": "http", "method": method, "path": path}, receive, send)  # type: ignore[arg-type]
        headers = dict(sent[0]["headers"])  # type: ignore[arg-type]
        return sent[0]["status"], headers, sent[1]["body"]  # type: ignore[return-value]

    status, headers, body = asyncio.run(get("/static/fieldstream/fieldstream.js"))
    assert status == 200 and body == js.read_bytes()
    assert headers[b"content-type"].startswith(b"text/javascript")
    assert asyncio.run(get("/fieldstream.d.ts"))[0] == 200
    assert asyncio.run(get("/fieldstream.js", "HEAD"))[2] == b""
    assert asyncio.run(get("/x/../../pyproject.toml"))[0] == 404
    assert asyncio.run(get("/fieldstream.js", "POST"))[0] == 404
