"""`kind = "instagram"` against Instagram Graph API hashtag-media responses that
python-facebook recorded (../shared/fixtures/real/api/instagram), replayed by a local
Graph-style server: `ig_hashtag_search`, then `recent_media` paged through
`paging.next`. The server knows each media object by the union of the fields recorded
for it (the recent_media captures asked only for counts, the top_media capture for
captions) and answers with them. Its `after` cursors repeat, as the recordings' do.
"""

from __future__ import annotations

import json

from aiohttp import web
from presets_replay import cursor, expected_row, failures, landed, posts, recording, source_toml

HASHTAG_ID = "17843826142012701"
TOP = recording("instagram/pyfacebook_ig_hashtag_top_medias_p1.json")["data"]
RECENT_1 = recording("instagram/pyfacebook_ig_hashtag_recent_medias_p1.json")["data"]
RECENT_2 = recording("instagram/pyfacebook_ig_hashtag_recent_medias_p2.json")["data"]


def instagram_app(token: str = "ig-token") -> web.Application:
    media: dict[str, dict] = {}
    for item in RECENT_1 + RECENT_2 + TOP:
        media.setdefault(item["id"], {}).update(item)
    pages = [[m["id"] for m in TOP], [m["id"] for m in RECENT_1], [m["id"] for m in RECENT_2]]
    app = web.Application()

    def authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {token}"

    async def hashtag_search(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.json_response(
                {
                    "error": {
                        "message": "Invalid OAuth access token.",
                        "type": "OAuthException",
                        "code": 190,
                    }
                },
                status=400,
            )
        return web.json_response({"data": [{"id": HASHTAG_ID}]})

    async def recent_media(request: web.Request) -> web.Response:
        fields = request.query["fields"].split(",")
        # The recorded cursors are literally "after": page 2 and 3 share it.
        index = {None: 0, "QVFIU1": 1, "after": 2}[request.query.get("after")]
        body: dict = {
            "data": [{k: media[i][k] for k in fields if k in media[i]} for i in pages[index]]
        }
        if index < 2:
            after = "QVFIU1" if index == 0 else "after"
            body["paging"] = {
                "cursors": {"after": after},
                "next": f"{request.url.with_query({**request.query, 'after': after})}",
            }
        return web.json_response(body)

    app.router.add_get("/v26.0/ig_hashtag_search", hashtag_search)
    app.router.add_get(f"/v26.0/{HASHTAG_ID}/recent_media", recent_media)
    return app


async def test_hashtag_media_land_and_a_page_of_known_media_ends_paging(
    serve, write_pipeline, make_engine, db_path, monkeypatch
):
    monkeypatch.setenv("INSTAGRAM_TOKEN", "ig-token")
    server = await serve(instagram_app())
    pipeline = write_pipeline(
        source_toml(
            "instagram",
            server.url,
            'hashtag = "#Makkah__Madinah"\n'
            'user_id = "17841406338772941"\ntoken = "${INSTAGRAM_TOKEN}"',
        )
    )

    async with make_engine(pipeline) as engine:
        first = await engine.run_source("launch", "instagram")
        second = await engine.run_source("launch", "instagram")

    rows = posts(db_path)
    assert {k: landed(v) for k, v in rows.items()} == {
        m["id"]: expected_row(m["caption"], None, None, b"") for m in TOP
    }
    assert rows[TOP[0]["id"]]["url"] == "https://www.instagram.com/p/B8goRvrnwod/"
    assert json.loads(rows[TOP[0]["id"]]["segments"]) == {"media_type": "IMAGE"}
    # Page 2 brings only media already seen: paging stops before the repeated cursor.
    assert (first.status, first.loaded, first.duplicates, first.failed) == ("ok", 25, 5, 0)
    assert failures(db_path) == []

    paths = [r.path for r in server.requests]
    assert paths[:3] == [
        "/v26.0/ig_hashtag_search",
        f"/v26.0/{HASHTAG_ID}/recent_media",
        f"/v26.0/{HASHTAG_ID}/recent_media",
    ]
    assert server.queries()[0] == {"user_id": "17841406338772941", "q": "makkah__madinah"}
    assert server.queries()[1]["fields"].startswith("id,caption,timestamp,permalink")
    assert all("access_token" not in q for q in server.queries())
    # The second run reuses the stored hashtag id: no ig_hashtag_search spent on it.
    assert paths[3:] == [f"/v26.0/{HASHTAG_ID}/recent_media"] * 2
    assert second.duplicates == 30
    assert cursor(db_path) == {"hashtag": "makkah__madinah", "hashtag_id": HASHTAG_ID}


async def test_invalid_token_stops_and_names_the_variable(
    serve, write_pipeline, make_engine, monkeypatch
):
    monkeypatch.setenv("INSTAGRAM_TOKEN", "expired")
    server = await serve(instagram_app())
    pipeline = write_pipeline(
        source_toml(
            "instagram", server.url, 'hashtag = "x"\nuser_id = "1"\ntoken = "${INSTAGRAM_TOKEN}"'
        )
    )

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("launch", "instagram")

    assert stats.status == "failed" and "INSTAGRAM_TOKEN" in stats.error and "190" in stats.error
    assert len(server.requests) == 1
