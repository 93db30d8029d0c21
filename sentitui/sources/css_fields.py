"""One post field from a page by CSS, the Scrapy/parsel way (`::text`,
`::attr(name)`, plain CSS for an element's visible text), and ids for reviews
that come without one. Shared by every extraction mode of the scrape source."""

from __future__ import annotations

import hashlib

from parsel import Selector

from sentitui.processing.clean import element_text

__all__ = ["select_first", "select_value", "stable_id"]


def select_first(sel: Selector, alternatives: tuple[str, ...]) -> str | None:
    """The first alternative that finds something: unlike "a, b", which answers in
    document order, this honours the order of preference."""
    for css in alternatives:
        if (value := select_value(sel, css)) is not None:
            return value
    return None


def select_value(sel: Selector, css: str, *, join: bool = False) -> str | None:
    """One field by CSS: `::attr(x)` -> the attribute, `::text` -> the text nodes,
    plain CSS -> the element's visible text. `join` keeps every match (for text);
    otherwise the first non-empty one (for `::text`, the first non-empty text node)."""
    if "::attr(" in css:
        values = [v.strip() for v in sel.css(css).getall()]
    elif "::text" in css:
        pieces = [" ".join(v.split()) for v in sel.css(css).getall()]
        values = [" ".join(p for p in pieces if p)] if join else pieces
    else:
        values = [element_text(match.root) for match in sel.css(css)]
    values = [v for v in values if v]
    if not values:
        return None
    return "\n".join(values) if join else values[0]


def stable_id(url: str, author: str | None, date: str | None, text: str | None) -> str:
    """Hash of what makes a review itself, for pages that give it no id of its own."""
    material = "\n".join(" ".join(str(part or "").split()) for part in (url, author, date, text))
    return hashlib.sha1(material.encode("utf-8")).hexdigest()[:20]
