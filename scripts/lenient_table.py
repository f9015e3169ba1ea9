"""Regenerate the table of disagreements with json_repair in docs/lenient.md.

Runs the pinned ``json-repair`` and ``Parser(lenient=True, multiple=True)`` on every input of
``tests/corpus/repair/`` and rewrites the rows where they differ: the input, both values, and the reason,
which is kept from the current table by input (a new row gets ``TODO``, which tests/test_lenient.py rejects,
as it rejects any row whose values no longer match what the two libraries give).

    python scripts/lenient_table.py          # rewrite docs/lenient.md
    python scripts/lenient_table.py --check  # exit 1 if the table is out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs/lenient.md"
CORPUS = ROOT / "tests/corpus/repair/json_repair_cases.json"
MARK = "<!-- disagreements -->"
END = "<!-- /disagreements -->"
HEADER = (
    "| input | json_repair 0.61.7 | lenient mode | why lenient mode reads it differently |\n| --- | --- | --- | --- |"
)
TODO = "TODO"


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def lenient(text: str) -> Any:
    """What lenient mode reads from ``text``, in json_repair's shape (several documents: a list)."""
    import fieldstream as fs

    parser = fs.Parser(lenient=True, multiple=True)
    try:
        docs = [e.value for e in parser.feed(text) + parser.close() if isinstance(e, fs.DocumentCompleted)]
    except fs.ParseError as exc:
        return ParseFailure(exc.reason)
    return NOTHING if not docs else docs[0] if len(docs) == 1 else docs


class ParseFailure:
    def __init__(self, reason: str) -> None:
        self.reason = reason


NOTHING = object()  # no document (json_repair's "")


def _cell(value: Any, limit: int) -> str:
    if value is NOTHING:
        return "no document"
    text = f"ParseError: {value.reason}" if isinstance(value, ParseFailure) else json.dumps(value, allow_nan=True)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "`` " + text.replace("|", "\\|") + " ``"


def rows() -> list[tuple[str, str, str]]:
    """(input, json_repair's value, lenient mode's value) of every disagreement, as table cells, in corpus order."""
    import json_repair

    out = []
    for case in json.loads(CORPUS.read_text(encoding="utf-8")):
        text = case["input"]
        ours = lenient(text)
        theirs = json_repair.repair_json(text, return_objects=True)
        if isinstance(ours, ParseFailure) or canon("" if ours is NOTHING else ours) != canon(theirs):
            out.append((_cell(text, 100), _cell(theirs, 70), _cell(ours, 70)))
    return out


def parse(doc: str) -> list[tuple[str, str, str, str]]:
    """The rows of the table in ``doc``: (input, json_repair, lenient mode, why)."""
    table = doc.split(MARK)[1].split(END)[0]
    found = []
    for line in table.strip().splitlines()[2:]:
        cells = re.split(r"(?<!\\) \| ", line[2:-2])
        found.append((cells[0], cells[1], cells[2], cells[3]))
    return found


def render(doc: str) -> str:
    reasons = {row[0]: row[3] for row in parse(doc)}
    lines = [HEADER] + [f"| {a} | {b} | {c} | {reasons.get(a, TODO)} |" for a, b, c in rows()]
    head, rest = doc.split(MARK)
    return head + MARK + "\n" + "\n".join(lines) + "\n" + END + rest.split(END)[1]


def main() -> int:
    doc = DOC.read_text(encoding="utf-8")
    new = render(doc)
    if "--check" in sys.argv:
        return 0 if new == doc else 1
    DOC.write_text(new, encoding="utf-8")
    todo = sum(row[3] == TODO for row in parse(new))
    print(f"{len(parse(new))} rows, {todo} without a reason", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
