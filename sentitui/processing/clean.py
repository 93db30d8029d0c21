"""Cleaning: mapped post fields -> a `Post` with safe, normalised text.

Everything here is a pure function of its inputs (no I/O, no globals that change),
so the engine may call it on the event loop for ordinary posts or in a worker for
very large pages. Every rejection is a `CleanError` whose message names the field
and the bad value, so the failed-records screen can say exactly what went wrong.

Decisions worth knowing:
- `strip_controls` is display-safe: after it, a string cannot move the cursor,
  change colours, set the window title, write the clipboard (OSC 52) or reorder
  text with bidi overrides. `\\r\\n` and lone `\\r` become `\\n` (a bare CR would
  overwrite the line on a terminal; as a newline it keeps word boundaries).
- NUL (U+0000, raw or `\\u0000` in JSON) is one of those controls: every text field
  of a post (text, id, author, url, lang, segments) loses it here, so a post is
  stored the same on SQLite and on PostgreSQL, whose text cannot hold it. The raw
  payload of a failed record keeps it: that is stored byte for byte (store/sql.py).
- `clean_text` only treats *known* HTML element names (plus custom elements with
  a hyphen) as tags, so "I <3 it" and "use <your name>" survive as written.
- Numeric strings given as times are epoch seconds/milliseconds, never compact
  ISO dates: "20260115" is 1970-08-23, not 15 January 2026.
- Ratings written as a fraction ("8/10", "4 out of 5", "★★★★☆") are put on a
  0-5 scale; bare numbers are kept as given.
- `redact_pii` leaves fediverse handles ("@bob@mastodon.social") alone: they are
  public handles, not e-mail addresses.
- A `created_at` outside the plausible range (before 1995, or more than a day after
  the fetch; APIs write 0001-01-01 and 9999-12-31 for "no date") is no time at all:
  the post keeps the time it was fetched, and the value as written is kept in the
  segment `created_at_raw` (see `plausible_created_at`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from sentitui.models import Post

__all__ = [
    "CleanError",
    "clean_record",
    "clean_text",
    "element_text",
    "hash_author",
    "normalise_rating",
    "parse_rating",
    "parse_time",
    "plausible_created_at",
    "pseudonymise_text",
    "rating_on_five",
    "rating_value",
    "redact_pii",
    "strip_controls",
]


# isinstance's types as constants: `str | int | float` written in a call builds a new
# union every time it runs (three times a record).
_SCALAR_TYPES = str | int | float
_NUMBER_TYPES = int | float


class CleanError(ValueError):
    """A field that cannot be cleaned; the message names the field and the value."""


def _show(value: Any, limit: int = 80) -> str:
    """repr() of a bad value for an error message, cut short and display-safe."""
    try:
        text = repr(value)
    except RecursionError:  # a value nested ~1,000 deep: name its type, not its contents
        text = f"<{type(value).__name__} nested too deeply to show>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return strip_controls(text)


# ---- control characters ------------------------------------------------------------------

_ESCAPES = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]?                  # CSI: colours, cursor moves, \x1b[2J
    | \x1b[\]PX^_] [^\x07\x1b\x9c]*                # OSC, DCS, SOS, PM, APC strings …
      (?: \x07 | \x1b\\ | \x9c )?                    # … up to BEL or ST (or what ends them)
    | \x1b [ -/]* [0-~]?                           # any other ESC sequence, or a lone ESC
    """,
    re.VERBOSE,
)
# C0 except \t and \n, DEL, C1; the bidi embedding/override/isolate controls; and lone
# UTF-16 surrogates (half an emoji cut off in JSON as "\ud83d"), which no terminal or
# UTF-8 file can take.
# 8-bit C1 introducers (U+009B CSI, U+009D OSC …) are removed one by one, not as the
# start of a sequence: they turn up in mojibake ("â€\x9d"), and without the
# introducer what follows is plain text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CR = re.compile(r"\r\n?")


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping `\\n` and `\\t`.

    Safe to call on anything that will be drawn in a terminal (post text, raw payloads,
    error messages): ANSI CSI/OSC/DCS sequences go as a whole, their parameters too.
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():  # everything removed below is a non-printable character
        return text
    text = _CR.sub("\n", text)
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


