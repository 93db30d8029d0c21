"""`kind = "mastodon"`: a hashtag timeline, `GET /api/v1/timelines/tag/:hashtag`.

The first run backfills by following the `Link` header's `rel="next"` (older posts,
`max_id`, exclusive) up to `max_pages`. Later runs poll with `min_id` set to the
newest status seen, then follow `rel="prev"` (newer posts) until a page is empty.
`limit` is at most 40. `X-RateLimit-Reset` is an ISO 8601 time, not seconds.

A boost (reblog) is mapped to the boosted status, so it lands once per original.
Authors are `user@instance` so the same name on two servers stays two people.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from sentitui.net.http import Response
from sentitui.net.ratelimit import RateLimitRules
from sentitui.sources.base import Option, SourceContext
from sentitui.sources.json_api import page_link, parse_link_header
from sentitui.sources.presets.common import (
    CURSOR_FIELD,
    SocialPreset,
    as_object,
    followers_band,
    joined,
    preset_options,
    segments,
)
from sentitui.sources.streams.base import STREAM_OPTIONS

MAX_LIMIT = 40


class MastodonSource(SocialPreset):
    KIND = "mastodon"
    OPTIONS = preset_options(
        "https://mastodon.social",
        hashtag=Option((str,), required=True, doc="without the #"),
        token=Option((str,), doc='optional access token: "${MASTODON_TOKEN}"'),
        limit=Option(
            (int,),
            default=MAX_LIMIT,
            doc="statuses per page (Mastodon's maximum: 40)",
            minimum=1,
            maximum=MAX_LIMIT,
        ),
        stream_url=Option((str,), doc="streaming API root when not base_url (stream = true)"),
        **STREAM_OPTIONS,
    )
    RECORDS = ""
    PAGINATION = {"type": "link_header"}
    SINCE_PARAM = "min_id"
    RATE_LIMIT = RateLimitRules(reset="iso")

    def endpoint_url(self, path: str) -> str:
        tag = str(self.config.options["hashtag"]).lstrip("#")
        return super().endpoint_url(f"/api/v1/timelines/tag/{quote(tag, safe='')}")

    def base_params(self) -> dict[str, Any]:
        return {"limit": self.config.options.get("limit", MAX_LIMIT)}

    def request_params(self, ctx: SourceContext) -> dict[str, Any]:
        # Polling (a cursor exists) walks forward in time; the first run walks back.
        self._polling = ctx.cursor.get("since") not in (None, "")
        return super().request_params(ctx)

    def next_link(self, response: Response) -> str | None:
        link = parse_link_header(response.headers.get("Link")).get(
            "prev" if getattr(self, "_polling", False) else "next"
        )
        return page_link(response.url, link) if link else None

    def map_record(self, payload: Any) -> dict[str, Any]:
        own = as_object(payload)
        status = own.get("reblog") or own
        account = status.get("account") or {}
        return {
            "id": status.get("id"),
            "text": joined(status.get("spoiler_text"), status.get("content")),
            "author": handle(account),
            "created_at": status.get("created_at"),
            "lang": status.get("language"),
            "url": status.get("url") or status.get("uri"),
            "segments": segments(
                language=status.get("language"),
                followers=followers_band(account.get("followers_count")),
                instance=urlsplit(account.get("url") or "").netloc or None,
            ),
            CURSOR_FIELD: own.get("id"),
        }


def handle(account: dict[str, Any]) -> str | None:
    """`user@instance`; local accounts' `acct` has no instance, their profile URL has it."""
    acct = account.get("acct")
    if not isinstance(acct, str) or not acct:  # from the wire: may be anything
        return None
    if "@" in acct:
        return acct
    host = urlsplit(account.get("url") or "").netloc
    return f"{acct}@{host}" if host else acct
