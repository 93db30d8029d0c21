"""The author-hash key never lives in the database, and segment values are redacted
like post text (issue 11 §2). Real engine, real local API, real SQLite files."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from aiohttp import web

from sentitui.maintenance import export_posts
from sentitui.processing.clean import hash_author
from sentitui.store import Store

EMAIL = "kim.curl@example.org"
PHONE = "+1 415 555 0134"
LEGACY_KEY = "legacy-key-7f3e2d1c0b9a8877"

PIPELINE = """
[pipeline]
name = "p"
[[source]]
name = "api"
kind = "json_api"
url = "{url}/posts"
[source.fields]
id = "id"
text = "text"
author = "user"
[source.fields.segments]
bio = "bio"
location = "where"
"""


@pytest.fixture
async def api(serve):
    app = web.Application()

    async def posts(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "id": 1,
                    "text": "Lovely scent",
                    "user": "kim.curl",
                    "bio": f"Curly hair, DM {EMAIL} or {PHONE}",
                    "where": "Leeds",
                }
            ]
        )

    app.router.add_get("/posts", posts)
    return await serve(app)


async def load(write_pipeline, make_engine, api):
    pipeline = write_pipeline(PIPELINE.format(url=api.url))
    async with make_engine(pipeline) as engine:
        [stats] = await engine.run_pipelines()
    assert stats.loaded == 1
    return pipeline


def meta(db_path: Path) -> dict[str, str]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT key, value FROM meta"))


def author_hash(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT author_hash FROM posts").fetchone()[0]


def database_bytes(db_path: Path) -> bytes:
    files = db_path.parent.glob(db_path.name + "*")
    return b"".join(p.read_bytes() for p in files if not p.name.endswith((".key", ".from-db")))


async def test_a_new_key_is_a_file_only_its_owner_can_read(
    write_pipeline, make_engine, api, db_path
):
    await load(write_pipeline, make_engine, api)
    key_file = db_path.with_name(db_path.name + ".key")
    key = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "author_secret" not in meta(db_path)
    assert key.encode() not in database_bytes(db_path)
    assert author_hash(db_path) == hash_author("kim.curl", key.encode())


async def test_a_key_kept_in_an_old_database_moves_out_and_hashes_stay(
    write_pipeline, make_engine, api, db_path
):
    store = Store(db_path)  # a database as versions before issue 11 left it
    with store.transaction():
        store.set_meta("author_secret", LEGACY_KEY)
    store.close()

    await load(write_pipeline, make_engine, api)
    assert author_hash(db_path) == hash_author("kim.curl", LEGACY_KEY.encode())
    assert db_path.with_name(db_path.name + ".key").read_text().strip() == LEGACY_KEY
    assert "author_secret" not in meta(db_path)
    assert LEGACY_KEY.encode() not in database_bytes(db_path)  # wiped, not just unlinked


async def test_the_environment_key_wins_and_no_file_is_made(
    write_pipeline, make_engine, api, db_path, monkeypatch
):
    monkeypatch.setenv("SENTITUI_AUTHOR_KEY", "env-key-55aa")
    await load(write_pipeline, make_engine, api)
    assert author_hash(db_path) == hash_author("kim.curl", b"env-key-55aa")
    assert not db_path.with_name(db_path.name + ".key").exists()


@pytest.mark.parametrize("db_path", ["postgresql"], indirect=True)
async def test_on_postgresql_the_key_is_a_file_named_from_the_url(
    write_pipeline, make_engine, api, db_path, tmp_path
):
    """No file sits beside a server's database: the key file is named from the URL
    under the user's config folder (tests/pg.py points XDG_CONFIG_HOME into tmp), and
    a key an older database kept in `meta` moves there and out of the table."""
    from sentitui.store.author_key import base_for_url, key_file_for

    store = Store(db_path)
    with store.transaction():
        store.set_meta("author_secret", LEGACY_KEY)
    store.close()

    await load(write_pipeline, make_engine, api)
    key_file = key_file_for(base_for_url(db_path))
    assert key_file.is_relative_to(tmp_path / "config" / "sentitui")
    assert key_file.read_text().strip() == LEGACY_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store = Store(db_path)
    assert store.meta("author_secret") is None
    [(stored_hash,)] = store.conn.execute("SELECT author_hash FROM posts").fetchall()
    store.close()
    assert stored_hash == hash_author("kim.curl", LEGACY_KEY.encode())


async def test_segment_values_lose_emails_and_phones_in_the_table_and_export(
    write_pipeline, make_engine, api, db_path
):
    pipeline = await load(write_pipeline, make_engine, api)
    store = Store(db_path)
    [segments] = [json.loads(r["segments"]) for r in store.rows("SELECT segments FROM posts")]
    assert segments == {"bio": "Curly hair, DM [email] or [phone]", "location": "Leeds"}

    # A row stored before segments were redacted is redacted on its way out.
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO posts (pipeline, source, external_id, text, segments) "
            "VALUES ('p', 'api', 'old', 'older post', ?)",
            (json.dumps({"bio": f"write {EMAIL}"}),),
        )
    for fmt in ("csv", "jsonl"):
        out = io.StringIO()
        assert export_posts(store, [pipeline], out, fmt=fmt) == 2
        assert EMAIL not in out.getvalue() and "555 0134" not in out.getvalue()
        assert "[email]" in out.getvalue()
    store.close()


def test_any_command_that_opens_an_old_database_moves_its_key_out(tmp_path):
    db_path = tmp_path / "old.db"
    store = Store(db_path)
    with store.transaction():
        store.set_meta("author_secret", LEGACY_KEY)
    store.close()

    Store(db_path).close()  # what `sentitui stats` or `failed list` do first
    assert "author_secret" not in meta(db_path)
    assert db_path.with_name(db_path.name + ".key").read_text().strip() == LEGACY_KEY


def test_daemons_starting_together_agree_on_one_key(tmp_path, monkeypatch):
    """Several processes creating the key file at the same moment: none reads it half
    written, and all end with the same key."""
    import concurrent.futures

    from sentitui.store.author_key import author_key

    for name in ("SENTITUI_AUTHOR_KEY", "SENTITUI_AUTHOR_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "fleet.db"
    with concurrent.futures.ProcessPoolExecutor(8) as pool:
        keys = list(pool.map(author_key, [db] * 32, [None] * 32))
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.db.key"]  # no temporary left
