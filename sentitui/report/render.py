"""The report as one self-contained HTML page (charts inlined as SVG, CSS inline, no
script, a Content-Security-Policy that forbids any request) or as Markdown.

Everything that came from a source or the database is escaped: a post is shown as
written, never as markup, and only http(s) links become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sentitui.report import charts
from sentitui.report.figures import LABELS

__all__ = ["render_html", "render_markdown"]

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #111; max-width: 1000px; margin: 2em auto;
       padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #333;
       margin-top: 2em; } h3 { margin-bottom: 0.3em; }
.meta { color: #555; } .figures { display: flex; flex-wrap: wrap; gap: 0.6em; }
.figure { border: 1px solid #999; padding: 0.5em 0.9em; min-width: 8em; }
.figure b { display: block; font-size: 1.5em; }
table { border-collapse: collapse; margin: 0.6em 0; } th, td { border: 1px solid #aaa;
       padding: 0.2em 0.6em; text-align: left; vertical-align: top; } td.n { text-align: right; }
blockquote { border-left: 3px solid #777; margin: 0.4em 0; padding: 0.2em 0.8em; }
svg { max-width: 100%; height: auto; } .note { color: #444; font-style: italic; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } }
"""
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:+.3f}" if signed else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(c)}</td>' if isinstance(c, int | float) else f"<td>{_e(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _link(url: Any) -> str:
    if isinstance(url, str) and _SAFE_URL.match(url):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(url)}</a>'
    return _e(url) if url else ""


def _post(row: dict[str, Any]) -> str:
    polarity = _num(row.get("polarity"), signed=True)
    where = f"{row.get('source')} · {row.get('created_at') or ''} · {row.get('label')} {polarity}"
    return (
        f"<blockquote>{_e(row.get('text'))}<br><small>{_e(where)} {_link(row.get('url'))}"
        "</small></blockquote>"
    )


def _label_rows(rows: Sequence[dict[str, Any]], name: str) -> list[list[Any]]:
    return [
        [str(r.get(name)), r["posts"], _num(r.get("avg_polarity"), True)]
        + [r.get(label) or 0 for label in LABELS]
        for r in rows
    ]


def _sections(data: dict[str, Any]) -> list[tuple[str, str]]:
    stats, coverage = data["stats"], data["coverage"]
    out: list[tuple[str, str]] = []

    figures = [
        ("posts", stats["posts"]),
        ("scored", stats["scored"]),
        ("average polarity", _num(stats["avg_polarity"], True)),
        ("negative", _pct(stats["share_negative"])),
        ("unscored", stats["unscored"]),
        ("open failed records", stats["open_failed"]),
    ]
    out.append(
        (
            "Headline",
            '<div class="figures">'
            + "".join(f'<div class="figure"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in figures)
            + "</div>"
            + '<p class="note">Averages and shares cover the scored posts only: a post in a '
            "language no scorer reads is counted, never called neutral.</p>",
        )
    )
    out.append(
        (
            "Coverage",
            _table(
                ["sources", "first post", "last post", "posts", "unscored", "open failed"],
                [
                    [
                        ", ".join(coverage["sources"]) or "none",
                        coverage["first_post"] or "–",
                        coverage["last_post"] or "–",
                        coverage["posts"],
                        coverage["unscored"],
                        coverage["open_failed"],
                    ]
                ],
            ),
        )
    )
    rows = data["over_time"]["rows"]
    bucket = {3600: "hour", 86400: "day"}.get(data["over_time"]["bucket_seconds"], "week")
    out.append(
        (
            "Over time",
            (
                charts.over_time(rows, "posts", f"Posts per {bucket}, by source")
                + charts.over_time(rows, "avg_polarity", f"Average polarity per {bucket}")
            )
            if rows
            else "<p>No dated posts in scope.</p>",
        )
    )
    by_source = stats["by_source"]
    headers = ["", "posts", "avg polarity", *LABELS]
    out.append(
        (
            "Labels by source",
            (
                charts.stacked_labels(by_source, "source", "Posts by label, per source")
                if by_source
                else ""
            )
            + _table(["source", *headers[1:]], _label_rows(by_source, "source")),
        )
    )
    feedback = stats["feedback"]
    out.append(
        (
            "Feedback",
            (
                charts.bars(list(feedback), list(feedback.values()), "Feedback types", "posts")
                if feedback
                else ""
            )
            + _table(["type", "posts"], [[k, v] for k, v in feedback.items()]),
        )
    )
    parts = []
    for key, breakdown in data["segments"].items():
        parts.append(
            f"<h3>{_e(key)}</h3>"
            + charts.stacked_labels(breakdown, "segment", f"Posts by label, per {key}")
            + _table([key, *headers[1:]], _label_rows(breakdown, "segment"))
        )
        complaints = data["top_complaint_by_segment"].get(key) or {}
        parts.extend(
            f"<p>{_e(aspect)} is the top complaint among {_e(value)}.</p>"
            for value, aspect in complaints.items()
        )
    out.append(("Segments", "".join(parts) or "<p>No post carries a segment.</p>"))
    competitors = stats["competitors"]
    out.append(
        (
            "Competitors",
            (
                charts.bars(
                    [c["competitor"] for c in competitors],
                    [round(100 * c["share_of_voice"], 1) for c in competitors],
                    "Share of voice (% of posts naming the competitor)",
                    "% of posts",
                )
                + _table(
                    ["competitor", "mentions", "share of voice", "avg polarity", *LABELS[:3]],
                    [
                        [
                            c["competitor"],
                            c["mentions"],
                            _pct(c["share_of_voice"]),
                            _num(c["avg_polarity"], True),
                            c["positive"] or 0,
                            c["neutral"] or 0,
                            c["negative"] or 0,
                        ]
                        for c in competitors
                    ],
                )
            )
            if competitors
            else "<p>No competitor named.</p>",
        )
    )
    aspects = data["aspects"]
    top = stats["top_complaint"]
    out.append(
        (
            "Aspects",
            (f"<p><b>{_e(top)}</b> is the top complaint overall.</p>" if top else "")
            + (
                _table(
                    ["aspect", "mentions", "avg polarity", "negative share"],
                    [
                        [
                            a["aspect"],
                            a["mentions"],
                            _num(a["avg_polarity"], True),
                            _pct(a["negative_share"]),
                        ]
                        for a in aspects
                    ],
                )
                if aspects
                else "<p>No aspect mentioned.</p>"
            ),
        )
    )
    agreement = stats["rating_agreement"]
    if agreement["rated"]:
        confusion = agreement["confusion"]
        body = (
            f"<p>Over {agreement['rated']} posts that carry both a star rating and a text "
            f"score, the text scorer agrees with the customer's own rating on "
            f"<b>{_pct(agreement['agreement'])}</b> (macro-F1 {_num(agreement['macro_f1'])}).</p>"
            + _table(
                ["rating says \\ text says", "positive", "neutral", "negative"],
                [[truth, *confusion[truth].values()] for truth in confusion],
            )
            + "<h3>Where they disagree most</h3>"
            + "".join(
                _post(r) + f"<small>rating {_pct(r['rating'])}</small>"
                for r in data["rating_disagreements"]
            )
        )
    else:
        body = "<p>No post in scope carries a rating.</p>"
    out.append(("Ratings and text", body))
    alerts = data["alerts"]
    if not alerts:
        body = "<p>No alert rule has been checked ([[alert]] in a pipeline file).</p>"
    else:
        columns = ["name", "state", "since", "detail"]
        body = _table(columns, [[a[c] or "—" for c in columns] for a in alerts])
    out.append(("Alerts", body))
    examples = data["examples"]
    out.append(
        (
            "Example posts",
            "".join(
                f"<h3>{_e(group)}</h3>" + "".join(_post(r) for r in rows)
                for group, rows in examples.items()
            )
            or "<p>No posts in scope.</p>",
        )
    )
    return out


def render_html(data: dict[str, Any]) -> str:
    scope = data["scope"]
    title = f"What people say — {scope['pipeline'] or 'all pipelines'}"
    since = f" since {scope['since']}" if scope["since"] else ""
    sections = "".join(
        f'<section id="{_e(name.lower().replace(" ", "-"))}"><h2>{_e(name)}</h2>{body}</section>'
        for name, body in _sections(data)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="meta">SentiTUI report{_e(since)}, generated '
        f"{_e(data['generated_at'])}.</p>{sections}</body></html>\n"
    )


def _md_cell(value: Any) -> str:
    return str("–" if value is None else value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(map(_md_cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(data: dict[str, Any]) -> str:
    """The same figures as Markdown tables (no charts), for a chat or a wiki page."""
    stats, scope = data["stats"], data["scope"]
    out = [f"# What people say — {scope['pipeline'] or 'all pipelines'}\n"]
    out.append(
        f"{stats['posts']} posts ({stats['scored']} scored, {stats['unscored']} unscored), "
        f"average polarity {_num(stats['avg_polarity'], True)}, "
        f"{_pct(stats['share_negative'])} negative, {stats['open_failed']} open failed records.\n"
    )
    headers = ["posts", "avg polarity", *LABELS]
    sections: list[tuple[str, Callable[[], str]]] = [
        (
            "Labels by source",
            lambda: _md_table(["source", *headers], _label_rows(stats["by_source"], "source")),
        ),
        (
            "Feedback",
            lambda: _md_table(["type", "posts"], [[k, v] for k, v in stats["feedback"].items()]),
        ),
        (
            "Competitors",
            lambda: _md_table(
                ["competitor", "share of voice", "avg polarity"],
                [
                    [c["competitor"], _pct(c["share_of_voice"]), _num(c["avg_polarity"], True)]
                    for c in stats["competitors"]
                ],
            ),
        ),
    ]
    for key, breakdown in data["segments"].items():
        table = _md_table([key, *headers], _label_rows(breakdown, "segment"))
        sections.append((f"Segment: {key}", partial(str, table)))
    agreement = stats["rating_agreement"]
    if agreement["rated"]:
        sections.append(
            (
                "Ratings and text",
                lambda: (
                    f"The text scorer agrees with {_pct(agreement['agreement'])} of "
                    f"{agreement['rated']} rated posts (macro-F1 {_num(agreement['macro_f1'])}).\n"
                ),
            )
        )
    for name, body in sections:
        out.append(f"\n## {name}\n\n{body()}")
    return "".join(out)
