"""The end-to-end case: raw provider bodies through each competitor's whole path.

    python -m benchmarks --e2e            # the full run (a few minutes on 2 busy cores)
    python -m benchmarks --e2e --quick    # tiny sizes, seconds (the smoke test)

Bodies (:mod:`.bodies`): the recorded corpus cut at its network reads (or per
event), generated OpenAI chat answers of 4 KB to 1 MB in token deltas, and 40
tool calls with ~100-character arguments.  Competitors
(``competitors/e2e_*.py``): fieldstream's ``StreamDecoder`` (plain, typed, and
with only the standard library), the hand-rolled httpx-sse + ``json.loads`` +
jiter loop, the same with pydantic partial validation, the OpenAI SDK's stream
path (OpenAI chat bodies only) and the floor (SSE split + ``json.loads``).

Timing: process CPU time of a whole case (every body of it, read by read, then
``finish``), in *interleaved rounds*: each round runs every competitor once, in
a rotated order, and the minimum over the rounds is kept, so load from other
processes hits every competitor alike and the least disturbed run counts.  A
competitor whose run is estimated (from the previous answer size, at its growth)
above ``--budget`` seconds is skipped for that size.  Per-event cost is the total
over the events (SSE messages or NDJSON lines) of the case.

Memory per open stream (``tracemalloc``, after the timing, so caches are warm):
one session fed a body up to its ``open_reads`` (a generated answer still one
token short of complete); *retained* is what it holds then (after ``gc``),
*peak* the most it held on the way.  ``value`` is what the final value itself
holds (``json.loads`` or ``model_validate_json`` of the answer), for the ratio
of an open typed stream to its validated value.

Results go to ``benchmarks/results/e2e.json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from .bodies import GENERATED_SIZES, Body, corpus_bodies, generated_body, tool_bodies
from .competitors import E2E_COMPETITORS, load

__all__ = ["main", "run"]

QUICK_SIZES = (4_000,)
SUBJECT = "fieldstream"
REFERENCE = "handrolled-jiter"
GROWTH = {"subject": 1.0, "floor": 1.0, "peer": 2.0}


def cases(quick: bool) -> dict[str, list[Body]]:
    corpus = list(corpus_bodies())
    out = {
        "corpus": corpus,
        "corpus-openai-chat": [b for b in corpus if b.format == "openai-chat"],
        "tool-100": list(tool_bodies(8 if quick else 40)),
    }
    if quick:
        out["corpus"] = corpus[::8]
        out["corpus-openai-chat"] = out["corpus-openai-chat"][::6]
    for size in QUICK_SIZES if quick else GENERATED_SIZES:
        body = generated_body(size)
        out[body.name] = [body]
    return out


def _run(module: Any, prepared: list[tuple[Body, Any]]) -> float:
    session_type = module.Session
    start = time.process_time()
    for body, context in prepared:
        session = session_type(context)
        feed = session.feed
        for read in body.reads:
            feed(read)
        session.finish()
    return time.process_time() - start


def _covers(found: list[list[str]], reference: list[list[str]]) -> bool:
    """Whether every body's reference values are among the competitor's (which may hold more)."""
    for mine, theirs in zip(found, reference):
        left = list(mine)
        for value in theirs:
            if value not in left:
                return False
            left.remove(value)
    return True


def _values(module: Any, prepared: list[tuple[Body, Any]]) -> list[list[str]]:
    out = []
    for body, context in prepared:
        session = module.Session(context)
        for read in body.reads:
            session.feed(read)
        session.finish()
        out.append(sorted(json.dumps(v, sort_keys=True) for v in session.values()))
    return out


def _memory(module: Any, body: Body, context: Any) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    session = module.Session(context)
    for read in body.reads[: body.open_reads]:
        session.feed(read)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del session
    return {"retained_kib": (current - base) / 1024, "peak_kib": (peak - base) / 1024}


def _value_size(body: Body, typed: bool) -> float:
    """KiB that the final value of a generated answer holds (validated when ``typed``).

    Typed: what ``model_validate_json`` builds, by the model's core validator with pydantic's
    process-wide string cache off: with it, a second call returns the first call's string
    objects, which ``tracemalloc`` would then not count as the value's.
    """
    from pydantic_core import SchemaValidator

    from .generate import generate
    from .schemas import model_for

    text = generate(body.kind or "records", body.answer)
    model = model_for(body.kind)
    validate = SchemaValidator(model.__pydantic_core_schema__, {"cache_strings": False}).validate_json
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    value = validate(text) if typed else json.loads(text)
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del value
    return size / 1024


def run(config: dict[str, Any], log: Any = sys.stderr) -> dict[str, Any]:
    modules = {}
    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "config": config,
        "timing": "process CPU time per case, minimum of interleaved rounds",
        "competitors": {},
    }
    for name in E2E_COMPETITORS:
        module = load(name)
        if config.get("only") and module.NAME not in config["only"]:
            continue
        reason = module.check()
        info = {"label": module.LABEL, "role": module.ROLE, "doc": (module.__doc__ or "").strip()}
        if reason is not None:
            meta["competitors"][module.NAME] = {**info, "unavailable": reason}
            continue
        meta["competitors"][module.NAME] = {**info, "versions": module.versions()}
        modules[module.NAME] = module
    results: list[dict[str, Any]] = []
    history: dict[str, tuple[int, float]] = {}
    for case, bodies in cases(config["quick"]).items():
        if config.get("cases") and case not in config["cases"]:
            continue
        started = time.perf_counter()
        events = sum(b.events for b in bodies)
        answer = sum(b.answer for b in bodies)
        rows: dict[str, dict[str, Any]] = {}
        prepared: dict[str, list[tuple[Body, Any]]] = {}
        for name, module in modules.items():
            row = rows[name] = {
                "competitor": name,
                "case": case,
                "bodies": len(bodies),
                "events": events,
                "bytes": sum(b.size for b in bodies),
                "answer": answer,
            }
            if not all(module.applies(b) for b in bodies):
                row.update(status="n/a", reason="not this provider's format")
                continue
            before = history.get(name)
            if case.startswith("answer-") and before is not None and answer > before[0]:
                estimate = before[1] * (answer / before[0]) ** GROWTH[module.ROLE]
                if estimate > config["budget"]:
                    row.update(
                        status="skipped", reason=f"estimated {estimate:.0f} s per run (budget {config['budget']} s)"
                    )
                    continue
            prepared[name] = [(b, module.prepare(b)) for b in bodies]
            row["status"] = "ok"
        # Values: checked once (untimed) against the reference, the hand-rolled loop's.
        values = {name: _values(modules[name], p) for name, p in prepared.items()}
        reference = values.get(REFERENCE) or values.get(SUBJECT)
        times: dict[str, list[float]] = {name: [] for name in prepared}
        names = list(prepared)
        for round_ in range(config["rounds"]):
            order = names[round_ % len(names) :] + names[: round_ % len(names)] if names else []
            for name in order:
                if times[name] and times[name][-1] > config["budget"]:
                    continue  # one run is enough for a slow peer
                gc.collect()
                times[name].append(_run(modules[name], prepared[name]))
        for name, measured in times.items():
            row = rows[name]
            best = min(measured)
            if case.startswith("answer-"):
                history[name] = (answer, best)
            row.update(
                total_ms=best * 1e3,
                median_ms=statistics.median(measured) * 1e3,
                rounds=len(measured),
                per_event_us=best * 1e6 / events,
                correct=reference is None or name == "floor" or _covers(values[name], reference),
            )
        if case != "corpus":  # memory per open stream: generated answers, tool calls, OpenAI chat corpus
            for name, pairs in prepared.items():
                body, context = max(pairs, key=lambda p: p[0].size)
                rows[name].update(_memory(modules[name], body, context), memory_body=body.name)
                rows[name]["streams_per_gib"] = 2**30 / max(rows[name]["retained_kib"] * 1024, 1)
            if bodies[0].group == "generated":
                for name, typed in (("fieldstream", False), ("fieldstream-typed", True)):
                    if name in rows and "retained_kib" in rows[name]:
                        rows[name]["value_kib"] = _value_size(bodies[0], typed)
                        rows[name]["open_over_value"] = rows[name]["retained_kib"] / rows[name]["value_kib"]
        results += rows.values()
        print(f"{case:22} {len(bodies):3} bodies {events:7} events  {time.perf_counter() - started:6.1f} s", file=log)
    meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {"meta": meta, "results": results}


# -- report ------------------------------------------------------------------


def _index(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["competitor"], r["case"]): r for r in data["results"]}


def _case_names(data: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(r["case"] for r in data["results"]))


def ratios(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per case: each competitor's time over fieldstream's (above 1: fieldstream is faster)."""
    index = _index(data)
    out: dict[str, dict[str, float]] = {}
    for case in _case_names(data):
        base = index.get((SUBJECT, case))
        if not base or "total_ms" not in base:
            continue
        out[case] = {
            name: row["total_ms"] / base["total_ms"]
            for (name, c), row in index.items()
            if c == case and "total_ms" in row
        }
    return out