# ---- HTML -------------------------------------------------------------------------------


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_BLOCK_TAGS = _tags(
    """address article aside audio blockquote body br canvas caption dd details dialog dir
    div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6
    head header hgroup hr html iframe img input li legend main menu nav object ol option
    p pre section select summary table tbody td textarea tfoot th thead title tr ul video"""
)
_DROP_TAGS = _tags("script style template noscript")
_INLINE_TAGS = _tags(
    """a abbr acronym area b base basefont bdi bdo big blink button center cite code col
    colgroup data datalist del dfn em font i ins kbd label link map mark marquee meta meter
    nobr noframes optgroup output param picture progress q rp rt ruby s samp search slot
    small source span strike strong sub sup time track tt u var wbr svg path g circle rect
    line polyline polygon use defs symbol math"""
)
_KNOWN_TAGS = _BLOCK_TAGS | _DROP_TAGS | _INLINE_TAGS


def _is_tag(name: str) -> bool:
    return name in _KNOWN_TAGS or "-" in name or ":" in name


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self._skip += 1
        elif self._skip:
            return
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif not _is_tag(tag):
            self.parts.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS or self._skip:
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif not _is_tag(tag):
            self.parts.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif not _is_tag(tag):
            self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA[") and not self._skip:
            self.parts.append(data[6:])


_DROP_BLOCK = re.compile(r"<(script|style|template|noscript)\b.*?(?:</\1\s*>|$)", re.I | re.S)
_ANY_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")


def _html_to_text(text: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError, IndexError):
        # html.parser gives up on some malformed markup ("<![" without a name); strip
        # tags with a plain regex instead so the record is still cleaned, not lost.
        text = _ANY_TAG.sub(" ", _DROP_BLOCK.sub(" ", text))
        return html.unescape(text)
    return "".join(parser.parts)


_HIDDEN_TAGS = _DROP_TAGS | {"head"}  # a parsed page's head is metadata, not text


def element_text(element: Any, skip: Callable[[Any], bool] | None = None) -> str:
    """Visible text of a parsed (lxml) element, as `_html_to_text` reads markup: blocks
    separated by newlines, scripts left out. `skip(el)` drops whole subtrees
    (navigation, sidebars, nested comments). The scrape source's fields use it."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else None
        if tag is not None and tag not in _HIDDEN_TAGS and not (skip and skip(node)):
            block = tag in _BLOCK_TAGS
            if block:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
            if block:
                parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    tail, element.tail = element.tail, None  # the element's own tail is not its text
    try:
        walk(element)
    finally:
        element.tail = tail
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


# A second pass only for complete entities (with the semicolon): "&amp;amp;" -> "&".
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

# Invisible characters: zero-width space/non-joiner, word joiner, BOM, Mongolian vowel
# separator, soft hyphen, LRM/RLM/ALM. The zero-width joiner is kept between emoji
# (it builds 👨‍👩‍👧 and 🏳️‍🌈) and removed everywhere else.
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u2060\ufeff\u180e\u00ad\u200e\u200f\u061c]")
_EMOJI_LEFT = r"[\u2600-\u27bf\ufe0f\U0001f000-\U0001faff]"
_EMOJI_RIGHT = r"[\u2600-\u27bf\u2640\u2642\U0001f000-\U0001faff]"
_STRAY_ZWJ = re.compile(rf"(?<!{_EMOJI_LEFT})\u200d|\u200d(?!{_EMOJI_RIGHT})")
_WHITESPACE = re.compile(r"\s+")


def clean_text(text: str | int | float) -> str:
    """HTML to plain text, entities unescaped, NFKC, no controls or invisible
    characters, whitespace collapsed to single spaces. Emoji and literal brackets
    such as "[bold red]FAKE[/]" are kept as they are."""
    if not isinstance(text, str):
        text = str(text)
    if "<" in text or "&" in text:
        text = _html_to_text(text)
        if "&" in text:
            text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():  # controls and invisible characters are all non-printable
        text = strip_controls(text)
        text = _ZERO_WIDTH.sub("", text)
        if "\u200d" in text:
            text = _STRAY_ZWJ.sub("", text)
    elif "  " not in text:  # a printable text's only whitespace is " ": nothing to collapse
        return text.strip()
    return _WHITESPACE.sub(" ", text).strip()


# ---- PII --------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.@+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![\w@])"
)
_PHONE = re.compile(
    r"(?<![\w$€£¥#@/.,+-])(?:\+\s?)?\(?[0-9][0-9 ().-]{5,}[0-9](?![\w%/]|[.,][0-9])"
)
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_DATE_LIKE = re.compile(
    r"^(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4})$"
)
_DECIMAL_LIKE = re.compile(r"^[0-9]+[.,][0-9]{1,2}$")
_CURRENCY_BEFORE = re.compile(r"[$€£¥]\s?$")
_SEVEN_DIGITS = re.compile(r"[0-9](?:[^0-9]*[0-9]){6}")


def _phone_or_not(match: re.Match[str]) -> str:
    candidate = match.group()
    groups = _DIGIT_GROUPS.findall(candidate)
    digits = sum(len(g) for g in groups)
    if not 7 <= digits <= 15:
        return candidate
    if _DATE_LIKE.match(candidate) or _DECIMAL_LIKE.match(candidate):
        return candidate
    if all(len(g) == 4 and 1900 <= int(g) <= 2099 for g in groups):  # "2019-2026", "2024 2025"
        return candidate
    if _CURRENCY_BEFORE.search(match.string, 0, match.start()):  # "€ 1 234 567"
        return candidate
    return "[phone]"


def redact_pii(text: str) -> str:
    """Replace e-mail addresses with `[email]` and phone numbers with `[phone]`.

    A phone number is 7-15 digits, optionally led by "+", grouped with spaces, dashes,
    dots or parentheses. Years, year ranges, dates, prices and decimals are left alone.
    """
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    # A phone number has 7 digits or more: a text with fewer skips the phone pattern,
    # whose lookbehind is tried at every character.
    return _PHONE.sub(_phone_or_not, text) if _SEVEN_DIGITS.search(text) else text


def redact_segments(segments: dict[str, Any]) -> dict[str, Any]:
    """`redact_pii` over segment values: a bio or a location holds e-mails and phone
    numbers as often as a post does."""
    return {k: redact_pii(v) if isinstance(v, str) else v for k, v in segments.items()}


# ---- times ------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_STORED_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_TIME_HINT = "is not a time (ISO 8601, epoch s/ms or RFC 2822)"


def _format_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+01:00" is before the first UTC time
        moment = datetime.min if moment.year == 1 else datetime.max
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def _from_epoch(number: float, value: Any, field: str) -> str:
    if not math.isfinite(number):
        raise CleanError(f"{field} {_show(value)} {_TIME_HINT}")
    seconds = number / 1000 if abs(number) > 1e11 else number
    try:
        return _format_utc(datetime.fromtimestamp(math.floor(seconds), tz=UTC))
    except (OverflowError, OSError, ValueError):
        raise CleanError(f"{field} {_show(value)} is out of range for a time") from None


def parse_time(value: Any, field: str = "created_at") -> str | None:
    """A time in any accepted form -> "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds).

    None or "" -> None. Accepted: ISO 8601 (with "Z", an offset, naive = UTC, or a date
    alone = midnight UTC), epoch seconds or milliseconds (int, float or numeric string;
    above 1e11 means milliseconds), RFC 2822 ("Wed, 15 Jan 2026 10:00:00 +0100") and
    datetime/date objects. Anything else raises CleanError; nothing is guessed.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise CleanError(f"{field} {_show(value)} {_TIME_HINT}")
    if isinstance(value, datetime):
        return _format_utc(value)
    if isinstance(value, date):
        return _format_utc(datetime.combine(value, time(0, 0)))
    if isinstance(value, _NUMBER_TYPES):
        return _from_epoch(value, value, field)
    if not isinstance(value, str):
        raise CleanError(f"{field} {_show(value)} {_TIME_HINT}")
    text = value.strip()
    if not text:
        return None
    if _NUMERIC.match(text):
        number: float = int(text) if text.lstrip("+-").isdigit() else float(text)
        return _from_epoch(number, value, field)
    if text[:1].isdigit():
        try:  # the standard library's parser is ~10x faster and reads most ISO forms
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            # A valid time written as it is stored reads back as written: skip the
            # conversion and formatting (most APIs write UTC times this way).
            return text if _STORED_FORM.fullmatch(text) else _format_utc(moment)
        from dateutil.parser import isoparse  # the rarer forms: imported when first met

        try:
            return _format_utc(isoparse(text))
        except (ValueError, OverflowError):
            pass
    from email.utils import parsedate_to_datetime

    try:
        return _format_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    raise CleanError(f"{field} {_show(value)} {_TIME_HINT}")


# The first posts of the public web; nothing a source returns is older.
EARLIEST_PLAUSIBLE = "1995-01-01T00:00:00Z"
RAW_DATE_SEGMENT = "created_at_raw"


def plausible_created_at(created_at: str | None, fetched_at: str) -> bool:
    """False for a parsed `created_at` that cannot be a post's time: before 1995 or more
    than a day after `fetched_at` (clock skew and time zones fit inside a day). Both are
    "YYYY-MM-DDTHH:MM:SSZ", which compare as strings."""
    if created_at is None:
        return True
    if created_at < EARLIEST_PLAUSIBLE:
        return False
    latest = _latest_plausible(fetched_at)
    return latest is None or created_at <= latest


@lru_cache(maxsize=64)
def _latest_plausible(fetched_at: str) -> str | None:
    """A day after `fetched_at` (one value per run, asked once per post: cached)."""
    try:
        fetched = datetime.strptime(fetched_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None  # no fetch time to compare with
    return _format_utc(fetched + timedelta(days=1))


# ---- authors ----------------------------------------------------------------------------


@lru_cache(maxsize=16384)  # authors post again and again; an HMAC costs ~3 us
def hash_author(author: str, secret: bytes) -> str:
    """Pseudonymous author id: HMAC-SHA256 of the stripped, lower-cased name, 16 hex chars."""
    normalised = author.strip().lower().encode("utf-8")
    return hmac.digest(secret, normalised, hashlib.sha256).hex()[:16]  # one-shot: no HMAC object


_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_](?:[\w.-]*\w)?)(?:@[\w-]+(?:\.[\w-]+)+)?")


