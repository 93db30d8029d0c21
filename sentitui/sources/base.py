"""The Source protocol: what every source kind implements, and the helpers they share.

A source kind is one module with one class. It declares the TOML keys it accepts
(`OPTIONS`), yields `Page`s from `pages()`, and maps one raw payload to post
fields in `map_record()`. The engine does the rest (cleaning, scoring, loading,
failures, cursors), so a source never touches the store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sentitui.models import Page, SourceStatus

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig
    from sentitui.net.http import HttpClient


@dataclass(frozen=True, slots=True)
class Option:
    """One TOML key a source kind accepts; config.py validates against these."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""
    minimum: float | None = None  # numbers below it are a config error
    maximum: float | None = None  # numbers above it are a config error (a service's page cap)


@dataclass(slots=True)
class SourceContext:
    """What a source may use while it fetches: the shared HTTP client, its stored
    cursor from the last committed page, and ways to tell the engine what it is doing.
    `resume` holds the positions of listings an earlier run left unfinished (listing
    key -> next request, or "done"); `JsonApiSource.walk` carries on from them."""

    http: HttpClient
    cursor: dict[str, Any] = field(default_factory=dict)
    resume: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str, str], None] = lambda level, message: None
    set_status: Callable[[SourceStatus, str], None] = lambda status, detail="": None


class ReparseUnsupported(Exception):
    pass


@runtime_checkable
class Source(Protocol):
    KIND: ClassVar[str]
    OPTIONS: ClassVar[dict[str, Option]]
    config: SourceConfig
    pipeline: PipelineConfig

    def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        """Yield pages until there are no more (or `max_pages`)."""
        ...

    def map_record(self, payload: Any) -> dict[str, Any]:
        """Raw payload -> post fields (id, text, author, created_at, url, lang, rating,
        segments). Missing fields are left out; clean() decides what is required."""
        ...

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        """Turn a stored page body back into a Page (used to retry parse failures)."""
        ...

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The cursor to persist after a page whose posts had these mapped fields."""
        ...

    async def refetch(self, ctx: SourceContext, url: str) -> Page:
        """Fetch one URL again and parse it (used to retry a fetch failure)."""
        ...


class BaseSource:
    """Defaults shared by the source kinds; subclasses set KIND and OPTIONS."""

    KIND: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {}

    def __init__(self, config: SourceConfig, pipeline: PipelineConfig) -> None:
        self.config = config
        self.pipeline = pipeline

    @property
    def options(self) -> dict[str, Any]:
        return self.config.options

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        raise ReparseUnsupported(f"{self.KIND} sources cannot re-parse a stored page")

    async def refetch(self, ctx: SourceContext, url: str) -> Page:
        """Fetch one stored URL again (retrying a fetch failure) with the source's own
        headers, so token-protected APIs get their credentials."""
        response = await ctx.http.get(
            url, headers=self.options.get("headers") or None, retries=1, timeout=self.config.timeout
        )
        return self.reparse(response.text(), {"url": url})

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        return None


# ---- JSON from outside -----------------------------------------------------------------


def parse_json(text: str | bytes) -> Any:
    """`json.loads` for data from outside. JSON nested deeper than Python's recursion
    limit (about 1,000 levels) raises json.JSONDecodeError like any other unreadable
    JSON, instead of a RecursionError that would take the whole run down. A leading
    byte-order mark (some Windows servers send one) is skipped, as RFC 8259 allows."""
    if isinstance(text, str) and text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text)
    except RecursionError:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(
            "nested too deeply to read (more than about 1,000 levels)", doc, 0
        ) from None


# ---- dotted paths ----------------------------------------------------------------------

_MISSING = object()


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path ("user.name", "items.0.id") through dicts and lists.

    An empty path returns the data itself, so `records = ""` means a top-level list.
    """
    if path == "" or path is None:
        return data
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current


def map_fields(payload: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Apply a `fields` table (post field -> dotted path, with a nested `segments` table)."""
    out: dict[str, Any] = {}
    for name, path in fields.items():
        if name == "segments" and isinstance(path, dict):
            segments = {}
            for seg_name, seg_path in path.items():
                value = get_path(payload, seg_path)
                if value not in (None, ""):
                    segments[seg_name] = value
            out["segments"] = segments
            continue
        value = get_path(payload, path)
        if value is not None:
            out[name] = value
    return out
