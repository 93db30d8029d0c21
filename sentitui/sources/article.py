"""`extract = "article"`: the page is one blog post; its main text, without
navigation, sidebar, header, footer or comments, becomes one post (see
scrape_extract.py for the other modes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from parsel import Selector

from sentitui.processing.clean import element_text
from sentitui.sources.css_fields import select_first, select_value, stable_id

if TYPE_CHECKING:
    from sentitui.sources.scrape_extract import ExtractConfig, _RecordBuilder

__all__ = ["article_records"]

_ARTICLE_BODY = (
    "[itemprop=articleBody], .entry-content, .post-content, .article-body, "
    ".post-body, .article-content"
)
_NOT_CONTENT = re.compile(
    r"sidebar|share|sharing|social|related|comment|respond|navigation|\bnav\b|menu|breadcrumb|"
    r"newsletter|subscribe|promo|widget|footer|cookie|advert|byline|author-box",
    re.I,
)
_NOT_CONTENT_TAGS = frozenset(
    ["nav", "aside", "header", "footer", "form", "button", "iframe", "svg"]
)


def _is_chrome(el: Any) -> bool:
    if el.tag in _NOT_CONTENT_TAGS:
        return True
    marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}"
    return bool(marks.strip()) and bool(_NOT_CONTENT.search(marks))


def article_records(
    sel: Selector, builder: _RecordBuilder, config: ExtractConfig
) -> Iterator[dict[str, Any]]:
    comments = {e.root for e in sel.css(config.comments)} if config.comments else set()
    articles = [a for a in sel.css("article") if not a.xpath("ancestor::article")]
    if len(articles) > 1:
        return  # a blog index: posts are behind its links, not on it
    container = (
        sel.css(_ARTICLE_BODY) or articles or sel.css("main, [role=main]") or sel.css("body")
    )
    if not container:
        return
    root = container[0].root
    # The title is kept apart (`title`); the post's text is the body below it.
    text = element_text(
        root,
        skip=lambda el: el is not root and (el.tag == "h1" or el in comments or _is_chrome(el)),
    )
    if not text:
        return
    scope = articles[0] if articles else sel
    raw = {
        "text": text,
        "title": (
            sel.css('meta[property="og:title"]::attr(content)').get()
            or select_value(scope, "h1")
            or select_value(sel, "title")
        ),
        "author": (
            sel.css('meta[name="author"]::attr(content)').get()
            or select_first(
                scope,
                (
                    "[itemprop=author] [itemprop=name]",
                    "[itemprop=author]",
                    '[rel~="author"]',
                    ".byline .author",
                    ".author .fn",
                    ".author",
                ),
            )
        ),
        "created_at": (
            sel.css('meta[property="article:published_time"]::attr(content)').get()
            or select_first(
                scope,
                (
                    "[itemprop=datePublished]::attr(content)",
                    "[itemprop=datePublished]::attr(datetime)",
                    "time::attr(datetime)",
                ),
            )
        ),
    }
    raw.update(
        {name: select_value(sel, css, join=name == "text") for name, css in config.fields.items()}
    )
    own_id = (articles[0].attrib.get("id") or "").strip() or None if articles else None
    # An article is its URL: an edit to the text must not make it a new post.
    record = builder.finish(
        raw, own_id=own_id or stable_id(builder.page_url, None, None, None), kind="article"
    )
    record["url"] = builder.page_url
    yield record
