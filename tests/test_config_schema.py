"""Pipeline files as declared models: `sentitui schema`, and nested values a run would
trip over (a table inside `params`, a number in `allowed_domains`) as config errors."""

from __future__ import annotations

import json
import string
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from sentitui.config import ConfigError, load_pipeline_file
from sentitui.config.kinds import kinds, shape_problems, source_kind
from sentitui.config.schema import pipeline_file_model

REPO = Path(__file__).resolve().parent.parent

HEAD = """
[pipeline]
name = "p"

[[source]]
name = "s"
"""
JSON_API = 'kind = "json_api"\nurl = "https://api.example.com/posts"\n'
FIELDS = '[source.fields]\nid = "id"\ntext = "text"\n'
SCRAPE = 'kind = "scrape"\nstart_urls = ["https://shop.example.com/"]\nitem = ".review"\n'
SCRAPE_FIELDS = '[source.fields]\ntext = ".body"\n'


def toml_value(value: Any) -> str:
    """A TOML inline value (the tests' strings are plain, so JSON quoting is TOML too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def load(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(HEAD) + body, encoding="utf-8")
    return load_pipeline_file(path, env={}), path


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, body)
    return caught.value.problems


# ---- sentitui schema ---------------------------------------------------------------------


def test_schema_command_prints_a_schema_naming_every_kind(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sentitui.cli", "schema"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    schema = json.loads(done.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    mapping = schema["properties"]["source"]["items"]["discriminator"]["mapping"]
    assert sorted(mapping) == kinds()
    json_api = schema["$defs"]["source_json_api"]
    assert json_api["additionalProperties"] is False
    assert set(json_api["required"]) == {"name", "kind", "url", "fields"}
    assert json_api["properties"]["headers"]["additionalProperties"] == {"type": "string"}
    assert json_api["properties"]["max_pages"]["minimum"] == 1


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.toml")), ids=lambda p: p.name)
def test_bundled_pipelines_fit_the_declared_model(path):
    pipeline_file_model().model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def test_model_rejects_what_the_loader_rejects():
    model = pipeline_file_model()
    good = {
        "pipeline": {"name": "p"},
        "source": [{"name": "s", "kind": "x", "query": "a", "token": "t"}],
    }
    model.model_validate(good)
    for bad in (
        {"pipeline": {"name": "p", "colour": "red"}},
        {"pipeline": {"name": "p"}, "source": [{"name": "s", "kind": "myspace"}]},
        {
            "pipeline": {"name": "p"},
            "source": [{"name": "s", "kind": "x", "token": "t", "max_pages": 0}],
        },
        {
            "pipeline": {"name": "p"},
            "source": [{"name": "s", "kind": "x", "token": "t", "retries": "4"}],
        },
    ):
        with pytest.raises(ValueError):
            model.model_validate(bad)


# ---- nested values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (JSON_API + "params = { q = { deep = 1 } }\n" + FIELDS, "key 'params.q' must be"),
        (JSON_API + "params = { q = [[1]] }\n" + FIELDS, "key 'params.q[0]' must be"),
        (
            JSON_API + "headers = { X-Token = 5 }\n" + FIELDS,
            "key 'headers.X-Token' must be a string, not int 5",
        ),
        (
            JSON_API + "incremental = { param = 1, field = 'id' }\n" + FIELDS,
            "key 'incremental.param' must be a string",
        ),
        (
            JSON_API + "pagination = { type = 'page', start = 1.5 }\n" + FIELDS,
            "key 'pagination.start' must be",
        ),
        (
            JSON_API + FIELDS + "author = 3\n",
            "key 'fields.author' must be a string or a table, not int 3",
        ),
        (
            JSON_API + FIELDS + "[source.fields.segments]\nregion = 1\n",
            "key 'fields.segments.region' must be a string, not int 1",
        ),
        (
            SCRAPE + "allowed_domains = ['shop.example.com', 7]\n" + SCRAPE_FIELDS,
            "key 'allowed_domains[1]' must be a string, not int 7",
        ),
        (
            SCRAPE + "follow = ['a.product', false]\n" + SCRAPE_FIELDS,
            "key 'follow[1]' must be a string, not bool False",
        ),
        (
            SCRAPE + "languages = [['de']]\n" + SCRAPE_FIELDS,
            "key 'languages[0]' must be a string, not list ['de']",
        ),
        (
            SCRAPE.replace('["https://shop.example.com/"]', "[1]") + SCRAPE_FIELDS,
            "key 'start_urls[0]' must be a string",
        ),
        (
            'kind = "youtube"\nkey = "k"\nvideo_ids = ["a", 2]\n',
            "key 'video_ids[1]' must be a string, not int 2",
        ),
        (
            'kind = "file"\npath = "x.jsonl"\n' + FIELDS + "lang = true\n",
            "key 'fields.lang' must be a string or a table",
        ),
    ],
)
def test_nested_values_of_the_wrong_type_are_config_errors(tmp_path, body, expected):
    found = problems(tmp_path, body)
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith(f"{tmp_path / 'p.toml'} source 's': ")


def test_nested_values_of_the_right_type_load(tmp_path):
    body = (
        JSON_API
        + "params = { q = 'silk', limit = 50, ratio = 0.5, fresh = true, tags = ['a', 1] }\n"
        + "headers = { Accept = 'application/json' }\n"
        + FIELDS
    )
    pipeline, _ = load(tmp_path, body)
    assert pipeline.source("s").options["params"]["tags"] == ["a", 1]


# ---- fuzz: whatever loads fits its declared shape, and a request can be built from it ---

_plain = st.text(string.ascii_letters + string.digits + " -_./", max_size=8)
_key = st.text(string.ascii_lowercase, min_size=1, max_size=6)
_scalar = st.one_of(
    _plain,
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_key, inner, max_size=3)),
    max_leaves=6,
)
_JSON_API_KEYS = ["params", "headers", "pagination", "incremental", "records", "max_pages"]
_SCRAPE_KEYS = ["allowed_domains", "follow", "next_page", "languages", "headers", "delay"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["json_api", "scrape"]),
    values=st.dictionaries(st.sampled_from(_JSON_API_KEYS + _SCRAPE_KEYS), _value, max_size=3),
)
def test_fuzzed_options_load_only_in_their_declared_shape(tmp_path, kind, values):
    allowed = _JSON_API_KEYS if kind == "json_api" else _SCRAPE_KEYS
    values = {k: v for k, v in values.items() if k in allowed}
    lines = "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())
    body = (JSON_API + lines + FIELDS) if kind == "json_api" else (SCRAPE + lines + SCRAPE_FIELDS)
    try:
        pipeline, path = load(tmp_path, body)
    except ConfigError as exc:  # refused: with a message naming the file and the source
        assert all(str(tmp_path) in p for p in exc.problems)
        return
    options = pipeline.source("s").options
    declared = source_kind(kind).OPTIONS
    for key in values:
        shape = declared[key].shape
        assert shape is None or shape_problems(options[key], shape) == []
    pipeline_file_model().model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    if (
        kind == "json_api"
    ):  # the query a run sends can be built (booleans as HttpClient spells them)
        query = {
            k: str(v).lower() if isinstance(v, bool) else v for k, v in options["params"].items()
        }
        URL("https://api.example.com/posts").with_query(query)
        assert all(isinstance(v, str) for v in options["headers"].values())


async def test_every_query_shape_the_config_accepts_reaches_the_server(
    serve, write_pipeline, make_engine
):
    """The run side of the declared shape: what `params` may hold is sent, not a crash."""
    from aiohttp import web

    async def posts(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1, "body": "AquaSilk is lovely"}])

    app = web.Application()
    app.router.add_get("/posts", posts)
    server = await serve(app)
    pipeline = write_pipeline(
        f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "s"
        kind = "json_api"
        url = "{server.url}/posts"
        params = {{ q = "silk", limit = 50, ratio = 0.5, fresh = true, tags = ["a", 1, 2.5] }}
        headers = {{ Accept = "application/json" }}
        [source.fields]
        id = "id"
        text = "body"
        """
    )
    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "s")
    assert (stats.status, stats.loaded) == ("ok", 1)
    query = server.requests[0].query
    assert query["q"] == "silk" and query["limit"] == "50" and query["ratio"] == "0.5"
    assert query["fresh"] == "true" and query.getall("tags") == ["a", "1", "2.5"]


def test_alert_rules_are_part_of_the_schema(tmp_path):
    body = (
        JSON_API
        + FIELDS
        + '\n[[alert]]\nname = "sour"\nkind = "negative_share"\nwindow = "1h"\nabove = 40\n'
        'notify = ["bell"]\n'
    )
    config, path = load(tmp_path, body)
    assert [rule.name for rule in config.alerts] == ["sour"]
    parsed = pipeline_file_model().model_validate(tomllib.loads(path.read_text()))
    assert len(parsed.alert) == 1
    with pytest.raises(ValueError):  # a key no alert has is refused by the schema too
        pipeline_file_model().model_validate(tomllib.loads(path.read_text() + 'colour = "red"\n'))
