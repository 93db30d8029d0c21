"""Credentials go only to the origin they were configured for (issue 11 §2).

Two real local servers on different ports: "api", the origin the source is
configured for, and "elsewhere", which records every header it is sent. Pagination
links and redirects that lead elsewhere are refused (a fetch failure naming the
host) unless the pipeline lists the host in `allowed_hosts`; a scrape source's
headers never follow a redirect to another origin; `failed retry` obeys the same
rule for the URLs it fetches again.
"""

from __future__ import annotations

import sqlite3

import pytest
from aiohttp import web

from sentitui.net.scope import CredentialScope

TOKEN = "tok-3f9a1c7e5b2d4068"
KEY = "key-8c1d2e3f4a5b6c7d"
PARAM = "prm-0a9b8c7d6e5f4a3b"


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("LEAK_TOKEN", TOKEN)
    monkeypatch.setenv("LEAK_KEY", KEY)
    monkeypatch.setenv("LEAK_PARAM", PARAM)


def rows(db_path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def carried(request: web.Request) -> list[str]:
    """The credentials a request carried, in its headers or its query."""
    sent = " ".join(f"{k}: {v}" for k, v in request.headers.items()) + " " + request.query_string
    return [s for s in (TOKEN, KEY, PARAM) if s in sent]


async def elsewhere_server(serve):
    app = web.Application()

    async def anything(request: web.Request) -> web.Response:
        if request.path.startswith("/page"):
            return web.Response(
                text="<html><body><div class='review'><p>Lovely elsewhere</p></div></body></html>",
                content_type="text/html",
            )
        return web.json_response({"data": [{"id": "stolen", "text": "Taken elsewhere"}]})

    app.router.add_get("/{tail:.*}", anything)
    return await serve(app)


async def api_server(serve, elsewhere: str):
    app = web.Application()
    record = {"data": [{"id": "1", "text": "Love the scent"}]}

    async def next_url(request: web.Request) -> web.Response:
        return web.json_response({**record, "next": f"{elsewhere}/steal"})

    async def link(request: web.Request) -> web.Response:
        return web.json_response(record, headers={"Link": f'<{elsewhere}/steal>; rel="next"'})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{elsewhere}/steal")

    async def here(request: web.Request) -> web.Response:
        raise web.HTTPFound("/final")

    async def final(request: web.Request) -> web.Response:
        return web.json_response(record)

    async def start(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{elsewhere}/page")

    for path, handler in [
        ("/next-url", next_url),
        ("/link", link),
        ("/redirect", redirect),
        ("/here", here),
        ("/final", final),
        ("/start", start),
    ]:
        app.router.add_get(path, handler)
    return await serve(app)


def api_toml(url: str, pagination: str = "", extra: str = "") -> str:
    return f"""
    [pipeline]
    name = "p"
    [[source]]
    name = "api"
    kind = "json_api"
    url = "{url}"
    retries = 0
    records = "data"
    headers = {{ Authorization = "Bearer ${{LEAK_TOKEN}}", X-Api-Key = "${{LEAK_KEY}}" }}
    params = {{ api_key = "${{LEAK_PARAM}}" }}
    fields = {{ id = "id", text = "text" }}
    {pagination}
    {extra}
    """


NEXT_URL = 'pagination = { type = "next_url", path = "next" }'
LINK = 'pagination = { type = "link_header" }'


@pytest.mark.parametrize(
    ("path", "pagination", "what"),
    [
        ("/next-url", NEXT_URL, "a request to"),
        ("/link", LINK, "a request to"),
        ("/redirect", "", "a redirect from"),
    ],
)
async def test_links_and_redirects_to_another_origin_are_refused(
    serve, write_pipeline, make_engine, db_path, path, pagination, what
):
    elsewhere = await elsewhere_server(serve)
    api = await api_server(serve, elsewhere.url)
    pipeline = write_pipeline(api_toml(api.url + path, pagination))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert elsewhere.requests == []  # not even without the headers: the link is refused
    assert carried(api.requests[0]) == [TOKEN, KEY, PARAM]
    assert stats.status in ("failed", "partial") and stats.failed == 1
    host = elsewhere.url.removeprefix("http://")
    [(stage, error)] = rows(db_path, "SELECT stage, error FROM failed_records")
    assert stage == "fetch"
    assert error.startswith(f"refused {what}") and f"{host}:" in error and "allowed_hosts" in error
    if path != "/redirect":  # the page before the link still loads
        assert rows(db_path, "SELECT external_id FROM posts") == [("1",)]

    # `failed retry` fetches the stored URL again under the same rule.
    [record_id] = [r[0] for r in rows(db_path, "SELECT id FROM failed_records")]
    async with make_engine(pipeline) as engine:
        outcome = await engine.retry_failed([record_id])
    assert elsewhere.requests == []
    assert "refused" in outcome.still_failing[record_id]


async def test_allowed_hosts_lets_pagination_reach_a_listed_host(
    serve, write_pipeline, make_engine, db_path
):
    elsewhere = await elsewhere_server(serve)
    api = await api_server(serve, elsewhere.url)
    host = elsewhere.url.removeprefix("http://")
    pipeline = write_pipeline(
        api_toml(api.url + "/next-url", NEXT_URL, f'allowed_hosts = ["{host}"]')
    )
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert (stats.status, stats.loaded, stats.failed) == ("ok", 2, 0)
    [request] = elsewhere.requests
    assert carried(request) == [TOKEN, KEY]  # a listed host is trusted with the headers


async def test_a_redirect_within_the_origin_keeps_the_credentials(
    serve, write_pipeline, make_engine, db_path
):
    elsewhere = await elsewhere_server(serve)
    api = await api_server(serve, elsewhere.url)
    pipeline = write_pipeline(api_toml(api.url + "/here"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert (stats.status, stats.loaded) == ("ok", 1)
    assert [r.path for r in api.requests] == ["/here", "/final"]
    assert carried(api.requests[1]) == [TOKEN, KEY]


async def test_scrape_headers_do_not_follow_a_redirect_to_another_origin(
    serve, write_pipeline, make_engine, db_path
):
    elsewhere = await elsewhere_server(serve)
    api = await api_server(serve, elsewhere.url)
    pipeline = write_pipeline(
        f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "shop"
        kind = "scrape"
        start_urls = ["{api.url}/start"]
        respect_robots = false
        delay = 0
        item = ".review"
        fields = {{ text = "p::text" }}
        headers = {{ X-Api-Key = "${{LEAK_KEY}}", Authorization = "Bearer ${{LEAK_TOKEN}}" }}
        """
    )
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "shop", "cli")

    assert (stats.status, stats.loaded) == ("ok", 1)
    assert carried(api.requests[0]) == [TOKEN, KEY]
    [request] = elsewhere.requests
    assert carried(request) == []  # same host name, another port: another origin


def test_scope_matches_origins_and_listed_hosts():
    scope = CredentialScope.of("https://api.example.com/v1", ["cdn.example.com", "x.test:8443"])
    assert scope.allows("https://api.example.com/v2?page=2")
    assert scope.allows("https://cdn.example.com/next")
    assert scope.allows("https://x.test:8443/a")
    assert not scope.allows("http://api.example.com/v1")  # a downgrade is another origin
    assert not scope.allows("https://api.example.com:444/v1")
    assert not scope.allows("https://evil.example.com/")
    assert not scope.allows("https://api.example.com.evil.test/")
    assert not scope.allows("https://x.test/a")  # the listed port only
    assert not scope.allows("file:///etc/passwd")
    upgrade = CredentialScope.of("http://api.example.com/v1")
    assert upgrade.allows("https://api.example.com/v1")


async def test_failed_retry_restores_a_redacted_key_from_the_configuration(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()
    calls = []

    async def flaky(request: web.Request) -> web.Response:
        calls.append(request.query.get("api_key"))
        if len(calls) == 1:
            return web.Response(status=500, text="try later")
        return web.json_response({"data": [{"id": "1", "text": "Love the scent"}]})

    app.router.add_get("/flaky", flaky)
    api = await serve(app)
    pipeline = write_pipeline(api_toml(api.url + "/flaky"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")
        assert stats.failed == 1
        [(record_id, context)] = rows(db_path, "SELECT id, context FROM failed_records")
        assert "api_key=***" in context and PARAM not in context
        outcome = await engine.retry_failed([record_id])
    assert outcome.resolved == [record_id]
    assert calls == [PARAM, PARAM]  # the key the record hid went back to its own origin
    assert rows(db_path, "SELECT external_id FROM posts") == [("1",)]


async def test_a_key_in_a_scraped_url_reaches_neither_posts_nor_cursor(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()

    async def reviews(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><div class='review'><p>Lovely scent</p></div></body></html>",
            content_type="text/html",
            headers={"ETag": '"v1"'},
        )

    app.router.add_get("/reviews", reviews)
    shop = await serve(app)
    pipeline = write_pipeline(
        f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "shop"
        kind = "scrape"
        start_urls = ["{shop.url}/reviews?api_key=${{LEAK_KEY}}"]
        respect_robots = false
        delay = 0
        item = ".review"
        fields = {{ text = "p::text" }}
        """
    )
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "shop", "cli")
    assert (stats.status, stats.loaded) == ("ok", 1)
    assert shop.requests[0].query["api_key"] == KEY  # the site itself gets its key
    [(url,)] = rows(db_path, "SELECT url FROM posts")
    assert url.endswith("/reviews?api_key=***")
    files = db_path.parent.glob(db_path.name + "*")
    assert not any(KEY.encode() in p.read_bytes() for p in files if not p.name.endswith(".key"))
