"""Tune the default scorer's numbers on the real labelled data; report held-out figures.

    .venv/bin/python scripts/tune_scorer.py [--search]

Data: ../shared/fixtures/real/labeled/ (VADER's 4,200 rated tweets and UCI's 1,000
Yelp sentences). Each set is split once with a fixed seed: 70 % to tune on, 30 %
held out. `--search` walks a coarse grid of `Params` on the tuning part only
(maximising the mean macro-F1 of the two sets); without it the shipped `PARAMS`
are evaluated. The held-out figures are the ones in README "Insight".
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from pathlib import Path

from sentitui.evaluate import Example, evaluate, load_tweets, load_uci, split
from sentitui.processing.score import label_for, score_batch, scorer_problem
from sentitui.processing.sentiment import PARAMS, Params, score_text

LABELLED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "labeled"


def datasets() -> dict[str, tuple[list[Example], list[Example]]]:
    return {
        "tweets": split(load_tweets(LABELLED / "vader" / "tweets_GroundTruth.txt")),
        "yelp": split(load_uci(LABELLED / "uci_sentiment_labelled_sentences" / "yelp_labelled.txt")),
    }


def f1_with(params: Params, examples: list[Example]) -> float:
    predicted = [label_for(score_text(e.text, params)[0]) for e in examples]
    return evaluate([e.label for e in examples], predicted).macro_f1


def search(sets: dict[str, tuple[list[Example], list[Example]]]) -> Params:
    grid = {
        "negation": [0.75, 1.0],
        "but_after": [1.0, 1.5],
        "question": [0.5, 1.0],
        "exclamation": [0.1],
        "bare_negation": [0.1, 0.2],
        "positive": [0.1, 0.15, 0.2],
        "negative": [-0.02, -0.05],
    }
    best, best_score = PARAMS, -1.0
    for values in itertools.product(*grid.values()):
        params = dataclasses.replace(PARAMS, **dict(zip(grid, values, strict=True)))
        score = sum(f1_with(params, tune) for tune, _ in sets.values()) / len(sets)
        if score > best_score:
            best, best_score = params, score
    print(f"best on tuning data: {best_score:.4f} {best}", file=sys.stderr)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--search", action="store_true")
    args = parser.parse_args()
    sets = datasets()
    params = search(sets) if args.search else PARAMS
    scorers = [s for s in ("textblob", "vader", "sentitui") if scorer_problem(s) is None]
    print("| set | part | n | scorer | accuracy | macro-F1 |")
    print("|---|---|---|---|---|---|")
    for name, (tune, held) in sets.items():
        for part, examples in (("tuning", tune), ("held out", held)):
            gold = [e.label for e in examples]
            for scorer in scorers:
                if scorer == "sentitui":
                    predicted = [label_for(score_text(e.text, params)[0]) for e in examples]
                else:
                    predicted = [label_for(p) for p, _ in score_batch([e.text for e in examples], scorer)]
                result = evaluate(gold, predicted, scorer)
                print(f"| {name} | {part} | {result.n} | {scorer} | {result.accuracy:.3f} "
                      f"| {result.macro_f1:.3f} |")


if __name__ == "__main__":
    main()
