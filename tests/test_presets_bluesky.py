"""`kind = "bluesky"` against the real bsky.social searchPosts response that bskyr
recorded (../shared/fixtures/real/api/bluesky/bskyr_f_search_searchPosts.yml, 25 public
posts), replayed by a local server that pages with an offset `cursor`, filters by
`since` (inclusive, on the post's sort time) and sends `RateLimit-*` headers with an
epoch-seconds reset. Like the real service, its cursor does not end the result set:
past the last page it serves that page again with a new cursor, so the preset must
stop on "no new posts".
"""

from __future__ import annotations

import json
import time

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
    source_toml,
)

from sentitui.sources.json_api import comparable

RECORDED = cassette_bodies("bluesky/bskyr_f_search_searchPosts.yml")[0][2]["posts"]


def sort_at(post: dict) -> float:
    return min(comparable(post["record"]["createdAt"])[1], comparable(post["indexedAt"])[1])


def bluesky_app(
    recorded: list[dict], *, remaining: int = 2983, hits: list[float] | None = None
) -> web.Application:
    app = web.Application()

    async def search(request: web.Request) -> web.Response:
        if hits is not None:
            hits.append(time.monotonic())
        if request.headers.get("Authorization", "Bearer ok") != "Bearer ok":
            return web.json_response(
                {"error": "ExpiredToken", "message": "Token has expired"}, status=400
            )
        q = request.query
        matching = [
            p for p in recorded if "since" not in q or sort_at(p) >= comparable(q["since"])[1]
        ]
        limit = int(q.get("limit", 25))
        offset = int(q.get("cursor", 0))
        if offset >= len(matching):  # the cursor runs on past the end: last page again
            offset = max(0, (len(matching) - 1) // limit * limit)
        page = matching[offset : offset + limit]
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(epoch_in(1)),
            "RateLimit-Policy": "3000;w=300",
        }
        return web.json_response(
            {"posts": page, "cursor": str(int(q.get("cursor", 0)) + limit)}, headers=headers
        )

    app.router.add_get("/xrpc/app.bsky.feed.searchPosts", search)
    return app


async def test_every_recorded_post_lands_and_the_next_run_asks_since(
    serve, write_pipeline, make_engine, db_path
):
    live = RECORDED[1:]  # the newest post arrives between the runs
    server = await serve(bluesky_app(live))
    pipeline = write_pipeline(
        source_toml("bluesky", server.url, 'query = "redistricting"\nlimit = 10')
    )

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "bluesky")
        live.insert(0, RECORDED[0])
        second = await engine.run_source("launch", "bluesky")

    secret = author_secret(db_path)
    rows = posts(db_path)
    assert {k: landed(v) for k, v in rows.items()} == {
        p["uri"]: expected_row(
            p["record"]["text"], p["record"]["createdAt"], p["author"]["did"], secret
        )
        for p in RECORDED
    }
    # Pages of 10, 10, 4, then the last page again: its posts are duplicates and paging stops.
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 24, 4, 0)
    queries = server.queries()
    assert [q.get("cursor") for q in queries[:4]] == [None, "10", "20", "30"]
    assert queries[0] == {"q": "redistricting", "sort": "latest", "limit": "10"}
    row = rows[RECORDED[1]["uri"]]
    assert row["url"] == "https://bsky.app/profile/cjtackett.bsky.social/post/3lpk2r5h5ec2j"
    assert row["lang"] == "en" and json.loads(row["segments"]) == {"language": "en"}
    assert failures(db_path) == []

    # Run 2 asks `since` the newest sort time seen; `since` is inclusive, so that post returns.
    newest = RECORDED[1]
    assert queries[4]["since"] == min(newest["record"]["createdAt"], newest["indexedAt"])
    assert (second.loaded, second.duplicates) == (1, 3)
    assert cursor(db_path)["since"] == RECORDED[0]["record"]["createdAt"]


async def test_spent_rate_limit_waits_for_the_epoch_reset(serve, write_pipeline, make_engine):
    hits: list[float] = []
    server = await serve(bluesky_app(RECORDED, remaining=0, hits=hits))
    pipeline = write_pipeline(source_toml("bluesky", server.url, 'hashtag = "txlege"\nlimit = 25'))
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        stats = await engine.run_source("launch", "bluesky")

    assert (stats.status, stats.loaded) == ("ok", 25)
    assert server.queries()[0]["q"] == "#txlege"
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9
    assert events.backoffs()[0].startswith("rate-limited until ")


async def test_expired_token_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("BLUESKY_TOKEN", "expired-jwt")
    server = await serve(bluesky_app(RECORDED))
    pipeline = write_pipeline(
        source_toml("bluesky", server.url, 'query = "x"\ntoken = "${BLUESKY_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "bluesky")

    assert (
        stats.status == "failed"
        and "BLUESKY_TOKEN" in stats.error
        and "ExpiredToken" in stats.error
    )
    assert len(server.requests) == 1
