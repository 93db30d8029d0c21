"""Data and servers that misbehave the way real ones do: every raw record still ends
as a post, a counted duplicate or a failed record with its payload, and each error
names what was wrong and where. Real local aiohttp servers, real files, real SQLite and
real PostgreSQL."""

from __future__ import annotations

import pytest
from aiohttp import web
from conftest import connect_db, readable

pytestmark = pytest.mark.both_backends
DEEP = 100_000  # far beyond Python's recursion limit


def rows(db_path, sql: str, params: tuple = ()) -> list[tuple]:
    with connect_db(db_path) as conn:
        return [readable(row) for row in conn.execute(sql, params).fetchall()]


def api_toml(url: str, extra: str = "", retries: int = 1) -> str:
    return f"""
    [pipeline]
    name = "p"
    [[source]]
    name = "api"
    kind = "json_api"
    url = "{url}"
    retries = {retries}
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


async def test_deeply_nested_page_is_a_parse_failure_not_a_crashed_run(
    serve, write_pipeline, make_engine, db_path
):
    body = '[{"id": 1, "text": "deep", "n": ' + "[" * DEEP + "]" * DEEP + "}]"
    app = web.Application()

    async def deep(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    app.router.add_get("/deep", deep)
    server = await serve(app)
    pipeline = write_pipeline(api_toml(server.url + "/deep"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert (stats.status, stats.fetched, stats.failed) == ("partial", 1, 1)
    [(stage, error, payload)] = rows(db_path, "SELECT stage, error, payload FROM failed_records")
    assert stage == "parse" and "nested too deeply" in error and "/deep" in error
    assert payload == body


async def test_deeply_nested_jsonl_line_fails_alone(tmp_path, write_pipeline, make_engine, db_path):
    deep_line = '{"id": 2, "text": "deep", "n": ' + '{"n": ' * DEEP + "1" + "}" * DEEP + "}"
    (tmp_path / "drop.jsonl").write_text(
        '{"id": 1, "text": "Lovely scent"}\n' + deep_line + '\n{"id": 3, "text": "Too pricey"}\n',
        encoding="utf-8",
    )
    pipeline = write_pipeline(file_toml("../drop.jsonl"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "drop", "cli")

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 3, 2, 1)
    [(error, payload)] = rows(db_path, "SELECT error, payload FROM failed_records")
    assert "drop.jsonl line 2: invalid JSON: nested too deeply" in error
    assert payload == deep_line


# ---- CSV as spreadsheets and shop systems write it -------------------------------------


async def test_csv_bom_crlf_cp1252_bytes_ragged_rows_and_a_long_cell(
    tmp_path, write_pipeline, make_engine, db_path
):
    long_review = "So good. " * 25_000  # 225 KB: past the csv module's default cell limit
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(
        "\ufeffid,text\r\n1,Great shampoo\r\n".encode()
        + b"2,Caf\xe9 cr\xe8me \x93nice\x94 "
        + "— ünïcode\r\n".encode()
        + b'3,"'
        + long_review.encode()
        + b'"\r\n4\r\n5,extra,cells\r\n'
    )
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


async def test_csv_row_the_reader_rejects_fails_alone_with_its_line(
    tmp_path, write_pipeline, make_engine, db_path
):
    import csv

    (tmp_path / "a.csv").write_text(
        'id,text\n1,fine\n2,"' + "x" * 5000 + '"\n3,after\n', encoding="utf-8"
    )
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

    # With the limit back to normal, the row reads on its own: retry loads it.
    [(record_id,)] = rows(db_path, "SELECT id FROM failed_records")
    async with make_engine(pipeline) as engine:
        outcome = await engine.retry_failed([record_id])
    assert outcome.resolved == [record_id]
    assert dict(rows(db_path, "SELECT external_id, text FROM posts"))["2"] == "x" * 5000


# ---- JSON documents, streamed ----------------------------------------------------------


async def test_json_document_broken_midway_keeps_the_records_before_it(
    tmp_path, write_pipeline, make_engine, db_path
):
    import sentitui.sources.files as files

    good = ",\n".join(f'{{"id": {n}, "text": "Lovely scent {n}"}}' for n in range(1, 1201))
    body = (
        '{"meta": {"note": "]}"}, "data": {"items": [' + good + ',\n{"id": 1201, "text": oops}]}}'
    )
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


async def test_json_document_with_a_wrong_records_path_retries_once_fixed(
    tmp_path, write_pipeline, make_engine, db_path
):
    (tmp_path / "export.json").write_text(
        '{"results": [{"id": 1, "text": "Soft hair"}]}', encoding="utf-8"
    )
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


# ---- servers that misbehave ------------------------------------------------------------


def misbehaving_app() -> web.Application:
    import asyncio
    import gzip
    import json

    records = json.dumps([{"id": 1, "text": "Love the scent"}, {"id": 2, "text": "Too pricey"}])
    app = web.Application()

    async def gzip_as_deflate(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(records.encode()),
            content_type="application/json",
            headers={"Content-Encoding": "deflate"},
        )

    async def gzip_unlabelled(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(records.encode()), content_type="application/json")

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"[" + b" " * 1_000_000 + b"]"),
            content_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    async def bom(request: web.Request) -> web.Response:
        return web.Response(
            body=b"\xef\xbb\xbf" + records.encode(),
            content_type="application/json",
            charset="utf-8",
        )

    async def plain_as_gzip(request: web.Request) -> web.Response:
        return web.Response(
            body=records.encode(),
            content_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop-b" if request.path == "/loop-a" else "/loop-a")

    async def chain(request: web.Request) -> web.Response:
        hops = int(request.match_info["n"])
        if hops == 0:
            return web.Response(text=records, content_type="application/json")
        cls = web.HTTPMovedPermanently if hops % 2 else web.HTTPFound
        raise cls(f"/chain/{hops - 1}")

    async def html(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><h1>Down for maintenance</h1></body></html>", content_type="text/html"
        )

    async def empty(request: web.Request) -> web.Response:
        return web.Response(body=b"", content_type="application/json")

    async def no_content(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for byte in records.encode():
                await response.write(bytes([byte]))
                await asyncio.sleep(0.1)  # always within sock_read; never done in time
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    for path, handler in [
        ("/gzip-as-deflate", gzip_as_deflate),
        ("/gzip-unlabelled", gzip_unlabelled),
        ("/plain-as-gzip", plain_as_gzip),
        ("/loop-a", loop),
        ("/loop-b", loop),
        ("/chain/{n}", chain),
        ("/html", html),
        ("/empty", empty),
        ("/no-content", no_content),
        ("/trickle", trickle),
        ("/bomb", bomb),
        ("/bom", bom),
    ]:
        app.router.add_get(path, handler)
    return app


async def test_mislabelled_compression_a_bom_and_redirects_still_load(
    serve, write_pipeline, make_engine, db_path
):
    server = await serve(misbehaving_app())
    results = {}
    for path in ("/gzip-as-deflate", "/gzip-unlabelled", "/plain-as-gzip", "/chain/4", "/bom"):
        pipeline = write_pipeline(api_toml(server.url + path))
        async with make_engine(pipeline) as engine:
            stats = await engine.run_source("p", "api", "cli")
        results[path] = (stats.status, stats.fetched, stats.failed, stats.error)
    assert all(result == ("ok", 2, 0, None) for result in results.values()), results
    assert len(rows(db_path, "SELECT DISTINCT external_id FROM posts")) == 2


async def test_redirect_loop_fails_at_once_naming_the_loop(
    serve, write_pipeline, make_engine, db_path
):
    server = await serve(misbehaving_app())
    pipeline = write_pipeline(api_toml(server.url + "/loop-a", retries=3))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert stats.status == "failed"
    assert stats.error == (
        f"redirect loop: {server.url}/loop-a -> {server.url}/loop-b -> {server.url}/loop-a"
    )
    assert len(server.requests) == 10  # one request's redirects, not four retries of them
    assert rows(db_path, "SELECT stage FROM failed_records") == [("fetch",)]


async def test_html_empty_and_no_content_responses(serve, write_pipeline, make_engine, db_path):
    server = await serve(misbehaving_app())
    outcome = {}
    for path in ("/html", "/empty", "/no-content"):
        pipeline = write_pipeline(api_toml(server.url + path))
        async with make_engine(pipeline) as engine:
            stats = await engine.run_source("p", "api", "cli")
        outcome[path] = (stats.status, stats.fetched, stats.failed)
    # 204 No Content is an empty listing, not a failure; the others are parse failures.
    # A page that cannot be read is a failed record; the run that could not read it is
    # not `ok` (the next one asks again).
    assert outcome == {
        "/html": ("partial", 1, 1),
        "/empty": ("partial", 1, 1),
        "/no-content": ("ok", 0, 0),
    }
    errors = dict(rows(db_path, "SELECT payload, error FROM failed_records"))
    html = "<html><body><h1>Down for maintenance</h1></body></html>"
    assert errors[html].endswith(f"/html: expected JSON, got text/html (HTTP 200): {html!r}")
    assert errors[""].endswith("/empty: empty response body (HTTP 200) where JSON was expected")


async def test_trickling_body_times_out_instead_of_holding_the_run(
    serve, write_pipeline, make_engine, db_path
):
    import time

    server = await serve(misbehaving_app())
    pipeline = write_pipeline(api_toml(server.url + "/trickle", "timeout = 0.5", retries=0))
    started = time.monotonic()
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")

    assert time.monotonic() - started < 3  # the body alone would take 6 s
    assert stats.status == "failed"
    assert stats.error.startswith("timed out after 0.5s waiting for the server to send the whole")


async def test_body_over_the_size_limit_is_a_fetch_failure(
    serve, write_pipeline, make_engine, db_path
):
    from sentitui.net.http import HttpClient

    server = await serve(misbehaving_app())
    errors = []
    for path in ("/plain-as-gzip", "/bomb"):  # 70 bytes as sent; 1 KB that inflates to 1 MB
        pipeline = write_pipeline(api_toml(server.url + path, retries=3))
        async with make_engine(pipeline, http=HttpClient(min_delay=0.01, max_body=5000)) as engine:
            stats = await engine.run_source("p", "api", "cli")
        errors.append(stats.error)
    assert errors == [None, "response body inflates past the 5,000-byte limit"]
    assert len(server.queries("/bomb")) == 1  # not retried

    pipeline = write_pipeline(api_toml(server.url + "/plain-as-gzip", retries=3))
    async with make_engine(pipeline, http=HttpClient(min_delay=0.01, max_body=40)) as engine:
        stats = await engine.run_source("p", "api", "cli")
    assert stats.error == "response body of 70 bytes is over the 40-byte limit; not read"
    assert rows(db_path, "SELECT stage FROM failed_records") == [("fetch",), ("fetch",)]  # 2 URLs


# ---- text SQLite cannot take, failures that look alike ---------------------------------


async def test_lone_surrogates_do_not_fail_the_page(tmp_path, write_pipeline, make_engine, db_path):
    # Half an emoji, as JavaScript-made APIs cut them: valid JSON, not encodable as UTF-8.
    (tmp_path / "drop.jsonl").write_text(
        '{"id": 1, "text": "Love it \\ud83d so much"}\n{"id": 2, "text": "Fine"}\n'
        '{"id": 3, "text": "", "note": "\\udc00"}\n',
        encoding="utf-8",
    )
    pipeline = write_pipeline(file_toml("../drop.jsonl"))
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "drop", "cli")

    assert (stats.status, stats.fetched, stats.loaded, stats.failed) == ("ok", 3, 2, 1)
    assert rows(db_path, "SELECT text FROM posts ORDER BY id") == [("Love it so much",), ("Fine",)]
    [(payload,)] = rows(db_path, "SELECT payload FROM failed_records")
    assert payload == '{"id": 3, "text": "", "note": "\\udc00"}'  # kept as received


async def test_pages_failing_with_the_same_body_stay_separate_records(
    serve, write_pipeline, make_engine, db_path
):
    maintenance = "<html><body>Back soon</body></html>"
    down = {2, 3}
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        number = int(request.query["page"])
        if number in down:
            return web.Response(text=maintenance, content_type="text/html")
        found = [{"id": number, "text": f"Soft hair, page {number}"}] if number <= 3 else []
        return web.json_response({"hits": found})

    app.router.add_get("/page", page)
    server = await serve(app)
    pipeline = write_pipeline(
        api_toml(
            server.url + "/page", 'records = "hits"\npagination = { type = "page", param = "page" }'
        )
    )
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api", "cli")
        assert (stats.status, stats.loaded, stats.failed) == ("ok", 1, 2)
        failed = rows(db_path, "SELECT id, context FROM failed_records ORDER BY id")
        assert len(failed) == 2  # one row per page, not one row with attempts = 2
        assert ["page=2" in failed[0][1], "page=3" in failed[1][1]] == [True, True]

        down.clear()  # the site is back: each retry fetches its own page again
        outcome = await engine.retry_failed([record_id for record_id, _ in failed])
    assert sorted(outcome.resolved) == [failed[0][0], failed[1][0]]
    assert sorted(r[0] for r in rows(db_path, "SELECT external_id FROM posts")) == ["1", "2", "3"]


async def test_retrying_many_big_failed_records_holds_one_payload_at_a_time(
    tmp_path, write_pipeline, make_engine, db_path
):
    import tracemalloc

    from sentitui.models import FailedRecord
    from sentitui.store import PageWrite

    pipeline = write_pipeline(file_toml("../drop.jsonl"))
    async with make_engine(pipeline) as engine:
        stats = await engine.writer.call(lambda store: store.start_run("p", "drop", "cli"))
        for n in range(40):  # 40 unreadable 1 MB lines
            await engine.writer.write(
                PageWrite(
                    stats,
                    [],
                    [
                        FailedRecord(
                            "parse",
                            "invalid JSON",
                            f"{n}" + "x" * 1_000_000,
                            {"url": "drop.jsonl", "line": n},
                        )
                    ],
                )
            )
        ids = [r[0] for r in rows(db_path, "SELECT id FROM failed_records")]
        tracemalloc.start()
        try:
            outcome = await engine.retry_failed(ids + [999_999])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert len(outcome.still_failing) == 41 and outcome.resolved == []
    assert outcome.still_failing[999_999] == "no such failed record"
    assert peak < 15_000_000, f"{peak:,} bytes traced: payloads were held together"
