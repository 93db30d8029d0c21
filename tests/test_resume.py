"""A run that stops mid-paging is resumed by the next one, for every pagination style
(issue 11 §1): a real local server that lists newest first, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

import pytest
from aiohttp import web

PER_PAGE = 10


class NewestFirst:
    """Posts 1..total, newest first, behind each paging style; `broken` pages answer 500."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.broken: set[int] = set()  # page numbers (0 = first page)
        self.asked: list[tuple[str, int]] = []

    def listing(self, request: web.Request) -> list[int]:
        since = int(request.query.get("since_id", 0))
        return list(range(self.total, since, -1))

    def page(self, request: web.Request, number: int) -> tuple[list[dict[str, object]], bool]:
        self.asked.append((request.path, number))
        if number in self.broken:
            raise web.HTTPInternalServerError(text="down for a moment")
        ids = self.listing(request)
        chunk = ids[number * PER_PAGE : (number + 1) * PER_PAGE]
        more = len(ids) > (number + 1) * PER_PAGE
        return [{"id": i, "text": f"Post {i} about the serum"} for i in chunk], more

    def app(self) -> web.Application:
        async def cursor(request: web.Request) -> web.Response:
            number = int(request.query.get("cursor", 0))
            data, more = self.page(request, number)
            return web.json_response({"data": data, "next": number + 1 if more else None})

        async def link(request: web.Request) -> web.Response:
            number = int(request.query.get("p", 0))
            data, more = self.page(request, number)
            headers = {}
            if more:
                since = request.query.get("since_id")
                query = f"p={number + 1}" + (f"&since_id={since}" if since else "")
                headers["Link"] = f'</link?{query}>; rel="next"'
            return web.json_response({"data": data}, headers=headers)

        async def paged(request: web.Request) -> web.Response:
            number = int(request.query.get("page", 1)) - 1
            data, _ = self.page(request, number)
            pages = -(-len(self.listing(request)) // PER_PAGE)
            return web.json_response({"data": data, "nbPages": pages})

        async def offset(request: web.Request) -> web.Response:
            data, _ = self.page(request, int(request.query.get("offset", 0)) // PER_PAGE)
            return web.json_response({"data": data, "total": len(self.listing(request))})

        async def next_url(request: web.Request) -> web.Response:
            number = int(request.query.get("at", 0))
            data, more = self.page(request, number)
            since = request.query.get("since_id")
            following = f"/next?at={number + 1}" + (f"&since_id={since}" if since else "")
            return web.json_response({"data": data, "links": {"next": following if more else None}})

        app = web.Application()
        for path, handler in (
            ("/cursor", cursor),
            ("/link", link),
            ("/page", paged),
            ("/offset", offset),
            ("/next", next_url),
        ):
            app.router.add_get(path, handler)
        return app


STYLES = {
    "cursor": ("/cursor", '{ type = "cursor", cursor_path = "next", param = "cursor" }'),
    "link_header": ("/link", '{ type = "link_header" }'),
    "page": ("/page", '{ type = "page", param = "page", start = 1, total_path = "nbPages" }'),
    "offset": ("/offset", f'{{ type = "offset", limit = {PER_PAGE}, total_path = "total" }}'),
    "next_url": ("/next", '{ type = "next_url", path = "links.next" }'),
}


def stored(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("SELECT external_id FROM posts")]


def cursor(db_path) -> dict[str, object]:
    with sqlite3.connect(db_path) as conn:
        return json.loads(conn.execute("SELECT cursor FROM source_state").fetchone()[0])


@pytest.mark.parametrize("style", list(STYLES))
async def test_a_backfill_cut_short_by_a_failing_fetch_is_resumed(
    style, serve, write_pipeline, make_engine, db_path
):
    feed = NewestFirst(total=95)
    server = await serve(feed.app())
    path, pagination = STYLES[style]
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "api"
        kind = "json_api"
        url = "{server.url}{path}"
        records = "data"
        fields = {{ id = "id", text = "text" }}
        pagination = {pagination}
        incremental = {{ param = "since_id", field = "id" }}
        retries = 0
    """)
    feed.broken = {4}
    async with make_engine(config) as engine:
        first = await engine.run_source("p", "api")
        assert (first.status, first.loaded) == ("failed", 40)
        assert "the next run resumes at page 5" in first.error
        # The newest post came on page 1, but polling must not start from it yet.
        assert "since" not in cursor(db_path)

        feed.broken = set()
        feed.asked.clear()
        second = await engine.run_source("p", "api")
        assert (second.status, second.loaded, second.duplicates) == ("ok", 55, 0)
        assert feed.asked[0] == (path, 4)  # straight back to where it stopped
        assert sorted(map(int, stored(db_path))) == list(range(1, 96))
        assert cursor(db_path) == {"since": 95}

        feed.total = 120
        third = await engine.run_source("p", "api")
        assert (third.status, third.loaded, third.duplicates) == ("ok", 25, 0)
    assert sorted(map(int, stored(db_path))) == list(range(1, 121))


async def test_max_pages_is_the_backfills_horizon_across_runs(
    serve, write_pipeline, make_engine, db_path
):
    feed = NewestFirst(total=95)
    server = await serve(feed.app())
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "api"
        kind = "json_api"
        url = "{server.url}/cursor"
        records = "data"
        fields = {{ id = "id", text = "text" }}
        pagination = {{ type = "cursor", cursor_path = "next", param = "cursor" }}
        incremental = {{ param = "since_id", field = "id" }}
        retries = 0
        max_pages = 6
    """)
    feed.broken = {2}
    async with make_engine(config) as engine:
        assert (await engine.run_source("p", "api")).loaded == 20
        feed.broken = set()
        second = await engine.run_source("p", "api")
        assert (second.status, second.loaded) == ("ok", 40)  # pages 3-6: six in all
    assert cursor(db_path) == {"since": 95}


def iso(n: int) -> str:
    return f"2026-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"


async def test_youtube_resumes_the_video_it_stopped_in_and_skips_finished_ones(
    serve, write_pipeline, make_engine, db_path
):
    asked: list[tuple[str, str]] = []
    broken: set[tuple[str, str]] = {("B", "2")}
    total = {"A": 25, "B": 25}

    async def threads(request: web.Request) -> web.Response:
        video, token = request.query["videoId"], request.query.get("pageToken", "0")
        asked.append((video, token))
        if (video, token) in broken:
            raise web.HTTPInternalServerError(text="backend error")
        number = int(token)
        ids = list(range(total[video], 0, -1))[number * PER_PAGE : (number + 1) * PER_PAGE]
        items = [
            {
                "id": f"{video}{i}",
                "snippet": {
                    "videoId": video,
                    "topLevelComment": {
                        "id": f"{video}{i}",
                        "snippet": {
                            "videoId": video,
                            "textOriginal": f"Comment {i} on {video}: lovely",
                            "publishedAt": iso(i),
                        },
                    },
                },
            }
            for i in ids
        ]
        more = total[video] > (number + 1) * PER_PAGE
        return web.json_response(
            {"items": items, **({"nextPageToken": str(number + 1)} if more else {})}
        )

    app = web.Application()
    app.router.add_get("/youtube/v3/commentThreads", threads)
    server = await serve(app)
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "yt"
        kind = "youtube"
        base_url = "{server.url}"
        video_ids = ["A", "B"]
        key = "k"
        max_results = {PER_PAGE}
        retries = 0
    """)
    async with make_engine(config) as engine:
        first = await engine.run_source("p", "yt")
        assert (first.status, first.loaded) == ("failed", 45)
        broken.clear()
        asked.clear()
        second = await engine.run_source("p", "yt")
        assert (second.status, second.loaded, second.duplicates) == ("ok", 5, 0)
        assert asked == [("B", "2")]  # video A was finished: not asked again
        total["A"] = 28
        asked.clear()
        third = await engine.run_source("p", "yt")
        assert (third.status, third.loaded) == ("ok", 3)
    assert len(stored(db_path)) == 53
    assert cursor(db_path) == {"videos": {"A": iso(28), "B": iso(25)}}


async def test_reddit_resumes_after_and_later_stops_at_the_newest_seen(
    serve, write_pipeline, make_engine, db_path
):
    total, broken, asked = [60], {"t3_41"}, []

    async def search(request: web.Request) -> web.Response:
        after = request.query.get("after", "")
        asked.append(after)
        if after in broken:
            raise web.HTTPInternalServerError(text="try later")
        ids = list(range(total[0], 0, -1))
        start = ids.index(int(after[3:])) + 1 if after else 0
        chunk = ids[start : start + PER_PAGE]
        children = [
            {
                "kind": "t3",
                "data": {
                    "name": f"t3_{i}",
                    "title": f"Post {i}",
                    "selftext": "the serum is lovely",
                    "created_utc": 1_700_000_000 + i,
                    "permalink": f"/r/x/{i}",
                    "subreddit": "x",
                },
            }
            for i in chunk
        ]
        following = f"t3_{chunk[-1]}" if chunk and chunk[-1] > 1 else None
        return web.json_response({"data": {"children": children, "after": following}})

    app = web.Application()
    app.router.add_get("/search.json", search)
    server = await serve(app)
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "rd"
        kind = "reddit"
        base_url = "{server.url}"
        query = "serum"
        limit = {PER_PAGE}
        retries = 0
    """)
    async with make_engine(config) as engine:
        assert (await engine.run_source("p", "rd")).loaded == 20
        broken.clear()
        asked.clear()
        second = await engine.run_source("p", "rd")
        assert (second.status, second.loaded) == ("ok", 40)
        assert asked[0] == "t3_41"
        total[0] = 65
        asked.clear()
        third = await engine.run_source("p", "rd")
        assert (third.status, third.loaded, asked) == ("ok", 5, [""])
    assert sorted(int(i[3:]) for i in stored(db_path)) == list(range(1, 66))


