"""`kind = "facebook"` against Graph API responses python-facebook recorded
(../shared/fixtures/real/api/facebook: a page feed of 5 posts and two pages of 15
comments under one post), replayed by a local Graph-style server: `paging.next`,
`since` on the feed (by update time) and on comments (by creation time), bearer
token check, and `X-App-Usage` headers.

Built from the documented shapes, not recorded: the post the recorded comments answer
(the feed capture is another Page's), the comment that arrives between runs, and the
error bodies (code 4 throttling, code 190 expired token).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from aiohttp import web
from presets_replay import (
    Events,
    cursor,
    expected_row,
    failures,
    landed,
    posts,
    recording,
    source_toml,
)

PAGE_ID = "19292868552"
COMMENTED = f"{PAGE_ID}_10158407654328553"
FEED = recording("facebook/pyfacebook_feed_fields_p1.json")["data"]
COMMENTS = [recording(f"facebook/pyfacebook_comments_p{n}.json")["data"] for n in (1, 2)]
OUR_POST = {
    "id": COMMENTED,
    "message": "Introducing the new Pages experience.",
    "created_time": "2021-08-10T17:00:00+0000",
}


def graph_time(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp()


class GraphServer:
    """The Page's feed and the comments under each post, served Graph-style."""

    def __init__(self, *, usage: int = 10, throttle_first: bool = False, token: str = "page-token"):
        self.feed = [dict(p) for p in [OUR_POST, *FEED]]
        self.comments: dict[str, list[dict]] = {COMMENTED: COMMENTS[0] + COMMENTS[1]}
        self.usage, self.throttle_first, self.token = usage, throttle_first, token
        self.hits: list[float] = []

    def headers(self, call_count: int | None = None) -> dict[str, str]:
        count = self.usage if call_count is None else call_count
        return {
            "X-App-Usage": json.dumps({"call_count": count, "total_cputime": 5, "total_time": 5})
        }

    def listing(self, request: web.Request, items: list[dict], per_page: int) -> web.Response:
        start = int(request.query.get("after", 0))
        body: dict = {"data": items[start : start + per_page]}
        if start + per_page < len(items):
            after = str(start + per_page)
            body["paging"] = {
                "cursors": {"after": after},
                "next": str(request.url.with_query({**request.query, "after": after})),
            }
        return web.json_response(body, headers=self.headers())

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(time.monotonic())
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {
                    "error": {
                        "message": "Error validating access token: Session has expired",
                        "type": "OAuthException",
                        "code": 190,
                        "error_subcode": 463,
                    }
                },
                status=400,
            )
        if self.throttle_first and len(self.hits) == 1:
            return web.json_response(
                {
                    "error": {
                        "message": "(#4) Application request limit reached",
                        "type": "OAuthException",
                        "is_transient": True,
                        "code": 4,
                    }
                },
                status=400,
                headers=self.headers(call_count=100),
            )
        since = int(request.query.get("since", 0))
        node, edge = request.match_info["node"], request.match_info["edge"]
        if edge == "feed" and node == PAGE_ID:
            updated = [
                p
                for p in self.feed
                if graph_time(p.get("updated_time", p["created_time"])) >= since
            ]
            return self.listing(request, updated, 4)
        if edge == "comments":
            assert request.query["filter"] == "stream"
            new = [c for c in self.comments.get(node, []) if graph_time(c["created_time"]) >= since]
            return self.listing(request, new, 10)
        return web.json_response({"data": []}, headers=self.headers())

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v26.0/{node}/{edge}", self.handle)
        return app


def toml(url: str, extra: str = "") -> str:
    return source_toml(
        "facebook", url, f'page_id = "{PAGE_ID}"\ntoken = "${{FACEBOOK_PAGE_TOKEN}}"\n{extra}'
    )


def comment_id(comment: dict) -> str:
    query = comment["permalink_url"].split("?", 1)[1]
    params = dict(p.split("=") for p in query.split("&"))
    return "10158407654328553_" + params.get("reply_comment_id", params["comment_id"])


