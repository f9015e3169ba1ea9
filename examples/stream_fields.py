"""Ask an OpenAI-compatible endpoint for JSON and print each field the moment it completes.

    OPENAI_API_KEY=sk-... python examples/stream_fields.py "Plan a weekend in Lisbon as JSON"
    python examples/stream_fields.py --base-url http://127.0.0.1:8000/v1 "..."   # any compatible server

Press Ctrl-C mid-answer: leaving the ``with`` block closes the connection, so the
provider stops generating.
"""

from __future__ import annotations

import argparse
import os

import fieldstream


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prompt")
    ap.add_argument("--base-url", default="https://api.openai.com/v1")
    ap.add_argument("--model", default="gpt-4o-mini")
    args = ap.parse_args()
    body = {
        "model": args.model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "json_object"},
        "messages": [{"role": "user", "content": args.prompt}],
    }
    key = os.environ.get("OPENAI_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}  # a local server may want no key
    url = args.base_url.rstrip("/") + "/chat/completions"
    try:
        with fieldstream.connect(None, "POST", url, json=body, headers=headers) as stream:
            for event in stream:
                if isinstance(event, fieldstream.TargetEvent) and isinstance(event.event, fieldstream.ValueCompleted):
                    if len(event.event.path) == 1:  # top-level fields only
                        print(f"{event.event.path_text} = {event.event.value!r}", flush=True)
                elif isinstance(event, fieldstream.Fault):
                    print(f"! {event.message}")
                elif isinstance(event, fieldstream.StreamCompleted):
                    print(f"-- {event.finish_reasons}, usage {event.usage}")
    except fieldstream.StreamError as exc:
        print(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        print("stopped; the connection is closed")
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
