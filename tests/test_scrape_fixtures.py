"""Scrape behaviour on the project's own fixtures (tests/fixtures/robots, tests/fixtures/html),
written for SentiTUI in the formats sites serve: a robots.txt with Allow/Disallow
wildcards and a Crawl-delay, and a recipe page whose reviews exist only as schema.org
JSON-LD. The same checks over real third-party pages are the conformance tests in
tests/test_scrape.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from conftest import OWN_FIXTURES
from test_scrape import Site, rows, shop_toml

from sentitui.models import LogLine
from sentitui.sources.scrape_extract import ExtractConfig, extract_page

ROBOTS = OWN_FIXTURES / "robots" / "robots.txt"
RECIPE = OWN_FIXTURES / "html" / "recipe_reviews.html"


async def test_robots_txt_allow_wins_over_a_wildcard_disallow_and_crawl_delay_is_kept(
    serve, write_pipeline, make_engine
):
    page = (
        b'<html><body><a class="l" href="/search/realtime">live</a>'
        b'<a class="l" href="/aquasilk?page=2">query</a>'
        b'<a class="l" href="/hashtag/aquasilk?src=hash">tag</a>'
        b'<a class="l" href="/aquasilk/reviews">reviews</a></body></html>'
    )
    leaf = b'<html><body><article class="review" id="r1"><p class="review-body">Love it</p></article></body></html>'
    site = Site(
        pages={
            "/robots.txt": ROBOTS.read_bytes(),
            "/start": page,
            "/hashtag/aquasilk": leaf,
            "/aquasilk/reviews": leaf,
        }
    )
    server = await serve(site.app())
    pipeline = write_pipeline(shop_toml(server.url, start="/start", follow="'a.l'"))

    logs: list[str] = []

    async with make_engine(pipeline) as engine:
        engine.subscribe(lambda e: logs.append(e.message) if isinstance(e, LogLine) else None)
        stats = await engine.run_source("launch", "shop", "cli")

    assert stats.status == "ok" and stats.loaded == 1  # one review, found on two pages
    assert sorted(site.paths()) == sorted(
        ["/robots.txt", "/start", "/hashtag/aquasilk?src=hash", "/aquasilk/reviews"]
    )
    # Crawl-delay: 1 becomes the host's delay (kept between request starts, as
    # test_per_host_delay_is_kept_between_request_starts shows for any delay)
    assert any("robots.txt asks for 1s between requests (delay was 0s)" in m for m in logs), logs


async def test_auto_mode_stores_json_ld_reviews(serve, write_pipeline, make_engine, db_path):
    site = Site(root=RECIPE.parent, charsets={})
    server = await serve(site.app())
    url = f"{server.url}/{RECIPE.name}"
    pipeline = write_pipeline(f"""
    [pipeline]
    name = "launch"
    keep_authors = true

    [[source]]
    name = "auto"
    kind = "scrape"
    start_urls = {json.dumps([url])}
    allowed_domains = ["127.0.0.1"]
    extract = "auto"
    delay = 0
    """)

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "auto", "cli")

    assert (stats.status, stats.loaded, stats.failed) == ("ok", 2, 0)
    assert sorted(
        rows(db_path, "SELECT text, author_hash, created_at, rating, url FROM posts")
    ) == [
        (
            "Simple & so soft the next morning.",
            "Ana",
            "2026-10-12T00:00:00Z",
            1.0,
            url,
        ),  # 5 of 5, stored 0..1
        ("Smells great, but my hair was greasy.", "Bo", "2026-10-14T07:30:00Z", 0.8, url),
    ]


def test_aggregate_rating_is_read_from_json_ld():
    page = extract_page(
        RECIPE.read_bytes(),
        url="http://127.0.0.1/recipe",
        content_type="text/html",
        fetched_at=datetime.now(UTC),
        config=ExtractConfig(mode="auto"),
    )
    assert page.aggregates == [{"item": "Overnight AquaSilk Hair Mask", "value": 4.5, "count": 2}]
