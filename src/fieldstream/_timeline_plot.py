"""A waterfall picture of a :class:`Timeline`: bytes arriving, and each field's span.

The top panel is the body arriving (cumulative bytes at each read, a mark per
read, stalls shaded); the bottom one has a bar per field from its first event to
its completion, in order of completion, with time to first byte and first field
marked.  Needs matplotlib (``pip install 'fieldstream[plot]'``); drawn off-screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._errors import UsageError
from ._timeline import Timeline

__all__ = ["plot_timeline"]

#: Most field bars drawn; the rest are summarised in the title.
MAX_FIELDS = 40


def plot_timeline(timeline: Timeline, path: str | Path, *, title: str | None = None) -> Path:
    """Draw ``timeline`` into the image file ``path`` (PNG, SVG, PDF: by its suffix); return the path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("drawing a timeline needs matplotlib: pip install 'fieldstream[plot]'") from None
    path = Path(path)
    fields = [f for f in timeline.fields if f.path]
    shown = fields[:MAX_FIELDS]
    height = 2.4 + 0.22 * max(len(shown), 3)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, height), sharex=True, gridspec_kw={"height_ratios": [2.2, max(len(shown), 3) * 0.22]}
    )
    try:
        _bytes_panel(top, timeline)
        _fields_panel(bottom, timeline, shown)
        name = title or "stream timeline"
        more = f" (first {len(shown)} of {len(fields)} fields)" if len(fields) > len(shown) else ""
        verdict = timeline.buffering()
        label = {True: "BUFFERED", False: "streamed", None: "buffering: can't tell"}[verdict.buffered]
        fig.suptitle(f"{name}{more} - {label}", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def _bytes_panel(ax: Any, timeline: Timeline) -> None:
    times: list[float] = [0.0]
    totals: list[int] = [0]
    for t, n in timeline.reads:
        times.append(t)
        totals.append(totals[-1] + n)
    ax.step(times, totals, where="post", color="#1f77b4", linewidth=1.5)
    ax.plot(times[1:], totals[1:], "|", color="#1f77b4", markersize=6)
    for start, seconds in timeline.stalls:
        ax.axvspan(start, start + seconds, color="#d62728", alpha=0.12)
    for value, label, color, height in (
        (timeline.first_byte, "first byte", "#7f7f7f", 0.92),
        (timeline.first_field, "first field", "#2ca02c", 0.78),
    ):
        if value is not None:
            ax.axvline(value, color=color, linestyle="--", linewidth=1)
            ax.annotate(f" {label} {value:.2f}s", (value, ax.get_ylim()[1] * height), fontsize=8, color=color)
    ax.set_ylabel("bytes received")
    ax.grid(alpha=0.3)


def _fields_panel(ax: Any, timeline: Timeline, fields: list[Any]) -> None:
    for row, f in enumerate(fields):
        width = max(f.completed - f.started, 0.0)
        ax.barh(row, width, left=f.started, height=0.6, color="#2ca02c", alpha=0.7)
        ax.plot([f.completed], [row], "o", color="#2ca02c", markersize=3)
    ax.set_yticks(range(len(fields)))
    ax.set_yticklabels([_label(f) for f in fields], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the request")
    ax.grid(axis="x", alpha=0.3)
    if not fields:
        ax.text(0.5, 0.5, "no fields completed", transform=ax.transAxes, ha="center", va="center")


def _label(f: Any) -> str:
    text = (
        f.path_text
        if f.source in (None, "choices[0]", "candidates[0]", "message", "output[0]")
        else (f"{f.source} {f.path_text}")
    )
    return text if len(text) <= 40 else text[:37] + "..."
