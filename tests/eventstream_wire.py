"""An AWS event-stream encoder for the tests: binary Bedrock bodies from decoded events.

Written from the format's description (prelude: total length, headers length,
CRC32 of those 8 bytes; typed headers; payload; CRC32 of everything before),
not from fieldstream's decoder; botocore's parser checks it in test_eventstream.py.
The headers of an event are the three Bedrock sends, in its order.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus" / "streams" / "bedrock"
RECORDED = sorted(CORPUS.glob("*.eventstream"))  # real bodies, byte for byte
CHUNK_LISTS = sorted(CORPUS.glob("*.chunks.txt"))  # decoded events, one per line

# Header value types: (type id, struct format) for the fixed-size ones.
_FIXED = {"byte": (2, ">b"), "short": (3, ">h"), "int": (4, ">i"), "long": (5, ">q"), "timestamp": (8, ">q")}


def header(name: str, value: Any, kind: str | None = None) -> bytes:
    """One header; ``kind`` picks the type (default: bool, string or byte array by value)."""
    raw = name.encode("utf-8")
    out = bytes([len(raw)]) + raw
    if kind is None:
        kind = "bool" if isinstance(value, bool) else "bytes" if isinstance(value, bytes) else "string"
    if kind == "bool":
        return out + bytes([0 if value else 1])
    if kind in _FIXED:
        code, fmt = _FIXED[kind]
        return out + bytes([code]) + struct.pack(fmt, value)
    if kind == "uuid":
        assert len(value) == 16
        return out + b"\x09" + value
    data = value if kind == "bytes" else value.encode("utf-8")
    return out + bytes([6 if kind == "bytes" else 7]) + struct.pack(">H", len(data)) + data


def message(headers: bytes, payload: bytes) -> bytes:
    """One framed message around already encoded ``headers``."""
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(kind: str, payload: Any) -> bytes:
    """A Bedrock event message: ``:event-type``, ``:content-type``, ``:message-type``."""
    headers = header(":event-type", kind) + header(":content-type", "application/json")
    headers += header(":message-type", "event")
    return message(headers, json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def exception(kind: str, text: str, **extra: Any) -> bytes:
    """A Bedrock exception message (``throttlingException``, ...)."""
    headers = header(":exception-type", kind) + header(":content-type", "application/json")
    headers += header(":message-type", "exception")
    return message(headers, json.dumps({"message": text, **extra}).encode("utf-8"))


def body_from_events(events: list[dict[str, Any]]) -> bytes:
    """A binary body from ``{event type: payload}`` dicts (boto3's and vercel/ai's shape)."""
    out = b""
    for item in events:
        ((kind, payload),) = item.items()
        out += event(kind, payload)
    return out


def chunk_list(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def bodies() -> list[tuple[str, bytes]]:
    """Every Bedrock test body: the recorded ones as they are, the chunk lists encoded."""
    out = [(p.name, p.read_bytes()) for p in RECORDED]
    out += [(p.name, body_from_events(chunk_list(p))) for p in CHUNK_LISTS]
    return out