def _handle_key(handle: str) -> str:
    return re.sub(r"[\s_.-]", "", handle.lstrip("#@")).casefold()


def _scrub_handle(text: str, author: str) -> str:
    """Replace the author's handle (and a fediverse handle's local part) with `[author]`."""
    forms = {author}
    if "@" in author.strip("@"):
        forms.add(author.strip("@").split("@")[0])
    folded = text.casefold()
    for form in sorted(forms, key=len, reverse=True):
        form = form.strip().lstrip("@")
        # Most posts do not name their author: look before compiling a pattern for it.
        if len(form) >= 3 and form.casefold() in folded:
            text = _handle_pattern(form).sub("[author]", text)
    return text


@lru_cache(maxsize=8192)
def _handle_pattern(form: str) -> re.Pattern[str]:
    """One compiled pattern per handle: past 512 authors `re`'s own cache misses every time."""
    return re.compile(rf"(?<![\w.]){re.escape(form)}(?![\w])", re.I)


def pseudonymise_text(text: str, author: str | None, public_handles: Iterable[str] = ()) -> str:
    """Remove people's handles from a post's text (used unless `keep_authors = true`).

    The author's own handle or name becomes `[author]`; every other `@mention`
    (fediverse `@bob@host` too) becomes `@user`, except handles in `public_handles`
    (the pipeline's competitors and their aliases), compared without case, spaces,
    dots, dashes or underscores, so "@SilkPro" still counts as a comparison.
    """
    if author:
        text = _scrub_handle(text, author)
    public = {_handle_key(h) for h in public_handles}

    def replace(match: re.Match[str]) -> str:
        return match.group() if _handle_key(match.group(1)) in public else "@user"

    return _MENTION.sub(replace, text) if "@" in text else text


