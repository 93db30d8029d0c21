"""One local social network speaking three streaming protocols, for the stream tests.

`FakeSocial.publish(text)` adds a post to the timeline every API serves:
- Mastodon: REST `/api/v1/timelines/tag/<tag>` (min_id/max_id, Link header) and
  SSE `/api/v1/streaming/hashtag?tag=` (`update` events, `:` heartbeats);
- Jetstream: WebSocket `/subscribe` (replays from `cursor=` time_us, then live;
  every post comes with an unrelated "noise" post the filters must drop);
- X: `/2/tweets/search/recent` (since_id), `/2/tweets/search/stream` (NDJSON, blank
  keep-alives) and its `/rules` endpoint.

Faults are queued per protocol and hit the next live delivery: "drop" sends half of
the event and aborts the connection, "garbage" sends an unreadable event first,
"stall" sends nothing more (the client must notice the silence and reconnect).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TAG = "aquasilk"


@dataclass
class Post:
    n: int
    text: str
    time_us: int

    @property
    def id(self) -> str:
        return str(1000 + self.n)

    @property
    def created(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.time_us / 1e6))

    def mastodon(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created,
            "content": f"<p>{self.text}</p>",
            "language": "en",
            "url": f"https://masto.example/@a/{self.id}",
            "account": {"acct": "a", "url": "https://masto.example/@a", "followers_count": 5},
        }

    def tweet(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "author_id": "7", "created_at": self.created}

    def jetstream(self, text: str | None = None, time_us: int | None = None) -> dict[str, Any]:
        return {
            "did": "did:plc:abc",
            "time_us": time_us or self.time_us,
            "kind": "commit",
            "commit": {
                "rev": "x",
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": f"r{self.n}",
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": text or self.text,
                    "langs": ["en"],
                    "createdAt": self.created,
                },
            },
        }


@dataclass
class FakeSocial:
    posts: list[Post] = field(default_factory=list)
    listeners: dict[str, list[asyncio.Queue[Post]]] = field(
        default_factory=lambda: {"mastodon": [], "jetstream": [], "x": []}
    )
    faults: dict[str, deque[str]] = field(
        default_factory=lambda: {"mastodon": deque(), "jetstream": deque(), "x": deque()}
    )
    connections: dict[str, int] = field(
        default_factory=lambda: {"mastodon": 0, "jetstream": 0, "x": 0}
    )
    jetstream_cursors: list[str | None] = field(default_factory=list)
    rules: list[dict[str, str]] = field(default_factory=list)
    rule_posts: list[Any] = field(default_factory=list)
    stall_for: float = 4.0  # seconds a stalled connection stays silent before it closes
    _last_us: int = 0

    def publish(self, text: str) -> Post:
        now = max(int(time.time() * 1_000_000), self._last_us + 10)
        self._last_us = now
        post = Post(len(self.posts) + 1, text, now)
        self.posts.append(post)
        for queues in self.listeners.values():
            for queue in queues:
                queue.put_nowait(post)
        return post

    def fault(self, protocol: str, *kinds: str) -> None:
        self.faults[protocol].extend(kinds)

    def live(self, protocol: str) -> int:
        return len(self.listeners[protocol])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/api/v1/timelines/tag/{TAG}", self.mastodon_rest)
        app.router.add_get("/api/v1/streaming/hashtag", self.mastodon_sse)
        app.router.add_get("/subscribe", self.jetstream_ws)
        app.router.add_get("/2/tweets/search/recent", self.x_search)
        app.router.add_get("/2/tweets/search/stream", self.x_stream)
        app.router.add_get("/2/tweets/search/stream/rules", self.x_rules_get)
        app.router.add_post("/2/tweets/search/stream/rules", self.x_rules_post)
        return app

    # ---- Mastodon ---------------------------------------------------------------------

    async def mastodon_rest(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", 40))
        min_id, max_id = request.query.get("min_id"), request.query.get("max_id")
        if min_id:
            page = [p for p in self.posts if int(p.id) > int(min_id)][:limit][::-1]
        else:
            older = [p for p in self.posts if not max_id or int(p.id) < int(max_id)]
            page = older[::-1][:limit]
        links = []
        if page:
            base = f"{request.url.with_query({})}"
            links.append(f'<{base}?max_id={page[-1].id}>; rel="next"')
            links.append(f'<{base}?min_id={page[0].id}>; rel="prev"')
        return web.json_response(
            [p.mastodon() for p in page], headers={"Link": ", ".join(links)} if links else {}
        )

    async def mastodon_sse(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("tag") != TAG:
            return web.Response(status=404)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b":)\n\n")

        def encode(post: Post) -> bytes:
            return f"event: update\ndata: {json.dumps(post.mastodon())}\n\n".encode()

        return await self._serve_stream(
            "mastodon",
            request,
            response,
            encode,
            garbage=b"event: update\ndata: {not json at all\n\n",
            heartbeat=b":thump\n",
        )

    # ---- X ------------------------------------------------------------------------------

    async def x_search(self, request: web.Request) -> web.Response:
        since = request.query.get("since_id")
        found = [p for p in self.posts if not since or int(p.id) > int(since)][::-1]
        body: dict[str, Any] = {"meta": {"result_count": len(found)}}
        if found:
            body["data"] = [p.tweet() for p in found]
            body["meta"]["newest_id"] = found[0].id
        return web.json_response(body)

    async def x_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b"\r\n")

        def encode(post: Post) -> bytes:
            message = {"data": post.tweet(), "matching_rules": [{"id": "1", "tag": "t"}]}
            return json.dumps(message).encode() + b"\r\n"

        return await self._serve_stream(
            "x", request, response, encode, garbage=b"<html>oops</html>\r\n", heartbeat=b"\r\n"
        )

    async def x_rules_get(self, request: web.Request) -> web.Response:
        return web.json_response({"data": self.rules, "meta": {"result_count": len(self.rules)}})

    async def x_rules_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.rule_posts.append(body)
        for rule in body.get("add", []):
            self.rules.append({"id": str(len(self.rules) + 1), **rule})
        ids = set((body.get("delete") or {}).get("ids", []))
        self.rules = [r for r in self.rules if r["id"] not in ids]
        return web.json_response({"meta": {"summary": {"created": len(body.get("add", []))}}})

    # ---- Jetstream ----------------------------------------------------------------------

    async def jetstream_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        cursor = request.query.get("cursor")
        self.jetstream_cursors.append(cursor)
        self.connections["jetstream"] += 1
        queue: asyncio.Queue[Post] = asyncio.Queue()
        self.listeners["jetstream"].append(queue)
        try:
            if cursor is not None:
                for post in list(self.posts):
                    if post.time_us >= int(cursor):
                        await ws.send_str(json.dumps(self.noise(post)))
                        await ws.send_str(json.dumps(post.jetstream()))
            closed = asyncio.ensure_future(ws.receive())  # the client's close, or its end
            while True:
                getting = asyncio.ensure_future(queue.get())
                await asyncio.wait({getting, closed}, return_when=asyncio.FIRST_COMPLETED)
                if closed.done():
                    getting.cancel()
                    return ws
                post = getting.result()
                fault = self.faults["jetstream"].popleft() if self.faults["jetstream"] else None
                if fault == "garbage":
                    await ws.send_str("{garbage")
                if fault == "drop":
                    assert request.transport is not None
                    request.transport.abort()
                    return ws
                if fault == "stall":
                    await asyncio.sleep(self.stall_for)
                    return ws
                await ws.send_str(json.dumps(self.noise(post)))
                await ws.send_str(json.dumps(post.jetstream()))
        finally:
            self.listeners["jetstream"].remove(queue)

    @staticmethod
    def noise(post: Post) -> dict[str, Any]:
        return post.jetstream(text="nothing to see here", time_us=post.time_us - 1)

    # ---- shared -------------------------------------------------------------------------

    async def _serve_stream(
        self,
        protocol: str,
        request: web.Request,
        response: web.StreamResponse,
        encode: Any,
        garbage: bytes,
        heartbeat: bytes,
    ) -> web.StreamResponse:
        self.connections[protocol] += 1
        queue: asyncio.Queue[Post] = asyncio.Queue()
        self.listeners[protocol].append(queue)
        try:
            return await self._pump(protocol, request, response, queue, encode, garbage, heartbeat)
        except ConnectionResetError:  # the client went away (aiohttp's error is a subclass)
            return response
        finally:
            self.listeners[protocol].remove(queue)

    async def _pump(
        self,
        protocol: str,
        request: web.Request,
        response: web.StreamResponse,
        queue: asyncio.Queue[Post],
        encode: Any,
        garbage: bytes,
        heartbeat: bytes,
    ) -> web.StreamResponse:
        while True:
            try:
                post = await asyncio.wait_for(queue.get(), 0.5)
            except TimeoutError:
                await response.write(heartbeat)
                continue
            fault = self.faults[protocol].popleft() if self.faults[protocol] else None
            data = encode(post)
            if fault == "garbage":
                await response.write(garbage)
            elif fault == "drop":
                await response.write(data[: len(data) // 2])
                assert request.transport is not None
                request.transport.abort()
                return response
            elif fault == "stall":
                await asyncio.sleep(self.stall_for)
                return response
            await response.write(data)
