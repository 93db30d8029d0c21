"""The Facebook Graph API plumbing the `facebook` and `instagram` presets share.

- URLs are `{base_url}/{version}/…`; lists are `data` and chain through `paging.next`.
- The token travels as `Authorization: Bearer`, never as `access_token` in the URL,
  so it stays out of logs and failed records.
- Graph reports quota use in `X-App-Usage` / `X-Business-Use-Case-Usage` (percentages);
  above 90% the shared HTTP client pauses before the next request (ratelimit.py).
- Throttling errors (codes 4, 17, 32, 613, 80001) wait for the window the headers give,
  or `usage_pause` seconds, then retry; an invalid or expired token (code 190, which
  Graph sends as HTTP 400) stops the source with the variable to set.
"""

from __future__ import annotations

import time
from typing import Any

from sentitui.net.http import AuthError, FetchError, Response
from sentitui.net.ratelimit import RateLimitRules, clock, next_allowed
from sentitui.sources.base import Option, SourceContext, parse_json
from sentitui.sources.presets.common import SocialPreset, preset_options

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v26.0"
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001})
AUTH_CODES = frozenset({102, 190})  # session/token invalid or expired
PERMISSION_CODES = frozenset({10, 200})


def graph_options(**specific: Option) -> dict[str, Option]:
    return preset_options(
        GRAPH_URL,
        version=Option((str,), default=GRAPH_VERSION, doc="Graph API version"),
        token=Option((str,), required=True, doc='access token: "${FACEBOOK_PAGE_TOKEN}"'),
        token_expires=Option(
            (str,), doc='when the long-lived token expires, "2027-01-31": warned a week ahead'
        ),
        usage_pause=Option(
            (int, float),
            default=60.0,
            doc="seconds to pause when quota use is above 90% and Graph gives no time",
        ),
        **specific,
    )


def graph_error(body: str) -> dict[str, Any]:
    """`{"error": {"code": 4, "message": …}}` -> the inner object ({} when absent)."""
    try:
        error = parse_json(body).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


class GraphPreset(SocialPreset):
    RECORDS = "data"
    PAGINATION = {"type": "next_url", "path": "paging.next"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.RATE_LIMIT = RateLimitRules(
            usage_pause=float(self.config.options.get("usage_pause", 60.0))
        )

    def endpoint_url(self, path: str) -> str:
        version = str(self.config.options.get("version", GRAPH_VERSION)).strip("/")
        return super().endpoint_url(f"/{version}{path}")

    async def fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        waits = 0
        while True:
            try:
                return await super().fetch(ctx, url, params, headers)
            except FetchError as exc:
                error = graph_error(exc.body)
                code, message = error.get("code"), error.get("message", "")
                if code in THROTTLE_CODES and waits < self.config.retries:
                    waits += 1
                    await self._throttled(ctx, exc, code)
                    continue
                where = f"Graph API error {code}: {message}" if code is not None else str(exc)
                if code in AUTH_CODES or (
                    isinstance(exc, AuthError) and code not in THROTTLE_CODES
                ):
                    raise AuthError(
                        exc.url,
                        f"HTTP {exc.status} {where} — {self.auth_hint()}",
                        exc.status,
                        exc.body,
                        exc.headers,
                    ) from None
                if code in PERMISSION_CODES:
                    raise AuthError(
                        exc.url,
                        f"HTTP {exc.status} {where} — the token lacks a "
                        f"permission; {self.auth_hint()}",
                        exc.status,
                        exc.body,
                        exc.headers,
                    ) from None
                if code is not None:
                    raise FetchError(
                        exc.url, f"{exc}: {where}", exc.status, exc.body, exc.headers
                    ) from None
                raise

    async def _throttled(self, ctx: SourceContext, exc: FetchError, code: int) -> None:
        """Graph refused for quota: the HTTP client already waits when the usage headers
        say how long; otherwise pause `usage_pause` seconds here."""
        if next_allowed(exc.headers, rules=self.RATE_LIMIT) is not None:
            ctx.log("WARNING", f"Graph API throttled the source (code {code})")
            return
        delay = self.RATE_LIMIT.usage_pause
        reason = f"rate-limited until {clock(time.time() + delay)} (Graph API error {code})"
        ctx.set_status("backing_off", reason)
        ctx.log("WARNING", f"{reason} (waiting {delay:.1f}s)")
        await ctx.http.sleep(delay)