# ---- ratings ----------------------------------------------------------------------------

_RATING = re.compile(
    r"^(?:rated|rating)?\s*:?\s*(?P<num>[0-9]+(?:[.,][0-9]+)?)\s*"
    r"(?:(?:/|out\s+of|of)\s*(?P<den>[0-9]+(?:[.,][0-9]+)?))?\s*(?:stars?|points?|★)?$",
    re.IGNORECASE,
)
_STARS = re.compile(r"^[★☆ ]+$")


def parse_rating(value: Any) -> float | None:
    """A rating -> float. Numbers as given; "4", "4.5", "4,5", "4/5", "4 out of 5 stars",
    "Rated 4.5 of 5", "★★★★☆". Fractions are put on a 0-5 scale ("8/10" -> 4.0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CleanError(f"rating {_show(value)} is not a number")
    if isinstance(value, int | float):
        rating = float(value)
        if not math.isfinite(rating) or rating < 0:
            raise CleanError(f"rating {_show(value)} is not a non-negative number")
        return rating
    if not isinstance(value, str):
        raise CleanError(f"rating {_show(value)} is not a number")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    if _STARS.match(text):
        stars = text.replace(" ", "")
        full = stars.count("★")
        return float(full) if "☆" not in stars else round(full * 5 / len(stars), 4)
    match = _RATING.match(text)
    if not match:
        raise CleanError(f"rating {_show(value)} is not a number or a score like '4/5'")
    number = float(match["num"].replace(",", "."))
    if match["den"] is None:
        return number
    denominator = float(match["den"].replace(",", "."))
    if denominator <= 0 or number > denominator:
        raise CleanError(f"rating {_show(value)} is not a score within its scale")
    return rating_on_five(number, denominator)


def rating_on_five(value: float, scale: float | None) -> float:
    """`value` out of `scale` as stars out of 5 (a missing scale means 5 already)."""
    return round(value * 5 / scale, 4) if scale and scale != 5 else value


_WIDTH = re.compile(r"width\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%", re.I)
_FRACTION = re.compile(
    r"([0-9]+(?:[.,][0-9]+)?)\s*(?:/|out\s+of|of|von|sur|de|su)\s*([0-9]+(?:[.,][0-9]+)?)", re.I
)
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def rating_value(raw: Any, scale: float | None = None) -> float | str | None:
    """A rating as a page shows it -> stars on a 0-5 scale (the scrape source's fields);
    what `parse_rating` reads, it reads with it.

    Understands "4", "4.5 out of 5", "4/5", "★★★★☆", a star bar's style
    ("width: 80%" -> 4.0), a class like "star-rating Four", and "4 von 5 Sternen".
    Bare numbers are on `scale` (default 5). Anything else is returned as found, so
    cleaning rejects the record with the raw value in its message.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int | float):
        return rating_on_five(float(raw), scale)
    text = " ".join(str(raw).split())
    width = _WIDTH.search(text)
    if width:
        return round(min(float(width.group(1)), 100.0) / 20, 4)
    fraction = _FRACTION.search(text)
    if fraction:
        num, den = (float(g.replace(",", ".")) for g in fraction.groups())
        if den > 0 and num <= den:
            return rating_on_five(num, den)
    value: float | None
    try:
        value = parse_rating(text)
    except CleanError:
        value = None
        if "★" in text:
            value = float(text.count("★"))
        else:
            words = [
                _NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS
            ]
            number = _NUMBER.search(text)
            if words:
                value = float(words[-1])
            elif number:
                value = float(number.group().replace(",", "."))
        if value is None:
            return text
    if value is None:
        return None
    return rating_on_five(value, scale)


