"""Turning untrusted strings into things that are safe to draw.

Source text (posts, payloads, error messages that quote them) is only ever shown
as a `rich.text.Text`, never as a markup string, and with terminal control
characters removed first: `[bold red]FAKE[/]` stays literal and `\\x1b[2J` cannot
clear the screen.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from sentitui.processing.clean import strip_controls

# Payloads larger than this are cut for display (the file copy keeps them whole).
MAX_PAYLOAD_CHARS = 100_000
# A stored text longer than this (a post, an error) is cut for a detail pane: laying
# out megabytes of text would freeze the console.
MAX_TEXT_CHARS = 20_000
PLACEHOLDER = "?"  # drawn where a stored value cannot be shown as what it claims to be


def safe(value: Any) -> str:
    """A display-safe plain string (no escapes, no control characters)."""
    return strip_controls("" if value is None else str(value))


def fmt(value: Any, spec: str, placeholder: str = PLACEHOLDER) -> str:
    """`format(value, spec)`, or the placeholder when the stored value is not what the
    spec expects (SQLite keeps any type in any column: a polarity may be a string)."""
    if isinstance(value, str | bytes):
        return placeholder
    try:
        return format(value, spec)
    except (TypeError, ValueError, OverflowError):
        return placeholder


def capped(value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """`safe(value)` cut at `limit` characters, saying how many more there are."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return safe(text)
    return safe(text[:limit]) + f"\n… {len(text) - limit:,} more characters"


def cell(value: Any, limit: int = 120, style: str = "") -> Text:
    """One line of untrusted text for a table cell: no newlines, cut at `limit`."""
    raw = "" if value is None else str(value)
    text = " ".join(safe(raw[: limit * 4]).split())  # cut first: a value may be megabytes
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def payload_kind(payload: str) -> str:
    """ "json", "html" or "text": how the failed-record pane highlights a payload."""
    if not isinstance(payload, str):  # a BLOB stored where text was expected
        return "text"
    stripped = payload.lstrip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            json.loads(payload)
            return "json"
        except (ValueError, RecursionError):  # RecursionError: nested 100,000 deep
            pass
    if stripped[:1] == "<":
        return "html"
    return "text"


def render_payload(payload: str | None, *, dark: bool = True) -> RenderableType:
    """A raw payload as received: JSON pretty-printed and highlighted, HTML as HTML."""
    payload = payload if isinstance(payload, str) else safe(payload)
    kind = payload_kind(payload)
    if kind == "json":
        try:
            payload = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):
            kind = "text"
    shown = safe(payload)
    note = ""
    if len(shown) > MAX_PAYLOAD_CHARS:
        note = (
            f"\n… {len(shown) - MAX_PAYLOAD_CHARS:,} more characters (c copies the whole payload)"
        )
        shown = shown[:MAX_PAYLOAD_CHARS]
    if kind == "text":
        return Text(shown + note)
    from rich.syntax import Syntax  # with Pygments: 14 ms the console's start need not wait

    theme = "ansi_dark" if dark else "ansi_light"
    syntax = Syntax(shown + note, kind, theme=theme, word_wrap=True, background_color="default")
    return syntax
