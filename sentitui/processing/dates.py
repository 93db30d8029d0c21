"""Dates as review pages print them -> ISO 8601 UTC.

Pages write dates for people: "3 days ago", "vor 3 Tagen", "21. November 2026",
"2026年11月21日", "Reviewed in the United States on November 3, 2026". `clean.parse_time`
accepts only machine formats on purpose (it guesses nothing), so the scrape source
resolves page dates here first, at fetch time, and hands clean an ISO string.

Decisions worth knowing:
- ISO 8601 (what `<time datetime>` and JSON-LD carry) takes a fast path; everything
  else goes to dateparser (many languages, relative phrases).
- A date without a zone is read in the source's `timezone` (default UTC).
- Relative dates are resolved against the fetch time and cut to their unit ("3 days
  ago" -> that day at 00:00 UTC, "2 hours ago" -> the hour), so fetching the same
  review tomorrow, when the page says "4 days ago", gives the same created_at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse

__all__ = ["PageDate", "parse_page_date"]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True, slots=True)
class PageDate:
    iso: str  # "YYYY-MM-DDTHH:MM:SSZ"
    relative: bool  # True for "3 days ago", "yesterday": depends on when it was read


_SPACED_ZONE = re.compile(r"\s[Z+-]")


def _iso_moment(text: str) -> datetime | None:
    """An ISO 8601 string -> datetime. The standard library reads the common forms
    many times faster than dateutil, and gives the same moment wherever both read
    one; dateutil reads what it does not (hour 24) and decides the rest (a space
    before the zone, which only dateutil refuses)."""
    if not _SPACED_ZONE.search(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    try:
        return isoparse(text)
    except (ValueError, OverflowError):
        return None


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _settings(now: datetime, timezone: str, date_order: str | None) -> dict[str, object]:
    settings: dict[str, object] = {
        # dateparser wants a naive base in the zone it reads dates in.
        "RELATIVE_BASE": now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None),
        "TIMEZONE": timezone,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
    }
    if date_order:
        settings["DATE_ORDER"] = date_order
    return settings


def _dateparser(
    text: str, now: datetime, timezone: str, languages: list[str] | None, date_order: str | None
) -> datetime | None:
    import dateparser  # late: its language data costs time to load
    from dateparser.search import search_dates

    settings = _settings(now, timezone, date_order)
    found = dateparser.parse(text, languages=languages, settings=settings)
    if found is None and len(text) <= 200:
        # "Reviewed in the United States on November 3, 2026": find the date inside.
        hits = search_dates(text, languages=languages, settings=settings)
        found = hits[-1][1] if hits else None
    return found


def _cut_to_unit(moment: datetime, now: datetime) -> datetime:
    """Round a resolved relative date down to the unit the page could have meant."""
    age = now - moment
    if age >= timedelta(days=1):
        return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if age >= timedelta(hours=1):
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def parse_page_date(
    text: str | None,
    *,
    now: datetime,
    timezone: str = "UTC",
    languages: list[str] | None = None,
    date_order: str | None = None,
) -> PageDate | None:
    """A date as printed on a page -> PageDate, or None when no date can be read.

    `now` is the fetch time (aware); `languages` (ISO 639-1 codes) narrow and speed
    up the search; `date_order` ("DMY", "MDY", "YMD") settles "03/04/2026".
    """
    if text is None:
        return None
    text = " ".join(str(text).split())
    if not text:
        return None
    zone = ZoneInfo(timezone)
    if _ISO.match(text):
        moment = _iso_moment(text)
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            return PageDate(_utc_iso(moment), relative=False)

    found = _dateparser(text, now, timezone, languages, date_order)
    if found is None:
        return None
    # A date that moves when "now" moves is relative; test it instead of guessing
    # from words, which would need a list for every language.
    later = _dateparser(text, now + timedelta(days=3, hours=5), timezone, languages, date_order)
    relative = later is not None and later != found
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)
    if relative:
        found = _cut_to_unit(found, now)
    return PageDate(_utc_iso(found), relative=relative)
