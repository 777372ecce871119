"""Feed HTML to plain text.

Regular expressions rather than an HTML parser: feed markup is small and messy, we only need the
words (for matching and for display), and this is on the hot path of every poll.
"""

from __future__ import annotations

import html
import re

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_INVISIBLE = re.compile(r"<(script|style|noscript|template|svg)\b.*?(?:</\1\s*>|$)", re.I | re.S)
_BLOCK = re.compile(
    r"<(?:/?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|tr|table|section|article|figure|figcaption"
    r"|pre|hr|header|footer|aside|dd|dt)\b)[^>]*>",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<![^>]*>|<\?[^>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_SPACES = re.compile(r"[^\S\n]+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(markup: str | None, *, paragraphs: bool = False) -> str:
    """Strip tags, decode entities (twice when a feed double-escaped them), collapse whitespace.

    With `paragraphs`, block-level elements become line breaks so full article text keeps its
    shape for snippets; otherwise everything becomes one line.
    """
    if not markup:
        return ""
    text = markup
    if "<" in text:
        text = _COMMENT.sub(" ", text)
        text = _INVISIBLE.sub(" ", text)
        text = _BLOCK.sub("\n" if paragraphs else " ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
        if _ENTITY.search(text):
            text = html.unescape(text)
    text = _CONTROL.sub("", _ZERO_WIDTH.sub("", text))
    if not paragraphs:
        return " ".join(text.split())
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut at a word boundary so the result, ellipsis included, is at most `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ellipsis
