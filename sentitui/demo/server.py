"""The demo server: sample_data/ replayed as real HTTP services on 127.0.0.1.

Endpoints (GET):
- `/api/v1/timelines/tag/aquasilk` — Mastodon-style: a top-level JSON list,
  `since_id` for new posts only, `limit` (default 20, max 40), and a
  `Link: <…?cursor=N>; rel="next"` header while more are waiting.
- `/shop/aquasilk/reviews?page=N` — the shop's reviews as HTML pages for the
  `scrape` source: oldest first, 10 a page, `a.next` links, ETags (a page that
  did not change answers 304), and a `/robots.txt`.
- `/status` — what has been released and served so far; `/` lists the endpoints.

Faults follow a FaultPlan keyed by the feed's request number (1-based, retries
count too): a 429 with Retry-After, a 500, a page cut off mid-JSON, or an
HTML maintenance page sent with status 200. A broken page never carries a
next-page link, so a run stops there and the next run asks for those posts again. Engine
retries absorb a lone 429/500; a run of 500s longer than the source's retries
becomes a `fetch` failed record. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sentitui.demo.feeds import Feed, Item, ReviewFeed, SocialFeed

SOCIAL_PATH = "/api/v1/timelines/tag/aquasilk"
PAGES_PATH = "/shop/aquasilk/reviews"
PAGE_SIZE = 10  # reviews per HTML page
ROBOTS_TXT = "User-agent: *\nDisallow: /account/\n"
FAULTS = ("429", "500", "truncated", "html")
MAINTENANCE_PAGE = """<!DOCTYPE html>
<html><head><title>503 Service Temporarily Unavailable</title></head>
<body><h1>We'll be right back</h1><p>This service is down for maintenance.</p></body></html>
"""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """`fault` on requests start, start+every, start+2·every … of `feed`, each time
    for `length` requests in a row (length 3 makes a short outage)."""

    feed: str
    fault: str
    every: int
    start: int = 1
    length: int = 1

    def hits(self, feed: str, number: int) -> bool:
        if feed != self.feed or number < self.start:
            return False
        return (number - self.start) % self.every < self.length


@dataclass(slots=True)
class FaultPlan:
    """Which request of which feed fails, and how. `at` pins single requests
    ({"social": {2: "429"}}); `rules` repeat. Explicit entries win."""

    at: dict[str, dict[int, str]] = field(default_factory=dict)
    rules: list[FaultRule] = field(default_factory=list)
    retry_after: int = 2  # seconds, sent with every 429

    def fault(self, feed: str, number: int) -> str | None:
        if number in self.at.get(feed, {}):
            return self.at[feed][number]
        for rule in self.rules:
            if rule.hits(feed, number):
                return rule.fault
        return None

    @classmethod
    def live(cls) -> FaultPlan:
        """The interactive demo's plan: something goes wrong within the first seconds,
        then now and then. With the live pipeline's `retries = 2`, the 3-request outage
        leaves a fetch failure; the rest are retried away (and logged)."""
        return cls(
            at={"social": {3: "429"}, "reviews": {2: "500"}},
            rules=[
                FaultRule("social", "429", every=17, start=12),
                FaultRule("social", "500", every=23, start=9),
                FaultRule("social", "truncated", every=29, start=15),
                FaultRule("social", "500", every=60, start=20, length=3),
                FaultRule("reviews", "500", every=13, start=7),
                FaultRule("reviews", "html", every=23, start=10),
            ],
        )


class DemoServer:
    """Both feeds behind one aiohttp app. `await start()` on the running loop, or use
    `DemoThread` to give it a loop of its own."""

    def __init__(
        self,
        *,
        seed: int = 2026,
        clock: Callable[[], float] = time.time,
        faults: FaultPlan | None = None,
        social: Feed | None = None,
        reviews: Feed | None = None,
    ) -> None:
        self.faults = faults if faults is not None else FaultPlan()
        self.social = social or SocialFeed(seed=seed, clock=clock)
        self.reviews = reviews or ReviewFeed(seed=seed, clock=clock)
        self.requests: Counter[str] = Counter()  # feed -> requests served
        self.served_faults: list[tuple[str, int, str]] = []  # (feed, request number, fault)
        self.seen: list[tuple[str, dict[str, str]]] = []  # (feed, query) of every request
        self.not_modified = 0  # review pages answered 304
        self.url = ""
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.index)
        app.router.add_get("/status", self.status)
        app.router.add_get(SOCIAL_PATH, self.social_timeline)
        app.router.add_get(PAGES_PATH, self.review_page)
        app.router.add_get("/robots.txt", self.robots)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- faults --------------------------------------------------------------------

    def _fault(self, feed: str, request: web.Request) -> str | None:
        """Count the request and say which fault, if any, it gets."""
        self.requests[feed] += 1
        self.seen.append((feed, dict(request.query)))
        number = self.requests[feed]
        fault = self.faults.fault(feed, number)
        if fault is not None:
            self.served_faults.append((feed, number, fault))
        return fault

    def _respond(self, fault: str | None, payload: Any, headers: dict[str, str]) -> web.Response:
        if fault == "429":
            return web.json_response(
                {"error": "Too many requests"},
                status=429,
                headers={"Retry-After": str(self.faults.retry_after)},
            )
        if fault == "500":
            return web.Response(
                status=500, text="Internal Server Error: timeline shard unavailable"
            )
        if fault == "html":
            # A misconfigured proxy answers 200 with its maintenance page.
            return web.Response(text=MAINTENANCE_PAGE, content_type="text/html")
        if fault == "truncated":
            # The body was cut mid-write. Its paging header is lost with it, so the run
            # stops here and the next run asks for these posts again: none is skipped.
            body = web.json_response(payload).body
            assert isinstance(body, bytes)
            return web.Response(
                body=body[: max(1, len(body) * 3 // 5)], content_type="application/json"
            )
        return web.json_response(payload, headers=headers)

    # ---- handlers ------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "service": "SentiTUI demo server (sample_data replayed)",
                "endpoints": {
                    SOCIAL_PATH: "since_id, limit, cursor; Link rel=next",
                    PAGES_PATH: "page; HTML, ETag",
                    "/status": "counters",
                },
            }
        )

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "released": {"social": self.social.released, "reviews": self.reviews.released},
                "requests": dict(self.requests),
                "faults": [list(f) for f in self.served_faults],
            }
        )

    @staticmethod
    def _window(feed: Feed, query: Any) -> tuple[list[Item], int]:
        """The records a request asks for, and the arrival position of the first one.
        `cursor` (from a next-page link) is a position; otherwise `since_id` decides."""
        if "cursor" in query:
            start = max(int(query["cursor"]), 0)
            feed.sync()
            return feed.items[start:], start
        items = feed.after(_since(query.get("since_id")))
        return items, len(feed.items) - len(items)

    async def social_timeline(self, request: web.Request) -> web.Response:
        fault = self._fault("social", request)
        try:
            limit = min(max(int(request.query.get("limit", 20)), 1), 40)
            items, offset = self._window(self.social, request.query)
        except ValueError as exc:
            return web.json_response({"error": f"bad parameter: {exc}"}, status=400)
        headers = {}
        if len(items) > limit:
            nxt = request.url.with_query({"cursor": str(offset + limit), "limit": str(limit)})
            headers["Link"] = f'<{nxt}>; rel="next"'
        return self._respond(fault, [item.record for item in items[:limit]], headers)

    async def robots(self, request: web.Request) -> web.Response:
        return web.Response(text=ROBOTS_TXT)

    async def review_page(self, request: web.Request) -> web.Response:
        """Page N of the reviews as a shop renders them, oldest first, so only the last
        page changes when a review arrives and the others answer 304 to a crawler."""
        fault = self._fault("reviews", request)
        try:
            number = max(int(request.query.get("page", 1)), 1)
        except ValueError:
            return web.Response(status=400, text="bad page number")
        self.reviews.sync()
        items = self.reviews.items
        pages = max(-(-len(items) // PAGE_SIZE), 1)
        if number > pages:
            return web.Response(status=404, text="no such page")
        chunk = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        body = render_review_page([i.record for i in chunk], number, pages)
        etag = '"' + hashlib.sha1(body.encode()).hexdigest()[:16] + '"'
        if fault in ("429", "500", "html"):  # a cut-off HTML page would still parse: not used
            return self._respond(fault, None, {})
        if request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})


def render_review_page(reviews: list[dict[str, Any]], number: int, pages: int) -> str:
    """One page of reviews; every value from the data is HTML-escaped."""
    esc = html.escape
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>AquaSilk reviews, page {number} of {pages}</title></head><body>",
        "<h1>AquaSilk Shampoo 250ml: customer reviews</h1>",
    ]
    for review in reviews:
        who = review.get("reviewer", {})
        paragraphs = "".join(
            f"<p>{esc(p)}</p>" for p in str(review.get("body", "")).split("\n\n") if p
        )
        parts.append(
            f'<article class="review" id="{esc(str(review.get("review_id", "")))}">'
            f'<h3 class="title">{esc(str(review.get("title", "")))}</h3>'
            f'<span class="rating" title="{esc(str(review.get("rating", "")))} out of 5"></span>'
            f'<span class="author">{esc(str(who.get("name", "")))}</span> '
            f'<time datetime="{esc(str(review.get("date", "")))}">{esc(str(review.get("date", ""))[:10])}</time>'
            f'<div class="body">{paragraphs}</div>'
            f'<ul class="reviewer"><li class="age">{esc(str(who.get("age_range", "")))}</li>'
            f'<li class="region">{esc(str(who.get("region", "")))}</li>'
            f'<li class="hair">{esc(str(who.get("hair_type", "")))}</li></ul></article>'
        )
    nav = []
    if number > 1:
        nav.append(f'<a class="prev" href="{PAGES_PATH}?page={number - 1}">previous</a>')
    if number < pages:
        nav.append(f'<a class="next" href="{PAGES_PATH}?page={number + 1}">next</a>')
    parts.append(f"<nav>{' '.join(nav)}</nav></body></html>")
    return "\n".join(parts)


def _since(value: str | None) -> int | None:
    """since_id as a number: '117647732121143555' or a review id like 'R10020'."""
    if value in (None, ""):
        return None
    digits = value.lstrip("Rr")
    if not digits.isdigit():
        raise ValueError(f"since_id {value!r} is not an id")
    return int(digits)


class DemoThread:
    """Runs a DemoServer on its own event loop in a daemon thread, so whatever runs
    on the main thread (the console) needs no hook to host it."""

    def __init__(self, server: DemoServer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = server
        self.host = host
        self.port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="sentitui-demo-server", daemon=True)

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL. Raises what the server raised (e.g. port in use)."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the demo server did not start in time")
        if self._error is not None:
            raise self._error
        return self.server.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start(self.host, self.port)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()
