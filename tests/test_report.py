"""`sentitui report`: one self-contained HTML file whose figures are `stats --json`'s,
every section filled on the demo data, hostile text shown as written, and a real
headless Chromium that draws it with the network off and logs no console error."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from test_cli import REPO, sentitui
from test_scrape import REAL_HTML, REAL_REVIEW_PAGES, Site

from sentitui.report.browser import CHROMIUM_FLAGS, find_chromium
from sentitui.store import rollups

SECTIONS = (
    "headline",
    "coverage",
    "over-time",
    "labels-by-source",
    "feedback",
    "segments",
    "competitors",
    "aspects",
    "ratings-and-text",
    "alerts",
    "example-posts",
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own data (pipelines/demo.toml over sample_data), loaded by `run --once`,
    plus one hostile post."""
    folder = tmp_path_factory.mktemp("report")
    db = folder / "demo.db"
    run = sentitui(
        "run", "--once", "--db", str(db), "--pipelines", str(REPO / "pipelines"), cwd=folder
    )
    assert run.returncode in (0, 1), run.stderr  # the demo data has broken records on purpose
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO posts (pipeline, source, external_id, url, text, created_at, "
            "fetched_at, polarity, subjectivity, label, text_label, feedback, competitors, "
            "segments) VALUES ('demo', 'social', 'evil', 'javascript:alert(1)', "
            "'<script>alert(1)</script> $x & <b>bold</b>', '2026-11-29T00:00:00Z', "
            "'2026-11-29T00:00:00Z', -0.9, 0.5, 'negative', 'negative', 'complaint', '[]', "
            '\'{"region": "<img src=x onerror=alert(2)>"}\')'
        )
        rollups.rebuild(conn)  # written around the writer: its rollups are made again
    return db


