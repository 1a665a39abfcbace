"""Unit: authors' Markdown becomes sanitised HTML (``lti_tool.web.markdown``)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from lti_tool.web.markdown import render_markdown


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]


def elements(markdown: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(str(render_markdown(markdown)))
    return parsed


def test_markdown_renders_the_formatting_a_lesson_uses() -> None:
    html = str(
        render_markdown(
            "Intro with **bold** and `code`.\n\n- one\n- two\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nprompt\n```"
        )
    )
    for fragment in ("<strong>bold</strong>", "<code>code</code>", "<li>one</li>"):
        assert fragment in html
    assert "<table>" in html and "<td>2</td>" in html and "<pre>" in html


def test_headings_sit_below_the_pages_own_title() -> None:
    assert elements("# Part one\n\n## Detail").tags == ["h2", "h3"]


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "before <script src='https://evil.example/x.js'></script> after",
        "<img src=x onerror=alert(1)>",
        '<a href="https://ok.example" onclick="steal()">raw link</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<div style="position:fixed">overlay</div>',
        "<!-- comment --> <b>bold</b>",
    ],
)
def test_raw_html_is_never_markup(markdown: str) -> None:
    found = elements(markdown)
    # The text may show, escaped; no tag the author typed survives as an element.
    assert found.tags in ([], ["p"]), found.tags
    assert found.attrs == []


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "![pic](javascript:alert(1))",
    ],
)
def test_script_links_are_removed(link: str) -> None:
    found = elements(link)
    for _tag, name, value in found.attrs:
        assert name not in ("href", "src") or value.startswith(("https:", "http:"))
        assert "javascript" not in value.lower()


def test_links_open_in_a_new_window_and_leak_no_referrer() -> None:
    found = elements("[guide](https://docs.example/guide)")
    attrs = {name: value for tag, name, value in found.attrs if tag == "a"}
    assert attrs["href"] == "https://docs.example/guide"
    assert attrs["target"] == "_blank"
    assert set(attrs["rel"].split()) >= {"noopener", "noreferrer"}


def test_no_event_handler_survives_anywhere() -> None:
    html = str(render_markdown('[x](https://a.example "t\\" onmouseover=\\"alert(1)")'))
    found = elements('[x](https://a.example "t\\" onmouseover=\\"alert(1)")')
    assert all(not name.startswith("on") for _t, name, _v in found.attrs), html


def test_empty_markdown_is_empty() -> None:
    assert str(render_markdown("  \n")) == ""
