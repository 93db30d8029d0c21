"""`kind = "facebook"`: what people say on the brand's own Page — posts on its feed, the
comments under them (replies included, `filter=stream`) and posts that tag the Page.
Facebook offers no hashtag search; a Page access token reads the Page's own content.

- `GET /{page-id}/feed` lists posts; on later runs `since` (the unix time of the last
  run's start) makes it list the posts *updated* since then, which includes old posts
  that got new comments. Their comments are read with the same `since` (creation
  time), so only new comments come back. Feed posts are handed on only when they were
  created since the last run; older ones were handed on before.
- `GET /{page-id}/tagged` lists posts that mention the Page, with the same `since`.
- The cursor (`since`) advances only when the whole run has been read, with a final
  empty page: a run that stops halfway is read again, as counted duplicates.
Each comment keeps the id of the post it answers (`segments.post`). Rate limits and
errors: see graph.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sentitui.models import Page
from sentitui.processing.clean import CleanError, parse_time
from sentitui.sources.base import Option, SourceContext, scalar_id
from sentitui.sources.presets.common import as_object, segments
from sentitui.sources.presets.graph import GraphPreset, graph_options

POST_FIELDS = "id,message,created_time,updated_time,permalink_url,from"
COMMENT_FIELDS = "id,message,created_time,from,like_count,permalink_url,parent{id}"
EDGES = ("feed", "comments", "tagged")
CLOCK_SKEW = 60  # seconds taken off the run's start time, so a slow clock loses nothing


class FacebookSource(GraphPreset):
    KIND = "facebook"
    OPTIONS = graph_options(
        page_id=Option((str, int), required=True, doc="the brand's Page id"),
        include=Option(
            (list,), default=["feed", "comments"], doc='any of "feed", "comments", "tagged"'
        ),
    )

    RESUMABLE = False  # a stopped run reads the whole window again (see above)

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        include = config.get("include", ["feed", "comments"])
        unknown = [e for e in include if e not in EDGES]
        if unknown or not include:
            return [
                f"key 'include' must list some of {', '.join(EDGES)} (not {unknown or include})"
            ]
        return []

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        return None  # set by the run's last page, see pages()

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        started = int(time.time())
        since = ctx.cursor.get("since")
        include = self.config.options.get("include", ["feed", "comments"])
        page_id = self.config.options["page_id"]
        window = {"since": since} if since else {}
        headers = self.options["headers"]

        if "feed" in include or "comments" in include:
            feed = self.endpoint_url(f"/{page_id}/feed")
            async for page in self.walk(
                ctx, feed, {"fields": POST_FIELDS, "limit": 100, **window}, headers
            ):
                if "feed" in include:
                    new = [p for p in page.records if since is None or created_since(p, since)]
                    if new or page.failures:
                        yield Page(records=new, url=page.url, failures=page.failures)
                if "comments" in include:
                    for post in page.records:
                        post_id = scalar_id(post.get("id")) if isinstance(post, dict) else None
                        if post_id:
                            async for comments in self.comments(ctx, post_id, window):
                                yield comments
        if "tagged" in include:
            tagged = self.endpoint_url(f"/{page_id}/tagged")
            async for page in self.walk(
                ctx, tagged, {"fields": POST_FIELDS, "limit": 100, **window}, headers
            ):
                yield page
        # Everything up to the run's start has been read: later runs ask only for newer.
        yield Page(records=[], url="", cursor={**ctx.cursor, "since": started - CLOCK_SKEW})

    async def comments(
        self, ctx: SourceContext, post_id: str, window: dict[str, Any]
    ) -> AsyncIterator[Page]:
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "limit": 100, **window}
        url = self.endpoint_url(f"/{post_id}/comments")
        async for page in self.walk(ctx, url, params, self.options["headers"]):
            records = [
                {**c, "post_id": post_id} if isinstance(c, dict) else c for c in page.records
            ]
            yield Page(records=records, url=page.url, failures=page.failures)

    def map_record(self, payload: Any) -> dict[str, Any]:
        item = as_object(payload)
        post_id = item.get("post_id")
        author = item.get("from") or {}
        return {
            "id": item.get("id") or comment_id(item.get("permalink_url"), post_id),
            "text": item.get("message"),
            "author": author.get("id") or author.get("name"),
            "created_at": item.get("created_time"),
            "url": item.get("permalink_url"),
            "segments": segments(type="comment" if post_id else "post", post=post_id),
        }


def created_since(post: Any, since: int) -> bool:
    """True unless the post's created_time is known and older than `since` (unix)."""
    try:
        created = parse_time((post or {}).get("created_time")) if isinstance(post, dict) else None
    except CleanError:
        return True
    if created is None:
        return True
    return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() >= since


def comment_id(permalink: Any, post_id: Any) -> str | None:
    """A comment's Graph id ("{post}_{comment}") from its permalink, for records that
    came without `id` (the recorded responses in the fixtures are such)."""
    if not isinstance(permalink, str):
        return None
    query = parse_qs(urlsplit(permalink).query)
    found = (query.get("reply_comment_id") or query.get("comment_id") or [""])[0]
    if not found:
        return None
    return f"{str(post_id).split('_')[-1]}_{found}" if post_id else found
