"""Privacy, retention, rescore and the insight panels' queries, on posts loaded by the real
engine from a local API into a real SQLite file.

The privacy rule under test: no raw author handle, e-mail address or phone number from
the source appears in the database, the logs or an export (unless `keep_authors`); the
one exception, a failed record's raw payload, goes at `purge --failed-payloads`."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from sentitui.maintenance import export_posts, purge, rescore
from sentitui.models import LogLine
from sentitui.processing.score import Scorer
from sentitui.store import Store

HANDLES = ["maya.w", "zoe_suds", "curly.kim", "bea_rtx"]
EMAIL = "maya.w@example.com"
PHONE = "+44 20 7946 0958"
SECRETS = [*HANDLES, EMAIL, PHONE, "7946 0958"]

NOW = datetime.now(UTC)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


POSTS = [
    {
        "id": 1,
        "body": f"Love the scent but the price is ridiculous. Mail me at {EMAIL} or call {PHONE}",
        "user": {"name": "maya.w", "age": "18-24"},
        "link": "https://social.example/@maya.w/1",
        "ts": ago(1),
    },
    {
        "id": 2,
        "body": "@zoe_suds I switched from Silk Pro and the price is too high, awful",
        "user": {"name": "curly.kim", "age": "18-24"},
        "link": "https://social.example/@curly.kim/2",
        "ts": ago(2),
    },
    {
        "id": 3,
        "body": "The smell is lovely, better than #hairglow ask @bea_rtx@mastodon.social",
        "user": {"name": "zoe_suds", "age": "25-34"},
        "link": "https://social.example/@zoe_suds/3",
        "ts": ago(3),
    },
    {
        "id": 4,
        "body": "Price is fair and the scent is great. Signed, zoe_suds",
        "user": {"name": "zoe_suds", "age": "25-34"},
        "link": "https://social.example/@zoe_suds/4",
        "ts": ago(400),
    },
    # No text: fails at clean; its raw payload (with the handle) is kept for retry.
    {"id": 5, "body": "", "user": {"name": "bea_rtx", "age": "25-34"}, "ts": ago(1)},
]

PIPELINE = """
[pipeline]
name = "launch"
competitors = [{{ name = "SilkPro", aliases = ["Silk Pro"] }}, "HairGlow"]
aspects = {{ scent = ["scent", "smell"], price = ["price", "expensive"] }}
{extra}

[[source]]
name = "api"
kind = "json_api"
url = "{url}/posts"
records = "data"
[source.fields]
id = "id"
text = "body"
author = "user.name"
url = "link"
created_at = "ts"
[source.fields.segments]
age_group = "user.age"
"""


@pytest.fixture
async def api(serve):
    app = web.Application()

    async def posts(request: web.Request) -> web.Response:
        return web.json_response({"data": POSTS})

    app.router.add_get("/posts", posts)
    return await serve(app)


async def load(write_pipeline, make_engine, api, extra: str = "", caplog=None):
    pipeline = write_pipeline(PIPELINE.format(url=api.url, extra=extra))
    engine = make_engine(pipeline)
    lines: list[str] = []
    engine.subscribe(lambda e: lines.append(e.message) if isinstance(e, LogLine) else None)
    async with engine:
        [stats] = await engine.run_pipelines()
    assert (stats.loaded, stats.failed) == (4, 1), stats
    return pipeline, lines


def table_text(db_path: Path) -> str:
    """Every value of every table, except failed records' raw payloads."""
    conn = sqlite3.connect(db_path)
    out = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
        wanted = [c for c in columns if not (table == "failed_records" and c == "payload")]
        for row in conn.execute(f"SELECT {', '.join(wanted)} FROM '{table}'"):
            out.append(" ".join(map(str, row)))
    conn.close()
    return "\n".join(out)


