"""The demo's data: sample_data/ records released over time, like a live service.

A feed holds records in arrival order. A backlog is there from the start; after
that, one tick every `every` seconds releases 1..`burst` more: first the rest of
the sample file, then records synthesised from the sample texts with fresh ids,
so the demo never runs dry. Release sizes and synthesis come from seeded Randoms
and the clock is injectable, so a test can say exactly what arrived when.

Timestamps are rebased to the demo's own clock (backlog spread over the last two
hours, arrivals stamped with their tick), so "posts per minute" and the last-hour
chart move. The deliberately malformed sample records are served as they are,
except the truncated JSON line, which becomes a JSON *string* in the array (a
record that is not an object), since a valid page cannot carry invalid JSON.
"""

from __future__ import annotations

import copy
import csv
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLE_DATA = Path(__file__).resolve().parent.parent.parent / "sample_data"
SEGMENTS = {
    "age_group": ["18-24", "25-34", "35-44", "45-54", "55+"],
    "region": ["US-West", "US-East", "UK", "EU", "LATAM", "APAC"],
    "hair_type": ["straight", "wavy", "curly", "coily"],
}
BACKLOG_SPAN = 2 * 3600.0  # seconds before start over which the backlog is spread
SYNTH_BROKEN_EVERY = 25  # every n-th synthesised record is malformed, to keep failures coming
START = 1795161600.0  # 2026-11-20T08:00:00Z: where a ManualClock starts by default


