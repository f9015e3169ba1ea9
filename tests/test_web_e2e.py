"""The web example end to end: the app under uvicorn on loopback, the page in headless Chromium.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and Playwright's Python package;
Playwright's own browser downloads are never used.  Every wait is for a condition,
with generous timeouts, so a slow machine only makes it slower.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fieldstream

from .asgi_server import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "web" / "app.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def load_app() -> Any:
    spec = importlib.util.spec_from_file_location("fieldstream_web_example", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> Any:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    return load_app()


@contextlib.contextmanager
def run_example(**env_vars: str) -> Iterator[str]:
    """``python examples/web/app.py --port N``, exactly as the README runs it."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")} | env_vars
    proc = subprocess.Popen(
        [sys.executable, str(APP), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(url + "/stats", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the example did not start:\n{proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def server(example: Any) -> Iterator[str]:
    """The example in replay mode."""
    with run_example() as url:
        yield url


def stats(server: str) -> dict[str, int]:
    import httpx

    return httpx.get(server + "/stats", timeout=30).json()  # type: ignore[no-any-return]


def release(server: str) -> None:
    """Let the upstream paused by ``?hold_after=N`` go on."""
    import httpx

    httpx.post(server + "/release", timeout=30).raise_for_status()


def wait_for_stats(server: str, check: Any, timeout: float = 60.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        now = stats(server)
        if check(now) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 900, "height": 560})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert errors == [], errors  # no JavaScript errors on the page


def rendered(page: Any) -> dict[str, str]:
    """Completed fields as the page shows them: data-path -> text."""
    return page.eval_on_selector_all(
        "#tree .node.complete", "nodes => Object.fromEntries(nodes.map(n => [n.dataset.path, n.innerText]))"
    )


def two_thirds(example: Any) -> int:
    """Two thirds of the recording's events: the forecast is under way."""
    body, _ = example.recording()
    decoder = example.make_decoder()
    return len(decoder.feed(body) + decoder.close()) * 2 // 3


def test_fields_render_live_and_stop_closes_the_upstream(server: str, page: Any, example: Any) -> None:
    before = stats(server)
    # the upstream goes quiet halfway (a slow model): what is on screen came before the end
    page.goto(f"{server}/?autostart&speed=4&stall_after={two_thirds(example)}")
    expected = two_thirds(example)  # events before the stall: all drawn
    page.wait_for_function(f"document.getElementById('tree').dataset.frames === '{expected}'")
    assert page.get_attribute("#status", "data-state") == "streaming"
    fields = rendered(page)
    assert "San Francisco" in fields["$.location"]
    assert page.is_enabled("#stop")
    assert "Replaying" in page.inner_text("#mode")
    assert wait_for_stats(server, lambda s: s["open"] > before["open"])["open"] == before["open"] + 1
    shot = os.environ.get("FIELDSTREAM_WEB_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)

    page.click("#stop")
    after = wait_for_stats(server, lambda s: s["closed_early"] > before["closed_early"] and s["open"] == before["open"])
    assert after["closed_early"] == before["closed_early"] + 1  # the upstream call was closed
    assert after["open"] == before["open"]
    assert after["completed"] == before["completed"]
    assert page.get_attribute("#status", "data-state") == "stopped"
    assert rendered(page) == fields  # stopping keeps what was shown


def test_a_whole_stream_renders_progressively_and_ends(server: str, page: Any, example: Any) -> None:
    before = stats(server)
    page.goto(f"{server}/?autostart&speed=2")  # the recording takes 7.4 s at speed 1
    # fields are on screen while the stream is still running...
    page.wait_for_function(
        "document.querySelectorAll('#tree .node.complete').length > 0"
        " && document.getElementById('status').dataset.state === 'streaming'"
    )
    # ...and the end arrives later, with everything rendered
    page.wait_for_selector("#status[data-state=done]")
    assert int(page.get_attribute("body", "data-fields-before-end")) > 0
    body, _ = example.recording()
    decoder = example.make_decoder()
    events = decoder.feed(body) + decoder.close()
    final = [e for e in events if isinstance(e, fieldstream.TargetCompleted)][-1].value
    fields = rendered(page)
    assert len(page.query_selector_all("#tree .node")) == len(fields)  # no pending or typing node is left
    assert "Wednesday" in fields["$.forecast[2]"]
    assert fields["$.weather.humidity"] == "humidity: " + final.weather.humidity  # a validated Report
    assert page.query_selector("#tree .invalid") is None
    assert page.is_hidden("#error")
    after = wait_for_stats(server, lambda s: s["completed"] > before["completed"])
    assert after["completed"] == before["completed"] + 1
    assert after["closed_early"] == before["closed_early"]


def test_a_mid_stream_error_is_shown_and_what_was_rendered_stays(server: str, page: Any, example: Any) -> None:
    page.goto(f"{server}/?autostart&speed=4&fail_after={two_thirds(example)}")
    page.wait_for_selector("#error:not([hidden])")
    assert "injected failure" in page.inner_text("#error")
    assert page.get_attribute("#status", "data-state") == "error"
    fields = rendered(page)
    assert "San Francisco" in fields["$.location"]
    assert len(fields) >= 3
    assert page.is_disabled("#stop")


def chat_stream(document: dict[str, Any], piece: int = 4) -> bytes:
    """An OpenAI chat-completions SSE body that types ``document`` a few characters at a time."""
    text = json.dumps(document)
    frames = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    frames += [
        {"choices": [{"index": 0, "delta": {"content": text[i : i + piece]}}]} for i in range(0, len(text), piece)
    ]
    frames += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    return body.encode()


REPORT = {
    "location": "Lisbon",
    "weather": {
        "temperature": "21°C",
        "condition": "Sunny",
        "humidity": 64,  # a number where the schema wants a string: invalid
        "windSpeed": "10 km/h",
        "windDirection": "N",
    },
    "forecast": [
        {"day": "Monday", "high": "23°C", "low": "15°C", "condition": "Sunny"},
        {"day": "Tuesday", "high": "22°C", "low": "16°C", "condition": "Windy"},
    ],
}


def fake_openai(body: bytes, stall_at: int, seen: dict[str, Any]) -> Any:
    """An OpenAI-compatible endpoint on loopback: streams ``body[:stall_at]``, then goes quiet.

    ``seen`` gets the request and counts streams that ended because the client closed them.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def completions(request: Request) -> StreamingResponse:
        seen["request"] = await request.json()
        seen["authorization"] = request.headers.get("authorization")

        async def chunks() -> Any:
            import asyncio

            try:
                for i in range(0, stall_at, 300):
                    yield body[i : min(i + 300, stall_at)]
                    await asyncio.sleep(0.01)
                seen["stalled"] = True
                await asyncio.Event().wait()  # a model thinking, until the client leaves
            finally:
                seen["closed"] = seen.get("closed", 0) + 1

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def test_live_mode_validates_fields_and_stop_closes_the_http_response(example: Any, browser: Any) -> None:
    body = chat_stream(REPORT)
    stall_at = body.index(b"Tue")  # the second forecast day is on its way
    seen: dict[str, Any] = {}
    with (
        serve(fake_openai(body, stall_at, seen)) as upstream_url,
        run_example(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=upstream_url + "/v1") as url,
    ):
        page = browser.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{url}/?autostart")
            page.wait_for_selector('#tree .node.complete[data-path="$.forecast[0]"]')
            assert page.get_attribute("#status", "data-state") == "streaming"
            fields = rendered(page)
            assert "Monday" in fields["$.forecast[0]"]
            # the number that fails the schema is shown, marked invalid with pydantic's message
            humidity = page.locator('#tree [data-path="$.weather.humidity"]')
            assert humidity.inner_text() == "humidity: 64"
            assert "invalid" in humidity.get_attribute("class")
            assert "valid string" in humidity.get_attribute("title")
            assert "invalid" not in page.get_attribute('#tree [data-path="$.location"]', "class")
            assert "live" in page.inner_text("#mode")
            page.click("#stop")
            after = wait_for_stats(url, lambda s: s["closed_early"] == 1)
            assert after == {"started": 1, "open": 0, "completed": 0, "closed_early": 1, "resumed": 0}
            deadline = time.monotonic() + 60
            while seen.get("closed") != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert seen.get("closed") == 1  # the provider saw its response closed
            assert seen["stalled"] is True
        finally:
            page.close()
    assert seen["authorization"] == "Bearer sk-test"
    assert seen["request"]["stream"] is True
    assert seen["request"]["response_format"]["json_schema"]["schema"]["title"] == "Report"


# ---------------------------------------------------------------- resumable streams in the browser


def final_value(example: Any) -> tuple[Any, int, int]:
    """The uninterrupted answer (JSON mode), the number of frames, and of completed values."""
    body, _ = example.recording()
    decoder = example.make_decoder()
    events = decoder.feed(body) + decoder.close()
    final = [e for e in events if isinstance(e, fieldstream.TargetCompleted)][-1].value
    completions = sum(
        1 for e in events if isinstance(e, fieldstream.TargetEvent) and isinstance(e.event, fieldstream.ValueCompleted)
    )
    return final.model_dump(mode="json"), len(events), completions


def client_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const s = window.fieldstreamClient;
          const values = [...s.targets.values()].map((t) => t.value).filter((v) => v && typeof v === "object");
          return {value: values[0], ids: s.frameIds, reconnects: s.reconnects, state: s.state, stream: s.streamId};
        }"""
    )


def assert_once_in_order(ids: list[str]) -> None:
    seqs = [int(i.rsplit(":", 1)[1]) for i in ids]
    assert len({i.rsplit(":", 1)[0] for i in ids}) == 1
    assert seqs == sorted(set(seqs)), "a frame arrived twice or out of order"


def test_a_reload_mid_answer_continues_the_same_stream(server: str, page: Any, example: Any) -> None:
    expected, _, _ = final_value(example)
    before = stats(server)
    page.goto(f"{server}/?autostart&speed=4&hold_after=20")  # the upstream pauses after 20 events
    page.wait_for_function("document.getElementById('tree').dataset.frames === '20'")
    page.reload()  # mid-answer: the page joins the same stream again
    page.wait_for_function("document.getElementById('tree').dataset.frames === '20'")
    release(server)
    page.wait_for_selector("#status[data-state=done]")
    state = client_state(page)
    assert state["value"] == expected
    assert state["ids"][0].endswith(":1")  # the rejoined page got every frame from the first
    assert_once_in_order(state["ids"])
    after = wait_for_stats(server, lambda s: s["completed"] > before["completed"])
    assert after["started"] == before["started"] + 1  # the reload did not ask the model again
    assert after["resumed"] == before["resumed"] + 1
    assert after["completed"] == before["completed"] + 1


def test_a_throttled_reader_gets_coalesced_frames_and_every_completion(server: str, page: Any, example: Any) -> None:
    expected, frames, completions = final_value(example)
    page.goto(f"{server}/?autostart&speed=4&throttle=0.4")
    page.wait_for_selector("#status[data-state=done]")
    state = client_state(page)
    assert state["value"] == expected
    assert len(state["ids"]) < frames  # deltas were coalesced...
    assert int(page.get_attribute("#tree", "data-completions")) == completions  # ...completions never
    assert_once_in_order(state["ids"])


@pytest.fixture(scope="module")
def two_instances(example: Any) -> Iterator[tuple[str, str]]:
    """Two processes of the example sharing one real redis-server."""
    from .redis_server import MISSING, redis_server

    if MISSING:
        pytest.skip(MISSING)
    pytest.importorskip("redis", reason="the redis client package is not installed (pip install 'fieldstream[redis]')")
    with (
        redis_server() as redis_url,
        run_example(FIELDSTREAM_REDIS=redis_url) as a,
        run_example(FIELDSTREAM_REDIS=redis_url) as b,
    ):
        yield a, b


def load_front() -> Any:
    """examples/web/front.py: the port-switching front the example's README runs."""
    spec = importlib.util.spec_from_file_location("fieldstream_web_front", APP.with_name("front.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_a_cut_connection_resumes_on_a_second_server_process(
    two_instances: tuple[str, str], page: Any, example: Any
) -> None:
    a, b = two_instances
    expected, _, _ = final_value(example)
    before_a, before_b = stats(a), stats(b)
    proxy = load_front().SwitchingFront(port(a))
    with proxy.running() as front:
        page.goto(f"{front}/?autostart&speed=4&hold_after=20")  # the upstream pauses after 20 events
        page.wait_for_function("document.getElementById('tree').dataset.frames === '20'")
        proxy.switch(port(b))  # the connection drops; the reconnect lands on the other process
        page.wait_for_function("window.fieldstreamClient.reconnects >= 1")
        release(a)  # the first process generates the rest; the second serves it from Redis
        page.wait_for_selector("#status[data-state=done]")
        state = client_state(page)
    assert state["value"] == expected  # the same answer as without the cut
    assert state["reconnects"] >= 1
    assert_once_in_order(state["ids"])
    after_a = wait_for_stats(a, lambda s: s["completed"] > before_a["completed"])
    after_b = stats(b)
    assert after_a["completed"] == before_a["completed"] + 1  # generation went on in the first process
    assert after_b["resumed"] >= before_b["resumed"] + 1  # the second served the rest from Redis
    assert after_b["started"] == before_b["started"]
    assert port(b) in proxy.connections


def test_stop_on_one_process_closes_the_upstream_on_the_other(
    two_instances: tuple[str, str], page: Any, example: Any
) -> None:
    a, b = two_instances
    before = stats(a)
    proxy = load_front().SwitchingFront(port(a))
    with proxy.running() as front:
        page.goto(f"{front}/?autostart&speed=4&stall_after={two_thirds(example)}")
        page.wait_for_function(f"Number(document.getElementById('tree').dataset.frames) === {two_thirds(example)}")
        proxy.switch(port(b))  # the Stop request goes to the second process
        page.click("#stop")
        after = wait_for_stats(a, lambda s: s["closed_early"] > before["closed_early"] and s["open"] == before["open"])
    assert after["closed_early"] == before["closed_early"] + 1  # the first process closed its upstream call
    assert after["completed"] == before["completed"]
    assert page.get_attribute("#status", "data-state") == "stopped"


def test_the_client_over_eventsource_reads_and_rejoins_a_stream(server: str, page: Any, example: Any) -> None:
    expected, _, _ = final_value(example)
    page.goto(f"{server}/stats")  # any page of the server's origin; the module is imported by hand
    result = page.evaluate(
        """async () => {
          const { FieldStream } = await import("/fieldstream/fieldstream.js");
          const first = await new FieldStream("/stream?speed=8", { transport: "eventsource" }).start().done;
          const stream = first.streamId;
          // a late joiner over EventSource (it cannot send Last-Event-ID first: the query carries it)
          const again = await new FieldStream("/stream", { transport: "eventsource", resume: stream + ":0" }).start().done;
          const value = (s) => [...s.targets.values()].map((t) => t.value).find((v) => v && typeof v === "object");
          return { states: [first.state, again.state], values: [value(first), value(again)], ids: again.frameIds };
        }"""
    )
    assert result["states"] == ["done", "done"]
    assert result["values"] == [expected, expected]
    assert_once_in_order(result["ids"])
