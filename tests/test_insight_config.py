"""Pipeline keys for insight and privacy: competitor tables, aspects, scorer, retention."""

from __future__ import annotations

import pytest

from sentitui.config import ConfigError

BASE = """
[pipeline]
name = "p"
{keys}

[[source]]
name = "s"
kind = "file"
path = "*.jsonl"
[source.fields]
id = "id"
text = "text"
"""


def test_competitor_tables_aspects_scorer_and_retention(write_pipeline) -> None:
    pipeline = write_pipeline(
        BASE.format(
            keys="""
competitors = ["HairGlow", { name = "SilkPro", aliases = ["Silk Pro", "#silkpro"] }]
aspects = { scent = ["smell", "fragrance"], "hair feel" = ["soft", "silky"] }
scorer = "textblob"
retention_days = 90
"""
        )
    )
    assert pipeline.competitors == ["HairGlow", "SilkPro"]
    assert pipeline.competitor_aliases == {"SilkPro": ["Silk Pro", "#silkpro"]}
    assert pipeline.aspects == {"scent": ["smell", "fragrance"], "hair feel": ["soft", "silky"]}
    assert (pipeline.scorer, pipeline.retention_days, pipeline.failed_retention_days) == (
        "textblob",
        90,
        14,
    )
    assert (pipeline.keep_authors, pipeline.redact_pii) == (False, True)


def test_defaults(write_pipeline) -> None:
    pipeline = write_pipeline(BASE.format(keys=""))
    assert (pipeline.scorer, pipeline.aspects, pipeline.retention_days) == ("sentitui", {}, None)


def test_problems_name_the_key(write_pipeline) -> None:
    with pytest.raises(ConfigError) as info:
        write_pipeline(
            BASE.format(
                keys="""
competitors = [{ aliases = ["x"] }, { name = "A", alias = ["b"] }, 3]
aspects = { price = [] }
scorer = "nope"
failed_retention_days = 0
"""
            )
        )
    text = "\n".join(info.value.problems)
    assert "competitors #1: 'name' must be a non-empty string" in text
    assert "competitors #2: unknown key(s) alias (known: name, aliases)" in text
    assert "competitors #3 must be a name or a table" in text
    assert "aspects.price must be a non-empty list of keywords" in text
    assert (
        "key 'scorer': unknown scorer 'nope' (known: sentitui, textblob, vader, textblob-fr)"
        in text
    )
    assert "key 'failed_retention_days' must be at least 1 day, not 0" in text
