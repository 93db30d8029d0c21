"""`kind = "instagram"`: recent media with a hashtag, Instagram Graph API
`GET /{hashtag-id}/recent_media`, after looking the hashtag id up with `ig_hashtag_search`.

An account may query at most 30 distinct hashtags per 7 days, so the hashtag id is
looked up once and kept in the source's cursor. `recent_media` covers the last 24
hours and has no "since"; its `after` cursor can repeat, so paging stops when a page
brings no new media (or repeats the previous `paging.next`). The API gives no author
for hashtag media. Rate limits and errors: see graph.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sentitui.models import Page
from sentitui.net.http import FetchError
from sentitui.sources.base import Option, SourceContext, parse_json, scalar_id
from sentitui.sources.presets.common import CURSOR_FIELD, as_object, segments
from sentitui.sources.presets.graph import GraphPreset, graph_options

MEDIA_FIELDS = "id,caption,timestamp,permalink,media_type,comments_count,like_count"


class InstagramSource(GraphPreset):
    KIND = "instagram"
    OPTIONS = graph_options(
        hashtag=Option((str,), required=True, doc="without the #"),
        user_id=Option((str, int), required=True, doc="the Instagram business account id"),
    )

    def base_params(self) -> dict[str, Any]:
        return {"user_id": str(self.config.options["user_id"]), "fields": MEDIA_FIELDS, "limit": 50}

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        tag = str(self.config.options["hashtag"]).lstrip("#").lower()
        known = ctx.cursor.get("hashtag_id") if ctx.cursor.get("hashtag") == tag else None
        hashtag_id = known or await self.hashtag_id(ctx, tag)
        url = self.endpoint_url(f"/{hashtag_id}/recent_media")
        first = True
        async for page in self.walk(ctx, url, self.request_params(ctx), self.options["headers"]):
            if first:  # remember the id, so later runs spend none of the 30-hashtag budget
                page.cursor = {**ctx.cursor, "hashtag": tag, "hashtag_id": hashtag_id}
                first = False
            yield page

    async def hashtag_id(self, ctx: SourceContext, tag: str) -> str:
        params = {"user_id": str(self.config.options["user_id"]), "q": tag}
        response = await self.fetch(
            ctx, self.endpoint_url("/ig_hashtag_search"), params, self.options["headers"]
        )
        try:
            found = parse_json(response.text()).get("data") or []
            hashtag_id = scalar_id(found[0]["id"])
            if hashtag_id is None:
                raise ValueError("no id")
            return hashtag_id
        except (ValueError, AttributeError, IndexError, KeyError, TypeError):
            raise FetchError(
                response.url,
                f"Instagram knows no hashtag #{tag} (ig_hashtag_search returned no id)",
                response.status,
                response.text(),
            ) from None

    def map_record(self, payload: Any) -> dict[str, Any]:
        media = as_object(payload)
        return {
            "id": media.get("id"),
            "text": media.get("caption"),
            "created_at": media.get("timestamp"),
            "url": media.get("permalink"),
            "segments": segments(media_type=media.get("media_type")),
            CURSOR_FIELD: media.get("timestamp"),
        }
