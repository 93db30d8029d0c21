"""pipelines/examples/launch.toml: every preset against the real hosts, tokens from the
environment. It must validate once the variables are set, name each missing one when
they are not, and stay out of the default pipelines folder (CI sets no tokens)."""

from __future__ import annotations

import pytest
from conftest import REPO

from sentitui.config import ConfigError, load_pipeline_file, load_pipelines
from sentitui.sources import kinds, make_source

LAUNCH = REPO / "pipelines" / "examples" / "launch.toml"
ENV = {"X_BEARER_TOKEN": "x", "MASTODON_TOKEN": "m", "REDDIT_TOKEN": "r", "BLUESKY_TOKEN": "b",
       "YOUTUBE_API_KEY": "y", "INSTAGRAM_TOKEN": "i", "INSTAGRAM_USER_ID": "1784",
       "FACEBOOK_PAGE_TOKEN": "f", "FACEBOOK_PAGE_ID": "1929"}
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


def test_launch_pipeline_names_each_missing_variable():
    with pytest.raises(ConfigError) as err:
        load_pipeline_file(LAUNCH, env={})
    missing = "\n".join(err.value.problems)
    for var in ENV:
        assert f"environment variable {var} is not set" in missing


def test_default_pipelines_folder_does_not_load_the_launch_pipeline():
    names = {p.name for p in load_pipelines(REPO / "pipelines", env={})}
    assert "launch" not in names
