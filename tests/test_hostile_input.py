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


# ---- CSV as spreadsheets and shop systems write it -------------------------------------


async def test_csv_bom_crlf_cp1252_bytes_ragged_rows_and_a_long_cell(tmp_path, write_pipeline,
                                                                    make_engine, db_path):
    long_review = "So good. " * 25_000  # 225 KB: past the csv module's default cell limit
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(
        "\ufeffid,text\r\n1,Great shampoo\r\n".encode() + b"2,Caf\xe9 cr\xe8me \x93nice\x94 "
        + "— ünïcode\r\n".encode() + b'3,"' + long_review.encode() + b'"\r\n4\r\n5,extra,cells\r\n')
    (data / "empty.csv").write_bytes(b"")
    pipeline = write_pipeline(file_toml("../data/*.csv"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "drop", "cli")

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 5, 4, 1)
    texts = dict(rows(db_path, "SELECT external_id, text FROM posts"))
    assert texts["1"] == "Great shampoo"
    assert texts["2"] == "Café crème “nice” — ünïcode"  # stray cp1252 bytes read as cp1252
    assert texts["3"] == long_review.strip()
    assert texts["5"] == "extra"
    [(error, payload)] = rows(db_path, "SELECT error, payload FROM failed_records")
    assert error == "record '4': text is missing or empty" and '"text": null' in payload


async def test_csv_row_the_reader_rejects_fails_alone_with_its_line(tmp_path, write_pipeline,
                                                                   make_engine, db_path):
    import csv

    (tmp_path / "a.csv").write_text('id,text\n1,fine\n2,"' + "x" * 5000 + '"\n3,after\n',
                                    encoding="utf-8")
    pipeline = write_pipeline(file_toml("../a.csv"))
    limit = csv.field_size_limit(1000)  # stands in for a cell over the (16 MiB) limit
    try:
        async with make_engine(pipeline) as engine:
            stats = await engine.run_source("p", "drop", "cli")
    finally:
        csv.field_size_limit(limit)

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 3, 2, 1)
    assert sorted(r[0] for r in rows(db_path, "SELECT external_id FROM posts")) == ["1", "3"]
    [(stage, error, payload)] = rows(db_path, "SELECT stage, error, payload FROM failed_records")
    assert stage == "parse"
    assert error.endswith("a.csv line 3: unreadable CSV row: field larger than field limit (1000)")
    assert payload == '2,"' + "x" * 5000 + '"'


# ---- JSON documents, streamed ----------------------------------------------------------


async def test_json_document_broken_midway_keeps_the_records_before_it(tmp_path, write_pipeline,
                                                                       make_engine, db_path):
    import sentitui.sources.files as files

    good = ",\n".join(f'{{"id": {n}, "text": "Lovely scent {n}"}}' for n in range(1, 1201))
    body = '{"meta": {"note": "]}"}, "data": {"items": [' + good + ',\n{"id": 1201, "text": oops}]}}'
    (tmp_path / "export.json").write_text(body, encoding="utf-8")
    pipeline = write_pipeline(file_toml("../export.json", 'records = "data.items"'))
    read_size = files.READ_SIZE
    files.READ_SIZE = 4096  # many small reads: records straddle the buffer's edges
    try:
        async with make_engine(pipeline) as engine:
            stats = await engine.run_source("p", "drop", "cli")
    finally:
        files.READ_SIZE = read_size

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 1201, 1200, 1)
    [(stage, error, payload)] = rows(db_path, "SELECT stage, error, payload FROM failed_records")
    assert stage == "parse" and payload == body
    assert "export.json line 1201: invalid JSON: Expecting value at 'oops}]}}'" in error


async def test_json_document_with_a_wrong_records_path_retries_once_fixed(tmp_path, write_pipeline,
                                                                         make_engine, db_path):
    (tmp_path / "export.json").write_text('{"results": [{"id": 1, "text": "Soft hair"}]}',
                                          encoding="utf-8")
    pipeline = write_pipeline(file_toml("../export.json", 'records = "data"'))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "drop", "cli")
    assert (stats.fetched, stats.failed) == (1, 1)
    [(record_id, error)] = rows(db_path, "SELECT id, error FROM failed_records")
    assert error.endswith("export.json: records path 'data' not found (no key 'data')")

    fixed = write_pipeline(file_toml("../export.json", 'records = "results"'))
    async with make_engine(fixed) as engine:
        outcome = await engine.retry_failed([record_id])
    assert outcome.resolved == [record_id]
    assert rows(db_path, "SELECT external_id, text FROM posts") == [("1", "Soft hair")]
