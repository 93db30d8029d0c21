"""How good is a scorer? Labelled text in, accuracy, macro-F1 and a confusion matrix out.

`load_labelled(path)` reads the files `sentitui evaluate` accepts: CSV (or TSV) or
JSONL with a `text` and a `label` column. Labels are `positive`/`negative`/`neutral`,
also `pos`/`neg`/`neu`, or numbers: `1`/`0` (binary sets such as UCI's) and `-1`.

Macro-F1 averages the per-class F1 over the classes present in the gold labels, so
a binary file is not charged for a "neutral" class it has no examples of; a post
the scorer calls neutral is still an error there (it lowers positive/negative recall).

`load_tweets` and `load_uci` read the two real labelled sets in
`../shared/fixtures/real/labeled/` in their own formats, and `split` makes the fixed
tuning/held-out split the README's figures come from.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS = ("positive", "negative", "neutral")

_LABEL_ALIASES = {
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
    "+1": "positive",
    "negative": "negative",
    "neg": "negative",
    "0": "negative",
    "-1": "negative",
    "neutral": "neutral",
    "neu": "neutral",
}


class LabelledDataError(ValueError):
    """A labelled file that cannot be read; the message names the file and the line."""


@dataclass(slots=True)
class Example:
    text: str
    label: str


@dataclass(slots=True)
class Evaluation:
    scorer: str
    n: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    # confusion[gold][predicted] = count
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    per_class_f1: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The `--json` object: exactly n, accuracy, macro_f1, scorer."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "scorer": self.scorer,
        }


def normalise_label(value: Any) -> str:
    text = str(value).strip().lower()
    if text.endswith(".0"):  # "1.0" from a spreadsheet
        text = text[:-2]
    try:
        return _LABEL_ALIASES[text]
    except KeyError:
        raise ValueError(f"label {value!r} is not positive, negative, neutral, 1 or 0") from None


def _from_rows(rows: list[tuple[int, dict[str, Any]]], path: Path) -> list[Example]:
    examples = []
    for line, row in rows:
        if "text" not in row or "label" not in row:
            raise LabelledDataError(
                f"{path}:{line}: needs the columns 'text' and 'label' "
                f"(found: {', '.join(map(str, row)) or 'none'})"
            )
        try:
            label = normalise_label(row["label"])
        except ValueError as exc:
            raise LabelledDataError(f"{path}:{line}: {exc}") from None
        examples.append(Example(str(row["text"] or ""), label))
    return examples


def load_labelled(path: str | Path) -> list[Example]:
    """Examples from a CSV/TSV (header row) or JSONL file with `text` and `label`."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelledDataError(f"{path}: cannot read: {exc.strerror}") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise LabelledDataError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise LabelledDataError(f"{path}:{number}: expected an object with text and label")
            rows.append((number, record))
    else:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
        rows = [(number, row) for number, row in enumerate(reader, start=2)]
    if not rows:
        raise LabelledDataError(f"{path}: no labelled rows")
    return _from_rows(rows, path)


def evaluate(gold: Sequence[str], predicted: Sequence[str], scorer: str = "") -> Evaluation:
    """Accuracy, macro-F1 (over the gold classes) and the confusion matrix."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    present = set(gold)
    labels = [label for label in LABELS if label in present]
    confusion = {g: dict.fromkeys(LABELS, 0) for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class = {}
    for label in labels:
        tp = confusion[label][label]
        predicted_as = sum(row[label] for row in confusion.values())
        actual = sum(confusion[label].values())
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / actual if actual else 0.0
        per_class[label] = (
            2 * precision * recall / (precision + recall) if precision + recall else 0.0
        )
    n = len(gold)
    correct = sum(confusion[label][label] for label in labels)
    return Evaluation(
        scorer=scorer,
        n=n,
        accuracy=round(correct / n, 4) if n else 0.0,
        macro_f1=round(sum(per_class.values()) / len(per_class), 4) if per_class else 0.0,
        labels=labels,
        confusion=confusion,
        per_class_f1={k: round(v, 4) for k, v in per_class.items()},
    )


def evaluate_scorer(examples: Sequence[Example], scorer: str) -> Evaluation:
    """Score the examples with a named scorer (in this process) and evaluate the labels."""
    from sentitui.processing.score import label_for, score_batch

    polarities = [p for p, _ in score_batch([e.text for e in examples], scorer)]
    return evaluate([e.label for e in examples], [label_for(p) for p in polarities], scorer)


# ---- the real labelled sets ---------------------------------------------------------------

TWEET_NEUTRAL_BAND = 0.5


def load_tweets(path: str | Path) -> list[Example]:
    """VADER's tweets_GroundTruth.txt: id, mean rating of ~20 people (-4..+4), text.

    A mean above +0.5 is positive, below -0.5 negative, anything between neutral:
    raters who on average land within half a point of 0 did not hear a clear tone.
    """
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if not line:
                continue
            _, rating, text = line.split("\t", 2)
            value = float(rating)
            label = (
                "positive"
                if value > TWEET_NEUTRAL_BAND
                else "negative"
                if value < -TWEET_NEUTRAL_BAND
                else "neutral"
            )
            examples.append(Example(text, label))
    return examples


def load_uci(path: str | Path) -> list[Example]:
    """UCI Sentiment Labelled Sentences (sentence TAB 0/1, with a header line)."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            text, _, label = line.rstrip("\n").rpartition("\t")
            if number == 0 and not label.strip().isdigit():
                continue
            examples.append(Example(text, normalise_label(label)))
    return examples


def split(
    examples: Sequence[Example], held_out: float = 0.3, seed: int = 20261120
) -> tuple[list[Example], list[Example]]:
    """(tuning, held_out): a fixed shuffle, so every run sees the same split."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    cut = round(len(order) * (1 - held_out))
    return order[:cut], order[cut:]
