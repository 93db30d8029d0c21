"""`kind = "x"` against recorded X API v2 recent-search responses, replayed by a local
server that pages with `next_token`, filters by `since_id`, checks the bearer token
and sends `x-rate-limit-*` headers (reset in epoch seconds) as X does.

Recordings (../shared/fixtures/real/api/twitter): python-twitter's
`search_tweets_for_nyc.json` (10 tweets with author_id, created_at and
referenced_tweets; 7 retweets) and tweepy's gzip-compressed cassette
`test_client_search_recent_tweets.yaml` (10 tweets, id and text only). Neither was
recorded with `expansions`, so the test of user location, follower bands and
retweet originals uses a response built from the documented `includes` shape.
"""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from presets_replay import (
    Events,
    author_secret,
    cassette_bodies,
    cursor,
    epoch_in,
    expected_row,
    failures,
    landed,
    posts,
    recording,
    source_toml,
)

from sentitui.processing.clean import hash_author

TOKEN = "test-bearer-token"
NYC = recording("twitter/pytwitter_search_tweets_for_nyc.json")
TWEEPY = cassette_bodies("twitter/tweepy_test_client_search_recent_tweets.yaml")[0][2]


def recorded_pages() -> list[list[dict]]:
    """Newest first, as X returns them: the 2022 tweepy page, then the 2020 NYC page."""
    return [TWEEPY["data"], NYC["data"]]


