"""`sentitui report`: what people say, for readers who never open a terminal.

One self-contained HTML file (or Markdown, or the figures as JSON) built from the same
query functions as `sentitui stats`, so the two never disagree:

    data = gather(store, pipeline="launch", since="2026-11-01")
    Path("launch.html").write_text(render_html(data), encoding="utf-8")
"""

from sentitui.report.figures import gather, stats_figures
from sentitui.report.render import render_html, render_markdown

__all__ = ["gather", "render_html", "render_markdown", "stats_figures"]
