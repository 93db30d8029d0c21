"""`kind = "hackernews"`: Algolia's HN search, `GET /api/v1/search_by_date`, newest first.

Pages are numbered from 0 up to `nbPages`; later runs add
`numericFilters=created_at_i>N` with N the newest creation time seen. Stories
become title + text, comments their comment text. No login and no rate-limit
headers (Algolia allows 10,000 requests an hour per IP).
"""

from __future__ import annotations

from typing import Any

from sentitui.sources.base import Option
from sentitui.sources.presets.common import (
    CURSOR_FIELD,
    SocialPreset,
    as_object,
    joined,
    preset_options,
    segments,
)

KINDS = ("story", "comment", "poll", "pollopt", "job")


class HackerNewsSource(SocialPreset):
    KIND = "hackernews"
    OPTIONS = preset_options(
        "https://hn.algolia.com",
        query=Option((str,), required=True),
        tags=Option((str,), default="(story,comment)", doc="Algolia tags filter"),
        hits_per_page=Option((int,), default=100),
    )
    ENDPOINT = "/api/v1/search_by_date"
    RECORDS = "hits"
    PAGINATION = {"type": "page", "param": "page", "start": 0, "total_path": "nbPages"}
    SINCE_PARAM = "numericFilters"
    SECRETS = ()

    def base_params(self) -> dict[str, Any]:
        return {
            "query": self.config.options["query"],
            "tags": self.config.options.get("tags", "(story,comment)"),
            "hitsPerPage": self.config.options.get("hits_per_page", 100),
        }

    def since_value(self, stored: Any) -> str:
        return f"created_at_i>{stored}"

    def record_id(self, record: Any) -> Any:
        return record.get("objectID") if isinstance(record, dict) else None

    def auth_hint(self) -> str:
        return "the HN search API needs no credentials: check base_url"

    def map_record(self, payload: Any) -> dict[str, Any]:
        hit = as_object(payload)
        kind = next((t for t in hit.get("_tags") or [] if t in KINDS), None)
        return {
            "id": hit.get("objectID"),
            "text": joined(hit.get("title"), hit.get("story_text"), hit.get("comment_text")),
            "author": hit.get("author"),
            "created_at": hit.get("created_at_i", hit.get("created_at")),
            "url": f"https://news.ycombinator.com/item?id={hit.get('objectID')}",
            "segments": segments(type=kind),
            CURSOR_FIELD: hit.get("created_at_i"),
        }
