"""Decoding text from outside: the declared encoding (UTF-8 by default) first, and
Windows-1252 for the bytes that do not fit it.

Exports from spreadsheets and old shop systems mix the two: a UTF-8 file with a
few cp1252 quotes or accented letters pasted in. Replacing those bytes with U+FFFD
loses the letters; decoding the whole file as cp1252 turns every UTF-8 letter into
mojibake. The `sentitui-cp1252` error handler decodes just the offending bytes as
cp1252, so "Caf\\xe9" reads "Café" and the UTF-8 around it stays as it was.
"""

from __future__ import annotations

import codecs

FALLBACK = "sentitui-cp1252"


def _cp1252_for_undecodable(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


codecs.register_error(FALLBACK, _cp1252_for_undecodable)


def decode(data: bytes, encoding: str | None = None) -> str:
    """Bytes -> text: `encoding` (UTF-8 when None or unknown), cp1252 for stray bytes."""
    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    return data.decode(encoding, errors=FALLBACK)
