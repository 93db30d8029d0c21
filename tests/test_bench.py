"""`sentitui bench --quick`: a smoke run with tiny sizes (the figures are not checked
for speed here; speed goals belong to the bench itself)."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from sentitui.bench import (
    QUICK_PRODUCTS,
    QUICK_RECORDS,
    QUICK_SCALE,
    REVIEWS_PER_PAGE,
    ReviewSite,
    scrapy_installed,
)
from sentitui.bench_memory import QUICK_MEMORY_SIZES
from sentitui.cli import main


def test_bench_quick_json_reports_every_figure():
    result = CliRunner().invoke(main, ["bench", "--quick", "--json"])

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    ingest, scrape = figures["ingest"], figures["scrape"]
    assert (ingest["records"], ingest["loaded"], ingest["failed"]) == (
        QUICK_RECORDS,
        QUICK_RECORDS,
        0,
    )
    assert ingest["posts_per_s"] > 0 and ingest["peak_rss_mb"] > 10
    site = ReviewSite(QUICK_PRODUCTS)
    assert (scrape["site_pages"], scrape["site_reviews"]) == (
        site.pages,
        QUICK_PRODUCTS * REVIEWS_PER_PAGE,
    )
    # Every page of the site crawled once, every review extracted, by each crawler.
    assert (scrape["sentitui"]["pages"], scrape["sentitui"]["items"]) == (site.pages, site.reviews)
    assert scrape["pairs"] == 1  # --quick: one crawl each
    assert (scrape["engine"]["pages"], scrape["engine"]["loaded"]) == (site.pages, site.reviews)
    # End to end over the local API, next to TextBlob and the naive script (no speed
    # is asserted: the figures are only there, computed from real runs).
    e2e = figures["e2e"]
    assert (e2e["engine"]["loaded"], e2e["engine"]["status"]) == (QUICK_RECORDS, "ok")
    assert e2e["textblob_one_core"]["texts"] == QUICK_RECORDS
    assert e2e["naive_script"]["records"] > 0 and e2e["vs_naive"] > 0 and e2e["vs_textblob"] > 0
    assert len(e2e["rounds"]) == 1  # --quick: one round; the full bench takes the median of 3
    # Memory: each file drop stored whole by `run --once`, its peak RSS measured.
    memory = figures["memory"]
    assert [(m["records"], m["stored"], m["exit"]) for m in memory] == [
        (size, size, 0) for size in QUICK_MEMORY_SIZES
    ]
    assert all(m["peak_rss_mb"] > 10 for m in memory)
    [scale] = figures["scale"]
    assert scale["posts"] == QUICK_SCALE and scale["stats_ok"] is True
    assert scale["console"]["keys"] > 0 and scale["console"]["first_dashboard_s"] > 0
    terminal = scale["terminal"]
    if shutil.which("tmux"):  # the console in a real terminal, every key answered
        assert terminal["keys"] == 20 and terminal["key_redraw_max_ms"] < 10_000, terminal
        starts = terminal["first_dashboard_starts"]  # the median of 5 starts, and the worst
        assert len(starts) == 5 and terminal["first_dashboard_s"] == sorted(starts)[2]
        assert terminal["first_dashboard_max_s"] == max(starts)
    else:
        assert "tmux is not installed" in terminal["error"]
    # The same while the console's engine pulls the API: every key's answer was seen.
    ingesting = figures["terminal_ingesting"]
    if shutil.which("tmux"):
        assert ingesting["keys"] == 20 and ingesting["key_redraw_max_ms"] < 10_000, ingesting
        assert ingesting["records"] == QUICK_SCALE and ingesting["stored_during_keys"] >= 0
    else:
        assert "tmux is not installed" in ingesting["error"]
    assert figures["cores"] >= 1
    if scrapy_installed():
        assert (scrape["scrapy"]["pages"], scrape["scrapy"]["items"]) == (site.pages, site.reviews)
        assert scrape["speedup_vs_scrapy"] > 0 and scrape["speedups"] == [
            scrape["speedup_vs_scrapy"]
        ]
    else:
        assert scrape["scrapy"] == {"error": "scrapy not installed (pip install 'sentitui[bench]')"}


def test_bench_scale_sizes_and_typos():
    from sentitui.bench import scale_sizes

    assert scale_sizes("1m,10m") == [1_000_000, 10_000_000]
    assert scale_sizes("250k") == [250_000]
    result = CliRunner().invoke(main, ["bench", "--scale", "lots"])
    assert result.exit_code == 2 and "--scale 'lots'" in result.output


def test_bench_site_pages_link_every_product_once():
    site = ReviewSite(45)
    pages = site.all_pages()
    assert site.pages == 48 and len(pages) == site.pages + 1  # + robots.txt
    last = pages["/shop/page/3"].decode()
    assert 'href="/p/44"' in last and 'class="next"' not in last
    assert pages["/p/7"].decode().count('class="review"') == REVIEWS_PER_PAGE


def test_bench_scale_on_postgresql_builds_there_once_and_times_it(pg_url):
    """`bench --scale N --db postgresql://…`: the database is built in that empty
    database through the write path, timed (stats, dashboard, console), and reused by
    the next bench; a database holding other posts is refused, not written into."""
    from pathlib import Path

    from sentitui.bench_scale import cached_db
    from sentitui.store import Store

    args = ["bench", "--scale", "2k", "--db", pg_url, "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    [row] = json.loads(first.output)["scale"]
    assert (row["posts"], row["stats_ok"]) == (2000, True)
    assert row["build_posts_per_s"] > 0 and row["console"]["first_dashboard_s"] > 0
    assert row["db"].startswith("postgresql://") and "ingest" not in json.loads(first.output)
    store = Store(pg_url)
    try:
        assert store.totals().posts == 2000
    finally:
        store.close()
    assert cached_db(Path("unused"), 2000, pg_url) == (pg_url, None)  # the next bench reuses it

    other = CliRunner().invoke(main, ["bench", "--scale", "3k", "--db", pg_url])
    assert other.exit_code == 2 and "holds 2000 posts" in other.output
    bad = CliRunner().invoke(main, ["bench", "--db", "sqlite:///x.db"])
    assert bad.exit_code == 2 and "postgresql://" in bad.output
