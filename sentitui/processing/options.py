"""Validation of the pipeline keys that processing reads: competitors, aspects, scorer,
retention. Kept here so config.py only calls these; each problem names file and key.

    competitors = ["SilkPro", { name = "HairGlow", aliases = ["Hair Glow", "#hairglow"] }]
    aspects = { scent = ["smell", "fragrance"], price = ["price", "expensive"] }
    scorer = "sentitui"          # | "textblob" | "vader"
    retention_days = 365         # posts older than this go at `sentitui purge`
    failed_retention_days = 14   # failed records (with raw payloads) older than this go too
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_insight_options", "parse_aspects", "parse_competitors"]


def parse_competitors(
    value: list[Any], where: str, problems: list[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """(names in config order, {name: aliases}); plain strings and tables both work."""
    names: list[str] = []
    aliases: dict[str, list[str]] = {}
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            name, extra = item, []
        elif isinstance(item, dict):
            unknown = set(item) - {"name", "aliases"}
            if unknown:
                problems.append(
                    f"{where}: competitors #{index}: unknown key(s) "
                    f"{', '.join(sorted(unknown))} (known: name, aliases)"
                )
            name, extra = item.get("name", ""), item.get("aliases", [])
            if not isinstance(name, str) or not name.strip():
                problems.append(f"{where}: competitors #{index}: 'name' must be a non-empty string")
                continue
            if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
                problems.append(
                    f"{where}: competitors {name!r}: 'aliases' must be a list of strings"
                )
                continue
        else:
            problems.append(
                f"{where}: competitors #{index} must be a name or a table "
                f"{{ name = ..., aliases = [...] }}, not {item!r}"
            )
            continue
        name = name.strip()
        if name not in names:
            names.append(name)
        if extra:
            aliases.setdefault(name, []).extend(a for a in extra if a.strip())
    return names, aliases


def parse_aspects(value: dict[str, Any], where: str, problems: list[str]) -> dict[str, list[str]]:
    aspects: dict[str, list[str]] = {}
    for name, keywords in value.items():
        if (
            not isinstance(keywords, list)
            or not keywords
            or not all(isinstance(k, str) and k.strip() for k in keywords)
        ):
            problems.append(f"{where}: aspects.{name} must be a non-empty list of keywords")
            continue
        aspects[name] = list(keywords)
    return aspects


def check_insight_options(pipe: dict[str, Any], where: str, problems: list[str]) -> None:
    """Scorers this install has, languages as ISO 639-1 codes. Types, `label_from`'s
    values and the retention minimums are declared with the keys (config PIPELINE_OPTIONS)."""
    from sentitui.processing.scorers import scorer_problem

    scorer = pipe.get("scorer")
    if isinstance(scorer, str) and (problem := scorer_problem(scorer)):
        problems.append(f"{where}: key 'scorer': {problem}")
    for lang, name in (pipe.get("scorer_by_language") or {}).items():
        key = f"scorer_by_language.{lang}"
        if len(lang) != 2 or not lang.isalpha() or lang != lang.lower():
            problems.append(f"{where}: key {key!r}: languages are ISO 639-1 codes like 'fr'")
        elif problem := scorer_problem(name):
            problems.append(f"{where}: key {key!r}: {problem}")
