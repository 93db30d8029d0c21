"""What every social API preset shares: a declarative description read by
`JsonApiSource`, incremental cursors kept per raw record, and small mapping helpers.

A preset subclass sets the class attributes (base URL, endpoint, where the records
are, how pages chain, which request parameter carries the increment and how the
service's rate-limit headers read) and writes `base_params()` and `map_record()`.
The paging loop, retries, rate-limit waits and failure handling are json_api's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sentitui.sources.base import (
    ALLOWED_HOSTS,
    Option,
    SourceContext,
    check_allowed_hosts,
    get_path,
    scalar_id,
)
from sentitui.sources.json_api import JsonApiSource, PageParseError, newest

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig

# Key of the mapped fields that carries a record's own increment value (its own id
# or time, not a reposted original's); `next_cursor` reads it, clean() ignores it.
CURSOR_FIELD = "_cursor"

FOLLOWER_BANDS = ((100, "<100"), (1_000, "100-1k"), (10_000, "1k-10k"), (100_000, "10k-100k"))


def followers_band(count: Any) -> str | None:
    """A follower count as a coarse band: a demographic hint that identifies no one."""
    if isinstance(count, bool) or not isinstance(count, int | float):
        return None
    for limit, band in FOLLOWER_BANDS:
        if count < limit:
            return band
    return "100k+"


def joined(*parts: Any) -> str:
    """Non-empty text parts, one paragraph each (title + body, warning + content)."""
    return "\n\n".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())


def as_object(payload: Any) -> dict[str, Any]:
    """A raw record must be a JSON object; anything else fails at the parse stage."""
    if not isinstance(payload, dict):
        raise PageParseError(f"record is {type(payload).__name__}, not a JSON object")
    return payload


def segments(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def check_search(config: Any) -> list[str]:
    """For services searched by text: a `query`, or a `hashtag` to search as #tag."""
    if not config.get("query") and not config.get("hashtag"):
        return ["key 'query' or 'hashtag' is required"]
    return []


def preset_options(base_url: str, **specific: Option) -> dict[str, Option]:
    """The keys a preset accepts: `base_url` (defaulting to the real host) plus its own."""
    return {
        "base_url": Option((str,), default=base_url, doc="the service's API root"),
        "allowed_hosts": ALLOWED_HOSTS,
        **specific,
    }


class SocialPreset(JsonApiSource):
    """A `json_api` source whose url, params, records and pagination come from the
    preset's description instead of the TOML file."""

    OPTIONS: ClassVar[dict[str, Option]] = {}
    ENDPOINT: ClassVar[str] = ""
    RECORDS: ClassVar[str] = ""
    PAGINATION: ClassVar[dict[str, Any] | None] = None
    # Request parameter that asks only for newer posts on later runs (None: the API has none).
    SINCE_PARAM: ClassVar[str | None] = None
    # Options holding secrets, named in auth errors ("set X_BEARER_TOKEN").
    SECRETS: ClassVar[tuple[str, ...]] = ("token",)

    def __init__(self, config: SourceConfig, pipeline: PipelineConfig) -> None:
        super().__init__(config, pipeline)
        self._seen_ids: set[str] = set()
        self._api = {
            **config.options,
            "url": self.endpoint_url(self.ENDPOINT),
            "params": self.base_params(),
            "headers": self.auth_headers(),
            "records": self.RECORDS,
            "pagination": self.PAGINATION,
        }

    @property
    def options(self) -> dict[str, Any]:
        return self._api

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        return check_allowed_hosts(config)

    # ---- the description -------------------------------------------------------------

    def endpoint_url(self, path: str) -> str:
        return str(self.config.options["base_url"]).rstrip("/") + path

    def base_params(self) -> dict[str, Any]:
        return {}

    def auth_headers(self) -> dict[str, str]:
        token = self.config.options.get("token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def search_text(self) -> str:
        """`query` as given, else the hashtag as the services spell a tag search."""
        query = self.config.options.get("query")
        if query:
            return str(query)
        return "#" + str(self.config.options.get("hashtag", "")).lstrip("#")

    # ---- increments ------------------------------------------------------------------

    def since_value(self, stored: Any) -> Any:
        """The stored cursor value as the service wants it in SINCE_PARAM."""
        return stored

    def request_params(self, ctx: SourceContext) -> dict[str, Any]:
        params = dict(self.options["params"])
        since = ctx.cursor.get("since")
        if self.SINCE_PARAM and since not in (None, ""):
            params[self.SINCE_PARAM] = self.since_value(since)
        return params

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Keep the newest increment value of the records handed on (loaded or duplicate)."""
        best = newest([cursor.get("since")] + [f.get(CURSOR_FIELD) for f in loaded_fields])
        if best is None or best == cursor.get("since"):
            return None
        return {**cursor, "since": best}

    # ---- paging ----------------------------------------------------------------------

    def record_id(self, record: Any) -> Any:
        """A raw record's own id, for the "page brings no new ids" stop (any value:
        `stop_after` keeps only string and number ids)."""
        return get_path(record, "id") if isinstance(record, dict) else None

    def stop_after(self, records: list[Any]) -> bool:
        """Some cursors never end (Bluesky) or repeat (Instagram): stop on a page
        whose records were all seen earlier in this run."""
        ids = {i for i in (scalar_id(self.record_id(r)) for r in records) if i is not None}
        fresh = ids - self._seen_ids
        self._seen_ids |= ids
        return bool(ids) and not fresh

    def auth_hint(self) -> str:
        names = [n for key in self.SECRETS for n in self.config.env_names(key)]
        if names:
            return f"set {', '.join(names)} to a valid credential"
        given = [key for key in self.SECRETS if self.config.options.get(key)]
        if given:
            return f"check the source's {', '.join(repr(k) for k in given)}"
        key = self.SECRETS[0]
        return f'add {key} = "${{{self.KIND.upper()}_{key.upper()}}}" to the source and set that variable'
