"""`kind = "mastodon"` with `stream = true`: the streaming API's hashtag timeline,
`GET /api/v1/streaming/hashtag?tag=…` (server-sent events).

`update` carries a status as JSON, `delete` a status id, `:` lines are heartbeats.
On every (re)connect the stream is opened first and then the gap is back-filled
from the REST timeline with `min_id` set to the newest stored status (the same
cursor the polling preset keeps), so a status posted while the connection was
down arrives through the back-fill and one posted after it through the stream;
one seen both ways lands once (keyed writes). Deletions are not applied to stored
posts. `run --once` on such a source polls the REST timeline as without `stream`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sentitui.models import FailedRecord, Page
from sentitui.net.http import AuthError, FetchError
from sentitui.sources.base import SourceContext, parse_json
from sentitui.sources.presets.mastodon import MastodonSource
from sentitui.sources.streams.base import (
    Backoff,
    SseEvent,
    StreamDropped,
    check_response,
    sse_events,
    stream_timeout,
    wait_before_reconnect,
)


class MastodonStream(MastodonSource):
    streaming = True

    def stream_endpoint(self) -> str:
        base = self.config.options.get("stream_url") or self.config.options["base_url"]
        return str(base).rstrip("/") + "/api/v1/streaming/hashtag"

    async def stream(self, ctx: SourceContext) -> AsyncIterator[Page]:
        import aiohttp

        url = self.stream_endpoint()
        params = {"tag": str(self.config.options["hashtag"]).lstrip("#")}
        backoff = Backoff(cap=float(self.config.options.get("max_backoff", 60.0)))
        timeout = stream_timeout(float(self.config.options.get("stall_timeout", 90.0)))
        while True:
            try:
                async with ctx.http.session.get(
                    url,
                    params=params,
                    headers=self.auth_headers(),
                    timeout=timeout,
                    allow_redirects=False,  # the token goes to the configured host only
                ) as resp:
                    await check_response(resp, self.auth_hint())
                    ctx.set_status("streaming", "connected; back-filling the gap")
                    async for page in self.backfill(ctx):
                        yield page
                    ctx.set_status("streaming", "connected")
                    async for event in sse_events(resp):
                        backoff.reset()
                        pushed = self.page_of(event, url)
                        if pushed is not None:
                            yield pushed
                    raise StreamDropped("the server closed the stream")
            except AuthError:
                raise
            except (StreamDropped, FetchError, aiohttp.ClientError, TimeoutError) as exc:
                why = str(exc) or type(exc).__name__
            await wait_before_reconnect(ctx, backoff, why)

    async def backfill(self, ctx: SourceContext) -> AsyncIterator[Page]:
        """The REST timeline since the newest stored status (walking forward until it
        is exhausted, whatever max_pages says, so no gap is left), or the first run's
        history (bounded by max_pages) when nothing is stored yet."""
        config = replace(self.config, max_pages=None) if ctx.cursor.get("since") else self.config
        async for page in MastodonSource(config, self.pipeline).pages(ctx):
            yield page

    def page_of(self, event: SseEvent, url: str) -> Page | None:
        """An `update` event as a one-record page; other events (delete, edits,
        notifications) carry nothing to load."""
        if event.event != "update":
            return None
        try:
            status: Any = parse_json(event.data)
        except json.JSONDecodeError as exc:
            failure = FailedRecord(
                "parse",
                f"stream event 'update' from {url}: invalid JSON: {exc}",
                event.data,
                {"url": url, "record": True, "event": "update"},
            )
            return Page(records=[], url=url, failures=[failure])
        return Page(records=[status], url=url)
