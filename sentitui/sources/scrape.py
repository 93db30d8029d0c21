"""`kind = "scrape"`: review pages on shops and review blogs, crawled politely.

The crawl: `start_urls`, then the links that `follow` and `next_page` select, kept to
`allowed_domains` (default: the start URLs' hosts), each URL fetched once per run
(normalised with w3lib, canonical links respected), at most `max_pages` pages.

Politeness: robots.txt is read once per host per run (protego) and honoured unless
`respect_robots = false`, including `Crawl-delay` and `Request-rate`, which win when
they ask for more than `delay`. Each host gets at most `concurrency` requests at a
time, their starts spaced by the delay. A robots.txt that answers 4xx allows all;
one that cannot be read (5xx, no connection) disallows the host for the run (RFC 9309).

Later runs send If-None-Match / If-Modified-Since from the cursor, so an unchanged
page costs a 304; its links, remembered from the last full fetch, are followed.

Each fetched HTML page becomes one `Page` whose records are the dicts
`scrape_extract` made (small pages parsed on the event loop, where that costs less
than a thread hand-off; big ones and `auto` in a worker thread: `_Crawl._extract`). A page
where the item selector found items on the last fetch but finds none now is a
`parse` failure carrying the URL and the HTML: the signature of a site redesign.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from w3lib.url import canonicalize_url

from sentitui.config.kinds import FIELDS
from sentitui.models import FailedRecord, Page
from sentitui.net.http import FetchError
from sentitui.net.scope import CredentialScope
from sentitui.processing.redact import redact, restore_params
from sentitui.sources.base import (
    ALLOWED_HOSTS,
    BaseSource,
    Option,
    SourceContext,
    check_allowed_hosts,
)
from sentitui.sources.scrape_extract import (
    POST_FIELDS,
    ExtractConfig,
    Extracted,
    Mode,
    css_problem,
    extract_page,
)

ROBOTS_AGENT = "SentiTUI"  # the token robots.txt groups are matched against
DEFAULT_MAX_PAGES = 1000
MAX_REMEMBERED_PAGES = 50_000  # validators kept in the cursor
INLINE_PARSE_BYTES = 64 * 1024  # pages up to this size are parsed on the loop (_extract)
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def url_key(url: str) -> str:
    """The form two URLs share when they are the same page (for "no page twice")."""
    return canonicalize_url(url)


@dataclass(slots=True)
class _Host:
    """Per-host politeness state for one run."""

    semaphore: asyncio.Semaphore
    delay: float
    next_at: float = 0.0
    robots: Any = None  # protego.Protego, or None when robots are not consulted
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots_loaded: bool = False
    robots_error: FetchError | None = None  # robots.txt unreadable: host off-limits this run

    async def take_turn(self) -> None:
        """Wait until this host may get the next request: `delay` after the previous
        request really started. Each waiter claims the turn only once it is due, so
        waiters that wake together (after the loop was busy) start one at a time, never
        in a burst, as turns reserved ahead would."""
        loop = asyncio.get_running_loop()
        while (now := loop.time()) < self.next_at:
            await asyncio.sleep(self.next_at - now)
        self.next_at = now + self.delay


class ScrapeSource(BaseSource):
    KIND = "scrape"
    OPTIONS = {
        "start_urls": Option(
            (list, str), required=True, doc="where the crawl begins", shape=str | list[str]
        ),
        "extract": Option(
            (str,),
            doc="selectors (default) | auto (schema.org) | article (blog post)",
            shape=Mode,
        ),
        "item": Option((str,), doc="CSS selecting each review (selectors mode)"),
        "fields": Option(
            (dict,),
            default={},
            doc="post field -> CSS (::text, ::attr(x)); segments table",
            shape=FIELDS,
        ),
        "comments": Option((str,), doc="CSS selecting comments; each becomes a post"),
        "comment_fields": Option((dict,), doc="post field -> CSS within a comment", shape=FIELDS),
        "follow": Option(
            (str, list), doc="CSS of links to follow (e.g. product pages)", shape=str | list[str]
        ),
        "next_page": Option((str, list), doc="CSS of the pagination link", shape=str | list[str]),
        "allowed_domains": Option((list,), doc="default: the hosts of start_urls", shape=list[str]),
        "respect_robots": Option((bool,), default=True),
        "delay": Option(
            (int, float), default=1.0, doc="seconds between requests to one host", minimum=0
        ),
        "concurrency": Option((int,), default=2, doc="requests at a time to one host", minimum=1),
        "headers": Option(
            (dict,),
            default={},
            doc="sent only to the start URLs' origins and allowed_hosts",
            shape=dict[str, str],
        ),
        "allowed_hosts": ALLOWED_HOSTS,
        "conditional": Option((bool,), default=True, doc="send If-None-Match/If-Modified-Since"),
        "timezone": Option((str,), default="UTC", doc="zone of page dates that carry none"),
        "languages": Option(
            (list,), doc="languages of page dates, e.g. ['de', 'en']", shape=list[str]
        ),
        "date_order": Option(
            (str,), doc="for dates like 03/04/2026", shape=Literal["DMY", "MDY", "YMD"]
        ),
        "rating_scale": Option((int, float), doc="best rating when a page shows bare numbers"),
    }

    def __init__(self, config: Any, pipeline: Any) -> None:
        super().__init__(config, pipeline)
        self.extract_config = ExtractConfig.from_options(self.options)

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems: list[str] = []
        starts = config.get("start_urls")
        starts = [starts] if isinstance(starts, str) else list(starts or [])
        if not starts:
            problems.append("key 'start_urls' needs at least one URL")
        for url in starts:
            if (
                not isinstance(url, str)
                or urlsplit(url).scheme not in ("http", "https")
                or not urlsplit(url).hostname
            ):
                problems.append(f"key 'start_urls': {url!r} is not an http(s) URL")
        for domain in config.get("allowed_domains") or []:
            if domain == "":  # its type is checked by the option's shape
                problems.append("key 'allowed_domains': '' is not a host name")
        mode = config.get("extract") or "selectors"
        fields = config.get("fields") or {}
        if mode == "selectors":
            if not config.get("item"):
                problems.append(
                    "key 'item' is required (CSS selecting each review), "
                    'or set extract = "auto" or "article"'
                )
            if "text" not in fields:
                problems.append("key 'fields.text' is required")
        elif mode == "auto" and (config.get("item") or fields):
            problems.append("keys 'item' and 'fields' are not used with extract = \"auto\"")

        def check_css(key: str, css: Any) -> None:
            if not isinstance(css, str):
                problems.append(f"key '{key}' must be a CSS selector string")
            elif (problem := css_problem(css)) is not None:
                problems.append(f"key '{key}': {problem}")

        for key in ("item", "comments"):
            if config.get(key) is not None:
                check_css(key, config.get(key))
        for key in ("follow", "next_page"):
            value = config.get(key)
            for css in [value] if isinstance(value, str) else value or []:
                check_css(key, css)
        for table in ("fields", "comment_fields"):
            for name, css in (config.get(table) or {}).items():
                if name == "segments" and isinstance(css, dict):
                    for segment, seg_css in css.items():
                        check_css(f"{table}.segments.{segment}", seg_css)
                else:
                    check_css(f"{table}.{name}", css)
        try:
            ZoneInfo(config.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"key 'timezone': unknown time zone {config.get('timezone')!r}")
        problems.extend(check_allowed_hosts(config))
        return problems

    def credential_scope(self) -> CredentialScope:
        """The start URLs' origins (and `allowed_hosts`): the only places `headers`
        go. Pages on other allowed domains are fetched without them."""
        starts = self.options["start_urls"]
        return CredentialScope.of(
            [starts] if isinstance(starts, str) else starts,
            self.options.get("allowed_hosts") or (),
        )

    def headers_for(self, url: str) -> dict[str, str]:
        """The configured headers when `url` is inside the credential scope, else none."""
        headers = dict(self.options.get("headers") or {})
        return headers if headers and self.credential_scope().allows(url) else {}

    async def refetch(self, ctx: SourceContext, url: str) -> Page:
        """Fetch a stored page again; its headers only inside the credential scope,
        and redirects elsewhere followed without them."""
        response = await ctx.http.get(
            restore_params(url, None),
            headers=self.headers_for(url) or None,
            retries=1,
            timeout=self.config.timeout,
        )
        return self.reparse(response.text(), {"url": url})

    # ---- records ------------------------------------------------------------------------

    def map_record(self, payload: Any) -> dict[str, Any]:
        """Records are already extracted fields; keep the ones posts have."""
        if not isinstance(payload, dict):
            raise ValueError(f"record is {type(payload).__name__}, not an extracted item")
        return {key: payload[key] for key in (*POST_FIELDS, "segments") if key in payload}

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        """Extract a stored page again (after a selector was fixed)."""
        url = context.get("url", "")
        try:
            fetched_at = datetime.fromisoformat(context["fetched_at"].replace("Z", "+00:00"))
        except (KeyError, AttributeError, ValueError):
            fetched_at = datetime.now(UTC)
        page = extract_page(
            body, url=url, content_type=None, fetched_at=fetched_at, config=self.extract_config
        )
        if not page.records and context.get("previous_items"):
            # A page that lost its items is fixed only when the selectors find them again.
            raise ValueError(f"still no items on {url} with the current selectors")
        return Page(records=page.records, url=page.url)

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        crawl = _Crawl(self, ctx)
        async for page in crawl.run():
            yield page


_DONE = object()


class _Crawl:
    """One run of a scrape source: a URL queue, workers, and per-host politeness."""

    def __init__(self, source: ScrapeSource, ctx: SourceContext) -> None:
        self.source = source
        self.ctx = ctx
        options = source.options
        self.config = source.config
        starts = options["start_urls"]
        self.start_urls: list[str] = [starts] if isinstance(starts, str) else list(starts)
        domains = options.get("allowed_domains") or [urlsplit(u).hostname for u in self.start_urls]
        self.allowed = [d.lower().lstrip(".") for d in domains if d]
        self.respect_robots = options.get("respect_robots", True)
        self.delay = float(options.get("delay", 1.0))
        self.concurrency = int(options.get("concurrency", 2))
        self.conditional = options.get("conditional", True)
        self.max_pages = source.config.max_pages or DEFAULT_MAX_PAGES

        self.queue: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue()  # url, key, start
        self.out: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * self.concurrency + 2)
        self.hosts: dict[str, _Host] = {}
        self.seen: set[str] = set()  # URL keys scheduled (or known by canonical link)
        self.identities: set[str] = set()  # page identities whose records were taken
        # url key -> {"etag", "modified", "items", "links"} from earlier fetches.
        self.remembered: dict[str, dict[str, Any]] = dict(ctx.cursor.get("pages") or {})
        # Validators of pages fetched but not handed on yet: a cursor committed before
        # their records would turn the next run's fetch into a 304 and lose them.
        self.fresh: dict[str, dict[str, Any]] = {}
        self.page_keys: dict[int, str] = {}  # id(Page) -> url key, until handed on
        self.dirty = False
        self.since_flush = 0
        self.pending = 0
        self.scheduled = 0
        self.ok = 0
        self.counts = {"fetched": 0, "not_modified": 0, "robots": 0, "canonical": 0, "failed": 0}
        self.truncated = False

    # ---- scheduling --------------------------------------------------------------------

    def allowed_host(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed)

    def schedule(self, url: str, start: bool = False) -> None:
        key = url_key(url)
        if key in self.seen or not self.allowed_host(url):
            return
        parts = urlsplit(url)
        host = self.hosts.get(f"{parts.scheme}://{parts.netloc}")
        if host is not None and host.robots_loaded and not self._robots_allow(host, url):
            self.seen.add(key)  # known disallowed: never queued, never counted against max_pages
            self.counts["robots"] += 1
            self.ctx.log("DEBUG", f"robots.txt disallows {url}; skipped")
            return
        if self.scheduled >= self.max_pages:
            self.truncated = True
            return
        self.seen.add(key)
        self.scheduled += 1
        self.pending += 1
        self.queue.put_nowait((url, key, start))

    # ---- the run -----------------------------------------------------------------------

    async def run(self) -> AsyncIterator[Page]:
        for url in self.start_urls:
            self.schedule(url, start=True)
        if self.pending == 0:
            self.ctx.log("WARNING", "no start URL is inside allowed_domains; nothing to crawl")
            return
        hosts = {urlsplit(u).netloc for u in self.start_urls}
        workers = [
            asyncio.create_task(self._worker(), name=f"scrape worker {n}")
            for n in range(min(64, self.concurrency * max(1, len(hosts))))
        ]
        held: Page | None = None
        first = True
        try:
            while (item := await self.out.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                if first:  # at once, so a preview needs no second page
                    first = False
                    yield self._with_cursor(item, final=False)
                    continue
                # Hold one page back, so the last one can carry the final cursor.
                if held is not None:
                    yield self._with_cursor(held, final=False)
                held = item
            if held is None and self.dirty:
                held = Page(records=[], url=self.start_urls[0])
            if held is not None:
                yield self._with_cursor(held, final=True)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        c = self.counts
        self.ctx.log(
            "INFO",
            f"crawl done: {c['fetched']} page(s) fetched, {c['not_modified']} not "
            f"modified, {c['robots']} blocked by robots.txt, {c['canonical']} "
            f"duplicate(s) by canonical link, {c['failed']} failed",
        )
        if self.truncated:
            self.ctx.log("INFO", f"stopped at max_pages={self.max_pages}")

    def _with_cursor(self, page: Page, final: bool) -> Page:
        """Persist validators every so often (the cursor is rewritten whole, so not on
        every page of a big site) and always with the last page."""
        key = self.page_keys.pop(id(page), None)
        if key is not None:
            self._settle(key)
        self.since_flush += 1
        if self.dirty and (final or self.since_flush >= max(25, len(self.remembered) // 10)):
            page.cursor = {**self.ctx.cursor, "pages": dict(self.remembered)}
            self.dirty = False
            self.since_flush = 0
        return page

    async def _worker(self) -> None:
        while True:
            url, key, start = await self.queue.get()
            try:
                page = await self._visit(url, key, start)
                if page is not None:
                    await self.out.put(page)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # the run fails; the consumer re-raises it
                await self.out.put(exc)
                return
            finally:
                self.pending -= 1
            if self.pending == 0:
                await self.out.put(_DONE)

    # ---- hosts and robots --------------------------------------------------------------

    async def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        host = self.hosts.get(origin)
        if host is None:
            host = self.hosts[origin] = _Host(asyncio.Semaphore(self.concurrency), self.delay)
        if self.respect_robots and not host.robots_loaded:
            async with host.robots_lock:
                if not host.robots_loaded:
                    await self._load_robots(host, origin)
                    host.robots_loaded = True
        return host

    async def _load_robots(self, host: _Host, origin: str) -> None:
        from protego import Protego

        url = f"{origin}/robots.txt"
        try:
            async with host.semaphore:
                await host.take_turn()
                response = await self.ctx.http.get(
                    url,
                    retries=min(self.config.retries, 2),
                    timeout=self.config.timeout,
                    backoff=self.config.backoff,
                )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                host.robots = Protego.parse("")  # no robots.txt: everything is allowed
                return
            host.robots_error = exc
            self.ctx.log("WARNING", f"cannot read {url} ({exc}); not crawling {origin} this run")
            return
        host.robots = Protego.parse(response.body.decode("utf-8", errors="replace"))
        wait = host.robots.crawl_delay(ROBOTS_AGENT)
        rate = host.robots.request_rate(ROBOTS_AGENT)
        if rate is not None and rate.requests:
            wait = max(wait or 0.0, rate.seconds / rate.requests)
        if wait and wait > host.delay:
            self.ctx.log(
                "INFO",
                f"{origin}: robots.txt asks for {wait:g}s between requests "
                f"(delay was {host.delay:g}s)",
            )
            host.next_at += wait - host.delay
            host.delay = float(wait)

    def _robots_allow(self, host: _Host, url: str) -> bool:
        if not self.respect_robots:
            return True
        if host.robots_error is not None:
            return False
        return host.robots is None or host.robots.can_fetch(url, ROBOTS_AGENT)

    # ---- one page ----------------------------------------------------------------------

    async def _visit(self, url: str, key: str, start: bool) -> Page | None:
        host = await self._host(url)
        if host.robots_error is not None and start and self.ok == 0:
            raise host.robots_error  # the site itself is unreachable: the run fails
        if not self._robots_allow(host, url):
            self.counts["robots"] += 1
            self.scheduled -= 1
            self.ctx.log(
                "DEBUG" if not start else "WARNING", f"robots.txt disallows {url}; skipped"
            )
            return None
        known = self.remembered.get(key)
        headers = self.source.headers_for(url)
        if self.conditional and known:
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("modified"):
                headers["If-Modified-Since"] = known["modified"]
        try:
            async with host.semaphore:
                await host.take_turn()
                response = await self.ctx.http.get(
                    url,
                    headers=headers,
                    retries=self.config.retries,
                    timeout=self.config.timeout,
                    backoff=self.config.backoff,
                    on_wait=lambda delay, why: self.ctx.set_status("backing_off", why),
                )
            self.ctx.set_status("running", "")
        except FetchError as exc:
            if start and self.ok == 0:
                raise  # the site itself is unreachable: the run fails
            self.counts["failed"] += 1
            status = f" (HTTP {exc.status})" if exc.status else ""
            return Page(
                records=[],
                url=url,
                failures=[
                    FailedRecord(
                        "fetch", f"{exc}{status}", exc.body, {"url": url, "status": exc.status}
                    )
                ],
            )
        self.ok += 1

        if response.status == 304 and known:
            self.counts["not_modified"] += 1
            for link in known.get("links", []):
                self.schedule(link)
            return None
        final = response.url
        if final != url:  # redirected
            final_key = url_key(final)
            if not self.allowed_host(final) or (final_key in self.seen and final_key != key):
                self.ctx.log("DEBUG", f"{url} redirects to {final}, already seen or off-site")
                return None
            self.seen.add(final_key)
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() not in HTML_TYPES:
            self.ctx.log("DEBUG", f"{final} is {content_type}, not HTML; skipped")
            return None
        self.counts["fetched"] += 1

        fetched_at = datetime.now(UTC)
        try:
            page = await self._extract(response.body, final, content_type, fetched_at)
        except Exception as exc:  # whatever a page holds, it fails alone; the crawl goes on
            self.counts["failed"] += 1
            message = f"page {final}: cannot extract: {type(exc).__name__}: {exc}"
            self.ctx.log("WARNING", message)
            context = {"url": final, "status": response.status, "fetched_at": _iso(fetched_at)}
            return Page(
                records=[],
                url=final,
                failures=[FailedRecord("parse", message, response.text(), context)],
            )
        for note in page.notes:
            self.ctx.log("INFO", note)
        for link in page.links:
            self.schedule(link)
        self._remember(key, response.headers, page, known)

        identity = key if page.url == url else url_key(page.url)
        if identity in self.identities:
            self.counts["canonical"] += 1
            self.ctx.log("DEBUG", f"{final} is {page.url} again (canonical link); records skipped")
            self._settle(key)  # no records of its own to wait for
            return None
        self.identities.add(identity)
        self.seen.add(identity)  # its canonical URL need not be fetched as well

        failures = []
        previous = known.get("items", 0) if known else 0
        if page.items == 0 and previous > 0:
            what = (
                self.source.extract_config.item or f"extract = {self.source.extract_config.mode!r}"
            )
            message = (
                f"page {final}: {what} found no items, where it found {previous} on the "
                f"last fetch; has the page layout changed?"
            )
            self.ctx.log("WARNING", message)
            failures.append(
                FailedRecord(
                    "parse",
                    message,
                    page.html,
                    {
                        "url": final,
                        "status": response.status,
                        "fetched_at": _iso(fetched_at),
                        "previous_items": previous,
                    },
                )
            )
        handed = Page(records=page.records, url=page.url, failures=failures)
        self.page_keys[id(handed)] = key
        return handed

    async def _extract(
        self, body: bytes, url: str, content_type: str, fetched_at: datetime
    ) -> Extracted:
        """Parse a page: on the loop when it is quick, else in a worker thread.

        A small page in selectors or article mode parses in a couple of ms, less CPU
        than handing it to a thread costs (the GIL passed back and forth: measured
        +1.3 ms a page, ~40% of a local crawl). Big pages and `auto` (extruct: tens to
        hundreds of ms) go to a thread, so the loop never stalls for long."""
        config = self.source.extract_config
        if len(body) <= INLINE_PARSE_BYTES and config.mode != "auto":
            return extract_page(
                body, url=url, content_type=content_type, fetched_at=fetched_at, config=config
            )
        return await asyncio.to_thread(
            extract_page,
            body,
            url=url,
            content_type=content_type,
            fetched_at=fetched_at,
            config=config,
        )

    def _remember(
        self, key: str, headers: Any, page: Extracted, known: dict[str, Any] | None
    ) -> None:
        if any(redact(url) != url for url in (key, *page.links)):
            return  # a URL carrying a credential stays out of the stored cursor (no 304 for it)
        entry: dict[str, Any] = {"items": page.items or (known or {}).get("items", 0)}
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        if etag:
            entry["etag"] = etag
        if modified:
            entry["modified"] = modified
        if (etag or modified) and page.links:
            entry["links"] = page.links  # a 304 has no body to find them in
        if entry != known:
            self.fresh[key] = entry

    def _settle(self, key: str) -> None:
        """A page's records are handed on: its validators may go into the cursor."""
        entry = self.fresh.pop(key, None)
        if entry is None:
            return
        self.remembered.pop(key, None)
        self.remembered[key] = entry
        while len(self.remembered) > MAX_REMEMBERED_PAGES:
            self.remembered.pop(next(iter(self.remembered)))
        self.dirty = True


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
