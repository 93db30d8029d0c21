from __future__ import annotations

import pytest

from sentitui.models import Post
from sentitui.processing.clean import (
    CleanError,
    clean_record,
    clean_text,
    hash_author,
    parse_rating,
    parse_time,
    redact_pii,
    strip_controls,
)

SECRET = b"test-secret"
FETCHED = "2026-01-20T12:00:00Z"


def record(fields: dict, **kwargs) -> Post:
    return clean_record(
        fields,
        pipeline="launch",
        source="reviews",
        author_secret=SECRET,
        fetched_at=FETCHED,
        **kwargs,
    )


# ---- strip_controls ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[1;31mred\x1b[0m plain", "red plain"),
        ("before\x1b[2Jafter\x1b[H", "beforeafter"),
        ("\x1b]0;evil title\x07text", "text"),
        ("copy\x1b]52;c;ZWNobyBwd25lZA==\x1b\\done", "copydone"),
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPq#0;2;0;0;0\x1b\\ok", "ok"),  # DCS (sixel)
        ("keep\ttabs\nand newlines", "keep\ttabs\nand newlines"),
        ("crlf\r\nand\rcr", "crlf\nand\ncr"),
        ("nul\x00bel\x07bs\x08del\x7fc1\x85\x9bend", "nulbelbsdelc1end"),
        ("lone escape at end\x1b", "lone escape at end"),
        ("abc\u202edcba\u202c", "abcdcba"),  # bidi override cannot reorder the display
        ("[bold red]FAKE[/] 😀", "[bold red]FAKE[/] 😀"),
    ],
)
def test_strip_controls(raw: str, expected: str) -> None:
    assert strip_controls(raw) == expected


def test_strip_controls_keeps_a_raw_json_payload_readable() -> None:
    payload = '{"text": "hi\\u001b[31m", "x": "\x1b[31mred\x1b[0m"}'
    assert strip_controls(payload) == '{"text": "hi\\u001b[31m", "x": "red"}'


# ---- clean_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Love it!</p><p>Smells great</p>", "Love it! Smells great"),
        ("line one<br>line two<br/>three", "line one line two three"),
        ("re<b>all</b>y <i>soft</i> hair", "really soft hair"),
        ("<div><ul><li>soft</li><li>shiny</li></ul></div>", "soft shiny"),
        ("<script>alert('x')</script>Nice<style>p { color: red }</style>!", "Nice!"),
        ("<!-- hidden -->visible", "visible"),
        (
            "Fish &amp; chips &lt;3 &quot;quoted&quot; &#39;single&#39;",
            "Fish & chips <3 \"quoted\" 'single'",
        ),
        ("AT&amp;amp;T", "AT&T"),
        ("&amp;lt;b&amp;gt; is escaped twice", "<b> is escaped twice"),
        ("I <3 it, and 2 < 3 > 1", "I <3 it, and 2 < 3 > 1"),
        ("send it to <your name> please", "send it to <your name> please"),
        ("R&D and Q&A stay", "R&D and Q&A stay"),
        ("\x1b[31mred\x1b[0m \x1b]0;title\x07text", "red text"),
        ("zero\u200bwidth\u2060joiner\ufeffbom\u00adsoft", "zerowidthjoinerbomsoft"),
        ("a\u200db stray joiner", "ab stray joiner"),
        (
            "family 👨\u200d👩\u200d👧 and 🏳️\u200d🌈 flag",
            "family 👨\u200d👩\u200d👧 and 🏳️\u200d🌈 flag",
        ),
        ("Love it 😍🔥 &#128077;", "Love it 😍🔥 👍"),
        ("❤️ it", "❤️ it"),
        ("Ｆｕｌｌ ｗｉｄｔｈ and the ﬁne print", "Full width and the fine print"),
        ("  lots \t of\n\n white\u00a0space\u3000here  ", "lots of white space here"),
        ("[bold red]FAKE[/] [link=http://x]y[/link]", "[bold red]FAKE[/] [link=http://x]y[/link]"),
        ("<p>\x1b[2J</p>", ""),
        ("broken <![ markup <b>bold</b> &amp; more", "broken <![ markup bold & more"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_large_html_page_is_flattened() -> None:
    page = "<html><head><title>t</title><script>var a = '<p>no</p>';</script></head><body>"
    page += "".join(f"<p>Review {i} &amp; more</p>" for i in range(3)) + "</body></html>"
    assert clean_text(page) == "t Review 0 & more Review 1 & more Review 2 & more"


# ---- redact_pii --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail me at jane.doe+shop@example.co.uk now", "mail me at [email] now"),
        ("call +1 (555) 123-4567 today", "call [phone] today"),
        ("ring 555.123.4567 or +44 20 7946 0958", "ring [phone] or [phone]"),
        ("text 07700900123!", "text [phone]!"),
        ("bought it in 2026 for $12.99", "bought it in 2026 for $12.99"),
        ("on 2026-01-15 and 15.01.2026", "on 2026-01-15 and 15.01.2026"),
        ("used it 2019-2026 and in 2024 2025", "used it 2019-2026 and in 2024 2025"),
        ("paid $1,299,999 or € 1 234 567", "paid $1,299,999 or € 1 234 567"),
        ("rated 4/5, size 250 ml, 12 bottles", "rated 4/5, size 250 ml, 12 bottles"),
        ("order #12345678 arrived", "order #12345678 arrived"),
        ("@bob@mastodon.social says hi", "@bob@mastodon.social says hi"),
    ],
)
def test_redact_pii(raw: str, expected: str) -> None:
    assert redact_pii(raw) == expected


