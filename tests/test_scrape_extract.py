"""The pure half of scraping: page dates, ratings, text of elements, charset decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from parsel import Selector

from sentitui.processing.dates import PageDate, parse_page_date
from sentitui.sources.scrape_extract import decode_html, element_text, rating_value, stable_id

NOW = datetime(2026, 11, 25, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "iso", "relative"),
    [
        ("3 days ago", "2026-11-22T00:00:00Z", True),
        ("vor 3 Tagen", "2026-11-22T00:00:00Z", True),
        ("il y a 3 jours", "2026-11-22T00:00:00Z", True),
        ("hace 3 días", "2026-11-22T00:00:00Z", True),
        ("yesterday", "2026-11-24T00:00:00Z", True),
        ("2 hours ago", "2026-11-25T08:00:00Z", True),
        ("21. November 2026", "2026-11-21T00:00:00Z", False),
        ("21 novembre 2026", "2026-11-21T00:00:00Z", False),
        ("November 21, 2026", "2026-11-21T00:00:00Z", False),
        ("2026年11月21日", "2026-11-21T00:00:00Z", False),
        ("2026-11-21T10:00:00+01:00", "2026-11-21T09:00:00Z", False),
        ("Reviewed in the United States on November 3, 2026", "2026-11-03T00:00:00Z", False),
    ],
)
def test_page_dates_become_utc(text, iso, relative):
    parsed = parse_page_date(text, now=NOW)
    assert parsed is not None and (parsed.iso, parsed.relative) == (iso, relative)


@pytest.mark.parametrize(
    ("text", "timezone", "iso"),
    [
        ("2026-11-20T05:00:07+01:00", "UTC", "2026-11-20T04:00:07Z"),
        ("2026-11-20T05:00:07-0530", "UTC", "2026-11-20T10:30:07Z"),
        ("2026-11-20T05:00:07.999999Z", "UTC", "2026-11-20T05:00:07Z"),
        ("2026-11-20T24:00:00Z", "UTC", "2026-11-21T00:00:00Z"),  # read by dateutil only
        ("2026-11-20 05:00", "Europe/Berlin", "2026-11-20T04:00:00Z"),
        ("2026-11-20", "UTC", "2026-11-20T00:00:00Z"),
    ],
)
def test_machine_dates_take_the_iso_path(text, timezone, iso):
    assert parse_page_date(text, now=NOW, timezone=timezone) == PageDate(iso, relative=False)


def test_page_dates_zone_order_and_nonsense():
    assert (
        parse_page_date("21.11.2026 14:30", now=NOW, timezone="Europe/Berlin").iso
        == "2026-11-21T13:30:00Z"
    )
    assert parse_page_date("03/04/2026", now=NOW).iso == "2026-03-04T00:00:00Z"
    assert parse_page_date("03/04/2026", now=NOW, date_order="DMY").iso == "2026-04-03T00:00:00Z"
    assert parse_page_date("soon-ish, maybe", now=NOW) is None
    assert parse_page_date("  ", now=NOW) is None


def test_relative_date_is_the_same_the_next_day():
    today = parse_page_date("3 days ago", now=NOW)
    tomorrow = parse_page_date("4 days ago", now=NOW.replace(day=26, hour=23))
    assert today == tomorrow


@pytest.mark.parametrize(
    ("raw", "stars"),
    [
        ("width: 80%", 4.0),
        ("width:100%", 5.0),
        ("4", 4.0),
        ("4.5 out of 5 stars", 4.5),
        ("4/5", 4.0),
        ("8/10", 4.0),
        ("★★★★☆", 4.0),
        ("star-rating Four", 4.0),
        ("4 von 5 Sternen", 4.0),
        ("3 sur 5 étoiles", 3.0),
        (3, 3.0),
        ("", None),
        (None, None),
    ],
)
def test_ratings_as_pages_show_them(raw, stars):
    assert rating_value(raw) == stars


def test_rating_scale_and_unreadable_rating():
    assert rating_value("8", scale=10) == 4.0
    assert rating_value("excellent!") == "excellent!"  # cleaning rejects it, value shown


def test_element_text_keeps_blocks_apart_and_drops_scripts():
    sel = Selector(
        text="<div id=x><p>Soft <b>hair</b>,</p><script>var a=1</script><p>nice"
        "<br>scent</p><nav>Menu</nav></div>"
    )
    root = sel.css("#x")[0].root
    assert element_text(root) == "Soft hair,\nnice\nscent\nMenu"
    assert element_text(root, skip=lambda el: el.tag == "nav") == "Soft hair,\nnice\nscent"


def test_decode_html_order_of_evidence():
    body = '<meta charset="windows-1252"><p>Très “doux”</p>'.encode("cp1252")
    assert decode_html(body, "text/html")[0].endswith("Très “doux”</p>")
    assert (
        decode_html(body, "text/html; charset=utf-8")[1] == "cp1252"
    )  # invalid UTF-8: header ignored
    sjis = "<p>とても良い香りで、髪がさらさらになりました。</p>".encode("shift_jis")
    assert (
        decode_html(sjis, "text/html; charset=Shift_JIS")[0]
        == "<p>とても良い香りで、髪がさらさらになりました。</p>"
    )


def test_stable_id_ignores_spacing_but_not_content():
    a = stable_id("http://x/p", "Ann", None, "Great  shampoo\n")
    assert a == stable_id("http://x/p", "Ann", None, "Great shampoo")
    assert a != stable_id("http://x/p", "Ann", None, "Great conditioner")
