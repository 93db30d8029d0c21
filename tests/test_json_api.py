"""json_api against real local HTTP servers: every pagination style, incremental
cursors, duplicates, malformed pages and the retry policy; rows counted in the store,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from conftest import connect_db, readable

pytestmark = pytest.mark.both_backends

TEXTS = [
    "AquaSilk made my hair so soft, love it!",
    "The scent is awful and my scalp itches.",
    "Wish it came in a bigger bottle.",
    "Better than SilkPro for my curls.",
    "Bought it today.",
]
POSTS = [
    {
        "id": n,
        "body": TEXTS[n % len(TEXTS)] + f" #{n}",
        "user": {"name": f"user{n}", "region": "EU"},
        "ts": f"2026-11-2{n % 5}T10:{n:02d}:00Z",
    }
    for n in range(1, 26)
]
PAGE = 10


def chunk(start: int) -> list[dict]:
    return POSTS[start : start + PAGE]


def since(request: web.Request) -> list[dict]:
    """The incremental filter a real API applies for `since_id`."""
    floor = int(request.query.get("since_id", 0))
    return [p for p in POSTS if p["id"] > floor]


def api_app() -> web.Application:
    app = web.Application()

    async def cursor(request: web.Request) -> web.Response:
        posts = since(request)
        start = int(request.query.get("cursor", 0))
        nxt = start + PAGE if start + PAGE < len(posts) else None
        return web.json_response(
            {"data": posts[start : start + PAGE], "meta": {"next_cursor": nxt}}
        )

    async def link(request: web.Request) -> web.Response:
        start = int(request.query.get("from", 0))
        headers = {}
        if start + PAGE < len(POSTS):
            headers["Link"] = (
                f'</link?from={start + PAGE}>; rel="next", </link?from=0>; rel="first"'
            )
        return web.json_response(chunk(start), headers=headers)

    async def page(request: web.Request) -> web.Response:
        number = int(request.query["page"])  # 1-based
        return web.json_response({"hits": chunk((number - 1) * PAGE), "nbPages": 3})

    async def offset(request: web.Request) -> web.Response:
        start, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response({"items": POSTS[start : start + limit], "total": len(POSTS)})

    async def next_url(request: web.Request) -> web.Response:
        start = int(request.query.get("start", 0))
        nxt = (
            f"{request.url.origin()}/next?start={start + PAGE}"
            if start + PAGE < len(POSTS)
            else None
        )
        return web.json_response({"results": chunk(start), "links": {"next": nxt}})

    app.router.add_get("/cursor", cursor)
    app.router.add_get("/link", link)
    app.router.add_get("/page", page)
    app.router.add_get("/offset", offset)
    app.router.add_get("/next", next_url)
    return app


FIELDS = """
[source.fields]
id = "id"
text = "body"
author = "user.name"
created_at = "ts"
[source.fields.segments]
region = "user.region"
"""

STYLES = {
    "cursor": (
        "/cursor",
        "data",
        'pagination = { type = "cursor", cursor_path = "meta.next_cursor", param = "cursor" }',
    ),
    "link_header": ("/link", "", 'pagination = { type = "link_header" }'),
    "page": (
        "/page",
        "hits",
        'pagination = { type = "page", param = "page", start = 1, total_path = "nbPages" }',
    ),
    "offset": (
        "/offset",
        "items",
        'pagination = { type = "offset", param = "offset", limit_param = "limit", limit = 10, total_path = "total" }',
    ),
    "next_url": ("/next", "results", 'pagination = { type = "next_url", path = "links.next" }'),
}


def pipeline_toml(url: str, records: str, pagination: str, extra: str = "") -> str:
    return (
        f"""
    [pipeline]
    name = "launch"
    competitors = ["SilkPro", "HairGlow"]

    [[source]]
    name = "api"
    kind = "json_api"
    url = "{url}"
    records = "{records}"
    retries = 2
    backoff = 0.01
    {pagination}
    {extra}
    """
        + FIELDS
    )


def count(db_path, sql: str = "SELECT COUNT(*) FROM posts", params: tuple = ()) -> int:
    with connect_db(db_path) as conn:
        return conn.execute(sql, params).fetchone()[0]


@pytest.mark.parametrize("style", sorted(STYLES))
async def test_each_pagination_style_loads_every_post_once(
    style, serve, write_pipeline, make_engine, db_path
):
    server = await serve(api_app())
    path, records, pagination = STYLES[style]
    pipeline = write_pipeline(pipeline_toml(server.url + path, records, pagination))

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "api", "cli")
        second = await engine.run_source("launch", "api", "cli")

    assert (first.status, first.fetched, first.loaded, first.duplicates, first.failed) == (
        "ok",
        25,
        25,
        0,
        0,
    )
    assert count(db_path) == 25
    assert len(server.requests) == 6  # three pages per run, no extra request past the end
    # Without an incremental cursor the second run sees the same posts: all duplicates.
    assert (second.loaded, second.duplicates) == (0, 25)
    with connect_db(db_path) as conn:
        row = conn.execute(
            "SELECT text, created_at, segments, author_hash, label, feedback "
            "FROM posts WHERE external_id = '3'"
        ).fetchone()
    assert row[0] == "Better than SilkPro for my curls. #3"
    assert row[1] == "2026-11-23T10:03:00Z"
    assert json.loads(row[2]) == {"region": "EU"}
    assert row[3] and "user3" not in row[3]  # pseudonymised
    assert row[5] == "comparison"
    runs = count(
        db_path, "SELECT COUNT(*) FROM runs WHERE status = 'ok' AND loaded + duplicates = 25"
    )
    assert runs == 2


async def test_incremental_cursor_asks_only_for_new_posts(
    serve, write_pipeline, make_engine, db_path
):
    server = await serve(api_app())
    pipeline = write_pipeline(
        pipeline_toml(
            server.url + "/cursor",
            "data",
            STYLES["cursor"][2],
            'incremental = { param = "since_id", field = "id" }',
        )
    )

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "api", "cli")
        POSTS.append(
            {
                "id": 26,
                "body": "Just tried AquaSilk, love it",
                "user": {"name": "x"},
                "ts": "2026-11-25T10:00:00Z",
            }
        )
        try:
            second = await engine.run_source("launch", "api", "cli")
        finally:
            POSTS.pop()

    assert first.loaded == 25
    assert (second.fetched, second.loaded, second.duplicates) == (1, 1, 0)
    # The first run asked without since_id; the second sent the largest id loaded (25, not "9").
    assert "since_id" not in server.queries("/cursor")[0]
    assert server.queries("/cursor")[-1]["since_id"] == "25"
    with connect_db(db_path) as conn:
        cursor = json.loads(conn.execute("SELECT cursor FROM source_state").fetchone()[0])
    assert cursor == {"since": 26}


async def test_malformed_page_fails_that_page_not_the_run(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        number = int(request.query["page"])
        if number == 2:
            return web.Response(
                text='{"hits": [{"id": 1, "body": "trunc', content_type="application/json"
            )
        if number == 3:
            return web.json_response(
                {
                    "hits": [
                        {"id": 99, "body": ""},
                        "not an object",
                        {"id": 100, "body": "fine", "ts": "yesterday-ish"},
                        {"id": 101, "body": "Love it"},
                    ]
                }
            )
        return web.json_response({"hits": chunk((number - 1) * PAGE)})

    app.router.add_get("/page", page)
    server = await serve(app)
    pipeline = write_pipeline(
        pipeline_toml(
            server.url + "/page",
            "hits",
            'pagination = { type = "page", param = "page", start = 1, total_path = "nbPages" }',
        )
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    # Page 4 is empty and ends the run; pages 1, 3 load; page 2 is one parse failure.
    assert stats.status == "ok"
    assert (stats.loaded, stats.failed) == (11, 4)
    assert stats.fetched == stats.loaded + stats.duplicates + stats.failed
    with connect_db(db_path) as conn:
        failures = [
            readable(row)
            for row in conn.execute("SELECT stage, error, payload FROM failed_records ORDER BY id")
        ]
    stages = [f[0] for f in failures]
    assert stages == ["parse", "clean", "parse", "clean"]
    assert "invalid JSON" in failures[0][1] and "page=2" in failures[0][1]
    assert failures[0][2] == '{"hits": [{"id": 1, "body": "trunc'  # the body exactly as received
    assert "text is missing or empty" in failures[1][1] and json.loads(failures[1][2])["id"] == 99
    assert failures[2][2] == '"not an object"'
    assert "created_at 'yesterday-ish'" in failures[3][1]


async def test_429_with_retry_after_then_success(serve, write_pipeline, make_engine, db_path):
    app = web.Application()
    hits: list[float] = []

    async def flaky(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        if len(hits) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        if len(hits) == 2:
            return web.Response(status=503, text="busy")
        return web.json_response(POSTS[:3])

    app.router.add_get("/api", flaky)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert (stats.status, stats.loaded) == ("ok", 3)
    assert len(hits) == 3
    assert hits[1] - hits[0] >= 0.95  # Retry-After honoured


async def test_retry_after_zero_still_waits(serve, write_pipeline, make_engine):
    app = web.Application()
    hits: list[float] = []

    async def always_429(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        return web.Response(status=429, headers={"Retry-After": "0"})

    app.router.add_get("/api", always_429)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))
    from sentitui.net.http import HttpClient

    async with make_engine(pipeline, http=HttpClient(min_delay=0.2)) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert stats.status == "failed"
    assert len(hits) == 3  # retries = 2
    assert min(b - a for a, b in zip(hits, hits[1:], strict=False)) >= 0.19


async def test_server_errors_become_a_fetch_failure_with_url_status_and_body(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="Internal error: database on fire " + "x" * 5000)

    app.router.add_get("/api", broken)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert stats.status == "failed" and "HTTP 500" in stats.error
    assert len(server.requests) == 3
    with connect_db(db_path) as conn:
        stage, error, payload, context = readable(
            conn.execute("SELECT stage, error, payload, context FROM failed_records").fetchone()
        )
        run = conn.execute("SELECT status, error FROM runs").fetchone()
    assert stage == "fetch"
    assert "HTTP 500" in error and "3 attempts" in error
    assert payload.startswith("Internal error: database on fire") and len(payload) == 2000
    assert json.loads(context) == {"url": server.url + "/api", "status": 500}
    assert run[0] == "failed"


async def test_timeout_and_truncated_body_are_retried(serve, write_pipeline, make_engine, db_path):
    app = web.Application()
    calls = {"n": 0}

    async def slow_then_truncated_then_ok(request: web.Request) -> web.StreamResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(2)
            return web.json_response([])
        if calls["n"] == 2:
            response = web.StreamResponse(
                headers={"Content-Length": "1000", "Content-Type": "application/json"}
            )
            await response.prepare(request)
            await response.write(b'[{"id": 1, "bo')
            request.transport.close()
            return response
        return web.json_response(POSTS[:2])

    app.router.add_get("/api", slow_then_truncated_then_ok)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", "", "timeout = 0.5"))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert (stats.status, stats.loaded, calls["n"]) == ("ok", 2, 3)


async def test_wrong_encoding_is_decoded_not_lost(serve, write_pipeline, make_engine, db_path):
    app = web.Application()

    async def latin1(request: web.Request) -> web.Response:
        body = json.dumps([{"id": 1, "body": "Très doux, j'adore"}], ensure_ascii=False).encode(
            "latin-1"
        )
        # Declares UTF-8 but sends Latin-1, as misconfigured servers do.
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    app.router.add_get("/api", latin1)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert stats.loaded == 1
    with connect_db(db_path) as conn:
        assert conn.execute("SELECT text FROM posts").fetchone()[0] == "Très doux, j'adore"


async def test_auth_error_is_not_retried(serve, write_pipeline, make_engine, db_path):
    app = web.Application()

    async def denied(request: web.Request) -> web.Response:
        return web.json_response({"error": "invalid token"}, status=401)

    app.router.add_get("/api", denied)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")

    assert stats.status == "failed" and "401" in stats.error
    assert len(server.requests) == 1


async def test_retrying_a_fetch_failure_refetches_with_the_source_headers(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()
    state = {"up": False}

    async def guarded(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer s3cret":
            return web.Response(status=401)
        if not state["up"]:
            return web.Response(status=503, text="maintenance")
        return web.json_response(POSTS[:2])

    app.router.add_get("/api", guarded)
    server = await serve(app)
    pipeline = write_pipeline(
        pipeline_toml(server.url + "/api", "", "", 'headers = { Authorization = "Bearer s3cret" }')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "api", "cli")
        assert stats.status == "failed"
        with connect_db(db_path) as conn:
            [(failed_id, stage)] = conn.execute("SELECT id, stage FROM failed_records").fetchall()
        assert stage == "fetch"
        state["up"] = True
        outcome = await engine.retry_failed([failed_id])

    assert outcome.resolved == [failed_id]
    assert count(db_path) == 2
    assert count(db_path, "SELECT COUNT(*) FROM failed_records WHERE status = 'resolved'") == 1


async def test_retrying_a_truncated_page_fetches_it_again(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()
    state = {"cut": True}

    async def once_cut(request: web.Request) -> web.Response:
        body = json.dumps(POSTS[:3])
        return web.Response(
            text=body[:40] if state["cut"] else body, content_type="application/json"
        )

    app.router.add_get("/api", once_cut)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        await engine.run_source("launch", "api", "cli")
        with connect_db(db_path) as conn:
            [(failed_id, stage)] = conn.execute("SELECT id, stage FROM failed_records").fetchall()
        assert stage == "parse"
        state["cut"] = False
        outcome = await engine.retry_failed([failed_id])

    assert outcome.resolved == [failed_id]
    assert count(db_path) == 3


async def test_a_refetched_page_resolves_its_fetch_failure_and_its_bad_records_fail_alone(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()
    state = {"up": False}

    async def flaky(request: web.Request) -> web.Response:
        if not state["up"]:
            return web.Response(status=503)
        return web.json_response([POSTS[0], {"id": 77, "body": ""}])

    app.router.add_get("/api", flaky)
    server = await serve(app)
    pipeline = write_pipeline(pipeline_toml(server.url + "/api", "", ""))

    async with make_engine(pipeline) as engine:
        await engine.run_source("launch", "api", "cli")
        with connect_db(db_path) as conn:
            [(fetch_id,)] = conn.execute("SELECT id FROM failed_records").fetchall()
        state["up"] = True
        outcome = await engine.retry_failed([fetch_id])

    assert outcome.resolved == [fetch_id]
    assert count(db_path) == 1
    with connect_db(db_path) as conn:
        rows = conn.execute(
            "SELECT stage, status, error FROM failed_records ORDER BY id"
        ).fetchall()
    assert rows[0][:2] == ("fetch", "resolved")
    assert rows[1][:2] == ("clean", "open") and "text is missing" in rows[1][2]
