"""Drop folders: a `file` source with `watch = true` loads each new or appended line
exactly once, across runs and engine restarts, reading only what is new."""

from __future__ import annotations

import json
import os
import sqlite3

DROP = """
    [pipeline]
    name = "drops"

    [[source]]
    name = "survey"
    kind = "file"
    path = "../drop/*.{ext}"
    watch = true
    [source.fields]
    id = "response_id"
    text = "answer"
"""


def rows(db_path):
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("SELECT external_id FROM posts ORDER BY id")]


async def pull(make_engine, pipeline):
    async with make_engine(pipeline) as engine:
        return await engine.run_source("drops", "survey", "watch")


async def test_csv_drops_load_once_across_appends_new_files_and_restarts(
    tmp_path, write_pipeline, make_engine, db_path
):
    drop = tmp_path / "drop"
    drop.mkdir()
    pipeline = write_pipeline(DROP.format(ext="csv"))
    first = drop / "week1.csv"
    first.write_text("response_id,answer\nr1,Love AquaSilk\nr2,Too pricey\n", encoding="utf-8")

    stats = await pull(make_engine, pipeline)
    assert (stats.status, stats.loaded, stats.duplicates) == ("ok", 2, 0)

    with first.open("a", encoding="utf-8") as handle:  # appended: only the new row is read
        handle.write('r3,"Smells great, really"\n')
    (drop / "week2.csv").write_text(
        "response_id,answer\nr4,Better than SilkPro\n", encoding="utf-8"
    )
    stats = await pull(make_engine, pipeline)
    assert (stats.fetched, stats.loaded, stats.duplicates) == (2, 2, 0)

    stats = await pull(make_engine, pipeline)  # a fresh engine: nothing new, nothing read
    assert (stats.fetched, stats.loaded) == (0, 0)
    assert rows(db_path) == ["r1", "r2", "r3", "r4"]


async def test_jsonl_half_written_line_waits_for_its_newline(
    tmp_path, write_pipeline, make_engine, db_path
):
    drop = tmp_path / "drop"
    drop.mkdir()
    pipeline = write_pipeline(DROP.format(ext="jsonl"))
    path = drop / "feed.jsonl"
    path.write_text(
        json.dumps({"response_id": "a", "answer": "Nice"}) + "\n" + '{"response_id": "b", "ans',
        encoding="utf-8",
    )
    future = path.stat().st_mtime + 60  # "just written": the unterminated line must wait
    os.utime(path, (future, future))
    stats = await pull(make_engine, pipeline)
    assert (stats.loaded, stats.failed) == (1, 0)

    with path.open("a", encoding="utf-8") as handle:
        handle.write('wer": "Dry hair"}\nnot json\n')
    stats = await pull(make_engine, pipeline)
    assert (stats.loaded, stats.failed) == (1, 1)
    with sqlite3.connect(db_path) as conn:
        error, payload = conn.execute("SELECT error, payload FROM failed_records").fetchone()
    assert "line 3" in error and payload == "not json"
    assert rows(db_path) == ["a", "b"]


async def test_file_replaced_in_place_is_read_again(tmp_path, write_pipeline, make_engine, db_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    pipeline = write_pipeline(DROP.format(ext="csv"))
    path = drop / "export.csv"
    path.write_text("response_id,answer\nr1,Good\nr2,Bad\n", encoding="utf-8")
    await pull(make_engine, pipeline)
    replacement = drop / "export.tmp"
    replacement.write_text("response_id,answer\nr9,Shorter\n", encoding="utf-8")
    os.replace(replacement, path)
    stats = await pull(make_engine, pipeline)
    assert (stats.loaded, stats.duplicates) == (1, 0)
    assert rows(db_path) == ["r1", "r2", "r9"]
