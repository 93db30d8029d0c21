"""pipelines/launch.toml: every preset against the real hosts, tokens from the
environment. Its sources ship disabled, so the default pipelines folder loads with no
tokens set (CI has none); enabling a source makes each missing variable an error."""

from __future__ import annotations

import pytest
from conftest import REPO

from sentitui.config import ConfigError, load_pipeline_file, load_pipelines
from sentitui.sources import kinds, make_source

LAUNCH = REPO / "pipelines" / "launch.toml"
ENV = {
    "X_BEARER_TOKEN": "x",
    "MASTODON_TOKEN": "m",
    "REDDIT_TOKEN": "r",
    "BLUESKY_TOKEN": "b",
    "YOUTUBE_API_KEY": "y",
    "INSTAGRAM_TOKEN": "i",
    "INSTAGRAM_USER_ID": "1784",
    "FACEBOOK_PAGE_TOKEN": "f",
    "FACEBOOK_PAGE_ID": "1929",
}
PRESETS = {"x", "mastodon", "reddit", "bluesky", "hackernews", "youtube", "instagram", "facebook"}


def test_launch_pipeline_covers_every_preset_against_the_real_hosts():
    pipeline = load_pipeline_file(LAUNCH, env=ENV)
    assert set(kinds()) >= PRESETS
    assert {s.kind for s in pipeline.sources} == PRESETS
    urls = {s.name: make_source(s, pipeline).options["url"] for s in pipeline.sources}
    assert urls["x"] == "https://api.x.com/2/tweets/search/recent"
    assert urls["mastodon"] == "https://mastodon.social/api/v1/timelines/tag/aquasilk"
    assert urls["reddit-haircare"] == "https://oauth.reddit.com/r/HaircareScience/search.json"
    assert urls["hackernews"] == "https://hn.algolia.com/api/v1/search_by_date"
    assert urls["youtube"] == "https://www.googleapis.com/youtube/v3/commentThreads"
    assert urls["bluesky"] == "https://bsky.social/xrpc/app.bsky.feed.searchPosts"


def test_enabled_launch_sources_name_each_missing_variable(tmp_path):
    enabled = tmp_path / "launch.toml"
    enabled.write_text(LAUNCH.read_text().replace("enabled = false", "enabled = true"))
    with pytest.raises(ConfigError) as err:
        load_pipeline_file(enabled, env={})
    missing = "\n".join(err.value.problems)
    for var in ENV:
        assert f"environment variable {var} is not set" in missing


def test_default_pipelines_folder_loads_launch_disabled_without_tokens():
    launch = {p.name: p for p in load_pipelines(REPO / "pipelines", env={})}["launch"]
    assert launch.sources and not any(s.enabled for s in launch.sources)
    assert "X_BEARER_TOKEN" in launch.source("x").missing_env


async def test_pulling_a_source_whose_secret_is_unset_fails_with_its_name(make_engine):
    launch = load_pipeline_file(LAUNCH, env={})
    async with make_engine(launch) as engine:
        stats = await engine.run_source("launch", "x", "manual")
    assert stats.status == "failed"
    assert "X_BEARER_TOKEN" in stats.error