# A bare number is read on the smallest usual scale it fits: 1-5 stars, 1-10 points, or
# a percentage. Fractions and star strings already say their scale (parse_rating).
_SCALES = (5.0, 10.0, 100.0)


def normalise_rating(value: Any) -> float | None:
    """A rating -> 0..1, as `posts.rating` stores it: "4/5", "8/10", 4 and "★★★★☆" all
    give 0.8; 85 gives 0.85. A number above 100 is no rating."""
    stars = parse_rating(value)
    if stars is None:
        return None
    for scale in _SCALES:
        if stars <= scale:
            return round(stars / scale, 4)
    raise CleanError(f"rating {_show(value)} is on no scale up to 100")


# ---- records ----------------------------------------------------------------------------


def _clean_id(fields: dict[str, Any]) -> str:
    value = fields.get("id")
    if value is None:
        raise CleanError("id is missing")
    if isinstance(value, bool) or not isinstance(value, _SCALAR_TYPES):
        raise CleanError(f"id {_show(value)} is not a string or a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CleanError(f"id {_show(value)} is not a valid id")
        value = int(value) if value.is_integer() else value
    text = strip_controls(str(value)).strip()
    if not text:
        raise CleanError("id is missing")
    return text


def _optional_str(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _SCALAR_TYPES):
        raise CleanError(f"{name} {_show(value)} is not a string")
    return str(value)


def _clean_segments(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CleanError(f"segments {_show(value)} is not a table of name -> value")
    out: dict[str, str] = {}
    for key, raw in value.items():
        if raw is None:
            continue
        if isinstance(raw, list | tuple):
            text = ", ".join(t for t in (clean_text(str(v)) for v in raw if v is not None) if t)
        else:
            text = clean_text(str(raw))
        name = clean_text(str(key))
        if name and text:
            out[name] = text
    return out


def clean_record(
    fields: dict[str, Any],
    *,
    pipeline: str,
    source: str,
    author_secret: bytes,
    fetched_at: str,
    keep_authors: bool = False,
    redact: bool = True,
    public_handles: Iterable[str] = (),
) -> Post:
    """Mapped post fields -> a cleaned (unscored) Post, or CleanError.

    Required: `id` (str or number) and `text` (non-empty after cleaning). Optional:
    `author` (hashed unless keep_authors), `created_at`, `url`, `lang` (lower-cased),
    `rating`, `segments`. The text has HTML, controls and PII removed. The input dict
    is kept (shallow copy) in `Post.fields`.
    """
    if not isinstance(fields, dict):
        raise CleanError(f"record {_show(fields)} is not a table of fields")
    external_id = _clean_id(fields)

    raw_text = fields.get("text")
    if raw_text is not None and (
        isinstance(raw_text, bool) or not isinstance(raw_text, _SCALAR_TYPES)
    ):
        raise CleanError(f"text {_show(raw_text)} is not a string")
    text = clean_text(raw_text) if raw_text is not None else ""
    if redact:
        text = redact_pii(text)
    if not text:
        raise CleanError("text is missing or empty")

    author_hash = None
    author = fields.get("author")
    if author is not None:
        if isinstance(author, bool) or not isinstance(author, _SCALAR_TYPES):
            # The value itself stays out of the message: it may be a handle.
            raise CleanError(f"author is not a string (got {type(author).__name__})")
        author = clean_text(str(author))
        if author:
            author_hash = author if keep_authors else hash_author(author, author_secret)

    url = _optional_str(fields, "url")
    if url is not None:
        url = strip_controls(url).strip() or None

    if not keep_authors:
        text = pseudonymise_text(text, author, public_handles)
        if url and author:
            url = _scrub_handle(url, author)

    lang = _optional_str(fields, "lang")
    if lang is not None:
        lang = clean_text(lang).lower().replace("_", "-") or None

    created_at = parse_time(fields.get("created_at"), "created_at")
    segments = _clean_segments(fields.get("segments"))
    if redact:
        segments = redact_segments(segments)
    if not plausible_created_at(created_at, fetched_at):
        segments[RAW_DATE_SEGMENT] = clean_text(str(fields["created_at"]))[:64]
        created_at = fetched_at or None

    return Post(
        pipeline=pipeline,
        source=source,
        external_id=external_id,
        text=text,
        url=url,
        author_hash=author_hash,
        lang=lang,
        created_at=created_at,
        fetched_at=fetched_at,
        rating=normalise_rating(fields.get("rating")),
        segments=segments,
        fields=dict(fields),
    )
