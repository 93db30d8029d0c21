"""`sentitui report`: what people say, for readers who never open a terminal.

One self-contained HTML file (or Markdown, or the figures as JSON) built from the same
query functions as `sentitui stats`, so the two never disagree:

    data = gather(store, pipeline="launch", since="2026-11-01")
    Path("launch.html").write_text(render_html(data), encoding="utf-8")

The renderers are loaded on first use: they bring matplotlib (over a second to import
on the development machine), which `stats` — the figures only — must not pay for.
"""

from typing import TYPE_CHECKING, Any

from sentitui.report.figures import gather, stats_figures

if TYPE_CHECKING:
    from sentitui.report.render import render_html, render_markdown

__all__ = ["gather", "render_html", "render_markdown", "stats_figures"]


def __getattr__(name: str) -> Any:
    if name in ("render_html", "render_markdown"):
        from sentitui.report import render

        return getattr(render, name)
    raise AttributeError(f"module 'sentitui.report' has no attribute {name!r}")
