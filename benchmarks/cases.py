"""The one registry of benchmark cases.

A case is one or more *streams* (a JSON text and the chunks it arrives in):
a generated document of one kind and size cut into fixed-size chunks, or the
corpus payloads replayed with their recorded token boundaries.  Case ids are
stable strings (``records-60k-c4``, ``corpus-real``) so results can be joined
across runs.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .generate import KINDS, generate

__all__ = ["CHUNKS", "CORE", "SIZES", "Case", "Stream", "build", "leaf_ends", "matrix"]

#: Document sizes in characters (~1 KB to ~1 MB; 4k/15k/60k are the core benchmark's).
SIZES = (1_000, 4_000, 15_000, 60_000, 250_000, 1_000_000)
#: Chunk sizes in characters (1 to 8 is the realistic token size).
CHUNKS = (1, 4, 16, 64)
QUICK_SIZES = (500, 2_000)
#: The core benchmark (issues 3 and 4): never skipped below ``--core-budget``.
CORE = frozenset({"records-4k-c4", "records-15k-c4", "records-60k-c4", "actions-60k-c4", "actionsflat-60k-c4"})


@dataclass
class Stream:
    text: str
    chunks: list[str]
    kind: str | None = None  # the generated kind (selects the schema), None for corpus payloads
    _ends: list[int] | None = field(default=None, repr=False)

    def leaf_chunks(self) -> list[int]:
        """For each scalar leaf in document order, the index of the chunk holding its last character."""
        bounds = []
        total = 0
        for c in self.chunks:
            total += len(c)
            bounds.append(total)
        return [bisect.bisect_right(bounds, end) for end in leaf_ends(self.text)]


@dataclass
class Case:
    id: str
    group: str  # "generated" or "corpus"
    kind: str  # records, nested, strings, numbers, corpus
    size: int  # characters (sum over streams)
    chunk: int  # characters per chunk; 0 for real token boundaries
    streams: list[Stream]


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[-0-9.eE+]+|true|false|null|[{}\[\],:]|\s+')


def leaf_ends(text: str) -> list[int]:
    """Offsets of the last character of every scalar value (not keys), in document order."""
    tokens = [(m.group(), m.end() - 1) for m in _TOKEN.finditer(text) if not m.group()[0].isspace()]
    ends = []
    for i, (tok, end) in enumerate(tokens):
        if tok in "{}[],:":
            continue
        if tok[0] == '"' and i + 1 < len(tokens) and tokens[i + 1][0] == ":":
            continue  # a key
        ends.append(end)
    return ends


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 and size >= 1000 else str(size)


def _split(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def matrix(*, quick: bool = False, corpus: bool = True) -> list[str]:
    """The case ids of a run: every kind at every size in 4-character chunks, the
    ``records`` kind also in 1-, 16- and 64-character chunks, and the corpus."""
    sizes = QUICK_SIZES if quick else SIZES
    chunks = (1, 4, 64) if quick else CHUNKS
    ids = [f"{kind}-{_label(s)}-c4" for kind in KINDS for s in sizes]
    ids += [f"records-{_label(s)}-c{c}" for c in chunks if c != 4 for s in sizes]
    if corpus:
        ids.append("corpus-real")
    return ids


@lru_cache(maxsize=4)
def _corpus_streams() -> tuple[Stream, ...]:
    from .corpus import payloads

    return tuple(Stream("".join(frags), frags) for _, frags in payloads())


def build(case_id: str) -> Case:
    """The case named ``case_id`` (deterministic: the same id gives the same text)."""
    if case_id == "corpus-real":
        streams = list(_corpus_streams())
        return Case(case_id, "corpus", "corpus", sum(len(s.text) for s in streams), 0, streams)
    kind, size_label, chunk_label = case_id.split("-")
    size = int(size_label[:-1]) * 1000 if size_label.endswith("k") else int(size_label)
    chunk = int(chunk_label[1:])
    text = generate(kind, size)
    return Case(case_id, "generated", kind, len(text), chunk, [Stream(text, _split(text, chunk), kind)])
