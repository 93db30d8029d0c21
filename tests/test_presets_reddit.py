"""`kind = "reddit"` against the listings PRAW recorded from oauth.reddit.com
(../shared/fixtures/real/api/reddit: a 6-post search and a 102-post r/AskReddit
listing, betamax JSON), replayed by a local server that serves them as Reddit's
`sort=new` search listing: `limit` (max 100), `after` fullnames, and
`X-Ratelimit-*` headers whose reset is seconds until the window ends.
"""

from __future__ import annotations

import json
import time

from aiohttp import web
from presets_replay import (
    Events,
    author_secret,
    cursor,
    expected_row,
    failures,
    landed,
    posts,
    recording,
    source_toml,
)

from sentitui.sources.presets.common import joined


def recorded_posts() -> list[dict]:
    """Every recorded t3 child, newest first (what sort=new returns)."""
    children = []
    for name in ("praw_TestSubreddit.test_search.json", "praw_TestSubredditListings.test_hot.json"):
        for interaction in recording(f"reddit/{name}")["interactions"]:
            if "/access_token" not in interaction["request"]["uri"]:
                children += json.loads(interaction["response"]["body"]["string"])["data"][
                    "children"
                ]
    return sorted(children, key=lambda c: c["data"]["created_utc"], reverse=True)


def reddit_app(
    children: list[dict],
    *,
    remaining: str = "599.0",
    token: str | None = None,
    hits: list[float] | None = None,
) -> web.Application:
    app = web.Application()

    async def search(request: web.Request) -> web.Response:
        if hits is not None:
            hits.append(time.monotonic())
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        limit = min(int(request.query.get("limit", 25)), 100)
        names = [c["data"]["name"] for c in children]
        start = names.index(request.query["after"]) + 1 if "after" in request.query else 0
        page = children[start : start + limit]
        after = page[-1]["data"]["name"] if start + limit < len(children) else None
        headers = {
            "X-Ratelimit-Used": "1",
            "X-Ratelimit-Remaining": remaining,
            "X-Ratelimit-Reset": "1",
        }
        return web.json_response(
            {
                "kind": "Listing",
                "data": {
                    "after": after,
                    "before": None,
                    "dist": len(page),
                    "modhash": "",
                    "children": page,
                },
            },
            headers=headers,
        )

    app.router.add_get("/search.json", search)
    app.router.add_get("/r/{sub}/search.json", search)
    return app


def expected(children: list[dict], secret: bytes) -> dict[str, dict]:
    return {
        c["data"]["name"]: expected_row(
            joined(c["data"]["title"], c["data"]["selftext"]),
            c["data"]["created_utc"],
            c["data"]["author"],
            secret,
        )
        for c in children
    }


async def test_every_recorded_post_lands_and_the_next_run_stops_at_the_last_fullname(
    serve, write_pipeline, make_engine, db_path
):
    children = recorded_posts()
    live = children[1:]  # the newest post arrives between the runs
    server = await serve(reddit_app(live))
    pipeline = write_pipeline(source_toml("reddit", server.url, 'query = "praw"\nlimit = 50'))

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "reddit")
        live.insert(0, children[0])
        second = await engine.run_source("launch", "reddit")

    rows = posts(db_path)
    assert (first.status, first.fetched, first.loaded, first.failed) == ("ok", 107, 107, 0)
    assert {k: landed(v) for k, v in rows.items()} == expected(children, author_secret(db_path))
    sample = rows["t3_3gpbiu"]
    assert sample["url"].startswith("https://www.reddit.com/r/redditdev/comments/3gpbiu/")
    assert json.loads(sample["segments"]) == {"subreddit": "redditdev"}
    assert failures(db_path) == []

    queries = server.queries()
    assert queries[0] == {
        "q": "praw",
        "sort": "new",
        "type": "link",
        "limit": "50",
        "raw_json": "1",
    }
    assert [q.get("after") for q in queries[:3]] == [
        None,
        live[50]["data"]["name"],
        live[100]["data"]["name"],
    ]
    # Run 2: one page, which reaches the newest post of run 1, so no `after` request follows.
    assert len(queries) == 4 and "after" not in queries[3]
    assert (second.loaded, second.duplicates) == (1, 49)
    assert cursor(db_path) == {
        "since": children[0]["data"]["created_utc"],
        "last": children[0]["data"]["name"],
    }


async def test_subreddit_search_and_crosspost_counted_once(
    serve, write_pipeline, make_engine, db_path
):
    """The crosspost is built from the documented listing shape around a recorded post."""
    original = recorded_posts()[5]
    crosspost = {
        "kind": "t3",
        "data": {
            **original["data"],
            "name": "t3_zzz999",
            "id": "zzz999",
            "title": "xpost",
            "selftext": "",
            "author": "someone_else",
            "created_utc": original["data"]["created_utc"] + 60,
            "crosspost_parent": original["data"]["name"],
            "crosspost_parent_list": [original["data"]],
        },
    }
    server = await serve(reddit_app([crosspost, original]))
    pipeline = write_pipeline(
        source_toml("reddit", server.url, 'query = "praw"\nsubreddit = "r/redditdev"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "reddit")

    assert (stats.loaded, stats.duplicates) == (1, 1)
    row = posts(db_path)[original["data"]["name"]]
    assert landed(row) == expected([original], author_secret(db_path))[original["data"]["name"]]
    assert server.requests[0].path == "/r/redditdev/search.json"
    assert server.queries()[0]["restrict_sr"] == "1"


async def test_spent_rate_limit_waits_the_seconds_reddit_gives(serve, write_pipeline, make_engine):
    hits: list[float] = []
    server = await serve(reddit_app(recorded_posts(), remaining="0.0", hits=hits))
    pipeline = write_pipeline(source_toml("reddit", server.url, 'query = "praw"\nlimit = 100'))
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        stats = await engine.run_source("launch", "reddit")

    assert (stats.status, stats.loaded) == ("ok", 108)
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9
    assert events.backoffs()[0].startswith("rate-limited until ")


async def test_rejected_token_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("REDDIT_TOKEN", "stale")
    server = await serve(reddit_app(recorded_posts(), token="fresh"))
    pipeline = write_pipeline(
        source_toml("reddit", server.url, 'query = "praw"\ntoken = "${REDDIT_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "reddit")

    assert stats.status == "failed" and "REDDIT_TOKEN" in stats.error
    assert len(server.requests) == 1
