"""Run every competitor on every case, each competitor in its own process.

    python -m benchmarks                 # the full run (~10 minutes on 2 cores)
    python -m benchmarks --quick         # tiny sizes, a few seconds (the smoke test)
    python -m benchmarks --only fieldstream,jiter-reparse --cases records-4k-c4,records-60k-c4
    python -m benchmarks --e2e           # end to end: raw provider bodies (see e2e.py)

Per (competitor, case) the worker process does, on the same prepared inputs:

1. *estimate*: skip the case if the time measured on a smaller size of the same
   kind and chunk size, scaled by the growth seen so far (or the competitor's
   declared exponent), exceeds ``--budget`` seconds for one run
   (``--core-budget`` for the core cases, records 4k/15k/60k in 4-character
   chunks, which the issue's acceptance ratios need);
2. *warm-up* run, then ``repeats`` timed runs (as many as fit in ``--target``
   seconds, 1 to ``--repeats``) measuring process CPU time; we report the
   **minimum** (the least disturbed run) and the median.  A run longer than
   ``--budget`` is timed once (its warm-up is the measurement);
3. one *instrumented* run timing every chunk (``perf_counter``) and, after
   each, counting the leaves exposed as complete (untimed), which gives the
   per-chunk latency percentiles and the time-to-complete of every leaf; the
   exposure count is skipped when it would take more than the budget.  Short
   cases get two more passes and keep, per chunk, the smallest latency, so that
   other processes preempting us do not pose as p99;
4. one run under ``tracemalloc`` for the peak of Python allocations (skipped
   above ``--memory-limit`` seconds per run);
5. the final value is compared with ``json.loads(text)``.

Results go to ``benchmarks/results/<name>.json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from .cases import CORE, build, matrix
from .competitors import COMPETITORS, load

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"


# -- worker (one process per competitor) ------------------------------------


def _run_once(module: Any, prepared: list[tuple[list[Any], Any]]) -> float:
    session_type = module.Session
    start = time.process_time()
    for inputs, context in prepared:
        session = session_type(context)
        feed = session.feed
        for item in inputs:
            feed(item)
        session.finish()
    return time.process_time() - start


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _instrumented(
    module: Any, case: Any, prepared: list[tuple[list[Any], Any]], *, exposure: bool, passes: int = 1
) -> dict[str, Any]:
    out = _instrumented_pass(module, case, prepared, exposure=exposure)
    latencies = out.pop("latencies")
    for _ in range(passes - 1):  # per chunk, the least disturbed of the passes (other load preempts us)
        again = _instrumented_pass(module, case, prepared, exposure=False)["latencies"]
        latencies = [min(a, b) for a, b in zip(latencies, again)]
    latencies.sort()
    out.update(
        p50_us=_percentile(latencies, 0.50) * 1e6,
        p99_us=_percentile(latencies, 0.99) * 1e6,
        max_us=(latencies[-1] if latencies else math.nan) * 1e6,
        latency_passes=passes,
    )
    return out


def _instrumented_pass(
    module: Any, case: Any, prepared: list[tuple[list[Any], Any]], *, exposure: bool
) -> dict[str, Any]:
    latencies: list[float] = []
    finishes: list[float] = []
    delays_chunks: list[int] = []
    delays_time: list[float] = []
    first_field: list[tuple[float, int]] = []
    correct = True
    cpu_start = time.process_time()
    for stream, (inputs, context) in zip(case.streams, prepared):
        session = module.Session(context)
        cumulative: list[float] = []
        exposed: list[int] = []
        total = 0.0
        clock = time.perf_counter
        for item in inputs:
            t0 = clock()
            session.feed(item)
            elapsed = clock() - t0
            latencies.append(elapsed)
            total += elapsed
            cumulative.append(total)
            if exposure:
                exposed.append(session.exposed())
        t0 = clock()
        session.finish()
        elapsed = clock() - t0
        finishes.append(elapsed)
        total += elapsed
        cumulative.append(total)
        exposed.append(session.exposed())  # after finish() every competitor has the whole value
        correct = correct and session.value() == json.loads(stream.text)
        if not exposure:
            continue
        running = []
        best = 0
        for count in exposed:
            best = max(best, count)
            running.append(best)
        for j, last_char_chunk in enumerate(stream.leaf_chunks()):
            shown = bisect.bisect_right(running, j)  # first index exposing more than j leaves
            shown = max(shown, last_char_chunk)
            delays_chunks.append(shown - last_char_chunk)
            delays_time.append(cumulative[shown] - (cumulative[last_char_chunk - 1] if last_char_chunk else 0.0))
            if j == 0:
                first_field.append((cumulative[shown], shown))
    out: dict[str, Any] = {
        "chunks": len(latencies),
        "latencies": latencies,
        "finish_us": sum(finishes) * 1e6,
        "process_s": time.process_time() - cpu_start,
        "correct": correct,
    }
    if exposure and delays_chunks:
        out.update(
            ttc_mean_chunks=statistics.fmean(delays_chunks),
            ttc_max_chunks=max(delays_chunks),
            ttc_mean_us=statistics.fmean(delays_time) * 1e6,
            first_field_us=statistics.fmean(t for t, _ in first_field) * 1e6,
            first_field_chunk=statistics.fmean(c for _, c in first_field),
        )
    return out


def _estimate(history: list[tuple[int, float]], size: int, growth: float) -> float | None:
    if not history:
        return None
    if len(history) >= 2:
        (s1, t1), (s2, t2) = history[-2], history[-1]
        if t1 > 0.002 and t2 > 0 and s2 > s1:  # a measured slope, once timings are above noise
            growth = min(3.0, max(1.0, math.log(t2 / t1) / math.log(s2 / s1), growth))
    s, t = history[-1]
    return t * (size / s) ** growth


def worker(name: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    module = load(name)
    results: list[dict[str, Any]] = []
    history: dict[tuple[str, int], list[tuple[int, float]]] = {}
    cases = [build(case_id) for case_id in config["cases"]]
    cases.sort(key=lambda c: (c.kind, c.chunk, c.size))
    for case in cases:
        row: dict[str, Any] = {
            "competitor": module.NAME,
            "case": case.id,
            "kind": case.kind,
            "size": case.size,
            "chunk": case.chunk,
        }
        results.append(row)
        key = (case.kind, case.chunk)
        estimate = _estimate(history.get(key, []), case.size, module.GROWTH)
        limit = config["core_budget"] if case.id in CORE else config["budget"]
        if estimate is not None and estimate > limit:
            row.update(
                status="skipped", reason=f"over budget (estimated {estimate:.1f} s per run)", estimate_s=estimate
            )
            continue
        try:
            prepared = [module.prepare(stream) for stream in case.streams]
            gc.collect()
            if estimate is not None and estimate > config["budget"]:
                # A long core case: one instrumented run is the measurement (the
                # per-chunk clock adds well under 0.1% to chunks this slow).
                measured = _instrumented(module, case, prepared, exposure=False)
                warm = measured.pop("process_s")
                times = [warm]
                row.update(measured, timing_note="one instrumented run (over budget for repeats)")
            else:
                warm = _run_once(module, prepared)
                repeats = min(config["repeats"], int(config["target"] / max(warm, 1e-9)))
                times = [warm] if repeats < 1 else []  # a run over the target: the warm-up is the measurement
                for _ in range(repeats):
                    gc.collect()
                    times.append(_run_once(module, prepared))
                exposure = warm * 4 < config["budget"]
                passes = 3 if warm * 3 < config["target"] else 1
                measured = _instrumented(module, case, prepared, exposure=exposure, passes=passes)
                measured.pop("process_s")
                row.update(measured)
            row.update(
                status="ok", total_ms=min(times) * 1e3, median_ms=statistics.median(times) * 1e3, repeats=len(times)
            )
            history.setdefault(key, []).append((case.size, min(times)))
            if "ttc_mean_chunks" not in row:
                row["ttc_note"] = "exposure not counted (over budget)"
            if warm < config["memory_limit"]:
                gc.collect()
                tracemalloc.start()
                _run_once(module, prepared)
                row["peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
                tracemalloc.stop()
        except Exception as exc:  # noqa: BLE001 - a competitor that fails on an input is a result, not a crash
            row.update(status="error", reason=f"{type(exc).__name__}: {exc}"[:300])
    return results


# -- orchestration ---------------------------------------------------------


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def run(names: list[str], case_ids: list[str], config: dict[str, Any], *, log: Any = sys.stderr) -> dict[str, Any]:
    env = dict(os.environ)
    src = str(ROOT.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT.parent), src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": _machine(),
        "config": config,
        "timing": "process CPU time per stream, minimum of the repeats (median also kept)",
        "competitors": {},
    }
    results: list[dict[str, Any]] = []
    for name in names:
        module = load(name)
        reason = module.check()
        label = {"name": module.NAME, "label": module.LABEL, "role": module.ROLE, "doc": (module.__doc__ or "").strip()}
        if reason is not None:
            meta["competitors"][module.NAME] = {**label, "unavailable": reason}
            results += [
                {"competitor": module.NAME, "case": c, "status": "unavailable", "reason": reason} for c in case_ids
            ]
            print(f"{module.NAME:22} unavailable: {reason}", file=log)
            continue
        meta["competitors"][module.NAME] = {**label, "versions": module.versions()}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.runner", "--worker", name],
            input=json.dumps({**config, "cases": case_ids}),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(ROOT.parent),
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"worker {name} failed:\n{proc.stderr}")
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
        results += rows
        ok = sum(r["status"] == "ok" for r in rows)
        print(f"{module.NAME:22} {ok}/{len(rows)} cases in {time.perf_counter() - start:.1f} s", file=log)
    return {"meta": meta, "results": results}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--only", help="comma-separated competitor names (NAME or module)")
    ap.add_argument("--cases", help="comma-separated case ids (default: the full matrix)")
    ap.add_argument("--no-corpus", action="store_true", help="leave out the recorded corpus streams")
    ap.add_argument("--budget", type=float, default=1.5, help="skip a case whose one run is estimated above this (s)")
    ap.add_argument(
        "--core-budget",
        type=float,
        default=20.0,
        help="the same, for the core cases (records 4k/15k/60k, 4-char chunks)",
    )
    ap.add_argument("--target", type=float, default=0.5, help="time to spend on timed repeats per case (s)")
    ap.add_argument("--repeats", type=int, default=5, help="most timed repeats per case")
    ap.add_argument("--memory-limit", type=float, default=0.5, help="measure memory only for runs under this (s)")
    ap.add_argument("--name", default=None, help="results file name (default: full, or quick)")
    ap.add_argument("--out", default=str(RESULTS), help="output directory")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")
    ap.add_argument("--e2e", action="store_true", help="the end-to-end case: raw provider bodies (see e2e.py)")
    ap.add_argument("--rounds", type=int, default=5, help="--e2e: interleaved rounds (the minimum is kept)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.e2e:
        from . import e2e

        if args.budget == ap.get_default("budget"):
            args.budget = 3.0
        return e2e.main(args)

    if args.worker:
        rows = worker(args.worker, json.loads(sys.stdin.read()))
        sys.stdout.write(json.dumps(rows) + "\n")
        return 0

    names = list(COMPETITORS)
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted or load(n).NAME in wanted]
    case_ids = args.cases.split(",") if args.cases else matrix(quick=args.quick, corpus=not args.no_corpus)
    if args.quick:  # a smoke run: seconds, not minutes
        args.budget, args.target, args.repeats, args.memory_limit = min(args.budget, 0.15), 0.02, 1, 0.05
    config = {
        "budget": args.budget,
        "core_budget": args.core_budget,
        "target": args.target,
        "repeats": args.repeats,
        "memory_limit": args.memory_limit,
    }
    data = run(names, case_ids, config)

    from .report import write

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = write(data, out / (args.name or ("quick" if args.quick else "full")), plot=not args.no_plot)
    for path in paths:
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