async def test_posts_and_every_comment_land_once_and_the_next_run_asks_since(
    serve, write_pipeline, make_engine, db_path, monkeypatch
):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token")
    graph = GraphServer()
    server = await serve(graph.app())
    pipeline = write_pipeline(toml(server.url))

    async with make_engine(pipeline) as engine:
        started = int(time.time())
        first = await engine.run_source("launch", "facebook")
        since = cursor(db_path)["since"]
        # Between runs someone answers the old post: it moves up as updated.
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        graph.feed[0]["updated_time"] = now
        graph.comments[COMMENTED].append(
            {
                "id": "10158407654328553_999",
                "message": "Still no reply?",
                "created_time": now,
                "from": {"id": "555", "name": "Kim"},
                "permalink_url": "https://www.facebook.com/x?comment_id=999",
            }
        )
        second = await engine.run_source("launch", "facebook")

    rows = posts(db_path)
    expected = {
        p["id"]: expected_row(p["message"], p["created_time"], None, b"") for p in [OUR_POST, *FEED]
    }
    for comment in COMMENTS[0] + COMMENTS[1]:
        expected[comment_id(comment)] = expected_row(
            comment["message"], comment["created_time"], None, b""
        )
    assert len(expected) == 21
    assert {k: landed(v) for k, v in rows.items() if k in expected} == expected
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 21, 0, 0)
    comment = rows[comment_id(COMMENTS[1][0])]
    assert json.loads(comment["segments"]) == {"type": "comment", "post": COMMENTED}
    assert comment["url"] == COMMENTS[1][0]["permalink_url"]
    assert failures(db_path) == []

    # Run 1: feed (2 pages), then the comments of each post; the commented one has 2 pages.
    first_run = [(r.path, dict(r.query)) for r in server.requests[:9]]
    assert [p for p, _ in first_run].count(f"/v26.0/{COMMENTED}/comments") == 2
    assert all("since" not in q and "access_token" not in q for _, q in first_run)
    # Run 2 asks `since` the first run's start: the updated post's new comment only.
    assert started - 61 <= since <= started
    second_run = [(r.path, dict(r.query)) for r in server.requests[9:]]
    assert second_run[0][0] == f"/v26.0/{PAGE_ID}/feed" and second_run[0][1]["since"] == str(since)
    assert second_run[1][0] == f"/v26.0/{COMMENTED}/comments" and second_run[1][1]["since"] == str(
        since
    )
    assert len(second_run) == 2
    assert (second.loaded, second.duplicates) == (1, 0)
    assert landed(rows["10158407654328553_999"])["text"] == "Still no reply?"
    assert cursor(db_path)["since"] >= since


async def test_usage_above_90_percent_delays_the_next_request(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token")
    graph = GraphServer(usage=95)
    server = await serve(graph.app())
    pipeline = write_pipeline(toml(server.url, 'include = ["feed"]\nusage_pause = 1'))
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        stats = await engine.run_source("launch", "facebook")

    assert (stats.status, stats.loaded) == ("ok", 6)
    assert len(graph.hits) == 2 and graph.hits[1] - graph.hits[0] >= 0.9
    assert "95% of the API quota used" in events.backoffs()[0]


async def test_throttling_error_waits_then_retries(serve, write_pipeline, make_engine, monkeypatch):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token")
    graph = GraphServer(throttle_first=True)
    server = await serve(graph.app())
    pipeline = write_pipeline(toml(server.url, 'include = ["feed"]\nusage_pause = 1'))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "facebook")

    assert (stats.status, stats.loaded) == ("ok", 6)
    assert graph.hits[1] - graph.hits[0] >= 0.9


async def test_expired_token_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "stale")
    graph = GraphServer()
    server = await serve(graph.app())
    pipeline = write_pipeline(toml(server.url))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "facebook")

    assert (
        stats.status == "failed" and "FACEBOOK_PAGE_TOKEN" in stats.error and "190" in stats.error
    )
    assert len(graph.hits) == 1
