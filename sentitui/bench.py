"""`sentitui bench`: throughput figures, measured on this machine, on local data only.

- ingest: posts/s through the whole Engine (file source -> clean -> score -> classify
  -> SQLite) for ~20k generated records, and the process's peak RSS.
- scrape: pages/s crawling a generated shop of >= 2,000 review pages served by an
  aiohttp server in a subprocess, next to Scrapy crawling the same site with the same
  selectors (robots.txt obeyed, 8 requests at a time per host, no delay, in both),
  the median of 5 interleaved pairs. Both are bound by the crawling process's CPU
  (the server alone answers thousands of pages/s). Scrapy is the `bench` extra; without it the figure says "scrapy not installed".
  Then the same crawl through the Engine, scoring and loading every review.

Speed goals live here, never in timed unit tests. `python -m sentitui.bench serve-site`
and `... scrapy` are the subprocesses the bench starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INGEST_RECORDS = 20_000
E2E_RECORDS = 30_000  # through the local paged API, as the issue measured
E2E_ROUNDS = 3  # e2e rounds (yardsticks around the engine) the ratios take the median of
QUICK_SCALE = 2_000  # posts in the --quick database
SITE_PRODUCTS = 2_000  # product pages; plus one listing page per 20 products
QUICK_RECORDS = 500
QUICK_PRODUCTS = 40
PER_LISTING = 20
REVIEWS_PER_PAGE = 5
CONCURRENCY = 8  # Scrapy's default CONCURRENT_REQUESTS_PER_DOMAIN
SCRAPE_PAIRS = 5  # interleaved crawls (ours, Scrapy's) the scrape figures take the median of

# The selectors both crawlers use (Scrapy's text selector adds " ::text", since
# Scrapy has no "whole element text" shorthand).
SELECTORS: dict[str, Any] = {
    "item": "article.review",
    "fields": {
        "text": ".review-body",
        "author": ".author::text",
        "rating": ".stars::attr(style)",
        "created_at": "time::attr(datetime)",
        "segments": {
            "age_range": ".reviewer .age::text",
            "hair_type": ".reviewer .hair-type::text",
        },
    },
    "follow": "a.product-link",
    "next_page": "a.next",
}

_OPENERS = ["Honestly,", "Week two:", "Update:", "So far", "Okay so", ""]
_SENTENCES = [
    "AquaSilk made my curls soft and defined without weighing them down",
    "the scent is light and lasts all day",
    "it left my scalp itchy after the third wash",
    "I wish it came in a bigger bottle for the price",
    "not better than HairGlow, not worse either",
    "the pump broke on day one and the bottle leaked all over my bag",
    "my hair has never been this shiny",
    "I went back to SilkPro after a week",
    "please make a fragrance-free version",
    "great lather, rinses clean, no residue",
]


def _text(rng: random.Random, sentences: int) -> str:
    parts = [rng.choice(_SENTENCES) for _ in range(sentences)]
    opener = rng.choice(_OPENERS)
    text = ". ".join(p[0].upper() + p[1:] for p in parts) + rng.choice([".", "!", "!!", " :)"])
    return f"{opener} {text}".strip()


def percentile(values: list[float], share: float) -> float:
    """The value `share` of the way up the sorted values (0.5: the median); 0 for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---- (a) ingest -------------------------------------------------------------------------


