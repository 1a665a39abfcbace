"""Web layer: the one home for turning an author's Markdown into safe HTML.

Explanations, worked examples and question feedback are written by catalogue
authors, and a catalogue is a file anyone with import rights can change, so the
HTML is treated as untrusted: markdown-it-py renders it with raw HTML off, then nh3
keeps only the tags and attributes a lesson needs (no script, no event handlers,
no ``style``, no ``javascript:`` or ``data:`` links).
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup

_TAGS = frozenset(
    {
        *("p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "del", "s"),
        *("ul", "ol", "li", "h2", "h3", "h4", "h5", "h6", "a", "img"),
        *("table", "thead", "tbody", "tr", "th", "td", "kbd", "sub", "sup"),
    }
)
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
_SCHEMES = frozenset({"https", "http", "mailto"})


def _shift_headings(state: StateCore) -> None:
    # The page's own <h1> is the activity title: an author's "# Heading" is a
    # section inside it, so every heading moves one level down.
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("shift_headings", _shift_headings)
    return md


def render_markdown(text: str) -> Markup:
    """An author's Markdown as sanitised HTML, safe to put in a page as it is.

    Links open in a new window (a link followed inside an LMS frame would leave the
    activity behind) and tell the target nothing about the page they came from.
    """
    if not text.strip():
        return Markup("")
    html = _parser().render(text)
    clean = nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 - nh3 output: sanitised above