def x_app(
    pages: list[list[dict]],
    *,
    remaining: int = 449,
    includes: dict | None = None,
    hits: list[float] | None = None,
) -> web.Application:
    app = web.Application()

    async def search(request: web.Request) -> web.Response:
        if hits is not None:
            hits.append(time.monotonic())
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response(
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
                status=401,
            )
        since = int(request.query.get("since_id", 0))
        kept = [[t for t in page if int(t["id"]) > since] for page in pages]
        kept = [page for page in kept if page]
        index = int(request.query.get("next_token", "page-0").split("-")[1])
        headers = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(epoch_in(1)),
        }
        if index >= len(kept):
            return web.json_response({"meta": {"result_count": 0}}, headers=headers)
        data = kept[index]
        meta = {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"], "result_count": len(data)}
        if index + 1 < len(kept):
            meta["next_token"] = f"page-{index + 1}"
        body = {"data": data, "meta": meta}
        if includes:
            body["includes"] = includes
        return web.json_response(body, headers=headers)

    app.router.add_get("/2/tweets/search/recent", search)
    return app


def expected_posts(pages: list[list[dict]], secret: bytes) -> dict[str, dict]:
    """Each recorded tweet as the preset should land it; a retweet counts as its original."""
    out: dict[str, dict] = {}
    for tweet in (t for page in pages for t in page):
        original = next(
            (r["id"] for r in tweet.get("referenced_tweets", []) if r["type"] == "retweeted"), None
        )
        if original:
            text = tweet["text"].split(": ", 1)[1]  # "RT @name: …" quotes the original
            out.setdefault(original, expected_row(text, tweet.get("created_at"), None, secret))
        else:
            out.setdefault(
                tweet["id"],
                expected_row(
                    tweet["text"], tweet.get("created_at"), tweet.get("author_id"), secret
                ),
            )
    return out


@pytest.fixture
def x_token(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)


async def test_every_recorded_tweet_lands_and_the_next_run_asks_since_id(
    x_token, serve, write_pipeline, make_engine, db_path
):
    server = await serve(x_app(recorded_pages()))
    pipeline = write_pipeline(
        source_toml("x", server.url, 'query = "nyc"\ntoken = "${X_BEARER_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "x")
        second = await engine.run_source("launch", "x")

    expected = expected_posts(recorded_pages(), author_secret(db_path))
    rows = posts(db_path)
    assert (first.status, first.fetched, first.failed) == ("ok", 20, 0)
    assert first.loaded == len(expected) and first.duplicates == 20 - len(expected)
    assert {k: landed(v) for k, v in rows.items()} == expected
    assert rows["1275840891014561796"]["url"] == "https://x.com/i/web/status/1275840891014561796"
    assert failures(db_path) == []

    queries = server.queries("/2/tweets/search/recent")
    assert queries[0]["query"] == "nyc" and "since_id" not in queries[0]
    assert queries[1]["next_token"] == "page-1"
    # The second run asks only for tweets newer than the newest one seen (a retweet's own id).
    newest = max(int(t["id"]) for page in recorded_pages() for t in page)
    assert queries[2]["since_id"] == str(newest)
    assert (second.status, second.fetched, second.loaded) == ("ok", 0, 0)
    assert cursor(db_path) == {"since": str(newest)}


async def test_expansions_give_location_followers_and_the_retweeted_original(
    x_token, serve, write_pipeline, make_engine, db_path
):
    """Built from the documented v2 response shape (`includes.users`, `includes.tweets`)."""
    original = {
        "id": "1600000000000000001",
        "text": "AquaSilk left my hair so soft!",
        "author_id": "42",
        "created_at": "2026-11-20T09:00:00.000Z",
        "lang": "en",
    }
    retweet = {
        "id": "1600000000000000009",
        "text": "RT @ana: AquaSilk left my hair so soft!",
        "author_id": "77",
        "created_at": "2026-11-20T10:00:00.000Z",
        "lang": "en",
        "referenced_tweets": [{"type": "retweeted", "id": original["id"]}],
    }
    includes = {
        "users": [
            {
                "id": "42",
                "username": "ana",
                "location": "Lyon, France",
                "public_metrics": {"followers_count": 2500},
            },
            {
                "id": "77",
                "username": "bo",
                "location": "Oslo",
                "public_metrics": {"followers_count": 12},
            },
        ],
        "tweets": [original],
    }
    server = await serve(x_app([[retweet, original]], includes=includes))
    pipeline = write_pipeline(
        source_toml("x", server.url, 'hashtag = "aquasilk"\ntoken = "${X_BEARER_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "x")

    rows = posts(db_path)
    assert (stats.loaded, stats.duplicates) == (1, 1)  # the retweet counts as its original
    row = rows[original["id"]]
    assert row["created_at"] == "2026-11-20T09:00:00Z"
    assert row["author_hash"] == hash_author("42", author_secret(db_path))
    assert (
        '"location": "Lyon, France"' in row["segments"]
        and '"followers": "1k-10k"' in row["segments"]
    )
    assert server.queries()[0]["query"] == "#aquasilk"
    assert "location" in server.queries()[0]["user.fields"]
    assert cursor(db_path) == {"since": retweet["id"]}


async def test_spent_rate_limit_delays_the_next_request(
    x_token, serve, write_pipeline, make_engine
):
    hits: list[float] = []
    server = await serve(x_app(recorded_pages(), remaining=0, hits=hits))
    pipeline = write_pipeline(
        source_toml("x", server.url, 'query = "nyc"\ntoken = "${X_BEARER_TOKEN}"')
    )
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        stats = await engine.run_source("launch", "x")

    assert (stats.status, stats.loaded + stats.duplicates) == ("ok", 20)
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9
    assert events.backoffs() and events.backoffs()[0].startswith("rate-limited until ")
    assert any("rate-limited until" in line.message for line in events.logs)


async def test_unauthorized_stops_at_once_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch, db_path
):
    monkeypatch.setenv("X_BEARER_TOKEN", "expired")
    server = await serve(x_app(recorded_pages()))
    pipeline = write_pipeline(
        source_toml("x", server.url, 'query = "nyc"\ntoken = "${X_BEARER_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "x")

    assert stats.status == "failed" and "X_BEARER_TOKEN" in stats.error and "401" in stats.error
    assert len(server.requests) == 1
    assert [f["stage"] for f in failures(db_path)] == ["fetch"]


def test_config_needs_a_query_or_hashtag_and_a_token(write_pipeline):
    from sentitui.config import ConfigError

    with pytest.raises(ConfigError) as err:
        write_pipeline(source_toml("x", "https://api.x.com", ""))
    problems = "\n".join(err.value.problems)
    assert "missing required key 'token'" in problems
    with pytest.raises(ConfigError, match="'query' or 'hashtag' is required"):
        write_pipeline(source_toml("x", "https://api.x.com", 'token = "t"'))