def write_records(path: Path, count: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(
                json.dumps(
                    {
                        "id": n,
                        "body": _text(rng, rng.randint(1, 3)),
                        "user": f"user{rng.randint(1, 5000)}",
                        "ts": f"2026-11-{20 + n % 6:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
                        "region": rng.choice(["UK", "EU", "US-East", "APAC"]),
                    }
                )
                + "\n"
            )


# How a source maps the records `write_records` generates (a file drop or the bench API).
RECORD_FIELDS = {
    "id": "id",
    "text": "body",
    "author": "user",
    "created_at": "ts",
    "segments": {"region": "region"},
}


def _pipeline(tmp: Path, name: str, source: dict[str, Any]) -> Any:
    """A pipeline as if read from a TOML file (validation included)."""
    from sentitui.config import load_pipeline_file

    def toml_value(value: Any) -> str:
        if isinstance(value, dict):
            return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
        return json.dumps(value)

    lines = ["[pipeline]", f'name = "{name}"', "", "[[source]]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in source.items()]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_pipeline_file(path)


async def bench_ingest(records: int, tmp: Path) -> dict[str, Any]:
    from sentitui.engine.engine import Engine

    data = tmp / "records.jsonl"
    write_records(data, records)
    pipeline = _pipeline(
        tmp,
        "ingest",
        {
            "name": "drop",
            "kind": "file",
            "path": str(data),
            "format": "jsonl",
            "fields": RECORD_FIELDS,
        },
    )
    async with Engine(tmp / "ingest.db", [pipeline]) as engine:
        started = time.perf_counter()
        stats = await engine.run_source("ingest", "drop", "cli")
        seconds = time.perf_counter() - started
    return {
        "records": records,
        "loaded": stats.loaded,
        "failed": stats.failed,
        "seconds": round(seconds, 2),
        "posts_per_s": round(stats.loaded / seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


# ---- (b) scrape: the site ----------------------------------------------------------------


@dataclass(slots=True)
class ReviewSite:
    """A generated shop: listing pages of products, each product page with reviews."""

    products: int

    @property
    def listings(self) -> int:
        return -(-self.products // PER_LISTING)

    @property
    def pages(self) -> int:
        return self.products + self.listings

    @property
    def reviews(self) -> int:
        return self.products * REVIEWS_PER_PAGE

    def chrome(self, title: str, body: str) -> str:
        nav = "".join(f'<li><a href="/c/{n}">Category {n}</a></li>' for n in range(24))
        foot = "".join(f'<a href="/info/{n}">Help topic {n}</a> ' for n in range(16))
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="/s.css"><script>window.dataLayer=[];</script></head>'
            f'<body><header><nav class="main-nav"><ul>{nav}</ul></nav></header>'
            f"<main>{body}</main><footer>{foot}<p>© 2026 Lumen Hair Co.</p></footer></body></html>"
        )

    def listing(self, number: int) -> str:
        first = (number - 1) * PER_LISTING
        items = "".join(
            f'<li class="tile"><a class="product-link" href="/p/{n}">AquaSilk item {n}</a>'
            f'<span class="price">${10 + n % 20}.90</span></li>'
            for n in range(first, min(first + PER_LISTING, self.products))
        )
        nxt = (
            f'<a class="next" href="/shop/page/{number + 1}">Next</a>'
            if number < self.listings
            else ""
        )
        return self.chrome(
            f"Shop page {number}", f'<h1>All products</h1><ul class="grid">{items}</ul>{nxt}'
        )

    def product(self, number: int) -> str:
        rng = random.Random(number)
        reviews = []
        for r in range(REVIEWS_PER_PAGE):
            stars = rng.randint(1, 5)
            reviews.append(
                f'<article class="review" id="r{number}-{r}"><header>'
                f'<span class="author">{rng.choice(["Maya", "Jonas", "Priya", "Sam", "Lena"])} '
                f"{chr(65 + rng.randint(0, 25))}.</span>"
                f'<div class="rating"><span class="stars" style="width: {stars * 20}%"></span></div>'
                f'<time datetime="2026-11-{20 + rng.randint(0, 5):02d}T{rng.randint(0, 23):02d}:00:00Z">'
                f"November 2026</time></header>"
                f'<ul class="reviewer"><li class="age">{rng.choice(["18-24", "25-34", "35-44"])}</li>'
                f'<li class="hair-type">{rng.choice(["straight", "wavy", "curly", "coily"])}</li></ul>'
                f'<div class="review-body"><p>{_text(rng, rng.randint(2, 4))}</p>'
                f"<p>{_text(rng, 1)}</p></div>"
                f'<footer><button>Helpful</button> <a href="/report/{number}-{r}">Report</a></footer>'
                f"</article>"
            )
        body = (
            f'<div class="product"><h1>AquaSilk item {number}</h1><p class="description">'
            f'{_text(rng, 6)}</p></div><section class="reviews"><h2>Reviews</h2>'
            f"{''.join(reviews)}</section>"
        )
        return self.chrome(f"AquaSilk item {number}", body)

    def all_pages(self) -> dict[str, bytes]:
        pages = {f"/shop/page/{n}": self.listing(n).encode() for n in range(1, self.listings + 1)}
        pages.update({f"/p/{n}": self.product(n).encode() for n in range(self.products)})
        # Report and category pages are off-limits, as on real shops.
        pages["/robots.txt"] = b"User-agent: *\nDisallow: /report/\nDisallow: /c/\n"
        return pages


def serve_site(products: int) -> None:
    """Subprocess entry: serve the site on a free loopback port; print the port."""
    from aiohttp import web

    pages = ReviewSite(products).all_pages()

    async def handle(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        kind = "text/plain" if request.path == "/robots.txt" else "text/html"
        return web.Response(body=body, content_type=kind, charset="utf-8")

    serve_until_stdin_closes("/{tail:.*}", handle)


def serve_until_stdin_closes(route: str, handle: Any) -> None:
    """Subprocess body of a bench server: serve `handle` at `route` on a free loopback
    port, print the port, and stop when the parent closes our stdin."""
    from aiohttp import web

    async def main() -> None:
        app = web.Application()
        app.router.add_get(route, handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
        await runner.cleanup()

    asyncio.run(main())


class ServerProcess:
    """A bench server (`python -m sentitui.bench COMMAND ...`) in its own process, so it
    shares neither our event loop nor our CPU; closed by closing its stdin."""

    def __init__(self, *command: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sentitui.bench", *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"the bench server ({command[0]}) did not start")
        self.url = f"http://127.0.0.1:{line.strip()}"

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---- (b) scrape: the crawlers ----------------------------------------------------------


def _scrape_source_options(url: str) -> dict[str, Any]:
    return {
        "name": "shop",
        "kind": "scrape",
        "start_urls": [f"{url}/shop/page/1"],
        "delay": 0,
        "concurrency": CONCURRENCY,
        "max_pages": 100_000,
        **SELECTORS,
    }


async def bench_sentitui_crawl(url: str, tmp: Path) -> dict[str, Any]:
    """The scrape source alone: crawl, fetch, decode, parse, extract (what Scrapy does)."""
    from sentitui.net.http import HttpClient
    from sentitui.sources import make_source
    from sentitui.sources.base import SourceContext

    pipeline = _pipeline(tmp, "crawl", _scrape_source_options(url))
    source = make_source(pipeline.sources[0], pipeline)
    pages = items = 0
    async with HttpClient() as http:
        started = time.perf_counter()
        async for page in source.pages(SourceContext(http=http)):
            pages += 1
            items += len(page.records)
        seconds = time.perf_counter() - started
    return {
        "pages": pages,
        "items": items,
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages / seconds, 1),
    }


async def bench_engine_crawl(url: str, tmp: Path) -> dict[str, Any]:
    """The same crawl through the Engine: every review cleaned, scored and loaded."""
    from sentitui.engine.engine import Engine

    pipeline = _pipeline(tmp, "scrape", _scrape_source_options(url))
    async with Engine(tmp / "scrape.db", [pipeline]) as engine:
        started = time.perf_counter()
        stats = await engine.run_source("scrape", "shop", "cli")
        seconds = time.perf_counter() - started
    return {
        "pages": stats.pages,
        "loaded": stats.loaded,
        "failed": stats.failed,
        "seconds": round(seconds, 2),
        "pages_per_s": round(stats.pages / seconds, 1),
        "posts_per_s": round(stats.loaded / seconds, 1),
    }


def scrapy_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("scrapy") is not None


def bench_scrapy_crawl(url: str) -> dict[str, Any]:
    """Scrapy on the same site, in its own process (Twisted wants its own reactor)."""
    if not scrapy_installed():
        return {"error": "scrapy not installed (pip install 'sentitui[bench]')"}
    done = subprocess.run(
        [sys.executable, "-m", "sentitui.bench", "scrapy", "--url", url],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0 or not done.stdout.strip():
        return {"error": f"scrapy failed: {done.stderr.strip()[-500:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def crawl_pairs(url: str, tmp: Path, pairs: int, scrapy: bool = True) -> dict[str, Any]:
    """Our crawl and Scrapy's, one after the other, `pairs` times: the run with the
    median pages/s of each side, and the median of the pairs' ratios. On a shared
    machine one pair can be off by 2x either way; the two runs of a pair share its load."""
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for _ in range(pairs):
        ours.append(asyncio.run(bench_sentitui_crawl(url, tmp)))
        theirs.append(bench_scrapy_crawl(url) if scrapy else {"error": "skipped"})
        if "error" in theirs[-1]:
            break
    ratios = sorted(
        round(a["pages_per_s"] / b["pages_per_s"], 2)
        for a, b in zip(ours, theirs, strict=False)
        if b.get("pages_per_s")
    )
    return {
        "pairs": len(ours),
        "sentitui": _median_run(ours),
        "scrapy": _median_run(theirs),
        "speedup_vs_scrapy": ratios[len(ratios) // 2] if ratios else None,
        "speedups": ratios,
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median pages/s (upper median), or the failed run's error."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda run: run["pages_per_s"])[len(runs) // 2]


def run_scrapy(url: str) -> None:
    """Subprocess entry: crawl with Scrapy, print {"pages", "items", "seconds", "pages_per_s"}."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    fields = {k: v for k, v in SELECTORS["fields"].items() if k != "segments"}
    segments = SELECTORS["fields"]["segments"]
    timing: dict[str, float] = {}
    counts = {"pages": 0, "items": 0}

    # Scrapy holds signal handlers weakly: these live as long as this frame.
    def engine_started() -> None:
        timing["start"] = time.perf_counter()

    def spider_closed() -> None:
        timing["end"] = time.perf_counter()

    class ReviewSpider(scrapy.Spider):
        name = "reviews"
        start_urls = [f"{url}/shop/page/1"]

        def parse(self, response: Any) -> Any:
            counts["pages"] += 1
            for review in response.css(SELECTORS["item"]):
                item = {
                    name: review.css(css).get() for name, css in fields.items() if name != "text"
                }
                item["text"] = " ".join(
                    t.strip() for t in review.css(fields["text"] + " ::text").getall() if t.strip()
                )
                item["segments"] = {name: review.css(css).get() for name, css in segments.items()}
                item["id"] = review.attrib.get("id")
                counts["items"] += 1
                yield item
            for css in (SELECTORS["follow"], SELECTORS["next_page"]):
                yield from response.follow_all(css=css, callback=self.parse)

        @classmethod
        def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(engine_started, signal=signals.engine_started)
            crawler.signals.connect(spider_closed, signal=signals.spider_closed)
            return spider

    process = CrawlerProcess(
        settings={
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "USER_AGENT": "SentiTUI-bench (Scrapy)",
        }
    )
    process.crawl(ReviewSpider)
    process.start()
    seconds = timing["end"] - timing["start"]
    print(
        json.dumps(
            {
                "pages": counts["pages"],
                "items": counts["items"],
                "seconds": round(seconds, 2),
                "pages_per_s": round(counts["pages"] / seconds, 1),
            }
        )
    )


# ---- the report -------------------------------------------------------------------------


def scale_sizes(scale: str) -> list[int]:
    """`--scale` -> database sizes in posts: "1m" (the default), "10m", "1m,10m", "250k"."""
    sizes = []
    for part in scale.lower().split(","):
        part = part.strip()
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        number = part[:-1] if factor > 1 else part
        if not number.isdigit() or int(number) <= 0:
            raise ValueError(f"--scale {scale!r}: expected sizes such as 1m, 10m or 250k")
        sizes.append(int(number) * factor)
    return sizes


def default_cache() -> Path:
    """Where built bench databases are kept between runs (they take minutes to build)."""
    return Path(tempfile.gettempdir()) / "sentitui-bench-cache"


def run_bench(
    quick: bool = False,
    *,
    records: int | None = None,
    products: int | None = None,
    scrapy: bool = True,
    scale: str = "1m",
    cache: Path | None = None,
    db: str | None = None,
) -> dict[str, Any]:
    """Every figure, as one dict (what `sentitui bench --json` prints). `db`: a
    PostgreSQL URL; only the scale figures are measured, on a build made there."""
    import os

    from sentitui.bench_e2e import run_e2e
    from sentitui.bench_memory import MEMORY_SIZES, QUICK_MEMORY_SIZES, run_memory
    from sentitui.bench_scale import cached_db, console_figures, time_queries
    from sentitui.bench_terminal import terminal_keys, terminal_keys_ingesting
    from sentitui.store.backend import describe

    records = records or (QUICK_RECORDS if quick else INGEST_RECORDS)
    products = products or (QUICK_PRODUCTS if quick else SITE_PRODUCTS)
    figures: dict[str, Any] = {"quick": quick, "cores": os.cpu_count() or 1}
    with tempfile.TemporaryDirectory(prefix="sentitui-bench-") as folder:
        tmp = Path(folder)
        if db is None:
            figures["ingest"] = asyncio.run(bench_ingest(records, tmp))
            e2e_records = QUICK_RECORDS if quick else E2E_RECORDS
            figures["e2e"] = run_e2e(
                e2e_records, max(50, e2e_records // 10), tmp, 1 if quick else E2E_ROUNDS
            )
            figures["memory"] = run_memory(QUICK_MEMORY_SIZES if quick else MEMORY_SIZES, tmp)
            figures["terminal_ingesting"] = (
                terminal_keys_ingesting(QUICK_SCALE) if quick else terminal_keys_ingesting()
            )
        figures["scale"] = []
        for size in [QUICK_SCALE] if quick else scale_sizes(scale):
            path, build_rate = cached_db(tmp if quick else (cache or default_cache()), size, db)
            row: dict[str, Any] = {"posts": size, "build_posts_per_s": build_rate}
            row["db"] = describe(path)
            row.update(time_queries(path))
            row["console"] = asyncio.run(console_figures(path))
            row["terminal"] = terminal_keys(path)
            figures["scale"].append(row)
        if db is not None:
            figures["peak_rss_mb"] = peak_rss_mb()
            return figures
        site = ServerProcess("serve-site", "--products", str(products))
        try:
            shape = ReviewSite(products)
            figures["scrape"] = {
                "site_pages": shape.pages,
                "site_reviews": shape.reviews,
                "concurrency_per_host": CONCURRENCY,
            }
            figures["scrape"].update(
                crawl_pairs(site.url, tmp, 1 if quick else SCRAPE_PAIRS, scrapy)
            )
            figures["scrape"]["engine"] = asyncio.run(bench_engine_crawl(site.url, tmp))
        finally:
            site.close()
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def format_report(figures: dict[str, Any]) -> str:
    lines = _throughput_lines(figures) if "ingest" in figures else []
    for row in figures.get("scale", []):
        console = row["console"]
        built = (
            f"built at {row['build_posts_per_s']} posts/s" if row["build_posts_per_s"] else "cached"
        )
        lines.append(
            f"db {row['posts']:>11,} posts ({built}; {row.get('db', 'SQLite')}): stats --json "
            f"{row['stats_command_s']} s (queries {row['stats_queries_s']} s); dashboard "
            f"all/day/hour {row['dashboard_all_s']}/{row['dashboard_day_s']}/"
            f"{row['dashboard_hour_s']} s; a Posts page {row['posts_page_s']} s"
        )
        lines.append(
            f"  console: first full dashboard {console['first_dashboard_s']} s; key to redrawn "
            f"screen median {console['key_redraw_median_ms']} ms, p90 {console['key_redraw_p90_ms']} ms "
            f"(with its data: {console['key_data_median_ms']} / {console['key_data_p90_ms']} ms)"
        )
        terminal = row.get("terminal") or {}
        lines.append(
            f"  in a terminal (tmux {terminal['size']}): first full dashboard "
            f"{terminal['first_dashboard_s']} s (median of {len(terminal['first_dashboard_starts'])} "
            f"starts, max {terminal['first_dashboard_max_s']} s); key to redrawn screen median "
            f"{terminal['key_redraw_median_ms']} ms, p90 {terminal['key_redraw_p90_ms']} ms "
            f"(goal 100 ms), max {terminal['key_redraw_max_ms']} ms"
            if "size" in terminal
            else f"  in a terminal: {terminal.get('error', 'not measured')}"
        )
    ingesting = figures.get("terminal_ingesting")
    if ingesting is not None:
        lines.append(
            f"console while ingesting (tmux {ingesting['size']}, its engine pulling the API): "
            f"key to redrawn screen median {ingesting['key_redraw_median_ms']} ms, p90 "
            f"{ingesting['key_redraw_p90_ms']} ms (goal 100 ms), max "
            f"{ingesting['key_redraw_max_ms']} ms; {ingesting['stored_during_keys']:,} posts "
            f"stored meanwhile"
            + ("" if ingesting["ingesting_throughout"] else " (the pull ended before the keys)")
            if "size" in ingesting
            else f"console while ingesting: {ingesting.get('error', 'not measured')}"
        )
    lines.append(f"peak RSS {figures['peak_rss_mb']} MB; {figures.get('cores', '?')} cores")
    return "\n".join(lines)


def _throughput_lines(figures: dict[str, Any]) -> list[str]:
    from sentitui.bench_memory import format_memory

    ingest, scrape = figures["ingest"], figures["scrape"]
    lines = [
        f"ingest   {ingest['posts_per_s']:>9} posts/s   {ingest['loaded']} of {ingest['records']} "
        f"records through the Engine (file -> score -> SQLite) in {ingest['seconds']} s; "
        f"peak RSS {ingest['peak_rss_mb']} MB",
        f"scrape   site of {scrape['site_pages']} pages ({scrape['site_reviews']} reviews), "
        f"{scrape['concurrency_per_host']} requests at a time, robots.txt obeyed",
    ]
    ours = scrape["sentitui"]
    lines.append(
        f"  sentitui {ours['pages_per_s']:>9} pages/s   {ours['pages']} pages, "
        f"{ours['items']} reviews in {ours['seconds']} s (crawl + parse, as Scrapy)"
    )
    theirs = scrape["scrapy"]
    if "error" in theirs:
        lines.append(f"  scrapy   {theirs['error']}")
    else:
        lines.append(
            f"  scrapy   {theirs['pages_per_s']:>9} pages/s   {theirs['pages']} pages, "
            f"{theirs['items']} reviews in {theirs['seconds']} s"
        )
    if scrape.get("speedup_vs_scrapy"):
        lines.append(
            f"  sentitui / scrapy: {scrape['speedup_vs_scrapy']}x, median of "
            f"{scrape['pairs']} interleaved pair(s) {scrape['speedups']} (goal: 2.5x)"
        )
    engine = scrape["engine"]
    lines.append(
        f"  engine   {engine['pages_per_s']:>9} pages/s   {engine['loaded']} posts scored and "
        f"loaded in {engine['seconds']} s ({engine['posts_per_s']} posts/s)"
    )
    lines += _e2e_lines(figures.get("e2e"))
    lines += format_memory(figures.get("memory", []))
    return lines


def _e2e_lines(e2e: dict[str, Any] | None) -> list[str]:
    if not e2e:
        return []
    engine, textblob, naive = e2e["engine"], e2e["textblob_one_core"], e2e["naive_script"]
    rounds = e2e.get("rounds", [])
    each = ", ".join(f"{r['vs_textblob']}x/{r['vs_naive']}x" for r in rounds)
    return [
        f"e2e      {engine['posts_per_s']:>9} posts/s   {engine['loaded']} of {engine['records']} "
        f"records, local paged API -> SQLite ({engine['workers']} scoring workers, "
        f"{e2e['distinct_texts']} distinct texts); the median of {len(rounds)} round(s) "
        f"(vs TextBlob/vs naive each: {each})",
        f"  vs TextBlob alone on one core ({textblob['posts_per_s']} posts/s): "
        f"{e2e['vs_textblob']}x (goal 1.4x)",
        f"  vs a naive script ({naive['posts_per_s']} posts/s over {naive['records']} records): "
        f"{e2e['vs_naive']}x (goal 8x)",
        f"  CPU used: {engine['cpu_share_of_all_cores']:.0%} of all cores; event-loop lag "
        f"p99 {engine['loop_lag_p99_ms']} ms, max {engine['loop_lag_max_ms']} ms",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentitui.bench")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve-site", help="serve the bench site (used by the bench)")
    serve.add_argument("--products", type=int, default=SITE_PRODUCTS)
    crawl = commands.add_parser("scrapy", help="crawl with Scrapy (used by the bench)")
    crawl.add_argument("--url", required=True)
    api = commands.add_parser("serve-api", help="serve the bench's paged API (used by the bench)")
    api.add_argument("--records", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "serve-site":
        serve_site(args.products)
    elif args.command == "serve-api":
        from sentitui.bench_e2e import serve_api

        serve_api(args.records)
    else:
        run_scrapy(args.url)


if __name__ == "__main__":
    main()
