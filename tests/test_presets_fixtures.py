"""Every social preset against the project's own fixtures (tests/fixtures/api/<preset>,
written for SentiTUI in each service's documented response format), replayed by a local
server. The expected rows are written out literally: what a reader of the fixture
expects the preset and the cleaner to store. The real third-party recordings are the
conformance layer in tests/test_presets_<preset>.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import OWN_FIXTURES

API = OWN_FIXTURES / "api"


def replay_app(preset: str) -> web.Application:
    """Answers each request with the first exchange whose path matches and whose
    `query` is a subset of the request's parameters; 404 for anything else."""
    exchanges = json.loads((API / preset / "exchanges.json").read_text(encoding="utf-8"))
    app = web.Application()

    async def answer(request: web.Request) -> web.Response:
        server = f"{request.scheme}://{request.host}"
        for exchange in exchanges:
            wanted = exchange["query"].items()
            if exchange["path"] == request.path and all(
                request.query.get(k) == v for k, v in wanted
            ):
                body = json.dumps(exchange["body"]).replace("{server}", server)
                headers = {
                    k: v.replace("{server}", server) for k, v in exchange.get("headers", {}).items()
                }
                return web.Response(text=body, content_type="application/json", headers=headers)
        return web.json_response({"error": f"no fixture for {request.path_qs}"}, status=404)

    app.router.add_get("/{tail:.*}", answer)
    return app


