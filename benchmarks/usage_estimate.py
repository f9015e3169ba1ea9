"""How far the usage estimate of cut streams is from what providers report.

Every complete recorded stream whose provider reported its output tokens (and no
hidden reasoning tokens, which no client can see) is decoded; the estimate is
computed from the text received, as for a cut stream, and compared with the
provider's count.  Run from the repository root:

    python -m benchmarks.usage_estimate        # prints the table, writes results/usage_estimate.json
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from fieldstream import StreamDecoder
from fieldstream._recording import to_wire_bytes
from fieldstream._usage import ESTIMATE_METHOD, usage_estimate

STREAMS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "streams"
RESULTS = Path(__file__).resolve().parent / "results" / "usage_estimate.json"
_OUTPUT = ("completion_tokens", "output_tokens", "candidatesTokenCount", "eval_count")


def _hidden_reasoning(usage: dict[str, Any]) -> bool:
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    return bool(details.get("reasoning_tokens") or usage.get("thoughtsTokenCount"))


def measure() -> dict[str, Any]:
    """The estimate against provider-reported output tokens, per stream and in summary."""
    rows = []
    for path in sorted(STREAMS.rglob("*")):
        if path.suffix not in (".sse", ".ndjson", ".jsonl") or path.name.endswith(".timing.jsonl"):
            continue
        decoder = StreamDecoder()
        decoder.feed(to_wire_bytes(path, path.read_bytes()))
        decoder.close()
        usage = decoder.result.usage or {}
        reported = next((usage[k] for k in _OUTPUT if isinstance(usage.get(k), int)), None)
        if not reported or not decoder.result.complete or _hidden_reasoning(usage):
            continue
        targets = list(decoder.targets.values())
        names = [t.source.name for t in targets if t.source.kind == "tool_call"]
        estimate = usage_estimate((t.raw for t in targets), names)["output_tokens"]
        rows.append({"stream": f"{path.parent.name}/{path.name}", "reported": reported, "estimated": estimate})
    errors = [(r["estimated"] - r["reported"]) / r["reported"] for r in rows]
    absolute = sorted(abs(e) for e in errors)
    return {
        "method": ESTIMATE_METHOD,
        "streams": len(rows),
        "median_abs_error": statistics.median(absolute),
        "p75_abs_error": absolute[int(0.75 * len(absolute))],
        "median_error": statistics.median(errors),
        "total_reported": sum(r["reported"] for r in rows),
        "total_estimated": sum(r["estimated"] for r in rows),
        "rows": rows,
    }


def main() -> None:
    report = measure()
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    for row in report["rows"]:
        print(f"{row['stream'][:70]:70} {row['reported']:6} {row['estimated']:6}")
    print(
        f"{report['streams']} streams: median |error| {report['median_abs_error']:.0%}, "
        f"p75 {report['p75_abs_error']:.0%}, median signed {report['median_error']:+.0%}; "
        f"totals {report['total_estimated']} estimated vs {report['total_reported']} reported"
    )


if __name__ == "__main__":
    main()
