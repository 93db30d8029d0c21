"""`sentitui evaluate` on small labelled files (figures worked out by hand), the metric
itself, and the default scorer against TextBlob and VADER on the real labelled data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_FIXTURES

from sentitui.evaluate import evaluate, evaluate_scorer, load_labelled, load_tweets, load_uci, split
from sentitui.processing.scorers import scorer_problem
from sentitui.processing.sentiment import MODEL

# TextBlob gets 7 of 9: "sooo goood 😍" and "I won't be back" score 0.0 (neutral).
#   positive: P 2/2, R 2/3 -> F1 0.8; negative: P 3/3, R 3/4 -> F1 0.857143;
#   neutral: P 2/4, R 2/2 -> F1 0.666667; macro-F1 = 0.774603, accuracy 7/9.
CSV = """text,label
I love it,positive
great product,positive
sooo goood 😍,positive
This is terrible,negative
bad smell,negative
not good at all,negative
"I won't be back",negative
It is a bottle,neutral
arrived on Tuesday,neutral
"""


def sentitui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentitui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_evaluate_json_figures_on_a_small_file(tmp_path: Path) -> None:
    (tmp_path / "small.csv").write_text(CSV, encoding="utf-8")
    result = sentitui("evaluate", "small.csv", "--scorer", "textblob", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "n": 9,
        "accuracy": 0.7778,
        "macro_f1": 0.7746,
        "scorer": "textblob",
    }
    default = json.loads(sentitui("evaluate", "small.csv", "--json", cwd=tmp_path).stdout)
    assert default == {"n": 9, "accuracy": 1.0, "macro_f1": 1.0, "scorer": "sentitui"}


def test_evaluate_prints_the_confusion_matrix(tmp_path: Path) -> None:
    (tmp_path / "small.csv").write_text(CSV, encoding="utf-8")
    result = sentitui("evaluate", "small.csv", "--scorer", "textblob", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "accuracy 0.778" in result.stdout and "macro-F1 0.775" in result.stdout
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:6]]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    }
    assert rows["positive"] == ["2", "0", "1", "0.800"]
    assert rows["negative"] == ["0", "3", "1", "0.857"]
    assert rows["neutral"] == ["0", "0", "2", "0.667"]


def test_evaluate_jsonl_with_binary_labels(tmp_path: Path) -> None:
    lines = [
        {"text": "I love it", "label": 1},
        {"text": "This is terrible", "label": 0},
        {"text": "It is a bottle", "label": "1"},
    ]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = sentitui("evaluate", "b.jsonl", "--scorer", "textblob", "--json", cwd=tmp_path)
    # Binary gold: macro-F1 over positive and negative only; the neutral guess is a miss.
    # positive: P 1/1, R 1/2 -> 0.6667; negative: 1.0.
    assert json.loads(result.stdout) == {
        "n": 3,
        "accuracy": 0.6667,
        "macro_f1": 0.8333,
        "scorer": "textblob",
    }


def test_evaluate_rejects_bad_input(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("text,label\nhello,maybe\n")
    result = sentitui("evaluate", "bad.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.csv:2: label 'maybe'" in result.stderr
    (tmp_path / "cols.csv").write_text("body,score\nhello,1\n")
    assert (
        "needs the columns 'text' and 'label'"
        in sentitui("evaluate", "cols.csv", cwd=tmp_path).stderr
    )
    result = sentitui("evaluate", "cols.csv", "--scorer", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "unknown scorer 'nope'" in result.stderr


def test_macro_f1_counts_a_class_never_predicted_as_zero() -> None:
    result = evaluate(["positive", "negative"], ["positive", "positive"])
    assert result.accuracy == 0.5
    assert result.per_class_f1 == {"positive": 0.6667, "negative": 0.0}
    assert result.macro_f1 == 0.3333


LABELLED = SHARED_FIXTURES / "labeled"


@pytest.mark.skipif(not LABELLED.is_dir(), reason="needs ../shared/fixtures/real/labeled")
def test_default_scorer_beats_textblob_and_vader_on_held_out_reviews_and_tweets() -> None:
    """The README's held-out figures: the tuned default against TextBlob as shipped and,
    where the optional extra is installed, VADER."""
    tweets = split(load_tweets(LABELLED / "vader" / "tweets_GroundTruth.txt"))[1]
    yelp = split(load_uci(LABELLED / "uci_sentiment_labelled_sentences" / "yelp_labelled.txt"))[1]
    for held_out, figure in ((tweets, 0.6941), (yelp, 0.8334)):
        ours = evaluate_scorer(held_out, "sentitui")
        assert ours.macro_f1 == figure
        assert ours.macro_f1 > evaluate_scorer(held_out, "textblob").macro_f1 + 0.05
        if scorer_problem("vader") is None:
            assert ours.macro_f1 > evaluate_scorer(held_out, "vader").macro_f1


@pytest.mark.skipif(not LABELLED.is_dir(), reason="needs ../shared/fixtures/real/labeled")
def test_shipped_model_is_the_fit_on_the_tuning_split() -> None:
    """MODEL in processing/sentiment.py is what scripts/tune_scorer.py --fit gives on the
    tuning part alone, so the held-out figures are honest."""
    spec = importlib.util.spec_from_file_location(
        "tune_scorer", Path(__file__).resolve().parents[1] / "scripts" / "tune_scorer.py"
    )
    assert spec is not None and spec.loader is not None
    tune_scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune_scorer)
    sets = tune_scorer.datasets(LABELLED)
    assert tune_scorer.fit_model({name: tune for name, (tune, _) in sets.items()}) == MODEL


def test_load_labelled_reads_csv_header_variants(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\ufefflabel,text\nneg,awful\nPOSITIVE,nice\n", encoding="utf-8")
    assert [(e.text, e.label) for e in load_labelled(path)] == [
        ("awful", "negative"),
        ("nice", "positive"),
    ]
