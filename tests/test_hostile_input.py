"""Data and servers that misbehave the way real ones do: every raw record still ends
as a post, a counted duplicate or a failed record with its payload, and each error
names what was wrong and where. Real local aiohttp servers, real files, real SQLite."""

from __future__ import annotations

import sqlite3

from aiohttp import web

DEEP = 100_000  # far beyond Python's recursion limit


def rows(db_path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def api_toml(url: str, extra: str = "") -> str:
    return f"""
    [pipeline]
    name = "p"
    [[source]]
    name = "api"
    kind = "json_api"
    url = "{url}"
    retries = 1
    backoff = 0.01
    fields = {{ id = "id", text = "text" }}
    {extra}
    """


def file_toml(path: str, extra: str = "") -> str:
    return f"""
    [pipeline]
    name = "p"
    [[source]]
    name = "drop"
    kind = "file"
    path = "{path}"
    fields = {{ id = "id", text = "text" }}
    {extra}
    """


# ---- JSON nested deeper than Python can read ------------------------------------------


async def test_deeply_nested_page_is_a_parse_failure_not_a_crashed_run(serve, write_pipeline,
                                                                      make_engine, db_path):
    body = '[{"id": 1, "text": "deep", "n": ' + "[" * DEEP + "]" * DEEP + "}]"
    app = web.Application()

    async def deep(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    app.router.add_get("/deep", deep)
    server = await serve(app)
    pipeline = write_pipeline(api_toml(server.url + "/deep"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert (stats.status, stats.fetched, stats.failed) == ("ok", 1, 1)
    [(stage, error, payload)] = rows(db_path, "SELECT stage, error, payload FROM failed_records")
    assert stage == "parse" and "nested too deeply" in error and "/deep" in error
    assert payload == body


async def test_deeply_nested_jsonl_line_fails_alone(tmp_path, write_pipeline, make_engine, db_path):
    deep_line = '{"id": 2, "text": "deep", "n": ' + '{"n": ' * DEEP + "1" + "}" * DEEP + "}"
    (tmp_path / "drop.jsonl").write_text(
        '{"id": 1, "text": "Lovely scent"}\n' + deep_line + '\n{"id": 3, "text": "Too pricey"}\n',
        encoding="utf-8")
    pipeline = write_pipeline(file_toml("../drop.jsonl"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "drop", "cli")

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 3, 2, 1)
    [(error, payload)] = rows(db_path, "SELECT error, payload FROM failed_records")
    assert "drop.jsonl line 2: invalid JSON: nested too deeply" in error
    assert payload == deep_line
