"""Markdown to safe HTML: markdown-it-py renders, nh3 keeps only an allow-list.

Raw HTML in the Markdown is not rendered at all ("html": False), and whatever the
renderer emits is sanitised again, so a brief (or any learner-visible Markdown) can
never inject script, styles, event handlers or javascript: links.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "del", "s",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """Sanitised HTML for a Markdown text; safe to mark_safe."""
    return nh3.clean(
        _md.render(text),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


@lru_cache(maxsize=128)
def brief_html(content_hash: str, text: str) -> str:
    """A published brief never changes, so its HTML is cached by the version's hash."""
    return render_markdown(text)
