"""An estimate of the output tokens a stream delivered, for streams that never said.

A stream cut by the network or cancelled by the user usually ends before the
provider's final usage chunk: OpenAI-compatible providers then report nothing,
Anthropic only the input tokens of ``message_start``.  Everything the model did
deliver went through the decoder, though, so its size can be estimated offline
(no tokenizer vocabulary is needed or downloaded).

The approximation: text is cut into pieces the way BPE pre-tokenizers do (a
letter run with its leading space or punctuation mark, up to three digits, a
punctuation run, a whitespace run); a piece of ``n`` characters counts as
``ceil(n / 4)`` tokens, at least one.  A tool call adds its name and a small fixed
cost for the call's framing.  The error against provider-reported counts on the
recorded corpus is published in ``docs/timeline.md`` (``python -m benchmarks.usage_estimate``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ESTIMATE_METHOD", "estimate_tokens", "usage_estimate"]

#: Names the approximation in every estimate, so a later, better one can be told apart.
ESTIMATE_METHOD = "pieces/4"
_CHARS_PER_TOKEN = 4
#: Tokens a tool call costs beyond its name and arguments (call markers, ids).
_TOOL_CALL_TOKENS = 5
_PIECE = re.compile(r"'(?:[sdmt]|ll|ve|re)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+", re.IGNORECASE)


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (see the module docstring for how).

    >>> estimate_tokens("Hello, world!")
    5
    >>> estimate_tokens("")
    0
    """
    tokens = 0
    for match in _PIECE.finditer(text):
        start, end = match.span()
        tokens += 1 if text[start].isspace() else max(1, math.ceil((end - start) / _CHARS_PER_TOKEN))
    return tokens


def usage_estimate(texts: Iterable[str], tool_names: Iterable[str | None] = ()) -> dict[str, Any]:
    """The ``usage_estimate`` of a stream that did not complete: delivered output, estimated.

    ``texts`` are the raw texts received per target (content, reasoning, tool
    arguments), ``tool_names`` one entry per tool call.  The result is kept apart
    from the provider's own ``usage`` and says it is an estimate.
    """
    characters = tokens = 0
    for text in texts:
        characters += len(text)
        tokens += estimate_tokens(text)
    for name in tool_names:
        tokens += _TOOL_CALL_TOKENS + estimate_tokens(name or "")
    return {"output_tokens": tokens, "output_characters": characters, "estimated": True, "method": ESTIMATE_METHOD}
