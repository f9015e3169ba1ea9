"""Run the atheris (libFuzzer) targets for a bounded time or number of executions.

    python -m fuzz.run --seconds 60                 # every target, 60 s each
    python -m fuzz.run --target parser --runs 5000  # one target, 5,000 executions
    python -m fuzz.run --seconds 600 --merge        # then fold new coverage into fuzz/corpus/parser/

Each target runs in its own process (libFuzzer exits the process when it stops),
starting from the committed seed corpus ``fuzz/corpus/<target>/`` (and, for the
wire formats, the recorded streams in ``tests/corpus/streams``); inputs it finds
go to a scratch directory unless ``--merge`` keeps those that add coverage.  A
crash (a broken invariant, or an exception that is not fieldstream's own) is saved
under ``fuzz/crashes/`` and makes the run fail.  The summary (executions, coverage,
corpus size per target) prints as a table, and as JSON with ``--json PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"
DICTIONARY = HERE / "json.dict"
# Recorded provider bodies (read in place, never copied) seed the wire-format targets.
SHARED_STREAMS = HERE.parent / "tests" / "corpus" / "streams"
WIRE_TARGETS = ("eventstream", "ndjson", "sse", "stream")

_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_STATS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/")


def _worker(target: str, argv: list[str]) -> None:
    """Inside the child: instrument fieldstream, then hand control to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["fieldstream", "fuzz"]):
        from fuzz.targets import TARGETS

    # libFuzzer's -merge re-runs argv[0] as a program: the parent passes an executable wrapper.
    atheris.Setup([os.environ.get("FUZZ_ARGV0", sys.argv[0]), *argv], TARGETS[target])
    atheris.Fuzz()


def run_target(target: str, *, seconds: int | None, runs: int | None, merge: bool, max_len: int) -> dict[str, object]:
    seeds = CORPUS / target
    seeds.mkdir(parents=True, exist_ok=True)
    CRASHES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as scratch:
        options = [
            f"-dict={DICTIONARY}",
            f"-max_len={max_len}",
            f"-artifact_prefix={CRASHES}/{target}-",
            "-print_final_stats=1",
        ]
        if seconds is not None:
            options.append(f"-max_total_time={seconds}")
        if runs is not None:
            options.append(f"-runs={runs}")
        dirs = [scratch, str(seeds)]
        if target in WIRE_TARGETS and SHARED_STREAMS.is_dir():
            dirs.append(str(SHARED_STREAMS))
        command = [sys.executable, "-m", "fuzz.run", "--worker", target, "--", *dirs, *options]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(HERE.parent / "src"), str(HERE.parent), os.environ.get("PYTHONPATH")])
            ),
        }
        started = time.perf_counter()
        proc = subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=HERE.parent)
        elapsed = time.perf_counter() - started
        log = proc.stdout + proc.stderr
        done = _DONE.search(log)
        stats = _STATS.findall(log)
        result: dict[str, object] = {
            "target": target,
            "ok": proc.returncode == 0 and done is not None,
            "executions": int(done.group(1)) if done else (int(stats[-1][0]) if stats else 0),
            "seconds": round(elapsed, 1),
            "coverage": int(stats[-1][1]) if stats else 0,
            "features": int(stats[-1][2]) if stats else 0,
            "corpus": int(stats[-1][3]) if stats else 0,
        }
        if not result["ok"]:
            result["log_tail"] = log[-4000:]
        elif merge and target not in WIRE_TARGETS:
            # Wire-target finds derive from the recorded streams, which stay in tests/corpus.
            wrapper = Path(scratch) / "worker.sh"
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fuzz.run --worker {target} -- "$@"\n')
            wrapper.chmod(0o755)
            subprocess.run(
                [str(wrapper), "-merge=1", f"-max_len={max_len}", str(seeds), scratch],
                capture_output=True,
                env={**env, "FUZZ_ARGV0": str(wrapper)},
                cwd=HERE.parent,
                check=True,
            )
            result["kept"] = len(list(seeds.iterdir()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--target", action="append", help="target name (repeatable); default: all")
    parser.add_argument("--seconds", type=int, help="time per target")
    parser.add_argument("--runs", type=int, help="executions per target")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input libFuzzer tries (bytes)")
    parser.add_argument("--merge", action="store_true", help="keep new inputs that add coverage in fuzz/corpus/")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.rest)
        return 0
    from fuzz.targets import TARGETS

    if args.seconds is None and args.runs is None:
        args.seconds = 60
    targets = args.target or sorted(TARGETS)
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {sorted(unknown)}; choose from {sorted(TARGETS)}")
    results = []
    for target in targets:
        result = run_target(target, seconds=args.seconds, runs=args.runs, merge=args.merge, max_len=args.max_len)
        results.append(result)
        print(
            f"{target:<10} {'ok' if result['ok'] else 'FAILED':<6} {result['executions']:>12,} executions"
            f" in {result['seconds']:>7} s  cov {result['coverage']:>5}  ft {result['features']:>6}  corpus {result['corpus']:>5}",
            flush=True,
        )
        if not result["ok"]:
            print(result["log_tail"], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"python": sys.version.split()[0], "results": results}, indent=2) + "\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
