"""`kind = "reddit"`: search, `GET /search.json` or `/r/SUB/search.json`, newest first.

Reddit has no "since" parameter: every run asks for `sort=new` and pages with
`after` (a fullname), and stops at the first page that reaches the newest post the
last run saw (its fullname, or anything older, in case that post was deleted).
The overlap on that page lands as counted duplicates. Listings end after about
1,000 items, so the first run's backfill is bounded by that too.
`X-Ratelimit-Reset` is seconds until the window resets; `X-Ratelimit-Remaining`
is a fraction.

A crosspost is mapped to the post it shares (`crosspost_parent`), so it lands once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sentitui.net.http import AuthError, Response
from sentitui.net.ratelimit import RateLimitRules
from sentitui.sources import credentials
from sentitui.sources.base import Option, SourceContext
from sentitui.sources.json_api import comparable
from sentitui.sources.presets.common import (
    CURSOR_FIELD,
    SocialPreset,
    as_object,
    joined,
    preset_options,
    segments,
)

DELETED = ("[deleted]", "[removed]")


class RedditSource(SocialPreset):
    KIND = "reddit"
    OPTIONS = preset_options(
        "https://www.reddit.com",
        query=Option((str,), required=True, doc="Reddit search syntax"),
        subreddit=Option((str,), doc="search only this subreddit (without r/)"),
        token=Option((str,), doc='OAuth bearer token; use base_url = "https://oauth.reddit.com"'),
        client_id=Option((str,), doc='OAuth app id: "${REDDIT_CLIENT_ID}" (token renewed itself)'),
        client_secret=Option((str,), doc='OAuth app secret: "${REDDIT_CLIENT_SECRET}"'),
        username=Option((str,), doc="script app: the account (password grant)"),
        password=Option((str,), doc='script app: "${REDDIT_PASSWORD}"'),
        token_url=Option((str,), default=credentials.REDDIT_TOKEN_URL, doc="OAuth token endpoint"),
        limit=Option(
            (int,),
            default=100,
            doc="posts per page (Reddit's maximum: 100)",
            minimum=1,
            maximum=100,
        ),
    )
    RECORDS = "data.children"
    PAGINATION = {"type": "cursor", "cursor_path": "data.after", "param": "after"}
    RATE_LIMIT = RateLimitRules(reset="delta")
    SECRETS = ("token", "client_secret")

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        if bool(config.get("client_id")) != bool(config.get("client_secret")):
            return ["keys 'client_id' and 'client_secret' go together"]
        return []

    def uses_oauth(self) -> bool:
        return bool(self.config.options.get("client_id"))

    async def fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        """With client credentials: a fresh bearer token on every request; one refused
        (401/403) is obtained again once before the request fails."""
        if not self.uses_oauth():
            return await super().fetch(ctx, url, params, headers)
        where = (self.pipeline.name, self.config.name)
        token = await credentials.reddit_token(ctx, self.config.options, where)
        try:
            return await super().fetch(
                ctx, url, params, {**headers, "Authorization": f"Bearer {token}"}
            )
        except AuthError:
            credentials.forget(credentials.reddit_key(self.config.options))
        token = await credentials.reddit_token(ctx, self.config.options, where)
        return await super().fetch(
            ctx, url, params, {**headers, "Authorization": f"Bearer {token}"}
        )

    def endpoint_url(self, path: str) -> str:
        sub = str(self.config.options.get("subreddit") or "").removeprefix("r/").strip("/")
        if self.uses_oauth() and self.config.options["base_url"] == "https://www.reddit.com":
            path = f"/r/{quote(sub, safe='')}/search.json" if sub else "/search.json"
            return "https://oauth.reddit.com" + path  # OAuth requests go to this host
        return super().endpoint_url(
            f"/r/{quote(sub, safe='')}/search.json" if sub else "/search.json"
        )

    def base_params(self) -> dict[str, Any]:
        params = {
            "q": self.config.options["query"],
            "sort": "new",
            "type": "link",
            "limit": self.config.options.get("limit", 100),
            "raw_json": 1,
        }
        if self.config.options.get("subreddit"):
            params["restrict_sr"] = 1
        return params

    def request_params(self, ctx: SourceContext) -> dict[str, Any]:
        self._last_seen = (ctx.cursor.get("since"), ctx.cursor.get("last"))
        return super().request_params(ctx)

    def record_id(self, record: Any) -> Any:
        data = record.get("data") if isinstance(record, dict) else None
        return data.get("name") if isinstance(data, dict) else None

    def stop_after(self, records: list[Any]) -> bool:
        since, last = getattr(self, "_last_seen", (None, None))
        reached = False
        for record in records:
            data = (record.get("data") if isinstance(record, dict) else None) or {}
            created = data.get("created_utc")
            if data.get("name") == last or (
                since is not None
                and isinstance(created, int | float)
                and comparable(created) < comparable(since)
            ):
                reached = True
        return super().stop_after(records) or reached

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The newest post handed on: its time and fullname mark where the next run stops."""
        candidates = [f for f in loaded_fields if f.get(CURSOR_FIELD) is not None]
        if not candidates:
            return None
        top = max(candidates, key=lambda f: comparable(f[CURSOR_FIELD]))
        if cursor.get("since") is not None and comparable(top[CURSOR_FIELD]) <= comparable(
            cursor["since"]
        ):
            return None
        return {**cursor, "since": top[CURSOR_FIELD], "last": top["_fullname"]}

    def map_record(self, payload: Any) -> dict[str, Any]:
        own = as_object(as_object(payload).get("data"))
        shared = (own.get("crosspost_parent_list") or [None])[0]
        post = shared if own.get("crosspost_parent") and isinstance(shared, dict) else own
        author = post.get("author")
        return {
            "id": own.get("crosspost_parent") or own.get("name"),
            # A link (t3) is its title and self text; a comment (t1) its body.
            "text": joined(post.get("title"), post.get("selftext"), post.get("body")),
            "author": None if author in DELETED else author,
            "created_at": post.get("created_utc"),
            "url": f"https://www.reddit.com{post['permalink']}"
            if post.get("permalink")
            else post.get("url"),
            "segments": segments(subreddit=post.get("subreddit")),
            CURSOR_FIELD: own.get("created_utc"),
            "_fullname": own.get("name"),
        }
