"""Rate-limit headers as each service sends them (values from the recordings in
../shared/fixtures/real and the services' documentation) -> when the next request may go;
and the shared HTTP client waiting for a spent budget, measured on the server side."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest
from aiohttp import web

from sentitui.net.http import FetchError, HttpClient
from sentitui.net.ratelimit import RateLimitRules, graph_usage, next_allowed, parse_reset

NOW = 1_747_676_700.0  # 2025-05-19T17:45:00Z


def test_x_reset_is_epoch_seconds():
    # From tweepy's recording: x-rate-limit-remaining 449 of 450 -> no wait.
    assert (
        next_allowed({"x-rate-limit-remaining": "449", "x-rate-limit-reset": "1665184962"}, NOW)
        is None
    )
    wait = next_allowed(
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 120)},
        NOW,
        RateLimitRules(reset="epoch"),
    )
    assert wait is not None and wait.until == NOW + 120
    assert wait.reason.startswith("rate-limited until ")


def test_reddit_reset_is_seconds_until_and_remaining_is_a_fraction():
    headers = {"X-Ratelimit-Used": "100", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"}
    wait = next_allowed(headers, NOW, RateLimitRules(reset="delta"))
    assert wait is not None and wait.until == NOW + 42
    assert next_allowed({**headers, "X-Ratelimit-Remaining": "3.0"}, NOW) is None


def test_mastodon_reset_is_iso_8601():
    # Shape from the Mastodon.py recording: '2026-08-01T14:00:00.070144Z'.
    reset = datetime.fromtimestamp(NOW + 30, UTC).strftime("%Y-%m-%dT%H:%M:%S.070144Z")
    wait = next_allowed({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, NOW)
    assert wait is not None and wait.until == pytest.approx(NOW + 30.07)


def test_bluesky_reset_is_epoch_seconds():
    headers = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1747676784",
        "RateLimit-Policy": "3000;w=300",
    }
    assert next_allowed(headers, NOW).until == 1747676784


def test_auto_style_reads_each_kind_of_reset():
    assert parse_reset("1747676784", NOW) == 1747676784
    assert parse_reset("60", NOW) == NOW + 60
    assert parse_reset("2025-05-19T17:46:00Z", NOW) == NOW + 60
    assert parse_reset("soon", NOW) is None


def test_facebook_usage_above_90_percent_pauses():
    rules = RateLimitRules(usage_pause=5)
    assert (
        next_allowed(
            {"X-App-Usage": json.dumps({"call_count": 50, "total_cputime": 10, "total_time": 12})},
            NOW,
            rules,
        )
        is None
    )
    wait = next_allowed(
        {"X-App-Usage": json.dumps({"call_count": 91, "total_cputime": 10, "total_time": 12})},
        NOW,
        rules,
    )
    assert wait.until == NOW + 5 and "91%" in wait.reason
    buc = {
        "112130216863063": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 2,
            }
        ]
    }
    assert graph_usage({"x-business-use-case-usage": json.dumps(buc)}) == (100.0, 2.0)
    assert (
        next_allowed({"X-Business-Use-Case-Usage": json.dumps(buc)}, NOW, rules).until == NOW + 120
    )
    assert next_allowed({"X-App-Usage": "not json"}, NOW) is None


async def test_client_waits_for_a_spent_budget_before_the_next_request(serve):
    hits: list[float] = []

    async def limited(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        reset = datetime.fromtimestamp(time.time() + 1, UTC).isoformat()
        return web.json_response(
            [], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        )

    app = web.Application()
    app.router.add_get("/api", limited)
    server = await serve(app)
    waits: list[str] = []
    async with HttpClient(min_delay=0.01) as http:
        await http.get(server.url + "/api")
        await http.get(server.url + "/api", on_wait=lambda delay, why: waits.append(why))

    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9
    assert waits and waits[0].startswith("rate-limited until ")


async def test_client_refuses_to_wait_longer_than_max_rate_wait(serve):
    async def spent(request: web.Request) -> web.Response:
        return web.json_response(
            [],
            headers={
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + 3600),
            },
        )

    app = web.Application()
    app.router.add_get("/api", spent)
    server = await serve(app)
    async with HttpClient(min_delay=0.01, max_rate_wait=60) as http:
        await http.get(server.url + "/api")
        with pytest.raises(FetchError, match="the next run resumes"):
            await http.get(server.url + "/api")
    assert len(server.requests) == 1  # the second request never went out
