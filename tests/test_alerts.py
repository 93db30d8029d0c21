"""Alert rules: validation that names file, rule and key; an alert that fires once,
stays firing, resolves and does not fire again after a restart; webhook delivery
(bytes on the wire, retries, failures kept); `sentitui alerts` and `stats --check`."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from sentitui.cli import main
from sentitui.config import ConfigError, load_pipeline_file
from sentitui.engine.alerts import AlertWatcher
from sentitui.models import Post
from sentitui.store import PageWrite, Store
from sentitui.store.alerts import alert_rows, stamp

PIPELINE = """\
[pipeline]
name = "launch"
competitors = ["SilkPro"]

[[source]]
name = "api"
kind = "json_api"
url = "http://127.0.0.1:9/posts"
fields = {{ id = "id", text = "text" }}
{alerts}
"""

NEGATIVE = """
[[alert]]
name = "negative-surge"
kind = "negative_share"
window = "1h"
above = 40
min_posts = 3
notify = ["webhook"]
webhook = "${HOOK_URL}"
"""


def write(folder: Path, alerts: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "launch.toml"
    path.write_text(PIPELINE.format(alerts=textwrap.dedent(alerts)), encoding="utf-8")
    return path


def add_posts(db: Path, labels: list[str], *, ago: float = 60.0, text: str = "") -> None:
    """Posts created `ago` seconds ago, with the given labels (polarity to match)."""
    store = Store(db)
    try:
        stats = store.start_run("launch", "api", "cli")
        start = len(store.rows("SELECT id FROM posts"))
        posts = [
            Post(
                pipeline="launch",
                source="api",
                external_id=f"p{start + i}",
                text=text or f"post {start + i} is {label}",
                created_at=stamp(time.time() - ago),
                polarity={"negative": -0.6, "positive": 0.6}.get(label, 0.0),
                label=label,  # type: ignore[arg-type]
                competitors=["SilkPro"] if "SilkPro" in text else [],
            )
            for i, label in enumerate(labels)
        ]
        store.write_pages([PageWrite(stats, posts, [])])
    finally:
        store.close()


@pytest.fixture
async def hook(serve: Any) -> Any:
    """A webhook receiver; `hook.status` sets what it answers."""
    received: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=hook_state["status"])

    hook_state = {"status": 200}
    app = web.Application()
    app.router.add_post("/hooks/secret-path", receive)
    server = await serve(app)
    server.received = received
    server.state = hook_state
    server.hook_url = f"{server.url}/hooks/secret-path"
    return server


# ---- validation ---------------------------------------------------------------------------


def test_alert_rule_problems_name_file_rule_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        [[alert]]
        name = "bad-share"
        kind = "negative_share"
        window = "an hour"
        min_posts = 0

        [[alert]]
        name = "rival"
        kind = "share_of_voice"
        competitor = "HairGlow"
        above = 150
        colour = "red"

        [[alert]]
        name = "down"
        kind = "source_failing"
        source = "nope"
        notify = ["webhook", "pager"]

        [[alert]]
        name = "typo"
        kind = "negative_shares"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_pipeline_file(path, env={})
    problems = "\n".join(caught.value.problems)
    where = f"{path} alert"
    assert f"{where} 'bad-share': key 'window'" in problems
    assert f"{where} 'bad-share': missing required key 'above'" in problems
    assert f"{where} 'bad-share': key 'min_posts' must be at least 1" in problems
    assert f"{where} 'rival': unknown key 'colour'" in problems
    assert f"{where} 'down': key 'source': no source 'nope'" in problems
    assert f"{where} 'down': key 'notify': unknown channel 'pager'" in problems
    assert f"{where} 'down': key 'webhook' is required" in problems
    assert f"{where} 'typo': key 'kind': must be one of" in problems


def test_a_webhook_secret_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path / "p", NEGATIVE)
    with pytest.raises(ConfigError) as caught:
        load_pipeline_file(path, env={})
    assert any(
        "HOOK_URL is not set" in p and "'negative-surge'" in p for p in caught.value.problems
    )
    rule = load_pipeline_file(path, env={"HOOK_URL": "https://hooks.example/T0/B0/x"}).alerts[0]
    assert rule.webhook == "https://hooks.example/T0/B0/x"
    assert "hooks.example" not in repr(rule)


# ---- firing, resolving, restarting ----------------------------------------------------------


async def test_alert_fires_once_resolves_and_survives_restarts(
    tmp_path: Path, hook: Any, make_engine: Any, db_path: Path
) -> None:
    pipeline = load_pipeline_file(write(tmp_path / "p", NEGATIVE), env={"HOOK_URL": hook.hook_url})
    add_posts(db_path, ["negative", "negative", "positive"])  # 67% negative of 3 posts
    async with make_engine(pipeline) as engine:
        watcher = AlertWatcher(engine, delays=(0.01,))
        [fired] = await watcher.check_now()
        assert fired.state == "firing"
        assert await watcher.check_now() == []  # still firing: nothing sent again
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["text"].startswith("FIRING launch/negative-surge: negative share")
    assert body["alert"]["state"] == "firing"
    assert [p["why"] for p in body["alert"]["posts"]][:1] == ["most negative"]

    async with make_engine(pipeline) as engine:  # a restart while it fires
        assert await AlertWatcher(engine, delays=(0.01,)).check_now() == []
    assert len(hook.received) == 1

    add_posts(db_path, ["positive"] * 5)  # 2 negative of 8: 25%
    async with make_engine(pipeline) as engine:
        [resolved] = await AlertWatcher(engine, delays=(0.01,)).check_now()
        assert resolved.state == "resolved"
    async with make_engine(pipeline) as engine:  # and a restart after it resolved
        assert await AlertWatcher(engine, delays=(0.01,)).check_now() == []
    assert [b["alert"]["state"] for b in hook.received] == ["firing", "resolved"]
    store = Store(db_path)
    [row] = alert_rows(store)
    store.close()
    assert row["state"] == "resolved" and row["delivery_error"] is None


async def test_a_failing_webhook_is_retried_and_its_failure_kept(
    tmp_path: Path, hook: Any, make_engine: Any, db_path: Path
) -> None:
    hook.state["status"] = 503
    pipeline = load_pipeline_file(write(tmp_path / "p", NEGATIVE), env={"HOOK_URL": hook.hook_url})
    add_posts(db_path, ["negative"] * 3)
    async with make_engine(pipeline) as engine:
        lines: list[str] = []
        engine.subscribe(lambda e: lines.append(getattr(e, "message", "")))
        await AlertWatcher(engine, delays=(0.01, 0.01)).check_now()
    assert len(hook.received) == 3  # the first attempt and two retries
    errors = [line for line in lines if "delivery failed" in line]
    assert errors and "HTTP 503" in errors[0] and "secret-path" not in errors[0]
    result = CliRunner().invoke(
        main, ["alerts", "--json", "--db", str(db_path), "--pipelines", str(tmp_path / "none")]
    )
    [alert] = json.loads(result.output)["alerts"]
    assert alert["state"] == "firing" and "HTTP 503" in alert["delivery_error"]


def test_stats_check_exits_1_while_an_alert_fires(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "p"
    write(
        folder,
        """
        [[alert]]
        name = "negative-surge"
        kind = "negative_share"
        above = 40
        min_posts = 3
        """,
    )
    add_posts(db_path, ["negative"] * 3)
    args = ["stats", "--check", "--db", str(db_path), "--pipelines", str(folder)]
    firing = CliRunner().invoke(main, args)
    assert firing.exit_code == 1, firing.output
    assert "ALERT firing since" in firing.output and "launch/negative-surge" in firing.output
    listed = CliRunner().invoke(main, ["alerts", "--db", str(db_path), "--pipelines", str(folder)])
    assert "negative-surge" in listed.output and "firing" in listed.output
    add_posts(db_path, ["positive"] * 10)
    calm = CliRunner().invoke(main, args)
    assert calm.exit_code == 0, calm.output


# ---- the other kinds ------------------------------------------------------------------------


async def test_volume_spike_share_of_voice_and_failing_source(
    tmp_path: Path, make_engine: Any, db_path: Path
) -> None:
    pipeline = load_pipeline_file(
        write(
            tmp_path / "p",
            """
            [[alert]]
            name = "spike"
            kind = "volume_spike"
            factor = 3
            min_posts = 5

            [[alert]]
            name = "rival"
            kind = "share_of_voice"
            competitor = "SilkPro"
            above = 30
            min_posts = 3

            [[alert]]
            name = "down"
            kind = "source_failing"
            source = "api"
            for = "15m"
            """,
        ),
        env={},
    )
    add_posts(db_path, ["neutral"] * 2, ago=86400 + 60)  # yesterday, same hour: baseline 2
    add_posts(db_path, ["neutral"] * 4)
    add_posts(db_path, ["negative"] * 3, text="SilkPro is better")
    store = Store(db_path)
    with store.transaction() as conn:
        for minutes in (20, 10, 1):
            conn.execute(
                "INSERT INTO runs (pipeline, source, trigger, started_at, ended_at, status, error) "
                "VALUES ('launch', 'api', 'schedule', ?, ?, 'failed', 'HTTP 503')",
                (stamp(time.time() - minutes * 60), stamp(time.time() - minutes * 60 + 5)),
            )
    store.close()
    async with make_engine(pipeline) as engine:
        fired = {t.rule.name: t for t in await AlertWatcher(engine).check_now()}
    assert set(fired) == {"spike", "rival", "down"}
    assert "7 posts against a baseline of 2.0" in fired["spike"].detail
    assert "SilkPro named in 43% of 7 posts" in fired["rival"].detail
    assert "3 failed run(s)" in fired["down"].detail


async def test_desktop_and_webhook_text_carry_no_markup_or_escapes(
    tmp_path: Path, hook: Any, make_engine: Any, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notify-send (a stand-in script on PATH that records its arguments) and the
    webhook get the post's text with control characters and Slack markup defused."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "notify-args.json"
    script = bin_dir / "notify-send"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    rules = NEGATIVE.replace('notify = ["webhook"]', 'notify = ["webhook", "desktop"]')
    pipeline = load_pipeline_file(write(tmp_path / "p", rules), env={"HOOK_URL": hook.hook_url})
    add_posts(db_path, ["negative"] * 3, text="<!channel> awful \x1b[31mred\x07 bottle")
    async with make_engine(pipeline) as engine:
        [fired] = await AlertWatcher(engine, delays=(0.01,)).check_now()
    assert fired.state == "firing"
    title, body = json.loads(record.read_text(encoding="utf-8"))[1:]
    assert title == "SentiTUI firing: launch/negative-surge"
    text = hook.received[0]["text"]
    for sent in (body, text):
        assert "\x1b" not in sent and "\x07" not in sent
        assert "&lt;!channel&gt; awful" in sent and "<!channel>" not in sent
