"""How the CLI prints what came from sources and the database: every line through
`safe` (secrets redacted, no terminal escapes), failed records' payloads shown as text
a terminal can take."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentitui.store.rows import FailedRecordDetail, FailedRecordRow

SHOW_CHARS = 20_000  # characters of a payload `failed show` prints (--json: all of it)
_BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


def safe(text: str) -> str:
    """Every line the CLI prints: secrets redacted, no escapes (processing/redact.py)."""
    from sentitui.processing.redact import safe_line

    return safe_line(text or "")


def redacted(record: FailedRecordRow | FailedRecordDetail) -> dict[str, Any]:
    """A failed record for --json: its error and context with secrets redacted (rows
    written before redaction existed may hold them); the payload stays as received."""
    from sentitui.processing.redact import redact
    from sentitui.store.rows import plain

    row: dict[str, Any] = plain(record)
    return {**row, **{k: redact(row[k]) for k in ("error", "context") if row.get(k)}}


def pretty_payload(payload: str) -> str:
    """The payload for a terminal: JSON indented, at most SHOW_CHARS of it, and bytes
    that are not text (a compressed body, an image) escaped instead of drawn."""
    head = payload[:SHOW_CHARS]
    sample = head[:4096]
    if sample and len(_BINARY.findall(sample)) > len(sample) / 10:
        return "(binary, shown escaped)\n" + head.encode("unicode_escape").decode("ascii")
    if len(payload) <= SHOW_CHARS:
        try:
            return safe(json.dumps(json.loads(payload), indent=2, ensure_ascii=False))
        except (ValueError, TypeError, RecursionError):
            pass
    return safe(head)