def markdown(data: dict[str, Any]) -> str:
    meta = data["meta"]
    index = _index(data)
    names = list(meta["competitors"])
    versions: dict[str, str] = {}
    for info in meta["competitors"].values():
        versions.update(info.get("versions", {}))
    out = [
        f"# fieldstream end-to-end benchmark: {meta['date']}",
        "",
        (
            f"Python {meta['python']}, {meta['cores']} cores, shared with other work (load average "
            f"{meta['load_average_at_start']} at the start, {meta['load_average_at_end']} at the end).  "
        ),
        "Installed: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".  ",
        (
            f"Timing: {meta['timing']} ({meta['config']['rounds']} rounds).  Cells: CPU µs per provider event and, "
            "in brackets, the ratio to fieldstream (above 1× means slower than fieldstream)."
        ),
        "",
    ]
    for name, info in meta["competitors"].items():
        if "unavailable" in info:
            out.append(f"- **{name}** did not run: {info['unavailable']}")
    cases = _case_names(data)
    out += ["## CPU per event", "", "| competitor | " + " | ".join(cases) + " |", "| --- |" + " ---: |" * len(cases)]
    for name in names:
        cells = []
        for case in cases:
            row = index.get((name, case))
            base = index.get((SUBJECT, case))
            if row is None:
                cells.append("")
            elif "per_event_us" not in row:
                cells.append(row.get("status", ""))
            else:
                cell = f"{row['per_event_us']:.3g}"
                if base and "total_ms" in base:
                    cell += f" ({row['total_ms'] / base['total_ms']:.2g}×)"
                if not row.get("correct", True):
                    cell += " (DIFFERS)"
                cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += [
        "",
        "Events per case: "
        + ", ".join(
            f"{c} {index[(SUBJECT, c)]['events']:,} ({index[(SUBJECT, c)]['bodies']} bodies)"
            for c in cases
            if (SUBJECT, c) in index
        )
        + ".",
        "",
    ]
    out += [
        "## Total CPU per case (ms)",
        "",
        "| competitor | " + " | ".join(cases) + " |",
        "| --- |" + " ---: |" * len(cases),
    ]
    for name in names:
        cells = [f"{index[(name, c)]['total_ms']:.4g}" if "total_ms" in index.get((name, c), {}) else "" for c in cases]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    mem_cases = [c for c in cases if any("retained_kib" in r for (n, cc), r in index.items() if cc == c)]
    out += [
        "",
        "## Memory per open stream (tracemalloc, KiB)",
        "",
        (
            "Retained / peak while the largest body of the case is open; streams per GiB from retained.  "
            "*value* is what the final value holds (validated model for typed), *open/value* the ratio."
        ),
        "",
        "| competitor | " + " | ".join(mem_cases) + " |",
        "| --- |" + " ---: |" * len(mem_cases),
    ]
    for name in names:
        cells = []
        for case in mem_cases:
            row = index.get((name, case), {})
            if "retained_kib" not in row:
                cells.append("")
                continue
            cell = f"{row['retained_kib']:,.0f} / {row['peak_kib']:,.0f} ({row['streams_per_gib']:,.0f}/GiB)"
            if "value_kib" in row:
                cell += f"; value {row['value_kib']:,.0f}, open/value {row['open_over_value']:.2f}"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def plot(data: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name in data["meta"]["competitors"]:
        pts = sorted(
            (r["answer"], r["per_event_us"])
            for r in data["results"]
            if r["competitor"] == name and r["case"].startswith("answer-") and "per_event_us" in r
        )
        if pts:
            ax.plot(
                [p[0] for p in pts], [p[1] for p in pts], "o-", label=name, linewidth=2.4 if name == SUBJECT else 1.3
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("answer length, characters (log)")
    ax.set_ylabel("CPU µs per provider event (log)")
    ax.set_title(f"End to end, OpenAI chat stream, token deltas ({data['meta']['date']})", fontsize=10)
    ax.grid(True, which="major", alpha=0.35)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(args: Any) -> int:
    config = {
        "quick": bool(args.quick),
        "rounds": 1 if args.quick else args.rounds,
        "budget": min(args.budget, 0.5) if args.quick else args.budget,
        "only": args.only.split(",") if args.only else None,
        "cases": args.cases.split(",") if args.cases else None,
    }
    data = run(config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (args.name or ("e2e-quick" if args.quick else "e2e"))
    data["ratios"] = ratios(data)
    stem.with_suffix(".json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    stem.with_suffix(".md").write_text(markdown(data), "utf-8")
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    if not args.no_plot:
        png = plot(data, stem.with_suffix(".png"))
        if png is not None:
            paths.append(png)
    for p in paths:
        print(f"wrote {p}", file=sys.stderr)
    return 0
