"""The report's charts: matplotlib drawn to SVG text that is inlined in the HTML.

Made to survive a black-and-white printer: every series has its own line style and
marker, every bar segment its own hatch, beside its colour. Text stays text (no font
files), and the SVG ids are salted with a constant so the same data draws the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: draw to memory only

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["bars", "over_time", "stacked_labels"]

# Okabe-Ito colours (told apart by colour-blind readers) with a line style, a marker and
# a hatch each, for grey print.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_LINES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 3)))
_MARKERS = ("o", "s", "^", "D", "v", "x", "+")
_HATCHES = ("", "///", "...", "xxx", "\\\\\\", "++", "oo")
LABEL_STYLE = {
    "positive": ("#009E73", ""),
    "neutral": ("#BBBBBB", "..."),
    "negative": ("#D55E00", "///"),
    "unscored": ("#FFFFFF", "xx"),
}

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "sentitui-report",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "hatch.linewidth": 0.6,
    }
)


def _plain(text: object) -> str:
    """A name as matplotlib must draw it: `$` would start math mode (and an unpaired
    one raises); a very long name is cut."""
    value = str(text)
    value = value if len(value) <= 40 else value[:39] + "…"
    return value.replace("$", r"\$")


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inlined in HTML


def _when(bucket: str) -> datetime:
    return datetime.fromisoformat(bucket.replace("Z", "+00:00"))


def over_time(rows: Sequence[dict[str, Any]], value: str, title: str) -> str:
    """One line per source of `value` ("posts" or "avg_polarity") per time bucket."""
    fig, ax = plt.subplots(figsize=(8, 2.6))
    sources = sorted({r["source"] for r in rows})
    for index, source in enumerate(sources):
        points = [
            (_when(r["bucket"]), r[value])
            for r in rows
            if r["source"] == source and r[value] is not None
        ]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(
            xs,
            ys,
            label=_plain(source),
            color=_COLOURS[index % len(_COLOURS)],
            linestyle=_LINES[index % len(_LINES)],
            marker=_MARKERS[index % len(_MARKERS)],
            markersize=3,
            linewidth=1.4,
        )
    if value == "avg_polarity":
        ax.axhline(0, color="#555555", linewidth=0.6)
        ax.set_ylim(-1, 1)
    ax.set_title(_plain(title), loc="left", fontsize=10)
    if sources:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.autofmt_xdate()
    return _svg(fig)


def stacked_labels(rows: Sequence[dict[str, Any]], name_key: str, title: str) -> str:
    """Horizontal bars, one per row, split into label counts; length is the count."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(rows), 1) + 0.9))
    names = [_plain(r[name_key]) for r in rows]
    left = [0.0] * len(rows)
    for label, (colour, hatch) in LABEL_STYLE.items():
        counts = [float(r.get(label) or 0) for r in rows]
        if not any(counts):
            continue
        ax.barh(
            names,
            counts,
            left=left,
            label=label,
            color=colour,
            hatch=hatch,
            edgecolor="#333333",
            linewidth=0.5,
        )
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("posts")
    ax.set_title(_plain(title), loc="left", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def bars(names: Sequence[str], values: Sequence[float], title: str, xlabel: str) -> str:
    """Plain horizontal bars, each with its own hatch, and its value written beside it."""
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(names), 1) + 0.9))
    drawn = ax.barh(
        [_plain(n) for n in names],
        list(values),
        color=[_COLOURS[i % len(_COLOURS)] for i in range(len(names))],
        hatch=None,
        edgecolor="#333333",
        linewidth=0.5,
    )
    for index, bar in enumerate(drawn):
        bar.set_hatch(_HATCHES[index % len(_HATCHES)])
    ax.bar_label(drawn, fmt="%g", padding=3, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(_plain(title), loc="left", fontsize=10)
    return _svg(fig)
