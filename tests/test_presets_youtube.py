"""`kind = "youtube"` against YouTube Data API v3 commentThreads responses that
python-youtube recorded (../shared/fixtures/real/api/youtube: two pages for video
F1UP7wRCPH8 — the second repeats the first page's threads — and a replies listing),
replayed by a local server with `pageToken` paging and the API key checked in the
`X-Goog-Api-Key` header. The error bodies (quotaExceeded, commentsDisabled, invalid
key) follow the documented Google API error shape; no recording of them exists.
"""

from __future__ import annotations

import json

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

PAGE_1 = recording("youtube/pyyoutube_comment_threads_by_video_paged_1.json")
PAGE_2 = recording("youtube/pyyoutube_comment_threads_by_video_paged_2.json")
REPLIES = recording("youtube/pyyoutube_comments_by_parent_paged_1.json")["items"]
VIDEO, DISABLED = "F1UP7wRCPH8", "noComments1"


def google_error(code: int, reason: str, message: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "youtube.commentThread", "reason": reason}],
        }
    }


def youtube_app(*, key: str = "k", quota_left: bool = True) -> web.Application:
    app = web.Application()

    async def comment_threads(request: web.Request) -> web.Response:
        if request.headers.get("X-Goog-Api-Key") != key:
            invalid = google_error(
                400, "badRequest", "API key not valid. Please pass a valid API key."
            )
            invalid["error"]["details"] = [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            ]
            return web.json_response(invalid, status=400)
        if not quota_left:
            return web.json_response(
                google_error(403, "quotaExceeded", "You have exceeded your quota."), status=403
            )
        if request.query["videoId"] == DISABLED:
            return web.json_response(
                google_error(403, "commentsDisabled", "Comments are disabled."), status=403
            )
        return web.json_response(
            PAGE_2 if request.query.get("pageToken") == PAGE_1["nextPageToken"] else PAGE_1
        )

    app.router.add_get("/youtube/v3/commentThreads", comment_threads)
    return app


def toml(url: str, extra: str = "") -> str:
    return source_toml(
        "youtube",
        url,
        f'video_ids = ["{VIDEO}", "{DISABLED}"]\nkey = "${{YOUTUBE_API_KEY}}"\n{extra}',
    )


async def test_every_recorded_comment_lands_and_the_next_run_stops_at_the_newest_seen(
    serve, write_pipeline, make_engine, db_path, monkeypatch
):
    monkeypatch.setenv("YOUTUBE_API_KEY", "k")
    server = await serve(youtube_app())
    pipeline = write_pipeline(toml(server.url))
    events = Events()

    async with make_engine(pipeline) as engine:
        engine.subscribe(events)
        first = await engine.run_source("launch", "youtube")
        second = await engine.run_source("launch", "youtube")

    secret = author_secret(db_path)
    rows = posts(db_path)
    expected = {}
    for thread in PAGE_1["items"]:
        s = thread["snippet"]["topLevelComment"]["snippet"]
        expected[thread["id"]] = expected_row(
            s["textOriginal"], s["publishedAt"], s["authorChannelId"]["value"], secret
        )
    assert {k: landed(v) for k, v in rows.items()} == expected
    # Page 2 repeats page 1's threads: counted as duplicates, and paging stops there.
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 5, 5, 0)
    row = rows["UgyZ1jqkHKYvi1-ruOZ4AaABAg"]
    assert row["url"] == f"https://www.youtube.com/watch?v={VIDEO}&lc=UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert json.loads(row["segments"]) == {"video": VIDEO}
    assert failures(db_path) == []
    assert any(
        f"video {DISABLED}: HTTP 403 commentsDisabled" in line.message for line in events.logs
    )

    queries = server.queries()
    assert queries[0] == {
        "part": "snippet,replies",
        "order": "time",
        "textFormat": "plainText",
        "maxResults": "100",
        "videoId": VIDEO,
    }
    assert queries[1]["pageToken"] == PAGE_1["nextPageToken"]
    assert all("key" not in q for q in queries)  # the key travels in a header, not the URL
    # Run 2: the first page already reaches the newest comment seen, so no pageToken request.
    assert [q.get("pageToken") for q in queries[3:]] == [None, None]
    assert (second.status, second.loaded, second.duplicates) == ("ok", 0, 5)
    assert cursor(db_path) == {"videos": {VIDEO: "2019-11-26T15:51:44.000Z"}}


async def test_inline_replies_land_with_their_thread(
    serve, write_pipeline, make_engine, db_path, monkeypatch
):
    """The recorded replies are put in a thread's `replies.comments`, as the API inlines them."""
    monkeypatch.setenv("YOUTUBE_API_KEY", "k")
    thread = {**PAGE_1["items"][4], "replies": {"comments": REPLIES}}
    app = web.Application()

    async def one_thread(request: web.Request) -> web.Response:
        return web.json_response({"items": [thread]})

    app.router.add_get("/youtube/v3/commentThreads", one_thread)
    server = await serve(app)
    pipeline = write_pipeline(
        source_toml("youtube", server.url, f'video_ids = ["{VIDEO}"]\nkey = "k"')
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "youtube")

    rows = posts(db_path)
    assert stats.loaded == 3
    reply = rows[REPLIES[0]["id"]]
    assert reply["text"] == "this is the third reply!"
    assert reply["url"] == f"https://www.youtube.com/watch?v={VIDEO}&lc={REPLIES[0]['id']}"


async def test_quota_exceeded_stops_with_the_pacific_midnight_reset(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("YOUTUBE_API_KEY", "k")
    server = await serve(youtube_app(quota_left=False))
    pipeline = write_pipeline(toml(server.url))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "youtube")

    assert stats.status == "failed"
    assert "quota exhausted (quotaExceeded)" in stats.error and "midnight Pacific" in stats.error
    assert "YOUTUBE_API_KEY" not in stats.error  # not a credentials problem
    assert len(server.requests) == 1


async def test_invalid_key_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("YOUTUBE_API_KEY", "wrong")
    server = await serve(youtube_app())
    pipeline = write_pipeline(toml(server.url))

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "youtube")

    assert (
        stats.status == "failed"
        and "YOUTUBE_API_KEY" in stats.error
        and "API_KEY_INVALID" in stats.error
    )
    assert len(server.requests) == 1


def test_quota_resets_at_pacific_midnight():
    from datetime import UTC, datetime

    from sentitui.sources.presets.youtube import next_quota_reset

    # 2026-07-01 20:00 UTC is 13:00 PDT: the next reset is 2026-07-02 07:00 UTC.
    assert (
        next_quota_reset(datetime(2026, 7, 1, 20, tzinfo=UTC))
        == datetime(2026, 7, 2, 7, tzinfo=UTC).timestamp()
    )
