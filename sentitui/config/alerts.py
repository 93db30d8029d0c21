"""`[[alert]]` tables of a pipeline file -> AlertRule dataclasses.

```toml
[[alert]]
name = "negative-surge"
kind = "negative_share"      # negative_share | volume_spike | share_of_voice | source_failing
window = "1h"                # posts created in the last hour
above = 40                   # percent of the posts that are negative
min_posts = 20               # fewer posts than this never fire
notify = ["webhook", "bell", "desktop"]
webhook = "${ALERT_WEBHOOK_URL}"   # secrets only from the environment
```
`volume_spike` takes `factor` (posts in `window` at least factor × the average of the
same clock hours over the previous `baseline_days`); `share_of_voice` takes
`competitor` (one of the pipeline's) and `above` (percent of the window's posts that
name it); `source_failing` takes `source` and `for` ("15m": every run since then failed).
Every problem names the file, the rule and the key, like the rest of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from sentitui.config.kinds import Option, is_instance, out_of_bounds
from sentitui.config.schedule import ScheduleError, parse_interval

AlertKind = Literal["negative_share", "volume_spike", "share_of_voice", "source_failing"]
Channel = Literal["webhook", "bell", "desktop"]
KINDS: tuple[AlertKind, ...] = get_args(AlertKind)
CHANNELS: tuple[Channel, ...] = get_args(Channel)

_SCOPED: tuple[AlertKind, ...] = ("negative_share", "volume_spike", "share_of_voice")
_SHARES: tuple[AlertKind, ...] = ("negative_share", "share_of_voice")
# key -> (its Option, the kinds that accept it; empty = every kind)
_KEYS: dict[str, tuple[Option, tuple[AlertKind, ...]]] = {
    "name": (Option((str,), required=True), ()),
    "kind": (Option((str,), required=True, shape=AlertKind), ()),
    "window": (Option((str,), doc='posts created in this span, e.g. "1h"'), _SCOPED),
    "above": (Option((int, float), minimum=0, maximum=100, unit="percent"), _SHARES),
    "min_posts": (Option((int,), doc="fewer posts never fire", minimum=1), _SCOPED),
    "factor": (Option((int, float), doc="× the baseline average", minimum=1), ("volume_spike",)),
    "baseline_days": (Option((int,), minimum=1), ("volume_spike",)),
    "competitor": (Option((str,), doc="one of the pipeline's competitors"), ("share_of_voice",)),
    "source": (Option((str,), doc="one of the pipeline's sources"), ()),
    "for": (Option((str,), doc='failing for this long, e.g. "15m"'), ("source_failing",)),
    "notify": (Option((list,), shape=list[Channel]), ()),
    "webhook": (Option((str,), doc='"${ALERT_WEBHOOK_URL}"'), ()),
    "enabled": (Option((bool,)), ()),
}


def alert_options() -> dict[str, Option]:
    """The keys of an [[alert]] table, for `sentitui schema` (which keys each kind
    takes is checked by `parse_alerts`)."""
    return {
        key: replace(option, doc="; ".join(filter(None, [option.doc, _only(kinds)])))
        for key, (option, kinds) in _KEYS.items()
    }


def _only(kinds: tuple[AlertKind, ...]) -> str:
    return f"{', '.join(kinds)} only" if kinds else ""


@dataclass(frozen=True, slots=True)
class AlertRule:
    pipeline: str
    name: str
    kind: AlertKind
    window: float = 3600.0  # seconds
    above: float = 0.0  # a share, 0..1
    min_posts: int = 20
    factor: float = 3.0
    baseline_days: int = 7
    competitor: str | None = None
    source: str | None = None  # limit to one source (source_failing: the source watched)
    failing_for: float = 900.0  # seconds
    notify: tuple[Channel, ...] = ()
    webhook: str | None = field(default=None, repr=False)  # a secret: never printed
    enabled: bool = True

    def describe(self) -> str:
        """The condition in words, for lists and notifications."""
        hours = _span(self.window)
        scope = f" in {self.source}" if self.source and self.kind != "source_failing" else ""
        if self.kind == "negative_share":
            return (
                f"negative share over the last {hours}{scope} above {self.above:.0%} "
                f"(at least {self.min_posts} posts)"
            )
        if self.kind == "volume_spike":
            return (
                f"posts in the last {hours}{scope} at least {self.factor:g}× the same hours' "
                f"average over {self.baseline_days} days"
            )
        if self.kind == "share_of_voice":
            return (
                f"{self.competitor}'s share of voice over the last {hours} above {self.above:.0%}"
            )
        return f"source {self.source} failing for {_span(self.failing_for)}"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def alert_label(table: Any, index: int) -> str:
    """How errors name a rule: its name, else its position ("#2")."""
    name = table.get("name") if isinstance(table, dict) else None
    return name if isinstance(name, str) and name.strip() else f"#{index}"


def parse_alerts(
    tables: Any,
    path: Path,
    pipeline: str,
    competitors: list[str],
    sources: list[str],
    problems: list[str],
) -> list[AlertRule]:
    """Validate the `[[alert]]` array of one file; problems are appended, never raised.
    `tables` has had ${VARS} expanded already."""
    if tables is None:
        return []
    if not isinstance(tables, list):
        problems.append(f"{path}: 'alert' must be an array of tables ([[alert]])")
        return []
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        if not isinstance(table, dict):
            problems.append(f"{path}: alert #{index} must be a table ([[alert]] with keys)")
            continue
        label = alert_label(table, index)
        where = f"{path} alert {label!r}"
        before = len(problems)
        kind = table.get("kind")
        if kind not in KINDS:
            problems.append(f"{where}: key 'kind': must be one of {', '.join(KINDS)}, not {kind!r}")
            continue
        for key, value in table.items():
            if key not in _KEYS:
                known = ", ".join(
                    k for k, (_, kinds) in _KEYS.items() if not kinds or kind in kinds
                )
                problems.append(f"{where}: unknown key {key!r} (known keys: {known})")
                continue
            option, kinds = _KEYS[key]
            if kinds and kind not in kinds:
                problems.append(f"{where}: key {key!r} does not apply to kind {kind!r}")
            elif not is_instance(value, option.types):
                problems.append(f"{where}: key {key!r} has the wrong type ({value!r})")
        if "name" not in table or not str(table.get("name", "")).strip():
            problems.append(f"{where}: missing required key 'name'")
        elif label in seen:
            problems.append(f"{where}: key 'name': duplicate alert name {label!r}")
        if len(problems) > before:
            continue
        seen.add(label)
        values: dict[str, Any] = {}
        for key in ("window", "for"):
            if key in table:
                try:
                    values["window" if key == "window" else "failing_for"] = parse_interval(
                        table[key]
                    )
                except ScheduleError as exc:
                    problems.append(
                        f"{where}: key {key!r}: {str(exc).replace('schedule', 'duration')}"
                    )
        above = table.get("above")
        if kind in ("negative_share", "share_of_voice"):
            if above is None:
                problems.append(f"{where}: missing required key 'above' (a percent, 0-100)")
            else:
                values["above"] = float(above) / 100
        if kind == "share_of_voice":
            competitor = table.get("competitor")
            if competitor is None:
                problems.append(f"{where}: missing required key 'competitor'")
            elif competitor not in competitors:
                known = ", ".join(competitors) or "none: set [pipeline] competitors"
                problems.append(
                    f"{where}: key 'competitor': {competitor!r} is not one of the "
                    f"pipeline's competitors ({known})"
                )
        source = table.get("source")
        if kind == "source_failing" and source is None:
            problems.append(f"{where}: missing required key 'source'")
        elif source is not None and source not in sources:
            problems.append(
                f"{where}: key 'source': no source {source!r} in this pipeline "
                f"(known: {', '.join(sources) or 'none'})"
            )
        for key, (option, _) in _KEYS.items():
            if (bound := out_of_bounds(option, table.get(key))) is not None:
                problems.append(f"{where}: key {key!r} {bound}")
        notify = table.get("notify", [])
        for channel in notify:
            if channel not in CHANNELS:
                problems.append(
                    f"{where}: key 'notify': unknown channel {channel!r} "
                    f"(known: {', '.join(CHANNELS)})"
                )
        webhook = table.get("webhook")
        if "webhook" in notify and not webhook:
            problems.append(f"{where}: key 'webhook' is required when notify has 'webhook'")
        if webhook and not str(webhook).startswith(("http://", "https://")):
            problems.append(f"{where}: key 'webhook' must be an http(s) URL")
        if len(problems) > before:
            continue
        rules.append(
            AlertRule(
                pipeline=pipeline,
                name=label,
                kind=kind,
                min_posts=int(table.get("min_posts", 20 if kind != "volume_spike" else 10)),
                factor=float(table.get("factor", 3.0)),
                baseline_days=int(table.get("baseline_days", 7)),
                competitor=table.get("competitor"),
                source=source,
                notify=tuple(notify),
                webhook=webhook or None,
                enabled=bool(table.get("enabled", True)),
                **values,
            )
        )
    return rules
