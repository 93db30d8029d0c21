"""`kind = "bluesky_jetstream"`: Bluesky's Jetstream WebSocket,
`/subscribe?wantedCollections=app.bsky.feed.post`.

Jetstream sends every new post on the network as JSON (`did`, `time_us`, `kind`,
`commit.operation`, `commit.record.text`, `commit.record.langs`); this source keeps
the created posts that mention one of its `keywords` or `hashtags` (matched here,
not by the server). The cursor is `time_us`: it moves with every event, kept or not,
and is committed with the posts, so a restart resumes with `cursor=` from the last
committed event; the overlap lands once (keyed writes). `run --once` replays from
the cursor (or `backfill_minutes` back) until it reaches the time the run started.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from sentitui.models import FailedRecord, Page
from sentitui.net.http import AuthError, FetchError
from sentitui.sources.base import BaseSource, Option, SourceContext, parse_json
from sentitui.sources.presets.bluesky import web_url
from sentitui.sources.presets.common import segments
from sentitui.sources.streams.base import (
    MAX_LINE,
    STREAM_OPTIONS,
    Backoff,
    StreamDropped,
    wait_before_reconnect,
)

if TYPE_CHECKING:
    import aiohttp

POST = "app.bsky.feed.post"
TAG_FACET = "app.bsky.richtext.facet#tag"
CURSOR_EVERY = 1.0  # seconds between cursor-only pages while events are filtered out
ONCE_BATCH = 100  # posts per page in run --once
ONCE_IDLE = 5.0  # seconds of silence that end a run --once catch-up


class JetstreamSource(BaseSource):
    KIND = "bluesky_jetstream"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "base_url": Option(
            (str,),
            default="wss://jetstream2.us-east.bsky.network",
            doc="Jetstream instance (ws:// or wss://)",
        ),
        "keywords": Option(
            (list,), default=[], doc="words a post must contain (any)", shape=list[str]
        ),
        "hashtags": Option(
            (list,), default=[], doc="hashtags a post must carry (any), no #", shape=list[str]
        ),
        "backfill_minutes": Option(
            (int,), default=10, doc="how far back the first run --once replays", minimum=0
        ),
        **{k: v for k, v in STREAM_OPTIONS.items() if k != "stream"},
    }
    streaming = True

    def __init__(self, config: Any, pipeline: Any) -> None:
        super().__init__(config, pipeline)
        words = [str(w) for w in self.options.get("keywords") or [] if str(w).strip()]
        self.tags = {str(t).lstrip("#").lower() for t in self.options.get("hashtags") or []}
        terms = [re.escape(w.strip()) for w in words] + [
            "#" + re.escape(t) for t in sorted(self.tags)
        ]
        self.pattern = (
            re.compile(r"(?<![\w#])(?:" + "|".join(terms) + r")(?!\w)", re.IGNORECASE)
            if terms
            else None
        )
        self._last_time: int | None = None  # newest time_us handed on in this run

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems = []
        if not config.get("keywords") and not config.get("hashtags"):
            problems.append("key 'keywords' or 'hashtags' is required (Jetstream sends everything)")
        url = str(config.get("base_url") or "")
        if not url.startswith(("ws://", "wss://", "http://", "https://")):
            problems.append(f"key 'base_url': {url!r} is not a ws:// or wss:// URL")
        return problems

    # ---- mapping ---------------------------------------------------------------------

    def matches(self, record: dict[str, Any]) -> bool:
        text = record.get("text")
        if self.pattern is not None and isinstance(text, str) and self.pattern.search(text):
            return True
        for facet in record.get("facets") or []:
            for feature in (facet or {}).get("features") or [] if isinstance(facet, dict) else []:
                if (
                    isinstance(feature, dict)
                    and feature.get("$type") == TAG_FACET
                    and str(feature.get("tag", "")).lower() in self.tags
                ):
                    return True
        return False

    def map_record(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ValueError(f"event is {type(payload).__name__}, not a JSON object")
        commit = payload.get("commit") or {}
        record = commit.get("record") or {}
        did, rkey = payload.get("did"), commit.get("rkey")
        uri = f"at://{did}/{POST}/{rkey}" if did and rkey else None
        langs = [lang for lang in record.get("langs") or [] if isinstance(lang, str)]
        return {
            "id": uri,
            "text": record.get("text"),
            "author": did,
            "created_at": record.get("createdAt"),
            "lang": langs[0] if langs else None,
            "url": web_url(uri, None),
            "segments": segments(language=langs),
        }

    # ---- the socket ------------------------------------------------------------------

    def subscribe_url(self) -> str:
        base = str(self.options["base_url"]).rstrip("/")
        base = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return base + "/subscribe"

    def params(self, cursor: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"wantedCollections": POST}
        if cursor is not None:
            params["cursor"] = cursor
        return params

    def page_of(self, data: str | bytes, url: str, last_cursor_page: list[float]) -> Page | None:
        """One message as a page: a matching post (with its cursor), a failure (also with
        its cursor when it has a time), a cursor-only page about once a second for events
        filtered out, else None."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        try:
            event = parse_json(text)
            if not isinstance(event, dict):
                raise ValueError(f"a JSON {type(event).__name__}, not an object")
            time_us = event.get("time_us")
            if isinstance(time_us, bool) or not isinstance(time_us, int):
                raise ValueError("no integer 'time_us'")
        except ValueError as exc:
            failure = FailedRecord(
                "parse",
                f"Jetstream event from {url}: {exc}",
                text[:MAX_LINE],
                {"url": url, "record": True},
            )
            return Page(records=[], url=url, failures=[failure])
        self._last_time = time_us
        cursor = {"time_us": time_us}
        commit = event.get("commit")
        wanted = (
            event.get("kind") == "commit"
            and isinstance(commit, dict)
            and commit.get("collection") == POST
            and commit.get("operation") == "create"
            and isinstance(commit.get("record"), dict)
        )
        if wanted and isinstance(commit, dict) and self.matches(commit["record"]):
            last_cursor_page[0] = time.monotonic()
            return Page(records=[event], url=url, cursor=cursor)
        if time.monotonic() - last_cursor_page[0] >= CURSOR_EVERY:
            last_cursor_page[0] = time.monotonic()
            return Page(records=[], url=url, cursor=cursor)
        return None

    async def _connect(
        self, ctx: SourceContext, cursor: int | None, receive: float
    ) -> aiohttp.ClientWebSocketResponse:
        import aiohttp

        url = self.subscribe_url()
        try:
            return await ctx.http.session.ws_connect(
                url,
                params=self.params(cursor),
                heartbeat=30.0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=receive, ws_close=5.0),
                max_msg_size=MAX_LINE,
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise AuthError(
                    url, f"HTTP {exc.status}: Jetstream refused us", exc.status
                ) from None
            raise StreamDropped(f"handshake failed: HTTP {exc.status} {exc.message}") from None

    def stored_cursor(self, ctx: SourceContext) -> int | None:
        value = ctx.cursor.get("time_us")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    async def stream(self, ctx: SourceContext) -> AsyncIterator[Page]:
        import aiohttp

        url = self.subscribe_url()
        backoff = Backoff(cap=float(self.options.get("max_backoff", 60.0)))
        stall = float(self.options.get("stall_timeout", 90.0))
        last_cursor_page = [time.monotonic()]
        while True:
            cursor = self._last_time if self._last_time is not None else self.stored_cursor(ctx)
            try:
                ws = await self._connect(ctx, cursor, stall)
                async with ws:
                    ctx.set_status("streaming", "connected")
                    async for message in ws:
                        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            backoff.reset()
                            page = self.page_of(message.data, url, last_cursor_page)
                            if page is not None:
                                yield page
                        elif message.type == aiohttp.WSMsgType.ERROR:
                            raise StreamDropped(f"socket error: {ws.exception()}")
                    raise StreamDropped(f"the server closed the socket (code {ws.close_code})")
            except AuthError:
                raise
            except (StreamDropped, aiohttp.ClientError, TimeoutError) as exc:
                why = str(exc) or type(exc).__name__
            await wait_before_reconnect(ctx, backoff, why)

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        """Replay from the cursor up to the time the run started, in pages of posts."""
        import aiohttp

        until = int(time.time() * 1_000_000)
        cursor = self.stored_cursor(ctx)
        if cursor is None:
            cursor = until - int(self.options.get("backfill_minutes", 10)) * 60_000_000
        url = self.subscribe_url()
        records: list[Any] = []
        failures: list[FailedRecord] = []
        last: dict[str, Any] | None = None
        last_cursor_page = [0.0]
        idle = min(ONCE_IDLE, float(self.options.get("stall_timeout", 90.0)))
        try:
            ws = await self._connect(ctx, cursor, idle)
            async with ws:
                async for message in ws:
                    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        break
                    page = self.page_of(message.data, url, last_cursor_page)
                    if page is not None:
                        records += page.records
                        failures += page.failures
                        last = page.cursor or last
                    if len(records) >= ONCE_BATCH:
                        yield Page(records=records, url=url, cursor=last, failures=failures)
                        records, failures = [], []
                    if self._last_time is not None and self._last_time >= until:
                        break
        except TimeoutError:
            pass  # quiet for `idle` seconds: caught up
        except (StreamDropped, aiohttp.ClientError) as exc:
            if records or failures:
                yield Page(records=records, url=url, cursor=last, failures=failures)
            raise FetchError(url, f"Jetstream: {exc}") from None
        if records or failures or self._last_time is not None:
            end = {"time_us": self._last_time} if self._last_time is not None else last
            yield Page(records=records, url=url, cursor=end, failures=failures)
