"""Pipeline TOML files -> dataclasses.

Every error names the file, the source and the key, so `sentitui validate` can
say exactly what to fix. Secrets come only from the environment (`${VAR}`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from sentitui.config.alerts import AlertRule, alert_label, parse_alerts
from sentitui.config.kinds import (
    Option,
    SourceKind,
    is_instance,
    out_of_bounds,
    shape_problems,
    source_kind,
    type_name,
)
from sentitui.config.locate import places
from sentitui.config.schedule import ScheduleError, parse_schedule
from sentitui.processing.options import check_insight_options, parse_aspects, parse_competitors
from sentitui.processing.redact import register_secret


class ConfigError(Exception):
    """One or more problems in the pipeline files; `problems` lists them all, each
    naming file, table and key, and `places` the `file:line` of each ("" if unknown)."""

    def __init__(self, problems: list[str], places: list[str] | None = None) -> None:
        self.problems = problems
        self.places = places if places is not None else [""] * len(problems)
        super().__init__("\n".join(problems))

    @property
    def located(self) -> list[str]:
        """Each problem as `file:line: table: key: …`, as compilers print: for log
        lines, where one line says it all."""
        located = []
        for problem, place in zip(self.problems, self.places, strict=True):
            path = place.rpartition(":")[0]
            if place and problem.startswith(path):
                problem = f"{place}: {problem[len(path) :].lstrip(': ')}"
            located.append(problem)
        return located


@dataclass(slots=True)
class SourceConfig:
    name: str
    kind: str
    options: dict[str, Any]
    max_pages: int | None = None
    enabled: bool = True
    schedule: str | None = None
    retries: int = 4
    timeout: float = 30.0
    backoff: float = 1.0
    missing_env: list[str] = field(default_factory=list)  # unset ${VARS} of a disabled source
    # Option values as written, before ${VAR} expansion: errors can name the variable.
    raw_options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def env_names(self, key: str) -> list[str]:
        """The environment variables an option was read from (`token = "${X_TOKEN}"`)."""
        return _ENV_PATTERN.findall(repr(self.raw_options.get(key, "")))


@dataclass(slots=True)
class PipelineConfig:
    name: str
    path: Path
    sources: list[SourceConfig] = field(default_factory=list)
    schedule: str | None = None
    competitors: list[str] = field(default_factory=list)
    positive_threshold: float = 0.05
    negative_threshold: float = -0.05
    keep_authors: bool = False
    # Insight and privacy (processing/): competitor name -> aliases/hashtags, aspect ->
    # keywords, scorer name, and how long posts / failed records are kept.
    competitor_aliases: dict[str, list[str]] = field(default_factory=dict)
    aspects: dict[str, list[str]] = field(default_factory=dict)
    scorer: str = "sentitui"
    # language (ISO 639-1) -> scorer for posts in it, e.g. {"fr": "textblob-fr"}
    scorer_by_language: dict[str, str] = field(default_factory=dict)
    label_from: str = "text"  # "text" | "rating": what decides a rated post's label
    redact_pii: bool = True
    retention_days: int | None = None
    failed_retention_days: int = 14
    # [[alert]] rules (config/alerts.py); not compared, so editing one restarts no source.
    alerts: list[AlertRule] = field(default_factory=list, compare=False)

    @property
    def base_dir(self) -> Path:
        """The pipeline file's folder, absolute: paths in the file never depend on the
        working directory, and a file watcher's absolute paths compare with them."""
        return Path(os.path.abspath(self.path)).parent

    def resolve_path(self, value: str) -> Path:
        """A path written in the pipeline file (a glob too), relative to the file's folder."""
        path = Path(value).expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else self.base_dir / path))

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"pipeline {self.name!r} has no source {name!r}")


# Keys every [[source]] table may carry, whatever its kind.
COMMON_SOURCE_OPTIONS: dict[str, Option] = {
    "name": Option((str,), required=True),
    "kind": Option((str,), required=True),
    "max_pages": Option(
        (int,), doc="read a listing to at most this many pages (across resumed runs)", minimum=1
    ),
    "enabled": Option((bool,), default=True),
    "schedule": Option((str,), doc='interval ("5m") or cron; overrides the pipeline\'s'),
    "retries": Option((int,), default=4, doc="retries of a failing request", minimum=0),
    "timeout": Option((int, float), default=30.0, doc="seconds per request", minimum=0.1),
    "backoff": Option(
        (int, float), default=1.0, doc="first retry delay in seconds; doubles each retry", minimum=0
    ),
}


class Thresholds(TypedDict, total=False):
    """`thresholds = { positive = 0.05, negative = -0.05 }`: polarity cut-offs."""

    positive: float
    negative: float