@dataclass(slots=True)
class ManualClock:
    """A clock tests move by hand: `clock.advance(6)` makes six seconds pass."""

    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def iso_ms(when: float) -> str:
    """Epoch seconds -> '2026-11-20T08:00:00.000Z', the shape Mastodon sends."""
    moment = datetime.fromtimestamp(when, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_iso_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class Item:
    """One released record. `key` orders it for since_id (None: the record has no id)."""

    key: int | None
    record: Any  # a dict, or a str for a record that is not a JSON object


@dataclass
class Feed:
    """Records in arrival order, released by the clock. Subclasses say how records
    are read, keyed, stamped with a time and synthesised."""

    seed: int = 2026
    clock: Callable[[], float] = time.time
    every: float = 3.0  # seconds between ticks
    burst: int = 3  # most records one tick releases
    backlog: int = 60  # records there from the start
    items: list[Item] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._samples = self.load_samples()
        self._templates = [r for r in self._samples if self.usable_template(r)]
        self._ticks_rng = random.Random(self.seed)
        self._synth_rng = random.Random(self.seed + 1)
        self._next_sample = 0
        self._synthesised = 0
        self._ticks = 0
        self._last_key = 0
        self.extra = 0  # records released by hand (`release`), on top of the ticks
        count = min(self.backlog, len(self._samples)) if self._samples else self.backlog
        for index in range(count):
            when = self.started - BACKLOG_SPAN * (count - index) / count
            self._append(when)

    # ---- what subclasses provide ---------------------------------------------------

    def load_samples(self) -> list[Any]:
        raise NotImplementedError

    def key_of(self, record: Any) -> int | None:
        raise NotImplementedError

    def stamp(self, record: Any, when: float) -> None:
        """Set the record's time to `when` (only where it held a valid time)."""
        raise NotImplementedError

    def usable_template(self, record: Any) -> bool:
        raise NotImplementedError

    def synthesise(
        self, template: dict[str, Any], key: int, rng: random.Random, broken: bool
    ) -> dict[str, Any]:
        raise NotImplementedError

    # ---- releasing -----------------------------------------------------------------

    def sync(self) -> None:
        """Release everything the clock says has arrived by now."""
        due = int((self.clock() - self.started) // self.every) if self.every > 0 else 0
        while self._ticks < due:
            self._ticks += 1
            when = self.started + self._ticks * self.every
            for _ in range(self._ticks_rng.randint(1, self.burst)):
                self._append(when)

    def release(self, count: int) -> None:
        """Release `count` records now, whatever the clock says (tests, and a quiet demo)."""
        for _ in range(count):
            self._append(self.clock())
        self.extra += count

    def _append(self, when: float) -> None:
        if self._next_sample < len(self._samples):
            record = copy.deepcopy(self._samples[self._next_sample])
            self._next_sample += 1
        else:
            self._synthesised += 1
            broken = self._synthesised % SYNTH_BROKEN_EVERY == 0
            template = self._synth_rng.choice(self._templates)
            new_key = self._last_key + self._synth_rng.randrange(1 << 16, 1 << 22)
            record = self.synthesise(copy.deepcopy(template), new_key, self._synth_rng, broken)
        if isinstance(record, dict):
            self.stamp(record, when)
        key = self.key_of(record)
        if key is not None:
            self._last_key = max(self._last_key, key)
        self.items.append(Item(key, record))

    def after(self, since: int | None) -> list[Item]:
        """Released records from the first one whose key is above `since`, in arrival order
        (how a since_id API behaves: a late copy of an old record is not sent again)."""
        self.sync()
        if since is None:
            return list(self.items)
        for index, item in enumerate(self.items):
            if item.key is not None and item.key > since:
                return self.items[index:]
        return []

    @property
    def released(self) -> int:
        self.sync()
        return len(self.items)


def _random_segments(rng: random.Random) -> dict[str, str]:
    return {name: rng.choice(values) for name, values in SEGMENTS.items()}


@dataclass
class SocialFeed(Feed):
    """Mastodon-style statuses of the #aquasilk timeline, from sample_data/social/posts.jsonl."""

    path: Path = SAMPLE_DATA / "social" / "posts.jsonl"

    def load_samples(self) -> list[Any]:
        out: list[Any] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append(line)  # served as a string: a malformed record
        return out

    def key_of(self, record: Any) -> int | None:
        if isinstance(record, dict) and str(record.get("id", "")).isdigit():
            return int(record["id"])
        return None

    def stamp(self, record: Any, when: float) -> None:
        if is_iso_time(record.get("created_at")):
            record["created_at"] = iso_ms(when)

    def usable_template(self, record: Any) -> bool:
        return (
            isinstance(record, dict)
            and self.key_of(record) is not None
            and len(str(record.get("content", ""))) > 40
            and is_iso_time(record.get("created_at"))
        )

    def synthesise(
        self, template: dict[str, Any], key: int, rng: random.Random, broken: bool
    ) -> dict[str, Any]:
        record = template
        record["id"] = str(key)
        acct = record.get("account", {}).get("acct", "someone")
        record["url"] = f"https://social.example/@{acct}/{key}"
        segments = _random_segments(rng)
        record["account"] = {
            "acct": acct,
            "location": segments["region"],
            "age_group": segments["age_group"],
            "hair_type": segments["hair_type"],
        }
        if broken:
            if rng.random() < 0.5:
                record["content"] = ""
            else:
                record["created_at"] = "not-a-date"
        return record


@dataclass
class ReviewFeed(Feed):
    """Shop reviews of AquaSilk, from sample_data/shop/reviews.csv, as a JSON API serves them."""

    path: Path = SAMPLE_DATA / "shop" / "reviews.csv"
    every: float = 8.0
    burst: int = 1
    backlog: int = 25

    def load_samples(self) -> list[Any]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [self._shape(row) for row in rows]

    @staticmethod
    def _shape(row: dict[str, str]) -> dict[str, Any]:
        rating: Any = row["rating"]
        if rating.isdigit():
            rating = int(rating)
        return {
            "review_id": row["review_id"],
            "rating": rating,
            "title": row["title"],
            "body": row["body"],
            "date": row["date"],
            "verified": row["verified"] == "true",
            "reviewer": {
                "name": row["author"],
                "age_range": row["age_range"],
                "region": row["region"],
                "hair_type": row["hair_type"],
            },
        }

    def key_of(self, record: Any) -> int | None:
        digits = str(record.get("review_id", ""))[1:] if isinstance(record, dict) else ""
        return int(digits) if digits.isdigit() else None

    def stamp(self, record: Any, when: float) -> None:
        if is_iso_time(record.get("date")):
            record["date"] = iso_ms(when)[:19] + "Z"

    def usable_template(self, record: Any) -> bool:
        return (
            isinstance(record, dict)
            and isinstance(record.get("rating"), int)
            and len(record.get("body", "")) > 20
        )

    def synthesise(
        self, template: dict[str, Any], key: int, rng: random.Random, broken: bool
    ) -> dict[str, Any]:
        # Review ids stay short and ordered as text ("R10151"): one step per review.
        number = max(self._last_key, 10000) + 1
        record = template
        record["review_id"] = f"R{number}"
        segments = _random_segments(rng)
        record["reviewer"] = {
            "name": record["reviewer"]["name"],
            "age_range": segments["age_group"],
            "region": segments["region"],
            "hair_type": segments["hair_type"],
        }
        if broken:
            record["rating"] = "five-ish" if rng.random() < 0.5 else -3
        return record
