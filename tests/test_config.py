"""Pipeline files: what loads, and errors that name the file, the source and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sentitui.config import ConfigError, load_pipeline_file, load_pipelines

REPO = Path(__file__).resolve().parent.parent

GOOD = """
[pipeline]
name = "launch"
schedule = "5m"
competitors = ["SilkPro", "HairGlow"]

[[source]]
name = "api"
kind = "json_api"
url = "https://api.example.com/posts"
token = "x"
max_pages = 3
records = "data"
headers = { Authorization = "Bearer ${API_TOKEN}" }
pagination = { type = "cursor", cursor_path = "meta.next", param = "cursor" }
incremental = { param = "since_id", field = "id" }
[source.fields]
id = "id"
text = "text"
[source.fields.segments]
region = "user.location"
"""


def write(tmp_path: Path, text: str, name: str = "launch.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_pipeline_file(path, env=env if env is not None else {"API_TOKEN": "t"})
    return caught.value.problems


def test_good_file_loads_with_env_expanded(tmp_path):
    path = write(tmp_path, GOOD.replace('token = "x"\n', ""))
    pipeline = load_pipeline_file(path, env={"API_TOKEN": "s3cret"})
    assert pipeline.name == "launch" and pipeline.schedule == "5m"
    assert pipeline.competitors == ["SilkPro", "HairGlow"]
    source = pipeline.source("api")
    assert source.kind == "json_api" and source.max_pages == 3 and source.retries == 4
    assert source.options["headers"] == {"Authorization": "Bearer s3cret"}
    assert source.options["fields"]["segments"] == {"region": "user.location"}


def test_unknown_key_names_file_source_and_key(tmp_path):
    path = write(tmp_path, GOOD)
    found = problems(path)
    assert found == [
        f"{path} source 'api': unknown key 'token' (known keys: "
        + found[0].split("(known keys: ")[1]
    ]
    assert "url" in found[0] and "pagination" in found[0]


def test_missing_environment_variable_is_named(tmp_path):
    path = write(tmp_path, GOOD.replace('token = "x"\n', ""))
    assert problems(path, env={}) == [
        f"{path} source 'api'.headers.Authorization: environment variable API_TOKEN is not set"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("max_pages = 3", 'max_pages = "3"'), "key 'max_pages' must be an integer, not str '3'"),
        (
            ("max_pages = 3", "max_pages = true"),
            "key 'max_pages' must be an integer, not bool True",
        ),
        (('url = "https://api.example.com/posts"\n', ""), "missing required key 'url'"),
        (('text = "text"\n', ""), "key 'fields.text' is required"),
        (
            ('type = "cursor", cursor_path = "meta.next", ', 'type = "cursor", '),
            "missing key 'pagination.cursor_path' for type 'cursor'",
        ),
        (('type = "cursor"', 'type = "pages"'), "key 'pagination.type' must be one of"),
        (('kind = "json_api"', 'kind = "myspace"'), "key 'kind': unknown kind 'myspace'"),
        (('schedule = "5m"', 'schedule = "every tuesday"'), "key 'schedule'"),
        (("max_pages = 3", "max_pages = 0"), "key 'max_pages' must be at least 1, not 0"),
        (("max_pages = 3", "retries = -1"), "key 'retries' must be at least 0, not -1"),
        (("max_pages = 3", "timeout = 0"), "key 'timeout' must be at least 0.1, not 0"),
        (('name = "api"', 'name = " "'), "key 'name' must not be empty"),
        (
            ('url = "https://api.example.com/posts"', 'url = "api.example.com/posts"'),
            "key 'url': 'api.example.com/posts' is not an http(s) URL",
        ),
        (
            (
                'type = "cursor", cursor_path = "meta.next", param = "cursor"',
                'type = "offset", limit = "100"',
            ),
            "key 'pagination.limit' must be a whole number",
        ),
        (
            ('competitors = ["SilkPro", "HairGlow"]', 'thresholds = { positive = "high" }'),
            "key 'thresholds.positive' must be a number, not str 'high'",
        ),
        (  # every run would crash sending these (issue 11)
            ("max_pages = 3", "params = { q = { nested = 1 } }"),
            "key 'params.q' must be a string, an integer, a number, true or false or a list, "
            "not dict {'nested': 1}",
        ),
        (
            ('headers = { Authorization = "Bearer ${API_TOKEN}" }', "headers = { X-Key = 7 }"),
            "key 'headers.X-Key' must be a string, not int 7",
        ),
    ],
)
def test_each_mistake_is_reported_with_its_key(tmp_path, edit, expected):
    text = GOOD.replace('token = "x"\n', "").replace(*edit)
    found = problems(write(tmp_path, text))
    assert len(found) == 1
    assert expected in found[0]
    assert str(tmp_path) in found[0]


def test_duplicate_source_and_pipeline_names(tmp_path):
    body = GOOD.replace('token = "x"\n', "")
    second_source = body[body.index("[[source]]") :]
    path = write(tmp_path, body + second_source)
    assert any("duplicate source name 'api'" in p for p in problems(path))

    folder = tmp_path / "dir"
    folder.mkdir()
    write(folder, body, "a.toml")
    write(folder, body, "b.toml")
    with pytest.raises(ConfigError) as caught:
        load_pipelines(folder, env={"API_TOKEN": "t"})
    assert "duplicate pipeline name 'launch'" in caught.value.problems[0]
    assert "b.toml" in caught.value.problems[0] and "a.toml" in caught.value.problems[0]


def test_invalid_toml_names_the_line(tmp_path):
    found = problems(write(tmp_path, "[pipeline]\nname = \n"))
    assert "invalid TOML" in found[0] and "line 2" in found[0]


def test_bundled_demo_pipeline_is_valid():
    pipelines = load_pipelines(REPO / "pipelines")
    demo = next(p for p in pipelines if p.name == "demo")
    assert {s.kind for s in demo.sources} == {"file"}


def test_file_that_is_not_utf8_is_named_not_a_crash(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[pipeline]\nname = "café"\n'.encode("latin-1"))
    assert problems(path) == [
        f"{path}: not UTF-8 text (byte 0xe9 on line 2); TOML files must be saved as UTF-8"
    ]


def test_source_entries_that_are_not_tables_are_named(tmp_path):
    path = write(tmp_path, 'source = [1, "x"]\n[pipeline]\nname = "p"\n')
    assert problems(path) == [
        f"{path}: source #1 must be a table ([[source]] with keys), not int 1",
        f"{path}: source #2 must be a table ([[source]] with keys), not str 'x'",
    ]


def test_unknown_file_encoding_is_a_config_error(tmp_path):
    path = write(
        tmp_path,
        """
        [pipeline]
        name = "p"
        [[source]]
        name = "drop"
        kind = "file"
        path = "*.csv"
        encoding = "utf-9"
        fields = { id = "id", text = "t" }
    """,
    )
    assert problems(path) == [
        f"{path} source 'drop': key 'encoding': unknown text encoding "
        "'utf-9' (e.g. utf-8, utf-8-sig, cp1252, latin-1)"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'kind = "mastodon"\nhashtag = "aquasilk"\nlimit = 41',
            "key 'limit' must be between 1 and 40, not 41",
        ),
        (
            'kind = "reddit"\nquery = "aquasilk"\nlimit = 0',
            "key 'limit' must be between 1 and 100, not 0",
        ),
        (
            'kind = "x"\nhashtag = "aquasilk"\ntoken = "t"\nmax_results = 5',
            "key 'max_results' must be between 10 and 100, not 5",
        ),
        ('kind = "bluesky"\nlimit = 50', "key 'query' or 'hashtag' is required"),
    ],
)
def test_preset_page_sizes_and_search_keys_are_checked(tmp_path, source, expected):
    found = problems(write(tmp_path, f'[pipeline]\nname = "p"\n[[source]]\nname = "s"\n{source}\n'))
    assert len(found) == 1 and expected in found[0], found


def test_a_number_in_allowed_domains_is_a_config_error(tmp_path):
    found = problems(
        write(
            tmp_path,
            """
            [pipeline]
            name = "shop"
            [[source]]
            name = "reviews"
            kind = "scrape"
            start_urls = ["https://shop.example/reviews"]
            allowed_domains = ["shop.example", 42]
            item = "article"
            [source.fields]
            text = "p::text"
            """,
        )
    )
    assert len(found) == 1 and "key 'allowed_domains[1]' must be a string, not int 42" in found[0]