async def test_a_stopped_crawl_keeps_no_validator_of_a_page_it_did_not_commit(
    serve, write_pipeline, make_engine, db_path
):
    """Pages fetched ahead of the one committed must be fetched in full next time, not
    answered 304 from a validator stored before their reviews were."""
    pages = 80

    async def page(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        etag = f'"v{number}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        links = "".join(f'<a class="p" href="/p/{i}">{i}</a>' for i in range(1, pages + 1))
        html = (
            f'<html><body>{links}<article class="review" id="r{number}">'
            f'<p class="body">Review {number}: the serum is lovely</p></article></body></html>'
        )
        return web.Response(text=html, content_type="text/html", headers={"ETag": etag})

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/robots.txt", missing)
    app.router.add_get("/p/{n}", page)
    server = await serve(app)
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "shop"
        kind = "scrape"
        start_urls = ["{server.url}/p/1"]
        item = "article.review"
        follow = ["a.p"]
        delay = 0
        concurrency = 4
        [source.fields]
        text = ".body"
    """)
    async with make_engine(config) as engine:
        engine.subscribe(
            lambda event: (
                engine.stop_after_page("p", "shop", "enough")
                if type(event).__name__ == "RunProgress" and event.pages >= 26
                else None
            )
        )
        first = await engine.run_source("p", "shop")
        assert first.status == "cancelled" and first.loaded < pages
    async with make_engine(config) as engine:
        second = await engine.run_source("p", "shop")
        assert second.status == "ok"
    assert len(stored(db_path)) == pages


@pytest.mark.parametrize(
    ("body", "asked", "status"),
    [
        ('[{"id": 1, "text": "Lovely"}, {"id": 2, "te', 2, "partial"),  # cut off: once more
        ('[{"id": 1, "text": "Lovely"}, {"id": 2, "text": "Fine"', 2, "partial"),
        ("<html>Down for maintenance</html>", 1, "partial"),  # not JSON: no second try
        ('[{"id": 1, "text": "Lovely"}] trailing words', 1, "partial"),  # wrong, not cut
    ],
)
async def test_only_json_cut_off_in_transit_is_fetched_once_more(
    body, asked, status, serve, write_pipeline, make_engine
):
    served = []

    async def page(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/posts", page)
    server = await serve(app)
    config = write_pipeline(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "api"
        kind = "json_api"
        url = "{server.url}/posts"
        fields = {{ id = "id", text = "text" }}
        retries = 0
    """)
    async with make_engine(config) as engine:
        stats = await engine.run_source("p", "api")
    assert (len(served), stats.status, stats.failed) == (asked, status, 1)
    assert "the page could not be read" in stats.error
