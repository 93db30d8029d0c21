"""`run --watch --metrics HOST:PORT` as a real daemon, scraped over HTTP while a
stream feeds it: counters, the fetch histogram, stream lag, last success, open
failed records and alert states, in the Prometheus text format."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from stream_servers import FakeSocial
from test_streams import WAIT, ids, pipeline_text, until

from sentitui.cli import main

FB = """
[[source]]
name = "fb"
kind = "facebook"
page_id = "1"
token = "x"
enabled = false
token_expires = "2027-01-01"
"""

ALERT = """
[[alert]]
name = "sour"
kind = "negative_share"
above = 10
min_posts = 2
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_endpoint_serves_the_daemons_figures(serve: Any, tmp_path: Path) -> None:
    fake = FakeSocial()
    server = await serve(fake.app())
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "live.toml").write_text(
        pipeline_text(server.url, "masto") + FB + ALERT, encoding="utf-8"
    )
    db, port = tmp_path / "live.db", free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sentitui.cli",
        "run",
        "--watch",
        "--metrics",
        f"127.0.0.1:{port}",
        "--db",
        str(db),
        "--pipelines",
        str(folder),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "SENTITUI_LOG": str(tmp_path / "daemon.log")},
    )
    try:
        await until(lambda: fake.live("mastodon") == 1, "the stream")
        fake.publish("aquasilk is awful, it burns")
        fake.publish("aquasilk ruined my hair, terrible")
        fake.fault("mastodon", "garbage")
        fake.publish("aquasilk third")
        await until(lambda: len(ids(db, "masto")) == 3, "three posts")

        async def scrape() -> dict[Any, float]:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                return samples(await resp.text())

        where = (("pipeline", "live"), ("source", "masto"))
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            figures = await scrape()
            ready = (
                figures.get(("sentitui_posts_loaded_total", where)) == 3
                and figures.get(
                    ("sentitui_alert_firing", (("alert", "sour"), ("pipeline", "live")))
                )
                == 1
                and ("sentitui_stream_lag_seconds", where) in figures
            )
            if ready or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        assert figures[("sentitui_posts_loaded_total", where)] == 3
        assert figures[("sentitui_posts_failed_total", where)] == 1
        assert figures[("sentitui_failed_records_open", where)] == 1
        assert figures[("sentitui_alert_firing", (("alert", "sour"), ("pipeline", "live")))] == 1
        assert 0 <= figures[("sentitui_stream_lag_seconds", where)] < 3600
        assert figures[("sentitui_source_last_success_timestamp_seconds", where)] > 0
        assert figures[("sentitui_fetch_seconds_count", (("host", "127.0.0.1"),))] >= 1
        expiry = (("pipeline", "live"), ("renews", "false"), ("source", "fb"))
        assert (
            figures[("sentitui_credential_expiry_timestamp_seconds", expiry)] == 1798761600
        )  # 2027-01-01T00:00Z
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_metrics_needs_watch_and_an_address(tmp_path: Path) -> None:
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "p.toml").write_text(pipeline_text("http://127.0.0.1:9", "masto"), encoding="utf-8")
    once = CliRunner().invoke(
        main, ["run", "--metrics", "127.0.0.1:9464", "--pipelines", str(folder)]
    )
    assert once.exit_code == 2 and "--metrics needs --watch" in once.output
    bad = CliRunner().invoke(
        main, ["run", "--watch", "--metrics", "localhost", "--pipelines", str(folder)]
    )
    assert bad.exit_code == 2 and "expected HOST:PORT" in bad.output