# preset -> (source options, environment, expected rows by external id:
#            text, created_at, author_hash (keep_authors = true keeps the name), url, segments)
CASES: dict[str, tuple[str, dict[str, str], dict[str, tuple[Any, ...]]]] = {
    "x": (
        'query = "aquasilk"\nmax_results = 10\ntoken = "${X_BEARER_TOKEN}"',
        {"X_BEARER_TOKEN": "fixture-token"},
        {
            "1861000000000000003": (
                "Love how soft #AquaSilk makes my hair",
                "2026-11-20T10:30:00Z",
                "2001",
                "https://x.com/i/web/status/1861000000000000003",
                {"location": "Lisbon", "followers": "1k-10k", "language": "en"},
            ),
            # a retweet is stored as the original post, by its author
            "1860999999999999999": (
                "Best conditioner I have tried",
                "2026-11-19T18:00:00Z",
                "2002",
                "https://x.com/i/web/status/1860999999999999999",
                {"followers": "100k+", "language": "en"},
            ),
            "1861000000000000001": (
                "AquaSilk left my hair frizzy & dry. Call me on [phone]",
                "2026-11-20T08:15:00Z",
                "3001",
                "https://x.com/i/web/status/1861000000000000001",
                {"followers": "<100", "language": "en"},
            ),
        },
    ),
    "mastodon": (
        'hashtag = "#aquasilk"\nlimit = 2',
        {},
        {
            "109000000000000004": (
                "My hair loves #aquasilk & so do I",
                "2026-11-20T09:30:00Z",
                "ana@mastodon.example",
                "https://mastodon.example/@ana/109000000000000004",
                {"language": "en", "followers": "100-1k", "instance": "mastodon.example"},
            ),
            "108999999999999000": (
                "Switched to AquaSilk, no regrets",
                "2026-11-19T12:00:00Z",
                "cy@other.example",
                "https://other.example/@cy/108999999999999000",
                {"language": "en", "followers": "1k-10k", "instance": "other.example"},
            ),
            "109000000000000001": (
                "hair rant Nie wieder @aquasilk",
                "2026-11-20T07:00:00Z",
                "bo@social.example",
                "https://social.example/@bo/109000000000000001",
                {"language": "de", "followers": "<100", "instance": "social.example"},
            ),
        },
    ),
    "reddit": (
        'query = "aquasilk"\nlimit = 2',
        {},
        {
            "t3_1gx0003": (
                "AquaSilk review after 3 months Softer hair, less breakage. Would buy again.",
                "2025-11-20T12:00:00Z",
                "curly_dee",
                "https://www.reddit.com/r/curlyhair/comments/1gx0003/aquasilk_review_after_3_months/",
                {"subreddit": "curlyhair"},
            ),
            "t3_1gx0002": (
                "AquaSilk made my scalp itch Anyone else? Email me at [email]",
                "2025-11-20T06:26:40Z",
                "itchy_ed",
                "https://www.reddit.com/r/HaircareScience/comments/1gx0002/aquasilk_made_my_scalp_itch/",
                {"subreddit": "HaircareScience"},
            ),
            "t3_1gx0001": (
                "Is AquaSilk worth it?",
                "2025-11-20T00:53:20Z",
                None,  # "[deleted]" is no author
                "https://www.reddit.com/r/HaircareScience/comments/1gx0001/is_aquasilk_worth_it/",
                {"subreddit": "HaircareScience"},
            ),
        },
    ),
    "bluesky": (
        'query = "aquasilk"\nlimit = 2',
        {},
        {
            "at://did:plc:aaaa/app.bsky.feed.post/3laaaaaaaaa2b": (
                "AquaSilk is the best thing my curls ever got 💧",
                "2026-11-20T07:45:00Z",
                "did:plc:aaaa",
                "https://bsky.app/profile/ana.bsky.social/post/3laaaaaaaaa2b",
                {"language": "en"},
            ),
            "at://did:plc:cccc/app.bsky.feed.post/3lccccccccc2c": (
                "Das AquaSilk Shampoo ist leider zu teuer",
                "2026-11-20T05:00:00Z",
                "did:plc:cccc",
                "https://bsky.app/profile/cy.example.com/post/3lccccccccc2c",
                {"language": "de, en"},
            ),
            "at://did:plc:bbbb/app.bsky.feed.post/3lbbbbbbbbb2a": (
                "aquasilk: meh",
                "2026-11-20T05:00:00Z",
                "did:plc:bbbb",
                "https://bsky.app/profile/bo.bsky.social/post/3lbbbbbbbbb2a",
                {},
            ),
        },
    ),
    "hackernews": (
        'query = "aquasilk"\nhits_per_page = 2',
        {},
        {
            "42100003": (
                "The AquaSilk claims are marketing, not chemistry. See the INCI list.",
                "2025-11-20T04:00:00Z",
                "skeptic",
                "https://news.ycombinator.com/item?id=42100003",
                {"type": "comment"},
            ),
            "42100002": (
                "Ask HN: Anyone tried AquaSilk? Curious whether it's worth it.",
                "2025-11-20T03:00:00Z",
                "asker",
                "https://news.ycombinator.com/item?id=42100002",
                {"type": "story"},
            ),
            "42100001": (
                "Show HN: I built a shampoo tracker",
                "2025-11-20T02:00:00Z",
                "maker",
                "https://news.ycombinator.com/item?id=42100001",
                {"type": "story"},
            ),
        },
    ),
    "youtube": (
        'video_ids = ["aqua123"]\nmax_results = 1\nkey = "${YOUTUBE_API_KEY}"',
        {"YOUTUBE_API_KEY": "fixture-key"},
        {
            "UgzA1": (
                "My hair has never been this shiny",
                "2026-11-20T01:00:00Z",
                "UCana",
                "https://www.youtube.com/watch?v=aqua123&lc=UgzA1",
                {"video": "aqua123"},
            ),
            # an inline reply carries no videoId: it gets its thread's
            "UgzA1.9xReply01": (
                "Same here!",
                "2026-11-20T01:30:00Z",
                "UCcy",
                "https://www.youtube.com/watch?v=aqua123&lc=UgzA1.9xReply01",
                {"video": "aqua123"},
            ),
            "UgzB1": (
                "Too expensive for what it is",
                "2026-11-19T20:00:00Z",
                "UCbo",
                "https://www.youtube.com/watch?v=aqua123&lc=UgzB1",
                {"video": "aqua123"},
            ),
        },
    ),
    "instagram": (
        'hashtag = "#AquaSilk"\nuser_id = "17841400000000000"\ntoken = "${INSTAGRAM_TOKEN}"',
        {"INSTAGRAM_TOKEN": "fixture-token"},
        {
            "18030000000000002": (
                "Shiny hair season ✨ #aquasilk #haircare",
                "2026-11-20T00:30:00Z",
                None,  # the hashtag edge never names the author
                "https://www.instagram.com/reel/C0aaaaaaaa2/",
                {"media_type": "VIDEO"},
            ),
            "18030000000000001": (
                "Day 1 with #aquasilk. Not convinced yet.",
                "2026-11-19T23:00:00Z",
                None,
                "https://www.instagram.com/p/C0aaaaaaaa1/",
                {"media_type": "IMAGE"},
            ),
        },
    ),
    "facebook": (
        'page_id = "104000000000001"\ntoken = "${FACEBOOK_PAGE_TOKEN}"',
        {"FACEBOOK_PAGE_TOKEN": "fixture-token"},
        {
            "104000000000001_900000000000001": (
                "Our new AquaSilk conditioner is here! Tell us what you think.",
                "2026-11-19T12:00:00Z",
                "104000000000001",
                "https://www.facebook.com/104000000000001/posts/900000000000001",
                {"type": "post"},
            ),
            "900000000000001_500000000000001": (
                "Tried it yesterday, my hair feels amazing",
                "2026-11-19T15:00:00Z",
                "7000000000001",
                "https://www.facebook.com/104000000000001/posts/900000000000001?comment_id=500000000000001",
                {"type": "comment", "post": "104000000000001_900000000000001"},
            ),
            # Graph leaves out `id` and `from` when the token may not see them:
            # the id comes from the permalink, the author stays unknown
            "900000000000001_500000000000002": (
                "Way too pricey",
                "2026-11-19T16:00:00Z",
                None,
                "https://www.facebook.com/104000000000001/posts/900000000000001?comment_id=500000000000002",
                {"type": "comment", "post": "104000000000001_900000000000001"},
            ),
        },
    ),
}


