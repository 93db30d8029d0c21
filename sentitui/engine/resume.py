"""Where a source's paging stands, kept in `source_state.cursor` with every page.

A newest-first service hands its newest post on page 1. If that post moved the
polling cursor at once, a run stopped after page 1 would leave the older pages
unread for ever. So while a run pages, the stored cursor is

    {...the polling cursor as it was when the paging began...,
     "backfill": {"walks": {listing key: next request | "done"},
                  "pending": {...the polling cursor once the paging is done...}}}

Later runs resume every unfinished listing from its next request (sources/json_api.py
`walk`) and poll with the cursor from before the paging began, so nothing between is
skipped. Only when the paging is exhausted (or reaches `max_pages`) does `pending`
become the polling cursor and "backfill" go away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sentitui.models import Page
from sentitui.sources.base import Source

KEY = "backfill"


@dataclass(slots=True)
class Backfill:
    """The cursor a runner persists with each page, and the one it promotes at the end."""

    base: dict[str, Any]  # polling cursor committed before this paging began
    pending: dict[str, Any]  # what `base` becomes once the paging is exhausted
    walks: dict[str, Any] = field(default_factory=dict)  # listing key -> position
    touched: dict[str, str] = field(default_factory=dict)  # listings this run read -> last URL
    resumed: bool = False  # an earlier run left this paging unfinished

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Backfill:
        base = {k: v for k, v in stored.items() if k != KEY}
        state = stored.get(KEY)
        if not isinstance(state, dict):
            return cls(base=base, pending=dict(base))
        walks = state.get("walks")
        pending = state.get("pending")
        return cls(
            base=base,
            pending=dict(pending) if isinstance(pending, dict) else dict(base),
            walks=dict(walks) if isinstance(walks, dict) else {},
            resumed=True,
        )

    def after(
        self,
        page: Page,
        source: Source,
        fields: list[dict[str, Any]],
        log: Callable[[str, str], None] | None = None,
    ) -> dict[str, Any]:
        """The cursor to commit with this page: positions move, the polling cursor waits.
        A cursor the source sets itself (file offsets, a looked-up id) is its own
        business and is committed as given."""
        if page.cursor is not None:
            given = {k: v for k, v in page.cursor.items() if k != KEY}
            self.base = dict(given)
            self.pending = {**self.pending, **given}
        try:
            advanced = source.next_cursor(self.pending, fields)
        except Exception as exc:  # one odd value must not wedge the source: keep the cursor
            if log is not None:
                log("ERROR", f"cursor not advanced on this page: {type(exc).__name__}: {exc}")
            advanced = None
        if advanced is not None:
            self.pending = {k: v for k, v in advanced.items() if k != KEY}
        if page.position:
            self.walks.update(page.position)
            self.touched.update(dict.fromkeys(page.position, page.url))
        if not self.walks and self.pending == self.base:
            return dict(self.base)
        return {**self.base, KEY: {"walks": self.walks, "pending": self.pending}}

    def stopped_at(self) -> str | None:
        """Where this run left a listing unfinished, or None when every listing it read
        went to its end. The query is left out: it may hold a key."""
        for key, url in self.touched.items():
            position = self.walks.get(key)
            if position != "done":
                pages = position.get("pages", 0) if isinstance(position, dict) else 0
                return f"page {pages + 1} of {urlsplit(url).path or 'the listing'}"
        return None

    def finished(self) -> dict[str, Any] | None:
        """The promoted polling cursor once the paging is exhausted (None: no change)."""
        if not self.resumed and not self.walks and self.pending == self.base:
            return None
        return dict(self.pending)
