"""One post field from a page by CSS, the Scrapy/parsel way (`::text`,
`::attr(name)`, plain CSS for an element's visible text), and ids for reviews
that come without one. Shared by every extraction mode of the scrape source.

Selectors are translated as parsel translates them, but compiled once and run on
the lxml tree itself: parsel wraps every match in a Selector of its own, which cost
more than the matching on a page of a few reviews."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from sentitui.processing.clean import element_text

__all__ = ["css_matches", "first_match", "select_first", "select_value", "stable_id"]

_TRANSLATOR = HTMLTranslator()


@lru_cache(maxsize=1024)
def _compiled(css: str) -> etree.XPath:
    """A CSS selector as the XPath parsel would run, compiled once per process.
    Invalid CSS raises as `Selector.css` does (cssselect's SelectorError)."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(css), smart_strings=False)


def css_matches(sel: Selector, css: str) -> list[Any]:
    """What `sel.css(css)` selects, unwrapped: lxml elements, or strings for
    `::text` and `::attr(x)`; in document order."""
    root = sel.root
    if not isinstance(root, etree._Element):  # a text node's Selector holds no tree
        return [match.root for match in sel.css(css)]
    found = _compiled(css)(root)
    return found if isinstance(found, list) else [found]


def first_match(sel: Selector, css: str) -> str | None:
    """`sel.css(css).get()` for `::text` / `::attr(x)`: the first string, as found."""
    found = css_matches(sel, css)
    return str(found[0]) if found else None


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
    found = css_matches(sel, css)
    if "::attr(" in css:
        values = [str(v).strip() for v in found]
    elif "::text" in css:
        pieces = [" ".join(str(v).split()) for v in found]
        values = [" ".join(p for p in pieces if p)] if join else pieces
    else:
        values = [element_text(match) for match in found]
    values = [v for v in values if v]
    if not values:
        return None
    return "\n".join(values) if join else values[0]


def stable_id(url: str, author: str | None, date: str | None, text: str | None) -> str:
    """Hash of what makes a review itself, for pages that give it no id of its own."""
    material = "\n".join(" ".join(str(part or "").split()) for part in (url, author, date, text))
    return hashlib.sha1(material.encode("utf-8")).hexdigest()[:20]
