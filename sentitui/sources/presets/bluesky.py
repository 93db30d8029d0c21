"""`kind = "bluesky"`: post search, `GET /xrpc/app.bsky.feed.searchPosts?sort=latest`.

Pages chain through `cursor`, which may not reach the end of a result set: paging
stops on a repeated cursor or on a page that brings no new post. Later runs send
`since`, the newest post time seen (inclusive, compared with the post's sort time,
so the newest post comes back once more as a counted duplicate). `RateLimit-Reset`
is epoch seconds. Search results never contain reposts; a quote post has its own
text and is its own post.
"""

from __future__ import annotations

from typing import Any

from sentitui.net.http import AuthError, FetchError, Response
from sentitui.net.ratelimit import RateLimitRules
from sentitui.sources import credentials
from sentitui.sources.base import Option, SourceContext, parse_json
from sentitui.sources.json_api import comparable
from sentitui.sources.presets.common import (
    CURSOR_FIELD,
    SocialPreset,
    as_object,
    check_search,
    preset_options,
    segments,
)


class BlueskySource(SocialPreset):
    KIND = "bluesky"
    OPTIONS = preset_options(
        "https://public.api.bsky.app",
        query=Option((str,), doc="search text (Lucene syntax)"),
        hashtag=Option((str,), doc="searched as #hashtag when no query is given"),
        token=Option((str,), doc='optional access JWT: "${BLUESKY_TOKEN}"'),
        handle=Option((str,), doc="log in as this account (session renewed itself)"),
        app_password=Option((str,), doc='an app password: "${BLUESKY_APP_PASSWORD}"'),
        auth_url=Option(
            (str,), default=credentials.BLUESKY_AUTH_URL, doc="the account's PDS (with handle)"
        ),
        limit=Option((int,), default=100, doc="posts per page", minimum=1, maximum=100),
    )
    ENDPOINT = "/xrpc/app.bsky.feed.searchPosts"
    RECORDS = "posts"
    PAGINATION = {"type": "cursor", "cursor_path": "cursor", "param": "cursor"}
    SINCE_PARAM = "since"
    RATE_LIMIT = RateLimitRules(reset="epoch")
    SECRETS = ("token", "app_password")

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems = check_search(config)
        if bool(config.get("handle")) != bool(config.get("app_password")):
            problems.append("keys 'handle' and 'app_password' go together")
        return problems

    def endpoint_url(self, path: str) -> str:
        """Logged in, requests go to the account's PDS (which proxies app.bsky.*)."""
        if self.config.options.get("handle"):
            return str(self.config.options["auth_url"]).rstrip("/") + path
        return super().endpoint_url(path)

    def base_params(self) -> dict[str, Any]:
        return {
            "q": self.search_text(),
            "sort": "latest",
            "limit": self.config.options.get("limit", 100),
        }

    def record_id(self, record: Any) -> Any:
        return record.get("uri") if isinstance(record, dict) else None

    async def fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        """XRPC answers an expired or invalid token with 400 ExpiredToken/InvalidToken.
        With a handle, a session's access JWT goes with every request; one refused is
        renewed once before the request fails."""
        if self.config.options.get("handle"):
            where = (self.pipeline.name, self.config.name)
            options = self.config.options
            token = await credentials.bluesky_token(ctx, options, where)
            try:
                return await self._fetch(
                    ctx, url, params, {**headers, "Authorization": f"Bearer {token}"}
                )
            except AuthError:
                credentials.forget(credentials.bluesky_key(options))
            token = await credentials.bluesky_token(ctx, options, where)
            headers = {**headers, "Authorization": f"Bearer {token}"}
        return await self._fetch(ctx, url, params, headers)

    async def _fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        try:
            return await super().fetch(ctx, url, params, headers)
        except FetchError as exc:
            if (
                isinstance(exc, AuthError)
                or exc.status != 400
                or xrpc_error(exc.body) not in AUTH_ERRORS
            ):
                raise
            raise AuthError(
                exc.url,
                f"HTTP 400 {xrpc_error(exc.body)}: {self.auth_hint()}",
                exc.status,
                exc.body,
                exc.headers,
            ) from None

    def map_record(self, payload: Any) -> dict[str, Any]:
        post = as_object(payload)
        record = post.get("record") or {}
        author = post.get("author") or {}
        langs = [lang for lang in record.get("langs") or [] if isinstance(lang, str)]
        return {
            "id": post.get("uri"),
            "text": record.get("text"),
            "author": author.get("did"),
            "created_at": record.get("createdAt"),
            "lang": langs[0] if langs else None,
            "url": web_url(post.get("uri"), author.get("handle")),
            "segments": segments(language=langs),
            # `since` compares with the sort time: the earlier of created and indexed.
            CURSOR_FIELD: sort_time(record.get("createdAt"), post.get("indexedAt")),
        }


AUTH_ERRORS = ("ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired")


def xrpc_error(body: str) -> str | None:
    try:
        error = parse_json(body).get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, str) else None


def sort_time(created: Any, indexed: Any) -> str | None:
    times = [t for t in (created, indexed) if isinstance(t, str) and t]
    return min(times, key=comparable) if times else None


def web_url(uri: Any, handle: Any) -> str | None:
    """at://did/app.bsky.feed.post/rkey -> https://bsky.app/profile/handle/post/rkey."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    did, _, rkey = uri[5:].partition("/app.bsky.feed.post/")
    return f"https://bsky.app/profile/{handle or did}/post/{rkey}" if rkey else None