PIPELINE_OPTIONS: dict[str, Option] = {
    "name": Option((str,), required=True),
    "schedule": Option((str,)),
    "competitors": Option(
        (list,),
        default=[],
        doc='names, or { name = "HairGlow", aliases = ["Hair Glow", "#hairglow"] }',
    ),
    "thresholds": Option(
        (dict,), default={}, doc="{ positive = 0.05, negative = -0.05 }", shape=Thresholds
    ),
    "keep_authors": Option((bool,), default=False),
    "redact_pii": Option((bool,), default=True, doc="replace e-mails and phone numbers in text"),
    "aspects": Option(
        (dict,),
        default={},
        doc='{ price = ["price", "expensive"], ... }',
        shape=dict[str, list[str]],
    ),
    "scorer": Option((str,), default="sentitui", doc="sentitui | textblob | vader"),
    "scorer_by_language": Option(
        (dict,),
        default={},
        doc='language -> scorer, e.g. { fr = "textblob-fr" }',
        shape=dict[str, str],
    ),
    "label_from": Option(
        (str,),
        default="text",
        doc="what labels a post that has a rating",
        shape=Literal["text", "rating"],
    ),
    "retention_days": Option(
        (int,), doc="delete posts older than this (sentitui purge)", minimum=1, unit="day"
    ),
    "failed_retention_days": Option(
        (int,), default=14, doc="delete failed records older than this", minimum=1, unit="day"
    ),
}

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: Any, where: str, missing: list[tuple[str, str]], env: dict[str, str]) -> Any:
    """Replace ${VAR} from the environment; note (where, VAR) for each one not set."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in env:
                missing.append((where, var))
                return ""
            register_secret(env[var])  # never recorded or printed (processing/redact.py)
            return env[var]

        return _ENV_PATTERN.sub(replace, value)
    if isinstance(value, list):
        return [_expand_env(v, where, missing, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}", missing, env) for k, v in value.items()}
    return value


def _validate_table(
    table: dict[str, Any], options: dict[str, Option], where: str, problems: list[str]
) -> dict[str, Any]:
    """Check keys and types of one table; return it with defaults filled in."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        option = options.get(key)
        if option is None:
            known = ", ".join(sorted(options))
            problems.append(f"{where}: unknown key {key!r} (known keys: {known})")
            continue
        if not is_instance(value, option.types):
            problems.append(
                f"{where}: key {key!r} must be {type_name(option.types)}, "
                f"not {type(value).__name__} {value!r}"
            )
            continue
        inside = shape_problems(value, option.shape, key) if option.shape is not None else []
        problems.extend(f"{where}: {problem}" for problem in inside)
        if inside:
            continue
        if (bound := out_of_bounds(option, value)) is not None:
            problems.append(f"{where}: key {key!r} {bound}")
            continue
        if key == "name" and isinstance(value, str) and not value.strip():
            problems.append(f"{where}: key 'name' must not be empty")
            continue
        out[key] = value
    for key, option in options.items():
        if key in out:
            continue
        if option.required:
            if key not in table:  # present but invalid: reported above
                problems.append(f"{where}: missing required key {key!r}")
        elif option.default is not None:
            out[key] = option.default
    return out


