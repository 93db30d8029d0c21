"""Credentials that last: Reddit OAuth tokens and Bluesky sessions obtained from
long-lived secrets and renewed before they expire (or when refused), against local
token endpoints; expiry warnings in `sentitui stats`. Secrets never reach the DB."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from sentitui.cli import main
from sentitui.config import load_pipeline_file
from sentitui.sources import credentials
from sentitui.sources.expiry import expiry_of
from sentitui.store import Store


def jwt(exp: float, name: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp), 'sub': name})}.sig"


def write(folder: Path, text: str, env: dict[str, str]) -> Any:
    folder.mkdir(exist_ok=True)
    path = folder / "creds.toml"
    path.write_text(text, encoding="utf-8")
    return load_pipeline_file(path, env=env)


async def test_reddit_token_is_renewed_before_expiry_and_when_refused(
    serve: Any, tmp_path: Path, make_engine: Any, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued: list[str] = []
    seen: list[str] = []
    grants: list[dict[str, str]] = []

    async def token(request: web.Request) -> web.Response:
        assert (
            request.headers["Authorization"]
            == "Basic " + base64.b64encode(b"app-id:app-secret").decode()
        )
        grants.append(dict(await request.post()))
        issued.append(f"tok{len(issued) + 1}")
        return web.json_response({"access_token": issued[-1], "expires_in": 3600})

    async def search(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if seen[-1] != f"Bearer {issued[-1]}" or revoked:
            revoked.clear()
            return web.json_response({"message": "Unauthorized"}, status=401)
        n = len(seen)
        child = {
            "kind": "t3",
            "data": {
                "name": f"t3_{n}",
                "title": f"aquasilk post {n}",
                "created_utc": time.time(),
                "permalink": f"/r/x/{n}",
            },
        }
        return web.json_response({"data": {"children": [child], "after": None}})

    revoked: list[bool] = []
    app = web.Application()
    app.router.add_post("/api/v1/access_token", token)
    app.router.add_get("/search.json", search)
    server = await serve(app)
    pipeline = write(
        tmp_path / "p",
        f"""
[pipeline]
name = "creds"
[[source]]
name = "reddit"
kind = "reddit"
base_url = "{server.url}"
token_url = "{server.url}/api/v1/access_token"
query = "aquasilk"
client_id = "${{REDDIT_CLIENT_ID}}"
client_secret = "${{REDDIT_CLIENT_SECRET}}"
""",
        {"REDDIT_CLIENT_ID": "app-id", "REDDIT_CLIENT_SECRET": "app-secret"},
    )
    async with make_engine(pipeline) as engine:
        assert (await engine.run_source("creds", "reddit")).status == "ok"
        assert seen == ["Bearer tok1"] and grants == [{"grant_type": "client_credentials"}]

        later = time.time() + 3400  # within five minutes of the token's expiry
        monkeypatch.setattr(credentials, "now", lambda: later)
        assert (await engine.run_source("creds", "reddit")).status == "ok"
        assert seen[-1] == "Bearer tok2" and len(issued) == 2  # renewed before any 401

        revoked.append(True)  # the service drops the token early
        assert (await engine.run_source("creds", "reddit")).status == "ok"
        assert seen[-2:] == ["Bearer tok2", "Bearer tok3"]
    stored = (
        db_path.read_bytes() + Path(str(db_path) + "-wal").read_bytes()
        if Path(str(db_path) + "-wal").exists()
        else db_path.read_bytes()
    )
    for secret in (b"app-secret", b"tok1", b"tok2", b"tok3"):
        assert secret not in stored


async def test_bluesky_session_is_opened_and_refreshed(
    serve: Any, tmp_path: Path, make_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    current = {"access": ""}

    def pair(n: int) -> dict[str, str]:
        current["access"] = jwt(time.time() + 7200, f"access{n}")
        return {"accessJwt": current["access"], "refreshJwt": f"refresh{n}", "did": "did:plc:me"}

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(("create", body["identifier"]))
        assert body["password"] == "app-pass-1234"
        return web.json_response(pair(1))

    async def refresh(request: web.Request) -> web.Response:
        calls.append(("refresh", request.headers["Authorization"]))
        return web.json_response(pair(2))

    async def search(request: web.Request) -> web.Response:
        calls.append(("search", request.headers.get("Authorization", "")[:20]))
        if request.headers.get("Authorization") != f"Bearer {current['access']}":
            return web.json_response({"error": "ExpiredToken"}, status=400)
        post = {
            "uri": "at://did:plc:a/app.bsky.feed.post/1",
            "author": {"did": "did:plc:a"},
            "record": {"text": "aquasilk!", "createdAt": "2026-12-01T10:00:00Z"},
            "indexedAt": "2026-12-01T10:00:01Z",
        }
        return web.json_response({"posts": [post]})

    app = web.Application()
    app.router.add_post("/xrpc/com.atproto.server.createSession", create)
    app.router.add_post("/xrpc/com.atproto.server.refreshSession", refresh)
    app.router.add_get("/xrpc/app.bsky.feed.searchPosts", search)
    server = await serve(app)
    pipeline = write(
        tmp_path / "p",
        f"""
[pipeline]
name = "creds"
[[source]]
name = "bsky"
kind = "bluesky"
auth_url = "{server.url}"
query = "aquasilk"
handle = "brand.example.com"
app_password = "${{BLUESKY_APP_PASSWORD}}"
""",
        {"BLUESKY_APP_PASSWORD": "app-pass-1234"},
    )
    async with make_engine(pipeline) as engine:
        assert (await engine.run_source("creds", "bsky")).status == "ok"
        later = time.time() + 7000  # the access JWT is about to expire
        monkeypatch.setattr(credentials, "now", lambda: later)
        assert (await engine.run_source("creds", "bsky")).status == "ok"
    kinds = [c[0] for c in calls]
    assert kinds == ["create", "search", "refresh", "search"]
    assert calls[2] == ("refresh", "Bearer refresh1")
    expiry = expiry_of("creds", "bsky", {})
    assert expiry is not None and expiry.renews and not expiry.warning()


def test_stats_warns_a_week_before_a_long_lived_token_expires(
    tmp_path: Path, db_path: Path
) -> None:
    soon = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 4 * 86400))
    folder = tmp_path / "p"
    write(
        folder,
        f"""
[pipeline]
name = "creds"
[[source]]
name = "fb"
kind = "facebook"
page_id = "1"
token = "x"
token_expires = "{soon}"
""",
        {},
    )
    Store(db_path).close()
    text = CliRunner().invoke(main, ["stats", "--db", str(db_path), "--pipelines", str(folder)])
    assert "credential creds/fb: token expires" in text.output
    assert "renew it within the week" in text.output
    data = json.loads(
        CliRunner()
        .invoke(main, ["stats", "--json", "--db", str(db_path), "--pipelines", str(folder)])
        .output
    )
    assert data["credentials"][0]["warning"] is True