def _report(db: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = sentitui("report", "--db", str(db), "--out", str(out), *args, cwd=out.parent)
    assert result.returncode == 0, result.stderr
    return result


def test_every_section_is_filled_and_the_figures_are_stats(demo_db: Path, tmp_path: Path) -> None:
    figures = json.loads(sentitui("report", "--db", str(demo_db), "--json", cwd=tmp_path).stdout)
    stats = json.loads(sentitui("stats", "--db", str(demo_db), "--json", cwd=tmp_path).stdout)
    # stats also lists credential expiries, read from pipeline files (none here), not the db
    assert stats.pop("credentials") == []
    assert figures["stats"] == stats
    page = _report(demo_db, tmp_path / "launch.html")
    assert f"wrote {tmp_path / 'launch.html'} (html, {stats['posts']} posts)" in page.stdout
    html = (tmp_path / "launch.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    # Filled: charts drawn, no "nothing here" placeholder where the demo has data.
    assert html.count("<svg") >= 6
    for empty in (
        "No dated posts",
        "No post carries",
        "No competitor",
        "No aspect",
        "No post in scope",
    ):
        assert empty not in html, empty
    assert f"<b>{stats['posts']}</b>posts" in html
    assert f"<b>{stats['unscored']}</b>unscored" in html and stats["unscored"] > 0
    for row in stats["by_source"]:
        assert f'<td>{row["source"]}</td><td class="n">{row["posts"]}</td>' in html
    assert "is the top complaint among" in html
    # Self-contained: no script, nothing loaded from elsewhere (links to the original
    # posts are plain anchors); any request is forbidden by the page's policy too.
    assert "<script" not in html.lower() and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src=|url\()["']?(https?:)?//""", html)
    assert "default-src 'none'" in html


def test_hostile_text_is_shown_as_written(demo_db: Path, tmp_path: Path) -> None:
    _report(demo_db, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_alerts_show_name_state_since_and_detail(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    shutil.copy(demo_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO alerts (pipeline, name, kind, state, value, detail, posts, fired_at, "
            "updated_at) VALUES ('demo', 'sour-<b>mood', 'negative_share', 'firing', 0.6, "
            "'negative share 60% over the last 1h', '[]', '2026-11-29T10:00:00Z', "
            "'2026-11-29T10:05:00Z')"
        )
    figures = json.loads(sentitui("report", "--db", str(db), "--json", cwd=tmp_path).stdout)
    assert figures["alerts"] == [
        {
            "name": "demo/sour-<b>mood",
            "state": "firing",
            "since": "2026-11-29T10:00:00Z",
            "detail": "negative share 60% over the last 1h",
        }
    ]
    _report(db, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (
        "<tr><td>demo/sour-&lt;b&gt;mood</td><td>firing</td><td>2026-11-29T10:00:00Z</td>"
        "<td>negative share 60% over the last 1h</td></tr>"
    ) in html
    other = json.loads(
        sentitui("report", "--db", str(db), "--json", "--pipeline", "nope", cwd=tmp_path).stdout
    )
    assert other["alerts"] == []


def test_scope_by_pipeline_and_since_reads_without_writing(demo_db: Path, tmp_path: Path) -> None:
    everything = json.loads(sentitui("report", "--db", str(demo_db), "--json", cwd=tmp_path).stdout)
    since = json.loads(
        sentitui(
            "report", "--db", str(demo_db), "--json", "--since", "2026-11-24", cwd=tmp_path
        ).stdout
    )
    with sqlite3.connect(demo_db) as conn:
        expected = conn.execute(
            "SELECT COUNT(*) FROM posts WHERE created_at >= '2026-11-24T00:00:00Z'"
        ).fetchone()[0]
        views = conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall()
    assert 0 < since["stats"]["posts"] == expected < everything["stats"]["posts"]
    assert since["scope"]["since"] == "2026-11-24T00:00:00Z"
    assert views == []  # the scoping views were temporary
    other = json.loads(
        sentitui(
            "report", "--db", str(demo_db), "--json", "--pipeline", "nope", cwd=tmp_path
        ).stdout
    )
    assert other["stats"]["posts"] == 0 and other["examples"] == {}


def test_markdown_and_usage_errors(demo_db: Path, tmp_path: Path) -> None:
    _report(demo_db, tmp_path / "launch.md")
    text = (tmp_path / "launch.md").read_text(encoding="utf-8")
    assert text.startswith("# What people say — all pipelines")
    assert "| source | posts | avg polarity | positive | neutral | negative | unscored |" in text
    missing = sentitui("report", "--db", str(demo_db), cwd=tmp_path)
    assert missing.returncode == 2 and "give --out FILE" in missing.stderr
    bad = sentitui(
        "report", "--db", str(demo_db), "--json", "--since", "last tuesday", cwd=tmp_path
    )
    assert bad.returncode == 2 and "--since 'last tuesday' is not an ISO 8601 date" in bad.stderr


@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
def test_chromium_draws_the_report_offline_with_no_console_error(
    demo_db: Path, tmp_path: Path
) -> None:
    import matplotlib.image as mpimg

    _report(demo_db, tmp_path / "launch.html")
    shot = tmp_path / "launch.png"
    browser = subprocess.run(
        [
            str(find_chromium()),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            # The network off: every request would go to a proxy nobody listens on.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=1",
            f"--screenshot={shot}",
            "--window-size=1100,2400",
            (tmp_path / "launch.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert browser.returncode == 0, browser.stderr[-2000:]
    console = [line for line in browser.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    pixels = mpimg.imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (2400, 1100)
    # The charts are drawn: their palette's green (positive, #009E73) and vermillion
    # (negative, #D55E00) fill thousands of pixels.
    for rgb in ((0x00, 0x9E, 0x73), (0xD5, 0x5E, 0x00)):
        match = (abs(pixels * 255 - rgb) < 8).all(axis=2)
        assert match.sum() > 2000, rgb


@pytest.mark.skipif(not REAL_HTML.is_dir(), reason="../shared/fixtures/real is not beside the repo")
async def test_report_on_real_review_pages(serve, write_pipeline, make_engine, db_path, tmp_path):
    """Conformance: the real recipe/product pages' schema.org reviews, scraped and
    reported; a Swedish page's reviews carry `sv` (the page says lang="se", Northern
    Sami: the confident guess wins) and are unscored, not neutral."""
    server = await serve(Site(root=REAL_HTML, charsets={}).app())
    urls = [f"{server.url}/{page}" for page in REAL_REVIEW_PAGES]
    pipeline = write_pipeline(f"""
    [pipeline]
    name = "recipes"

    [[source]]
    name = "auto"
    kind = "scrape"
    start_urls = {json.dumps(urls)}
    allowed_domains = ["127.0.0.1"]
    extract = "auto"
    delay = 0
    """)
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("recipes", "auto", "cli")
    assert stats.status == "ok" and stats.loaded == sum(REAL_REVIEW_PAGES.values())
    with sqlite3.connect(db_path) as conn:
        swedish = conn.execute(
            "SELECT lang, label, polarity FROM posts WHERE url LIKE '%recept.html'"
        ).fetchall()
    # "Hej igen . Kan man frysa in dem?" is too short to overrule the page's "se".
    assert sorted(lang for lang, _, _ in swedish) == ["se", "sv", "sv", "sv", "sv"]
    assert all(row[1:] == ("unscored", None) for row in swedish)
    figures = json.loads(sentitui("report", "--db", str(db_path), "--json", cwd=tmp_path).stdout)
    assert figures["stats"]["unscored"] == len(swedish)
    assert figures["stats"]["rating_agreement"]["rated"] > 20
    assert figures["over_time"]["rows"] and figures["examples"]
    _report(db_path, tmp_path / "recipes.html")
    html = (tmp_path / "recipes.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 4 and "the text scorer agrees with the customer" in html
