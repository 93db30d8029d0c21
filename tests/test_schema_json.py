"""`sentitui schema` as an editor reads it: a valid JSON Schema (draft 2020-12) naming
every kind and every key, which the bundled pipelines and the tests' own pipeline files
fit, and which refuses what `load_pipeline_file` refuses for the declared rules
(value lists, tables with known keys, bounds). Checked with `jsonschema` when it is
installed (the `test` extra), else through the pydantic models the schema comes from."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sentitui.config import COMMON_SOURCE_OPTIONS, PIPELINE_OPTIONS, ConfigError
from sentitui.config import load_pipeline_file as load
from sentitui.config.alerts import alert_options
from sentitui.config.kinds import kinds, source_kind
from sentitui.config.schema import pipeline_file_model

REPO = Path(__file__).resolve().parent.parent

HEAD = '[pipeline]\nname = "p"\n'
JSON_API = """
[[source]]
name = "api"
kind = "json_api"
url = "https://api.example.com/posts"
params = { q = "silk", limit = 50, tags = ["a", 1] }
headers = { Accept = "application/json" }
pagination = { type = "cursor", cursor_path = "meta.next", param = "cursor" }
incremental = { param = "since_id", field = "id" }
[source.fields]
id = "id"
text = "text"
[source.fields.segments]
region = "user.location"
"""
SCRAPE = """
[[source]]
name = "shop"
kind = "scrape"
start_urls = ["https://shop.example.com/reviews"]
extract = "selectors"
item = ".review"
date_order = "DMY"
concurrency = 1
delay = 0
[source.fields]
text = ".body::text"
"""
FILE = """
[[source]]
name = "drop"
kind = "file"
path = "drops/*.csv"
format = "csv"
fields = { id = "rid", text = "comment" }
"""
JETSTREAM = """
[[source]]
name = "sky"
kind = "bluesky_jetstream"
keywords = ["aquasilk"]
hashtags = ["aquasilk"]
"""
PRESETS = """
[[source]]
name = "toots"
kind = "mastodon"
hashtag = "aquasilk"
stream = true

[[source]]
name = "reddit"
kind = "reddit"
query = "aquasilk"
limit = 100
"""
INSIGHT = """
competitors = ["SilkPro", { name = "HairGlow", aliases = ["Hair Glow"] }]
thresholds = { positive = 0.1, negative = -0.1 }
aspects = { price = ["price", "expensive"] }
scorer_by_language = { fr = "textblob-fr" }
label_from = "rating"
retention_days = 365
"""
ALERT = """
[[alert]]
name = "sour"
kind = "negative_share"
window = "1h"
above = 40
notify = ["bell"]
"""
GOOD = {
    "json_api": HEAD + JSON_API,
    "scrape": HEAD + SCRAPE,
    "file": HEAD + FILE,
    "jetstream": HEAD + JETSTREAM,
    "presets": HEAD + PRESETS,
    "insight and alerts": HEAD + INSIGHT + FILE + ALERT,
}
# Mistakes the declarations catch: the loader and the schema both refuse them.
BAD = {
    "label_from": (HEAD + 'label_from = "stars"\n', "key 'label_from' must be"),
    "thresholds key": (HEAD + "thresholds = { high = 0.5 }\n", "unknown key 'thresholds.high'"),
    "retention": (HEAD + "retention_days = 0\n", "must be at least 1 day"),
    "incremental": (
        HEAD + JSON_API.replace(', field = "id"', ""),
        "missing required key 'incremental.field'",
    ),
    "format": (HEAD + FILE.replace('"csv"', '"xml"'), "key 'format' must be"),
    "extract": (HEAD + SCRAPE.replace('"selectors"', '"magic"'), "key 'extract' must be"),
    "concurrency": (HEAD + SCRAPE.replace("concurrency = 1", "concurrency = 0"), "at least 1"),
    "keywords": (
        HEAD + JETSTREAM.replace('["aquasilk"]', "[1]", 1),
        "key 'keywords[0]' must be a string",
    ),
    "alert above": (HEAD + FILE + ALERT.replace("40", "150"), "key 'above' must be between"),
    "alert channel": (HEAD + FILE + ALERT.replace('"bell"', '"pager"'), "unknown channel"),
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "sentitui.cli", "schema"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def fits(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether a parsed pipeline file fits the printed schema."""
    try:
        import jsonschema
    except ImportError:  # no validator for the printed text: the models behind it
        model = pipeline_file_model()

        def by_model(data: dict[str, Any]) -> bool:
            try:
                model.model_validate(data)
            except ValueError:
                return False
            return True

        return by_model
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)  # the schema itself is valid JSON Schema
    validator = validator_class(schema)
    return lambda data: validator.is_valid(data)


def test_schema_names_every_kind_and_every_key(schema):
    defs = schema["$defs"]
    for kind in kinds():
        declared = {**COMMON_SOURCE_OPTIONS, **source_kind(kind).OPTIONS}
        assert set(defs[f"source_{kind}"]["properties"]) == set(declared), kind
    assert set(defs["pipeline"]["properties"]) == set(PIPELINE_OPTIONS)
    assert set(defs["alert"]["properties"]) == set(alert_options())
    assert defs["pipeline"]["properties"]["label_from"]["enum"] == ["text", "rating"]
    assert defs["source_scrape"]["properties"]["concurrency"]["minimum"] == 1


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.toml")), ids=lambda p: p.name)
def test_bundled_pipelines_fit_the_printed_schema(fits, path):
    assert fits(tomllib.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("text", GOOD.values(), ids=list(GOOD))
def test_what_loads_fits_the_printed_schema(fits, tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    load(path, env={})
    assert fits(tomllib.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(("text", "expected"), BAD.values(), ids=list(BAD))
def test_what_the_declarations_refuse_the_schema_refuses_too(fits, tmp_path, text, expected):
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path, env={})
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
    assert not fits(tomllib.loads(text))