def load_pipeline_file(path: Path, env: dict[str, str] | None = None) -> PipelineConfig:
    """Parse and validate one pipeline file; raise ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        problem = (
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line "
            f"{line}); TOML files must be saved as UTF-8"
        )
        raise ConfigError([problem], [f"{path}:{line}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    problems: list[str] = []
    pipeline = _load(path, text, problems, dict(os.environ) if env is None else env)
    if problems or pipeline is None:
        raise ConfigError(problems, places(problems, path, text))
    return pipeline


def _load(path: Path, text: str, problems: list[str], env: dict[str, str]) -> PipelineConfig | None:
    """The pipeline in `text`, with every problem appended; None when it has no
    [pipeline] to build from."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: invalid TOML: {exc}")
        return None

    for key in data:
        if key not in ("pipeline", "source", "alert"):
            problems.append(
                f"{path}: unknown top-level table {key!r}"
                " (expected [pipeline], [[source]] and [[alert]])"
            )
    pipeline_table = data.get("pipeline")
    if not isinstance(pipeline_table, dict):
        problems.append(f"{path}: missing [pipeline] table")
        return None
    pipe = _validate_table(pipeline_table, PIPELINE_OPTIONS, f"{path} [pipeline]", problems)
    thresholds = pipe.get("thresholds", {})
    competitor_names, competitor_aliases = parse_competitors(
        pipe.get("competitors", []), f"{path} [pipeline]", problems
    )
    check_insight_options(pipe, f"{path} [pipeline]", problems)
    pipeline = PipelineConfig(
        name=pipe.get("name", path.stem),
        path=path,
        schedule=pipe.get("schedule"),
        competitors=competitor_names,
        competitor_aliases=competitor_aliases,
        aspects=parse_aspects(pipe.get("aspects", {}), f"{path} [pipeline]", problems),
        scorer=pipe.get("scorer", "sentitui"),
        scorer_by_language=dict(pipe.get("scorer_by_language", {})),
        label_from=pipe.get("label_from", "text"),
        redact_pii=pipe.get("redact_pii", True),
        retention_days=pipe.get("retention_days"),
        failed_retention_days=pipe.get("failed_retention_days", 14),
        positive_threshold=float(thresholds.get("positive", 0.05)),
        negative_threshold=float(thresholds.get("negative", -0.05)),
        keep_authors=pipe.get("keep_authors", False),
    )

    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        problems.append(f"{path}: 'source' must be an array of tables ([[source]])")
        raw_sources = []
    seen: set[str] = set()
    for index, table in enumerate(raw_sources, start=1):
        if not isinstance(table, dict):
            problems.append(
                f"{path}: source #{index} must be a table ([[source]] with keys), "
                f"not {type(table).__name__} {table!r}"
            )
            continue
        label = table.get("name") if isinstance(table.get("name"), str) else f"#{index}"
        where = f"{path} source {label!r}"
        kind = table.get("kind")
        try:
            cls: type[SourceKind] | None = source_kind(kind) if isinstance(kind, str) else None
        except KeyError as exc:
            problems.append(f"{where}: key 'kind': {exc.args[0]}")
            continue
        options = dict(COMMON_SOURCE_OPTIONS)
        if cls is not None:
            options.update(cls.OPTIONS)
        before = len(problems)
        values = _validate_table(table, options, where, problems)
        raw_values = values
        missing: list[tuple[str, str]] = []
        values = _expand_env(values, where, missing, env)
        # A disabled source may name secrets nobody has set yet (launch.toml ships that
        # way); it is an error only once the source is enabled or pulled by hand.
        if values.get("enabled", True):
            problems.extend(f"{w}: environment variable {var} is not set" for w, var in missing)
        if len(problems) > before or cls is None:
            continue
        name = values["name"]
        if name in seen:
            problems.append(
                f"{where}: key 'name': duplicate source name {name!r} in pipeline {pipeline.name!r}"
            )
            continue
        seen.add(name)
        specific = {k: v for k, v in values.items() if k not in COMMON_SOURCE_OPTIONS}
        source = SourceConfig(
            name=name,
            kind=values["kind"],
            options=specific,
            raw_options={k: v for k, v in raw_values.items() if k in specific},
            max_pages=values.get("max_pages"),
            enabled=values.get("enabled", True),
            schedule=values.get("schedule"),
            retries=values.get("retries", 4),
            timeout=float(values.get("timeout", 30.0)),
            backoff=float(values.get("backoff", 1.0)),
            missing_env=sorted({var for _, var in missing}),
        )
        if not source.missing_env:
            problems.extend(f"{where}: {msg}" for msg in cls.check_config(source))
        pipeline.sources.append(source)

    for where, schedule in [(f"{path} [pipeline]", pipeline.schedule)] + [
        (f"{path} source {s.name!r}", s.schedule) for s in pipeline.sources
    ]:
        if schedule:
            try:
                parse_schedule(schedule)
            except ScheduleError as exc:
                problems.append(f"{where}: key 'schedule': {exc}")

    alert_missing: list[tuple[str, str]] = []
    alert_tables = data.get("alert")
    if isinstance(alert_tables, list):
        alert_tables = [
            _expand_env(t, f"{path} alert {alert_label(t, i)!r}", alert_missing, env)
            for i, t in enumerate(alert_tables, start=1)
        ]
    problems.extend(f"{w}: environment variable {var} is not set" for w, var in alert_missing)
    pipeline.alerts = parse_alerts(
        alert_tables,
        path,
        pipeline.name,
        pipeline.competitors,
        [s.name for s in pipeline.sources],
        problems,
    )

    return pipeline


def load_pipelines(directory: Path, env: dict[str, str] | None = None) -> list[PipelineConfig]:
    """Load every `*.toml` in the folder; collect problems from all files before failing."""
    if not directory.is_dir():
        raise ConfigError(
            [
                f"{directory}: pipelines folder does not exist "
                f"(pass --pipelines DIR or set SENTITUI_PIPELINES)"
            ]
        )
    pipelines: list[PipelineConfig] = []
    problems: list[str] = []
    located: list[str] = []
    names: dict[str, Path] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            pipeline = load_pipeline_file(path, env)
        except ConfigError as exc:
            problems.extend(exc.problems)
            located.extend(exc.places)
            continue
        if pipeline.name in names:
            duplicate = (
                f"{path} [pipeline]: key 'name': duplicate pipeline name {pipeline.name!r} "
                f"(also in {names[pipeline.name]})"
            )
            problems.append(duplicate)
            located.extend(places([duplicate], path))
            continue
        names[pipeline.name] = path
        pipelines.append(pipeline)
    if problems:
        raise ConfigError(problems, located)
    return pipelines
