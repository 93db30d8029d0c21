"""5 Posts: full-text search (the FTS index) with source, label and feedback filters,
a window of matching posts and the selected post's text and scores."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select

from sentitui.tui.queries import PostFilter, Window, load_posts
from sentitui.tui.screens.base import QueryResult
from sentitui.tui.screens.list_detail import ListDetailScreen
from sentitui.tui.screens.pipelines import short_time
from sentitui.tui.widgets.charts import LABEL_COLOURS
from sentitui.tui.widgets.text import cell, safe

PAGE = 100
LABELS = ("positive", "neutral", "negative")
FEEDBACK = ("praise", "complaint", "suggestion", "comparison", "question", "other")


class PostsLoaded(QueryResult[Window]):
    """One page of posts, read in a worker."""


class PostsScreen(ListDetailScreen):
    MODE = "posts"
    SOURCE_FILTER = "posts-source"
    AUTO_FOCUS = "#posts-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
    ]
    PAGE = PAGE
    NAME = "posts"
    DETAIL_ID = "post-detail"
    COLUMNS = [
        ("Created", "created"),
        ("Source", "source"),
        ("Label", "label"),
        ("Pol.", "polarity"),
        ("Feedback", "feedback"),
        ("Text", "text"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = PostFilter()
        self.rows: dict[str, dict[str, Any]] = {}

    def compose_filters(self) -> Iterable[Widget]:
        yield Input(placeholder="/ search posts", compact=True, id="posts-search")
        yield self.source_filter()
        yield Select([(s, s) for s in LABELS], prompt="any label", compact=True, id="posts-label")
        yield Select(
            [(s, s) for s in FEEDBACK], prompt="any feedback", compact=True, id="posts-feedback"
        )

    def on_mount(self) -> None:
        self.query_one("#post-detail").border_title = "Post"

    def reload(self) -> None:
        filters, offset = PostFilter(self.filters.query, **self.filters.kwargs()), self.row_offset
        self.fetch(PostsLoaded, lambda store: load_posts(store, filters, PAGE, offset))

    def on_posts_loaded(self, message: PostsLoaded) -> None:
        self.show_posts(message.result)

    def show_posts(self, window: Window) -> None:
        self.rows = {str(row["id"]): row for row in window.rows}
        self.show_window(window)
        self.draw_detail()

    def cells(self, row: dict[str, Any]) -> list[Any]:
        return [
            Text(short_time(row["created_at"])),
            cell(row["source"], 20),
            Text(row["label"] or "", style=LABEL_COLOURS.get(row["label"] or "", "")),
            Text(f"{row['polarity'] or 0:+.2f}", justify="right"),
            Text(row["feedback"] or ""),
            cell(row["text"], 300),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.draw_detail()

    def draw_detail(self) -> None:
        key = self.selected_key()
        row = self.rows.get(key) if key else None
        target = self.detail
        if row is None:
            target.update(Text("no post selected", style="dim"))
            return
        text = Text()
        text.append(safe(row["text"]) + "\n\n")
        label = row["label"] or ""
        text.append(f"{label} ", style=f"bold {LABEL_COLOURS.get(label, '')}")
        text.append(
            f"polarity {row['polarity'] or 0:+.3f}  subjectivity "
            f"{row['subjectivity'] or 0:.2f}  ·  {row['feedback']}"
        )
        competitors = json.loads(row["competitors"] or "[]")
        if competitors:
            text.append(f"  ·  vs {safe(', '.join(competitors))}")
        if row["rating"] is not None:
            text.append(f"  ·  rating {row['rating']:g}")
        segments = json.loads(row["segments"] or "{}")
        details = [
            f"{row['pipeline']}/{row['source']} #{row['external_id']}",
            f"created {row['created_at'] or '—'}  fetched {row['fetched_at']}",
        ]
        if segments:
            details.append("  ".join(f"{k}={v}" for k, v in segments.items()))
        if row["lang"]:
            details.append(f"lang {row['lang']}")
        if row["url"]:
            details.append(str(row["url"]))
        text.append("\n" + safe("\n".join(details)), style="dim")
        target.update(text)

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {
            "posts-source": "source",
            "posts-label": "label",
            "posts-feedback": "feedback",
        }.get(event.select.id or "")
        if field:
            setattr(self.filters, field, value)
            self.filters_changed()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filters.query = event.value.strip() or None
        self.filters_changed()
