"""What the answer layer costs on top of the StreamDecoder: the bundled recording, both ways.

    python -m benchmarks.answer_overhead            # process CPU time per stream, min of 5 x 200 runs

``decoder``: the recording's reads fed to ``StreamDecoder(schema=Report)`` by hand.
``stream()``: ``fieldstream.stream(Recording.bundled(speed=None), Report)`` iterated,
then ``.final``: the same decoder plus the translation to answer events.  No network.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pydantic import BaseModel

import fieldstream


class Now(BaseModel):
    temperature: str
    condition: str
    humidity: str
    windSpeed: str
    windDirection: str


class Day(BaseModel):
    day: str
    high: str
    low: str
    condition: str


class Report(BaseModel):
    location: str
    weather: Now
    forecast: list[Day]


def measure(runs: int = 200, repeats: int = 5) -> dict[str, float]:
    """Seconds of CPU per stream for each way (the minimum over ``repeats``)."""
    recording = fieldstream.Recording.bundled(speed=None)
    reads = list(recording.chunks())

    def decoder() -> None:
        d = fieldstream.StreamDecoder("openai-chat", schema=Report, content="json")
        for chunk in reads:
            d.feed(chunk)
        d.close()

    def answer() -> None:
        stream = fieldstream.stream(recording, Report)
        for _ in stream:
            pass
        assert stream.final.location

    ways: dict[str, Callable[[], None]] = {"decoder": decoder, "stream()": answer}
    results = {}
    for name, way in ways.items():
        way()  # warm-up: validators built, modules imported
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            for _ in range(runs):
                way()
            best = min(best, (time.process_time() - start) / runs)
        results[name] = best
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    results = measure(args.runs, args.repeats)
    for name, seconds in results.items():
        print(f"{name:10} {seconds * 1e3:.3f} ms per stream")
    print(f"ratio      {results['stream()'] / results['decoder']:.3f}")


if __name__ == "__main__":
    main()
