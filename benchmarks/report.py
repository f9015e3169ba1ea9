"""Write a run's results as JSON, a Markdown report and a log-log PNG plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["markdown", "plot", "slope", "write"]

SUBJECT = "fieldstream"
PLOT_KIND, PLOT_CHUNK = "records", 4


def _index(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["competitor"], r["case"]): r for r in data["results"]}


def _names(data: dict[str, Any]) -> list[str]:
    return list(data["meta"]["competitors"])


def _cases(data: dict[str, Any], kind: str, chunk: int) -> list[tuple[int, str]]:
    found = {(r["size"], r["case"]) for r in data["results"] if r.get("kind") == kind and r.get("chunk") == chunk}
    return sorted(found)


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _cell(row: dict[str, Any] | None, base: dict[str, Any] | None, *, ratio: bool = True) -> str:
    if row is None:
        return ""
    if row["status"] != "ok":
        return "skipped" if row["status"] in ("skipped", "unavailable") else "error"
    text = _ms(row["total_ms"])
    if not row.get("correct", True):
        text += " (WRONG)"
    if ratio and base is not None and base.get("status") == "ok" and base["total_ms"] > 0:
        text += f" ({row['total_ms'] / base['total_ms']:.2g}×)"
    return text


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(time) against log(size)."""
    pts = [(math.log(s), math.log(t)) for s, t in points if s > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    var = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / var if var else None


def _series(data: dict[str, Any], name: str, kind: str, chunk: int, field: str = "total_ms") -> list[tuple[int, float]]:
    index = _index(data)
    out = []
    for size, case in _cases(data, kind, chunk):
        row = index.get((name, case))
        if row and row["status"] == "ok" and field == "per_chunk_us" and row.get("chunks"):
            out.append((size, row["total_ms"] * 1e3 / row["chunks"]))
        elif row and row["status"] == "ok" and row.get(field) is not None:
            out.append((size, row[field]))
    return out


def _size_label(size: int) -> str:
    return f"{size / 1000:.3g} KB" if size < 1_000_000 else f"{size / 1e6:.3g} MB"


def _time_table(data: dict[str, Any], kind: str, chunk: int) -> list[str]:
    index = _index(data)
    cases = _cases(data, kind, chunk)
    if not cases:
        return []
    lines = ["| competitor | " + " | ".join(_size_label(s) for s, _ in cases) + " | slope |"]
    lines.append("| --- |" + " ---: |" * (len(cases) + 1))
    for name in _names(data):
        s = slope(_series(data, name, kind, chunk))
        cells = [_cell(index.get((name, c)), index.get((SUBJECT, c))) for _, c in cases]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {'' if s is None else f'{s:.2f}'} |")
    return lines


def _detail_table(data: dict[str, Any], case: str) -> list[str]:
    index = _index(data)
    lines = [
        "| competitor | total ms | p50 µs | p99 µs | max µs | finish µs | complete after (chunks, mean / max) "
        "| complete after (µs, mean) | first field (µs) | peak KiB |",
        "| --- |" + " ---: |" * 9,
    ]

    def f(row: dict[str, Any], key: str, fmt: str = "{:.3g}") -> str:
        value = row.get(key)
        return "" if value is None else fmt.format(value)

    for name in _names(data):
        row = index.get((name, case))
        if row is None:
            continue
        if row["status"] != "ok":
            lines.append(f"| {name} | {row['status']}: {row.get('reason', '')} |" + " |" * 8)
            continue
        ttc = f"{row['ttc_mean_chunks']:.2f} / {row['ttc_max_chunks']}" if "ttc_mean_chunks" in row else "n/a"
        lines.append(
            f"| {name} | {_cell(row, index.get((SUBJECT, case)))} | {f(row, 'p50_us')} | {f(row, 'p99_us')} "
            f"| {f(row, 'max_us')} | {f(row, 'finish_us')} | {ttc} | {f(row, 'ttc_mean_us')} "
            f"| {f(row, 'first_field_us')} | {f(row, 'peak_kib', '{:,.0f}')} |"
        )
    return lines


def _chunk_table(data: dict[str, Any], kind: str, size_label: str) -> list[str]:
    index = _index(data)
    chunks = sorted(
        {r["chunk"] for r in data["results"] if r.get("kind") == kind and r["case"].startswith(f"{kind}-{size_label}-")}
    )
    if not chunks:
        return []
    lines = [
        "| competitor | " + " | ".join(f"{c}-char chunks" for c in chunks) + " |",
        "| --- |" + " ---: |" * len(chunks),
    ]
    for name in _names(data):
        cells = [
            _cell(index.get((name, f"{kind}-{size_label}-c{c}")), index.get((SUBJECT, f"{kind}-{size_label}-c{c}")))
            for c in chunks
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown(data: dict[str, Any]) -> str:
    meta = data["meta"]
    machine = meta["machine"]
    versions: dict[str, str] = {}
    for info in meta["competitors"].values():
        versions.update(info.get("versions", {}))
    out = [
        f"# fieldstream benchmark: {meta['date']}",
        "",
        f"Machine: {machine['cores']} cores, {machine['cpu']}, {machine['platform']}, {machine['python']}.  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".  ",
        f"Timing: {meta['timing']}; cells are milliseconds per stream and, in brackets, the ratio to fieldstream "
        "(above 1× means slower than fieldstream).  `skipped` = over the time budget or not applicable (see the JSON).",
        "",
    ]
    unavailable = {n: i["unavailable"] for n, i in meta["competitors"].items() if "unavailable" in i}
    for name, why in unavailable.items():
        out.append(f"- **{name}** did not run: {why}")
    if unavailable:
        out.append("")
    kinds = sorted({r["kind"] for r in data["results"] if r.get("kind") not in (None, "corpus")})
    sizes = sorted(
        {r["case"].split("-")[1] for r in data["results"] if r.get("kind") == "records"},
        key=lambda s: float(s.rstrip("k")),
    )
    for kind in ["records", *[k for k in kinds if k != "records"]]:
        table = _time_table(data, kind, 4)
        if table:
            out += [f"## {kind}, 4-character chunks: total CPU per stream", "", *table, ""]
    for size_label in ("60k", sizes[-1] if sizes else ""):
        table = _chunk_table(data, "records", size_label)
        if table and len(table[0].split("|")) > 4:
            out += [f"## records {size_label}: by chunk size", "", *table, ""]
            break
    detail_cases = sorted(
        {r["case"] for r in data["results"] if r.get("kind") == "records" and r.get("chunk") == 4},
        key=lambda c: float(c.split("-")[1].rstrip("k")),
    )
    for case in [c for c in detail_cases if c.split("-")[1] in ("15k", "60k")] or detail_cases[-1:]:
        out += [f"## {case}: latency, time to complete, memory", "", *_detail_table(data, case), ""]
    if any(r["case"] == "corpus-real" for r in data["results"]):
        corpus = next(r for r in data["results"] if r["case"] == "corpus-real" and r.get("size"))
        out += [
            f"## Recorded provider streams, real token boundaries ({corpus['size']:,} characters, "
            f"{corpus.get('chunks', '?')} deltas; times summed over all payloads)",
            "",
            *_detail_table(data, "corpus-real"),
            "",
        ]
    out += [
        "Columns: *p50/p99/max* per-chunk `feed` latency; *finish* the end-of-stream call (where `json.loads` does all",
        "its work); *complete after* how many chunks (and how much CPU time) pass between the chunk holding a leaf",
        "value's last character and the chunk after which the competitor exposes it as final (see",
        "`benchmarks/competitors/_common.py` for what a re-parse peer can know); *first field* the CPU time until the",
        "first leaf is known complete; *peak* the peak of Python allocations under `tracemalloc` (blank when skipped).",
        "",
    ]
    return "\n".join(out)


def plot(data: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    styles = ["o-", "s-", "^-", "v-", "D-", "P-", "X-", "*-", "h-", "<-", ">-"]
    for i, name in enumerate(_names(data)):
        for ax, field in zip(axes, ("total_ms", "per_chunk_us")):
            pts = _series(data, name, PLOT_KIND, PLOT_CHUNK, field)
            if not pts:
                continue
            s = slope(pts)
            label = f"{name} (slope {s:.2f})" if s is not None else name
            width = 2.6 if name.startswith(SUBJECT) else 1.4
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                styles[i % len(styles)],
                label=label,
                linewidth=width,
                markersize=5,
            )
    axes[0].set_title(f"Total CPU time per stream ({PLOT_KIND}, {PLOT_CHUNK}-character chunks)")
    axes[0].set_ylabel("milliseconds (log)")
    axes[1].set_title("CPU time per chunk (total / chunks): flat = O(1) per chunk")
    axes[1].set_ylabel("microseconds per chunk (log)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("document size, characters (log)")
        ax.grid(True, which="major", alpha=0.35)
        ax.legend(fontsize=7.5, loc="best", framealpha=0.85)
    meta = data["meta"]
    fig.suptitle(
        f"fieldstream vs peers, {meta['date']}, {meta['machine']['cores']} cores, {meta['machine']['python']}  (lower is better)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(data: dict[str, Any], stem: Path, *, plot: bool = True) -> list[Path]:
    """Write ``stem``.json, .md and (with matplotlib installed) .png; return the paths written."""
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    paths[0].write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    paths[1].write_text(markdown(data), "utf-8")
    if plot:
        png = globals()["plot"](data, stem.with_suffix(".png"))
        if png is not None:
            paths.append(png)
    return paths