# ---- parse_time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("2026-01-15T10:00:00Z", "2026-01-15T10:00:00Z"),
        ("  2026-01-15T10:00:00Z ", "2026-01-15T10:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        # Forms as long as the stored one that still read as another time or spelling:
        ("2026-W03-4T10:00:00Z", "2026-01-15T10:00:00Z"),  # ISO week date
        ("2026-01-15T24:00:00Z", "2026-01-16T00:00:00Z"),  # end of day
        ("2026-01-15t10:00:00Z", "2026-01-15T10:00:00Z"),
        ("20260115T100000.5Z", "2026-01-15T10:00:00Z"),  # basic form with a fraction
        ("2026-01-15T10:00:00.987654Z", "2026-01-15T10:00:00Z"),
        ("2026-01-15T10:00:00+02:00", "2026-01-15T08:00:00Z"),
        ("2026-01-15T01:30:00-05:00", "2026-01-15T06:30:00Z"),
        ("2026-01-15T00:30:00+0200", "2026-01-14T22:30:00Z"),
        ("2026-01-15T10:00:00", "2026-01-15T10:00:00Z"),  # naive = UTC
        ("2026-01-15 10:00", "2026-01-15T10:00:00Z"),
        ("2026-01-15", "2026-01-15T00:00:00Z"),
        (1768471200, "2026-01-15T10:00:00Z"),  # epoch seconds
        (1768471200.75, "2026-01-15T10:00:00Z"),
        ("1768471200", "2026-01-15T10:00:00Z"),
        (1768471200123, "2026-01-15T10:00:00Z"),  # epoch milliseconds
        ("1768471200999", "2026-01-15T10:00:00Z"),
        (0, "1970-01-01T00:00:00Z"),
        ("Thu, 15 Jan 2026 10:00:00 +0100", "2026-01-15T09:00:00Z"),  # RFC 2822
        ("Thu, 15 Jan 2026 10:00:00 GMT", "2026-01-15T10:00:00Z"),
        ("15 Jan 2026 10:00:00 -0000", "2026-01-15T10:00:00Z"),
    ],
)
def test_parse_time(value: object, expected: str | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "yesterday-ish",
        "Jan 15 2026",
        "15/01/2026",
        "2026-13-01",
        "2026-01-15T25:00:00Z",
        "2026-01-15T10:00:60Z",
        "2026-02-30T10:00:00Z",
        "12:30",
        "2026-01-15T10:00:00Z garbage",
        float("nan"),
        float("inf"),
        True,
        [2026],
        {"t": 1},
        1e300,
    ],
)
def test_parse_time_rejects(value: object) -> None:
    with pytest.raises(CleanError, match=r"^created_at "):
        parse_time(value)


def test_parse_time_error_message_names_field_and_value() -> None:
    with pytest.raises(CleanError) as info:
        parse_time("yesterday-ish")
    assert str(info.value) == (
        "created_at 'yesterday-ish' is not a time (ISO 8601, epoch s/ms or RFC 2822)"
    )


# ---- authors and ratings -----------------------------------------------------------------


