"""`kind = "x"` with `stream = true`: X API v2 filtered stream,
`GET /2/tweets/search/stream` (newline-delimited JSON over one long-lived response;
blank lines are keep-alives).

The stream delivers what the app's rules match. Before connecting, the source makes
sure one rule tagged `sentitui:<pipeline>/<source>` carries its `query` (or
`#hashtag`) and removes its own rules with another value, through
`/2/tweets/search/stream/rules`; other rules of the app are left alone.
The filtered stream has no cursor, so on every (re)connect the gap is back-filled
from recent search with `since_id` (the polling preset's cursor); a tweet seen both
ways lands once. `run --once` on such a source is the recent search.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sentitui.models import FailedRecord, Page
from sentitui.net.http import AuthError, FetchError
from sentitui.sources.base import SourceContext, parse_json
from sentitui.sources.presets.x import XSource
from sentitui.sources.streams.base import (
    Backoff,
    StreamDropped,
    check_response,
    lines,
    post_json,
    stream_timeout,
    wait_before_reconnect,
)

STREAM_PATH = "/2/tweets/search/stream"


class XStream(XSource):
    streaming = True

    @property
    def rule_tag(self) -> str:
        return f"sentitui:{self.pipeline.name}/{self.config.name}"

    def stream_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.base_params().items() if k not in ("query", "max_results")}

    async def sync_rules(self, ctx: SourceContext) -> None:
        """Exactly one rule of ours, with our query; errors name what X refused."""
        url = self.endpoint_url(STREAM_PATH + "/rules")
        headers = self.auth_headers()
        response = await ctx.http.get(
            url, headers=headers, retries=self.config.retries, timeout=self.config.timeout
        )
        try:
            rules = parse_json(response.text()).get("data") or []
        except (json.JSONDecodeError, AttributeError):
            raise FetchError(url, "stream rules: the answer is not a JSON object") from None
        wanted = self.search_text()
        ours = [r for r in rules if isinstance(r, dict) and r.get("tag") == self.rule_tag]
        stale = [str(r.get("id")) for r in ours if r.get("value") != wanted]
        if stale:
            await post_json(ctx, url, {"delete": {"ids": stale}}, headers, self.config.timeout)
        if not any(r.get("value") == wanted for r in ours):
            answer = await post_json(
                ctx, url, {"add": [{"value": wanted, "tag": self.rule_tag}]}, headers
            )
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors and not (answer.get("meta") or {}).get("summary", {}).get("created"):
                detail = errors[0].get("details") or errors[0].get("title") or errors[0]
                raise FetchError(url, f"X refused the stream rule {wanted!r}: {detail}")
            ctx.log("INFO", f"stream rule {wanted!r} added ({self.rule_tag})")

    async def stream(self, ctx: SourceContext) -> AsyncIterator[Page]:
        import aiohttp

        await self.sync_rules(ctx)
        url = self.endpoint_url(STREAM_PATH)
        backoff = Backoff(cap=float(self.config.options.get("max_backoff", 60.0)))
        timeout = stream_timeout(float(self.config.options.get("stall_timeout", 90.0)))
        while True:
            try:
                async with ctx.http.session.get(
                    url,
                    params=self.stream_params(),
                    headers=self.auth_headers(),
                    timeout=timeout,
                    allow_redirects=False,
                ) as resp:
                    await check_response(resp, self.auth_hint())
                    ctx.set_status("streaming", "connected; back-filling the gap")
                    async for page in self.backfill(ctx):
                        yield page
                    ctx.set_status("streaming", "connected")
                    async for line in lines(resp):
                        backoff.reset()
                        if not line.strip():
                            continue  # keep-alive
                        pushed = self.page_of(line, url, ctx)
                        if pushed is not None:
                            yield pushed
                    raise StreamDropped("the server closed the stream")
            except AuthError:
                raise
            except (StreamDropped, FetchError, aiohttp.ClientError, TimeoutError) as exc:
                why = str(exc) or type(exc).__name__
            await wait_before_reconnect(ctx, backoff, why)

    async def backfill(self, ctx: SourceContext) -> AsyncIterator[Page]:
        """Recent search since the newest stored tweet. Search pages run newest first,
        so the whole gap is handed on as one page (one transaction): committing its
        newest tweets first would move the cursor past older ones a crash then loses."""
        config = replace(self.config, max_pages=None) if ctx.cursor.get("since") else self.config
        gap = [page async for page in XSource(config, self.pipeline).pages(ctx)]
        if gap:
            yield Page(
                records=[r for page in gap for r in page.records],
                url=gap[0].url,
                failures=[f for page in gap for f in page.failures],
            )

    def page_of(self, line: bytes, url: str, ctx: SourceContext) -> Page | None:
        text = line.decode("utf-8", "replace")
        try:
            message = parse_json(text)
            if not isinstance(message, dict):
                raise ValueError(f"a JSON {type(message).__name__}, not an object")
        except ValueError as exc:
            failure = FailedRecord(
                "parse",
                f"stream line from {url}: not a tweet message: {exc}",
                text,
                {"url": url, "record": True},
            )
            return Page(records=[], url=url, failures=[failure])
        if "data" not in message:
            errors = message.get("errors")
            ctx.log("WARNING", f"stream message without a tweet: {str(errors or message)[:300]}")
            return None
        if isinstance(message["data"], dict):  # the stream sends one tweet per line
            message = {**message, "data": [message["data"]]}
        return Page(records=self.records_of(message), url=url)
