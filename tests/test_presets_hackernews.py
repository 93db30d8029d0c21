"""`kind = "hackernews"` against the 24 hn.algolia.com search responses that
node-hacker-news-api recorded (../shared/fixtures/real/api/hackernews: 18 distinct
stories, polls and comments), replayed by a local server that answers
`search_by_date` like Algolia: pages from 0 to `nbPages`, `hitsPerPage`, and
`numericFilters=created_at_i>N`.
"""

from __future__ import annotations

import json

from aiohttp import web
from presets_replay import (
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


def recorded_hits() -> list[dict]:
    hits: dict[str, dict] = {}
    for exchange in recording("hackernews/node-hacker-news-api_fixtures.json"):
        for hit in (
            (exchange["reply"].get("hits") or []) if isinstance(exchange["reply"], dict) else []
        ):
            hits.setdefault(hit["objectID"], hit)
    return sorted(hits.values(), key=lambda h: h["created_at_i"], reverse=True)


def algolia_app(hits: list[dict]) -> web.Application:
    app = web.Application()

    async def search_by_date(request: web.Request) -> web.Response:
        q = request.query
        floor = (
            int(q["numericFilters"].removeprefix("created_at_i>")) if "numericFilters" in q else -1
        )
        matching = [h for h in hits if h["created_at_i"] > floor]
        per_page, page = int(q.get("hitsPerPage", 20)), int(q.get("page", 0))
        pages = -(-len(matching) // per_page)
        return web.json_response(
            {
                "hits": matching[page * per_page : (page + 1) * per_page],
                "nbHits": len(matching),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per_page,
                "processingTimeMS": 1,
                "query": q.get("query", ""),
                "params": request.query_string,
            }
        )

    app.router.add_get("/api/v1/search_by_date", search_by_date)
    return app


async def test_every_recorded_hit_lands_and_the_next_run_filters_on_created_at_i(
    serve, write_pipeline, make_engine, db_path
):
    hits = recorded_hits()
    live = hits[1:]
    server = await serve(algolia_app(live))
    pipeline = write_pipeline(
        source_toml("hackernews", server.url, 'query = "apple"\nhits_per_page = 5')
    )

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "hackernews")
        live.insert(0, hits[0])
        second = await engine.run_source("launch", "hackernews")

    secret = author_secret(db_path)
    rows = posts(db_path)
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 17, 0, 0)
    assert {k: landed(v) for k, v in rows.items()} == {
        h["objectID"]: expected_row(
            joined(h.get("title"), h.get("story_text"), h.get("comment_text")),
            h["created_at"],
            h["author"],
            secret,
        )
        for h in hits
    }
    assert rows["7919424"]["url"] == "https://news.ycombinator.com/item?id=7919424"
    assert json.loads(rows["7918694"]["segments"]) == {"type": "poll"}
    assert failures(db_path) == []

    queries = server.queries()
    assert [q["page"] for q in queries[:4]] == ["0", "1", "2", "3"]  # nbPages = 4, no fifth request
    assert queries[0] == {
        "query": "apple",
        "tags": "(story,comment)",
        "hitsPerPage": "5",
        "page": "0",
    }
    assert queries[4]["numericFilters"] == f"created_at_i>{hits[1]['created_at_i']}"
    assert (second.fetched, second.loaded) == (1, 1) and len(queries) == 5
    assert cursor(db_path) == {"since": hits[0]["created_at_i"]}