def stored(db_path: Path) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        found = conn.execute(
            "SELECT external_id, text, created_at, author_hash, url, segments FROM posts"
        ).fetchall()
    return {r[0]: (*r[1:5], json.loads(r[5] or "{}")) for r in found}


@pytest.mark.parametrize("preset", sorted(CASES))
async def test_preset_stores_the_fixture_posts_as_written(
    preset, serve, write_pipeline, make_engine, db_path, monkeypatch
):
    options, env, expected = CASES[preset]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = await serve(replay_app(preset))
    pipeline = write_pipeline(f"""
    [pipeline]
    name = "launch"
    keep_authors = true

    [[source]]
    name = "{preset}"
    kind = "{preset}"
    base_url = "{server.url}"
    retries = 0
    {options}
    """)

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", preset)

    assert stored(db_path) == expected
    assert (stats.status, stats.loaded, stats.failed) == ("ok", len(expected), 0)


@pytest.mark.parametrize("preset", sorted(CASES))
async def test_a_second_run_over_the_same_answers_stores_nothing_twice(
    preset, serve, write_pipeline, make_engine, db_path, monkeypatch
):
    options, env, expected = CASES[preset]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = await serve(replay_app(preset))
    pipeline = write_pipeline(f"""
    [pipeline]
    name = "launch"

    [[source]]
    name = "{preset}"
    kind = "{preset}"
    base_url = "{server.url}"
    retries = 0
    {options}
    """)

    async with make_engine(pipeline) as engine:
        await engine.run_source("launch", preset)
        again = await engine.run_source("launch", preset)

    assert again.status == "ok" and again.loaded == 0
    assert sorted(stored(db_path)) == sorted(expected)
