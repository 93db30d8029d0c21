"""The Source protocol: what every source kind implements, and the helpers they share.

A source kind is one module with one class. It declares the TOML keys it accepts
(`OPTIONS`), yields `Page`s from `pages()`, and maps one raw payload to post
fields in `map_record()`. The engine does the rest (cleaning, scoring, loading,
failures, cursors), so a source never touches the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sentitui.config.kinds import Option
from sentitui.models import Page, SourceStatus
from sentitui.processing.redact import restore_params

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig
    from sentitui.net.http import HttpClient
    from sentitui.net.scope import CredentialScope


@dataclass(slots=True)
class SourceContext:
    """What a source may use while it fetches: the shared HTTP client, its stored
    cursor from the last committed page, and ways to tell the engine what it is doing.
    `resume` holds the positions of listings an earlier run left unfinished (listing
    key -> next request, or "done"); `JsonApiSource.walk` carries on from them."""

    http: HttpClient
    cursor: dict[str, Any] = field(default_factory=dict)
    resume: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str, str], None] = field(default=lambda level, message: None)
    set_status: Callable[[SourceStatus, str], None] = field(default=lambda status, detail: None)


class ReparseUnsupported(Exception):
    pass


class SourceConfigError(ValueError):
    """The source's configuration does not fit what the run meets (no file at `path`,
    a `records` key no response has): the run fails with this message rather than
    loading nothing and saying `ok`."""


@runtime_checkable
class Source(Protocol):
    KIND: ClassVar[str]
    OPTIONS: ClassVar[dict[str, Option]]
    config: SourceConfig
    pipeline: PipelineConfig

    def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        """Yield pages until there are no more (or `max_pages`)."""
        ...

    def config_problems(self) -> list[str]:
        """Configuration mistakes found on this machine (a missing file), as messages."""
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

    def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        raise NotImplementedError

    def map_record(self, payload: Any) -> dict[str, Any]:
        raise NotImplementedError

    def config_problems(self) -> list[str]:
        """Mistakes only the machine can show (a missing file), for `validate` and the
        start of a run; the TOML itself was checked when it was loaded."""
        return []

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        raise ReparseUnsupported(f"{self.KIND} sources cannot re-parse a stored page")

    def credential_scope(self) -> CredentialScope | None:
        """Where the source's headers and key parameters may be sent (net/scope.py);
        None for sources that send none."""
        return None

    async def refetch(self, ctx: SourceContext, url: str) -> Page:
        """Fetch one stored URL again (retrying a fetch failure) with the source's own
        headers, so token-protected APIs get their credentials, but only inside the
        source's credential scope; parameters redacted when recorded are restored
        from its configuration."""
        url = restore_params(url, self.options.get("params"))
        response = await ctx.http.get(
            url,
            headers=self.options.get("headers") or None,
            retries=1,
            timeout=self.config.timeout,
            scope=self.credential_scope(),
        )
        return self.reparse(response.text(), {"url": url})

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        return None

    @classmethod
    def check_config(cls, config: SourceConfig) -> list[str]:
        """Problems the key-by-key checks of `OPTIONS` cannot see; none by default."""
        return []


# ---- credential scope ------------------------------------------------------------------

ALLOWED_HOSTS = Option(
    (list,),
    shape=list[str],
    doc="other hosts (host, host:port or https://host:port) that pagination links and "
    "redirects may go to, with the source's credentials",
)


def check_allowed_hosts(config: Any) -> list[str]:
    hosts = config.get("allowed_hosts")
    if hosts is None:
        return []
    bad = [h for h in hosts if not isinstance(h, str) or not h.strip()]
    if bad:
        return [f"key 'allowed_hosts' must be a list of host names, not {bad[0]!r} in it"]
    return []


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


class _Token(str):
    """Literal JSON text on `dump_json`'s work stack (as opposed to a value to encode)."""


def dump_json(value: Any, *, ensure_ascii: bool = False) -> str:
    """`json.dumps` for data from outside that never raises: a record nested deeper than
    Python's recursion limit is written out with an explicit stack instead (the same
    text json.dumps writes), and anything JSON has no form for as its `str()`."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii, default=str)
    except (RecursionError, ValueError):
        pass
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            out.append(item)
        elif isinstance(item, dict):
            parts: list[Any] = [_Token("{")]
            for index, (key, child) in enumerate(item.items()):
                name = json.dumps(str(key), ensure_ascii=ensure_ascii)
                parts += [_Token((", " if index else "") + name + ": "), child]
            stack.extend(reversed([*parts, _Token("}")]))
        elif isinstance(item, list | tuple):
            parts = [_Token("[")]
            for index, child in enumerate(item):
                parts += [_Token(", ")] if index else []
                parts.append(child)
            stack.extend(reversed([*parts, _Token("]")]))
        else:
            try:
                out.append(json.dumps(item, ensure_ascii=ensure_ascii, default=str))
            except ValueError:  # NaN and infinities are not JSON
                out.append(json.dumps(str(item), ensure_ascii=ensure_ascii))
    return "".join(out)


# ---- values from outside ------------------------------------------------------------------


def scalar_id(value: Any) -> str | None:
    """An id, cursor or link from a raw record as text; None unless it is a string or a
    number: a record's "id" may be anything (an object, a list nested 1,000 deep), and
    one bad value must not stop the paging that reads it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def count_of(value: Any) -> int | None:
    """A total from a response ("nbPages", "total") as a whole number, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value) if isinstance(value, int | str) else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


# ---- dotted paths ----------------------------------------------------------------------

_MISSING = object()
_INDEX = re.compile(r"-?[0-9]+")  # ASCII digits only: int() refuses "²", isdigit() does not


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path ("user.name", "items.0.id") through dicts and lists.

    An empty path returns the data itself, so `records = ""` means a top-level list.
    """
    if path == "" or path is None:
        return data
    if "." not in path and isinstance(data, dict):  # most paths: one key, once per field a record
        current = data.get(path, _MISSING)
        return default if current is _MISSING else current
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and _INDEX.fullmatch(part):
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