def test_hash_author_normalises_and_is_keyed() -> None:
    h = hash_author("@Bob", SECRET)
    assert len(h) == 16 and all(c in "0123456789abcdef" for c in h)
    assert hash_author("@bob ", SECRET) == h
    assert hash_author("  @BOB", SECRET) == h
    assert hash_author("@bob", b"other-secret") != h
    assert hash_author("@alice", SECRET) != h


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (4, 4.0),
        (4.5, 4.5),
        ("4", 4.0),
        ("4.5", 4.5),
        ("4,5", 4.5),
        ("4/5", 4.0),
        ("4 / 5", 4.0),
        ("4 out of 5 stars", 4.0),
        ("4.5 out of 5", 4.5),
        ("Rated 3 of 5", 3.0),
        ("8/10", 4.0),  # fractions go onto the 0-5 scale
        ("90/100", 4.5),
        ("★★★★☆", 4.0),
        ("5 stars", 5.0),
    ],
)
def test_parse_rating(value: object, expected: float | None) -> None:
    assert parse_rating(value) == expected


@pytest.mark.parametrize(
    "value", ["great", "4 stars maybe", "6/5", "4/0", "-1", -1, float("nan"), True, [4]]
)
def test_parse_rating_rejects(value: object) -> None:
    with pytest.raises(CleanError, match=r"^rating "):
        parse_rating(value)


# ---- clean_record ------------------------------------------------------------------------


def test_clean_record_full() -> None:
    fields = {
        "id": 12345,
        "text": "<p>Love &amp; shine!</p> Mail me: jane@example.com or +1 555 123 4567",
        "author": " @Jane ",
        "created_at": "2026-01-15T10:00:00+02:00",
        "url": " https://shop.example/r/12345\x1b[0m ",
        "lang": "EN_us",
        "rating": "4 out of 5 stars",
        "segments": {
            "age": 34,
            "region": " <b>EU</b> ",
            "hair": ["curly", "dyed"],
            "empty": "  ",
            "none": None,
        },
    }
    post = record(fields)
    assert post == Post(
        pipeline="launch",
        source="reviews",
        external_id="12345",
        text="Love & shine! Mail me: [email] or [phone]",
        url="https://shop.example/r/12345",
        author_hash=hash_author("@jane", SECRET),
        lang="en-us",
        created_at="2026-01-15T08:00:00Z",
        fetched_at=FETCHED,
        rating=0.8,  # "4 out of 5 stars", normalised to 0..1
        segments={"age": "34", "region": "EU", "hair": "curly, dyed"},
        fields=fields,
    )
    assert post.fields is not fields  # a copy: the caller may reuse its dict
    assert post.polarity == 0.0 and post.label == "neutral" and post.feedback == "other"


def test_clean_record_minimal_and_keep_authors() -> None:
    post = record({"id": "  abc ", "text": "ok", "author": "@Bob"}, keep_authors=True)
    assert (post.external_id, post.text, post.author_hash) == ("abc", "ok", "@Bob")
    assert post.created_at is None and post.rating is None and post.segments == {}
    assert record({"id": 7.0, "text": "x"}).external_id == "7"
    assert record({"id": 1, "text": "x", "author": "  "}).author_hash is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "hello"}, "id is missing"),
        ({"id": None, "text": "hello"}, "id is missing"),
        ({"id": "   ", "text": "hello"}, "id is missing"),
        ({"id": {"x": 1}, "text": "hello"}, "id {'x': 1} is not a string or a number"),
        ({"id": 1}, "text is missing or empty"),
        ({"id": 1, "text": ""}, "text is missing or empty"),
        ({"id": 1, "text": "<p> \u200b </p>\x1b[2J"}, "text is missing or empty"),
        ({"id": 1, "text": ["a"]}, "text ['a'] is not a string"),
        (
            {"id": 1, "text": "hi", "created_at": "yesterday-ish"},
            "created_at 'yesterday-ish' is not a time (ISO 8601, epoch s/ms or RFC 2822)",
        ),
        (
            {"id": 1, "text": "hi", "rating": "great"},
            "rating 'great' is not a number or a score like '4/5'",
        ),
        (
            {"id": 1, "text": "hi", "segments": ["age", 30]},
            "segments ['age', 30] is not a table of name -> value",
        ),
        # the author's value stays out of the message (it may be a handle)
        ({"id": 1, "text": "hi", "author": {"name": "x"}}, "author is not a string (got dict)"),
    ],
)
def test_clean_record_errors(fields: dict, message: str) -> None:
    with pytest.raises(CleanError) as info:
        record(fields)
    assert str(info.value) == message


def test_clean_error_is_a_value_error_and_message_is_display_safe() -> None:
    with pytest.raises(ValueError) as info:
        record({"id": 1, "text": "hi", "created_at": "\x1b[2J" + "x" * 200})
    message = str(info.value)
    assert "\x1b" not in message and len(message) < 160