def file_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def found(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


async def test_no_handle_email_or_phone_in_db_logs_or_export(
    write_pipeline, make_engine, api, db_path, caplog
):
    caplog.set_level(logging.DEBUG, logger="sentitui")
    pipeline, lines = await load(write_pipeline, make_engine, api)

    store = Store(db_path)
    texts = {r["external_id"]: r for r in store.rows("SELECT * FROM posts")}
    assert texts["1"]["text"].endswith("Mail me at [email] or call [phone]")
    assert texts["1"]["url"] == "https://social.example/@[author]/1"
    assert texts["2"]["text"].startswith("@user I switched from Silk Pro")
    assert texts["4"]["text"].endswith("Signed, [author]")
    assert len(texts["1"]["author_hash"]) == 16
    assert texts["3"]["author_hash"] == texts["4"]["author_hash"]  # same person, same hash

    assert found(table_text(db_path)) == []
    assert found("\n".join(lines)) == [] and found(caplog.text) == []
    for fmt in ("csv", "jsonl"):
        out = io.StringIO()
        assert export_posts(store, [pipeline], out, fmt=fmt) == 4  # no retention_days here
        assert found(out.getvalue()) == []

    # The one exception: the failed record's raw payload, until purged on request.
    [payload] = [r["payload"] for r in store.rows("SELECT payload FROM failed_records")]
    assert "bea_rtx" in payload
    result = purge(store, [pipeline], failed_payloads=True)
    assert result.payloads_blanked == 1
    store.close()
    raw = file_bytes(db_path).decode("utf-8", "replace")
    assert found(raw) == []


async def test_keep_authors_stores_the_handle(write_pipeline, make_engine, api, db_path):
    await load(write_pipeline, make_engine, api, extra="keep_authors = true")
    store = Store(db_path)
    rows = {r["external_id"]: r for r in store.rows("SELECT * FROM posts")}
    assert rows["1"]["author_hash"] == "maya.w"
    assert rows["1"]["url"] == "https://social.example/@maya.w/1"
    assert "@zoe_suds" in rows["2"]["text"]
    assert "[email]" in rows["1"]["text"]  # e-mails and phones are redacted either way


async def test_purge_applies_retention_and_export_honours_it(
    write_pipeline, make_engine, api, db_path
):
    pipeline, _ = await load(write_pipeline, make_engine, api, extra="retention_days = 30")
    store = Store(db_path)
    out = io.StringIO()
    assert export_posts(store, [pipeline], out, fmt="jsonl") == 3  # 400-day-old post left out
    assert {json.loads(line)["external_id"] for line in out.getvalue().splitlines()} == {
        "1",
        "2",
        "3",
    }

    # Failed records older than failed_retention_days (14) go; a fresh one stays.
    result = purge(store, [pipeline], now=NOW)
    assert (result.posts, result.failed_records) == ({"launch": 1}, 0)
    assert store.count_posts() == 3
    result = purge(store, [pipeline], now=NOW + timedelta(days=15))
    assert result.failed_records == 1 and store.count_failed(status=None) == 0
    store.close()


async def test_rescore_recomputes_after_a_config_change(write_pipeline, make_engine, api, db_path):
    await load(write_pipeline, make_engine, api)
    store = Store(db_path)
    before = {r["external_id"]: r for r in store.rows("SELECT * FROM posts")}
    assert before["3"]["label"] == "positive" and before["3"]["competitors"] == '["HairGlow"]'

    changed = write_pipeline(
        PIPELINE.format(
            url="http://127.0.0.1:9",
            extra="""
thresholds = { positive = 0.95, negative = -0.95 }
scorer = "textblob"
""",
        )
        .replace('"HairGlow"]', '"Nobody"]')
        .replace("price = [", "cost = [")
    )
    seen: list[tuple[int, int]] = []
    scorer = Scorer(workers=0)
    try:
        updated = await rescore(
            store,
            [changed],
            scorer,
            batch_size=2,
            progress=lambda name, done, total: seen.append((done, total)),
        )
    finally:
        scorer.close()
    assert updated == {"launch": 4}
    assert seen == [(2, 4), (4, 4)]  # two batches
    after = {r["external_id"]: r for r in store.rows("SELECT * FROM posts")}
    assert all(r["label"] == "neutral" for r in after.values())  # nothing reaches ±0.95
    assert after["3"]["competitors"] == "[]"
    assert after["3"]["feedback"] == "comparison"  # "better than" still a comparison cue
    assert set(json.loads(after["1"]["aspects"])) == {"scent", "cost"}
    assert after["3"]["polarity"] != before["3"]["polarity"]  # textblob, not the default
    store.close()


async def test_competitor_and_aspect_summaries_from_real_rows(
    write_pipeline, make_engine, api, db_path
):
    await load(write_pipeline, make_engine, api)
    store = Store(db_path)
    polarity = {r["external_id"]: r["polarity"] for r in store.rows("SELECT * FROM posts")}
    summary = {r.competitor: r for r in store.competitor_summary()}
    assert set(summary) == {"SilkPro", "HairGlow"}  # "Silk Pro" counted under its name
    assert summary["SilkPro"].mentions == 1 and summary["SilkPro"].share_of_voice == 0.25
    assert summary["SilkPro"].avg_polarity == polarity["2"]
    assert summary["HairGlow"].positive == 1

    aspects = store.aspect_summary("age_group")
    young = {r.aspect: r for r in aspects if r.segment == "18-24"}
    assert young["price"].mentions == 2 and young["price"].negative == 2
    assert young["price"].negative_share == 1.0
    assert young["scent"].positive == 1
    assert store.top_complaints("age_group") == {"18-24": "price"}
    overall = {r.aspect: r.mentions for r in store.aspect_summary()}
    assert overall == {"price": 3, "scent": 3}
    assert store.competitor_summary(pipeline="other") == []
    store.close()
