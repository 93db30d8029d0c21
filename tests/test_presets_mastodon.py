"""`kind = "mastodon"` against statuses recorded by Mastodon.py's test suite on a real
Mastodon 4.x server (../shared/fixtures/real/api/mastodon: the tag, public and anonymous
public timeline cassettes), replayed by a local server that pages like Mastodon:
`limit` (max 40), exclusive `max_id`, `min_id`, a `Link` header with rel="next" and
rel="prev", and `X-RateLimit-*` headers whose reset is an ISO 8601 time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web
from presets_replay import (
    Events,
    author_secret,
    cassette_bodies,
    cursor,
    expected_row,
    failures,
    landed,
    posts,
    source_toml,
)

CASSETTES = (
    "mastodon/mastodonpy_test_hashtag_tl.yaml",
    "mastodon/mastodonpy_test_public_tl.yaml",
    "mastodon/mastodonpy_test_public_tl_anonymous.yaml",
)


def recorded_statuses() -> list[dict]:
    """Every status of the recorded timelines, once, newest first."""
    seen: dict[str, dict] = {}
    for cassette in CASSETTES:
        for uri, _, body in cassette_bodies(cassette):
            if "/timelines/" in uri:
                for status in body:
                    seen.setdefault(status["id"], status)
    return sorted(seen.values(), key=lambda s: int(s["id"]), reverse=True)


def mastodon_app(
    statuses: list[dict],
    *,
    remaining: int = 299,
    token: str | None = None,
    hits: list[float] | None = None,
) -> web.Application:
    app = web.Application()

    async def tag_timeline(request: web.Request) -> web.Response:
        if hits is not None:
            hits.append(time.monotonic())
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        limit = min(int(request.query.get("limit", 20)), 40)
        q = request.query
        newest_first = [
            s
            for s in statuses
            if ("max_id" not in q or int(s["id"]) < int(q["max_id"]))
            and ("since_id" not in q or int(s["id"]) > int(q["since_id"]))
            and ("min_id" not in q or int(s["id"]) > int(q["min_id"]))
        ]
        # min_id gives the statuses just above it (the oldest ones), still newest first.
        page = newest_first[-limit:] if "min_id" in q else newest_first[:limit]
        reset = datetime.fromtimestamp(time.time() + 1, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset,
        }
        if page:
            # Like Mastodon's pagination_params: the links keep `limit`.
            base = f"{request.url.origin()}{request.path}?limit={limit}"
            headers["Link"] = (
                f'<{base}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return web.json_response(page, headers=headers)

    app.router.add_get("/api/v1/timelines/tag/{tag}", tag_timeline)
    return app


def expected(statuses: list[dict], secret: bytes) -> dict[str, dict]:
    out = {}
    for s in statuses:
        host = s["account"]["url"].split("/")[2]
        out[s["id"]] = expected_row(
            s["content"], s["created_at"], f"{s['account']['acct']}@{host}", secret
        )
    return out


async def test_every_recorded_status_lands_and_later_runs_poll_with_min_id(
    serve, write_pipeline, make_engine, db_path
):
    statuses = recorded_statuses()
    assert len(statuses) == 10
    live = statuses[2:]  # the two newest are "posted" between the runs
    server = await serve(mastodon_app(live))
    pipeline = write_pipeline(source_toml("mastodon", server.url, 'hashtag = "#hoot"\nlimit = 3'))

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "mastodon")
        live[:0] = statuses[:2]
        second = await engine.run_source("launch", "mastodon")
        third = await engine.run_source("launch", "mastodon")

    secret = author_secret(db_path)
    rows = posts(db_path)
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 8, 0, 0)
    assert (second.loaded, second.duplicates) == (2, 0)
    assert (third.fetched, third.loaded) == (0, 0)
    assert {k: landed(v) for k, v in rows.items()} == expected(statuses, secret)
    assert rows["117020592137523525"]["text"] == "you can't say that on television"
    assert rows["117020592137523525"]["url"].startswith("http://localhost:3000/@")
    assert rows["117020592137523525"]["url"].endswith("/117020592137523525")
    assert '"instance": "localhost:3000"' in rows["117020592137523525"]["segments"]
    assert failures(db_path) == []

    queries = server.queries()
    assert server.requests[0].path == "/api/v1/timelines/tag/hoot"
    # Run 1 walks back with max_id until an empty page: 8 statuses, 3 a page.
    assert [q.get("max_id") for q in queries[:4]] == [
        None,
        statuses[4]["id"],
        statuses[7]["id"],
        statuses[9]["id"],
    ]
    # Run 2 asks for what is newer than the newest status seen, then follows rel="prev".
    assert queries[4] == {"limit": "3", "min_id": statuses[2]["id"]}
    assert queries[5] == {"limit": "3", "min_id": statuses[0]["id"]}
    assert queries[6] == {"limit": "3", "min_id": statuses[0]["id"]}
    assert cursor(db_path) == {"since": statuses[0]["id"]}


async def test_a_boost_lands_once_as_the_boosted_status(
    serve, write_pipeline, make_engine, db_path
):
    """The reblog wrapper is built from the documented Status shape around a recorded status."""
    original = recorded_statuses()[3]
    boost = {
        **original,
        "id": "117020599999999999",
        "content": "",
        "reblog": original,
        "account": {
            **original["account"],
            "acct": "booster",
            "url": "http://localhost:3000/@booster",
        },
    }
    server = await serve(mastodon_app([boost, original]))
    pipeline = write_pipeline(source_toml("mastodon", server.url, 'hashtag = "hoot"'))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "mastodon")

    assert (stats.loaded, stats.duplicates) == (1, 1)
    assert list(posts(db_path)) == [original["id"]]
    assert cursor(db_path) == {"since": boost["id"]}  # the boost's own id: min_id must pass it


async def test_spent_rate_limit_waits_for_the_iso_reset(serve, write_pipeline, make_engine):
    hits: list[float] = []
    server = await serve(mastodon_app(recorded_statuses(), remaining=0, hits=hits))
    pipeline = write_pipeline(source_toml("mastodon", server.url, 'hashtag = "hoot"\nlimit = 5'))
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        stats = await engine.run_source("launch", "mastodon")

    assert (stats.status, stats.loaded) == ("ok", 10)
    assert len(hits) == 3 and min(b - a for a, b in zip(hits, hits[1:], strict=False)) >= 0.9
    assert events.backoffs()[0].startswith("rate-limited until ")


async def test_invalid_token_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("MASTODON_TOKEN", "revoked")
    server = await serve(mastodon_app(recorded_statuses(), token="valid"))
    pipeline = write_pipeline(
        source_toml("mastodon", server.url, 'hashtag = "hoot"\ntoken = "${MASTODON_TOKEN}"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "mastodon")

    assert stats.status == "failed" and "MASTODON_TOKEN" in stats.error
    assert len(server.requests) == 1
