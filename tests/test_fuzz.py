"""Fuzzing what reads source data (issue 11 §3): whatever a page or record holds, the
page extractor, the field mappers and the incremental-value comparison never raise
(a record that cannot be cleaned raises CleanError, which becomes a failed record).

Bounded examples and no example database, so the suite stays fast and writes nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sentitui.config import PipelineConfig, SourceConfig
from sentitui.net.http import HttpClient
from sentitui.processing.clean import CleanError, clean_record
from sentitui.sources import make_source
from sentitui.sources.base import SourceContext, dump_json, get_path, map_fields, parse_json
from sentitui.sources.json_api import comparable, newest
from sentitui.sources.scrape_extract import ExtractConfig, extract_page

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)

# ---- pages -------------------------------------------------------------------------------

NASTY = ["\x00", "\x01", "\x0b", "\x1b[2J", "\x1b]0;t\x07", "\ufffe", "\ud800", "\u202e", "&#0;"]
tag = st.sampled_from(["div", "p", "span", "a", "script", "meta", "time", "article", "link"])
attr_name = st.sampled_from(
    ["class", "itemprop", "itemscope", "itemtype", "itemref", "id", "href", "content"]
) | st.text(min_size=1, max_size=6)
attr_value = st.sampled_from(
    ["review", "reviewBody", "http://schema.org/Review", "http://[x", "a", "", "author", "b"]
) | st.text(max_size=10)
text = st.text(max_size=20) | st.sampled_from(NASTY)


@st.composite
def html(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(tag)
        attrs = " ".join(
            f'{draw(attr_name)}="{draw(attr_value)}"' for _ in range(draw(st.integers(0, 3)))
        )
        parts.append(f"<{name} {attrs}>{draw(text)}" + draw(st.sampled_from([f"</{name}>", ""])))
    json_ld = draw(
        st.sampled_from(
            [
                "",
                '{"@type": "Review", "reviewBody": "ok", "author": {"@id": "_:a"}}',
                '{"@graph": [{"@id": ["x"]}, {"@id": {"@id": 1}}]}',
                "[" * 3000 + "]" * 3000,
                "{not json",
            ]
        )
    )
    if json_ld:
        parts.append(f'<script type="application/ld+json">{json_ld}</script>')
    return "".join(parts)


page_body = (
    html().map(lambda s: s.encode("utf-8", "surrogatepass"))
    | st.binary(max_size=300)
    | json_values.map(lambda v: dump_json(v).encode())  # a JSON body where HTML was due
)
CONFIGS = [
    ExtractConfig.from_options(
        {"item": ".review", "fields": {"text": "p::text", "id": "::attr(id)"}}
    ),
    ExtractConfig.from_options({"extract": "auto"}),
    ExtractConfig.from_options({"extract": "article", "comments": ".comment"}),
]


@FUZZ
@given(body=page_body, content_type=st.sampled_from([None, "text/html", "application/json"]))
def test_the_page_extractor_never_raises(body: bytes, content_type: str | None) -> None:
    for config in CONFIGS:
        page = extract_page(
            body,
            url="https://shop.test/p/1",
            content_type=content_type,
            fetched_at=NOW,
            config=config,
        )
        assert all(isinstance(r, dict) and r.get("id") for r in page.records)


# ---- records -----------------------------------------------------------------------------

path_part = st.text(alphabet="abcxyz0123456789-²١._", min_size=0, max_size=4)
paths = st.lists(path_part, min_size=1, max_size=3).map(".".join)


def deep(levels: int) -> dict:
    value: object = "bottom"
    for _ in range(levels):
        value = {"n": [value]}
    return {"id": 1, "text": value}


@FUZZ
@given(
    payload=json_values | st.builds(deep, st.integers(400, 990)),
    fields=st.dictionaries(
        st.sampled_from(["id", "text", "author", "created_at", "url", "lang", "rating"]),
        paths,
        max_size=6,
    ),
    segments=st.dictionaries(st.text(max_size=5), paths, max_size=3),
)
def test_mappers_never_raise_and_cleaning_raises_only_clean_errors(payload, fields, segments):
    for path in [*fields.values(), *segments.values(), "", "id", "text.n.0"]:
        get_path(payload, path)
    mapped = map_fields(payload, {**fields, "segments": segments})
    try:
        clean_record(
            mapped,
            pipeline="p",
            source="s",
            author_secret=b"k",
            fetched_at="2026-11-21T12:00:00Z",
        )
    except CleanError:
        pass
    stored = dump_json(payload)  # a failed record's payload: always writable
    assert parse_json(stored) is not None or payload is None


# ---- drop files --------------------------------------------------------------------------

file_bytes = st.lists(
    st.sampled_from(
        [b'{"id": 1, "text": "a"}\n', b"[", b"]", b"{", b"}", b'"', b"\\", b",", b"\n", b"\r"]
        + [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'"records": ', b"id,text\n", b'1,"a""b"\n']
        + [b"\xed\xa0\x80", b"NaN", b"1e999"]
    )
    | st.binary(max_size=8),
    max_size=30,
).map(b"".join)


@FUZZ
@given(data=file_bytes, fmt=st.sampled_from(["jsonl", "json", "csv"]), watch=st.booleans())
@example(data=b'\r{"id": 1, "text": "a"}\n', fmt="csv", watch=True)  # the csv module refused it
def test_a_drop_file_of_any_bytes_reads_without_raising(data: bytes, fmt: str, watch: bool):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"drop.{fmt}"
        path.write_bytes(data)
        fields = {"id": "id", "text": "text"}
        options = {"path": str(path), "fields": fields, "watch": watch, "records": "records"}
        source = make_source(
            SourceConfig(name="drop", kind="file", options=options),
            PipelineConfig(name="p", path=Path(folder) / "p.toml"),
        )

        async def read() -> None:
            async with HttpClient() as http:
                async for page in source.pages(SourceContext(http=http)):
                    for record in page.records:
                        try:
                            source.map_record(record)
                        except ValueError:  # not an object: a parse failure of its own
                            pass

        asyncio.run(read())


# ---- incremental values ------------------------------------------------------------------

times = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.none() | st.just(UTC),
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
increments = (
    scalars | times | st.from_regex(r"-?\d{1,30}(\.\d{1,5})?", fullmatch=True) | json_values
)


@FUZZ
@given(values=st.lists(increments, max_size=12))
def test_the_cursor_comparison_is_total_and_never_raises(values):
    keys = [comparable(v) for v in values]
    for a in keys:
        for b in keys:
            assert (a < b) + (a == b) + (a > b) >= 1  # any two compare, without TypeError
    best = newest(values)
    assert best is None or any(best is v or best == v for v in values)
    assert sorted(values, key=comparable) is not None


def test_mixed_zone_and_zoneless_times_compare_as_times():
    assert newest(["2026-11-21T10:00:00Z", "2026-11-21T11:00:00", "2026-11-21T09:00:00+00:00"]) == (
        "2026-11-21T11:00:00"
    )
    assert comparable("2026-11-21T10:00:00Z") < comparable("2026-11-21T10:00:01")
