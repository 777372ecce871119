"""Feed HTML to plain text.

Regular expressions rather than an HTML parser: feed markup is small and messy, we only need the
words (for matching and for display), and this is on the hot path of every poll.
"""

from __future__ import annotations

import html
import re

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HIDDEN_ELEMENTS = re.compile(
    r"<(script|style|noscript|template|svg)\b.*?(?:</\1\s*>|$)", re.I | re.S
)
# A tag's inside is `[^<>]*`, not `[^>]*`: feed text is hostile, and from every "<" of a
# summary full of unclosed tags (`<a href="` over and over) `[^>]*` would read on to the end of
# the text, a quadratic cost (9 MB took hours). A "<" inside a quoted attribute value is left
# as text, where it is escaped when shown.
_BLOCK = re.compile(
    r"<(?:/?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|tr|table|section|article|figure|figcaption"
    r"|pre|hr|header|footer|aside|dd|dt)\b)[^<>]*>",
    re.I,
)
# Only real markup: an element name then whitespace, "/" or ">", or a declaration. Text such as
# "<!channel>" or "<https://x|y>" is not markup; it stays, and is escaped where it is shown.
_TAG = re.compile(
    r"</?[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?>|<!(?:doctype|\[cdata\[)[^<>]*>|<\?[^<>]*>", re.I
)
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
# A character reference of more than 7 significant digits (U+10FFFF has 7 decimal, 6 hex) is
# no character, and one of thousands of digits (leading zeros count) makes html.unescape raise,
# which would fail the whole document for one item's summary.
_LONG_CHARREF = re.compile(r"&#(?:([xX])0*([0-9a-fA-F]{7,})|0*([0-9]{8,}))(;?)")


def _bounded_charref(match: re.Match[str]) -> str:
    hexadecimal, hex_digits, decimal_digits, end = match.groups()
    digits = (hex_digits or decimal_digits).lstrip("0") or "0"
    if len(digits) > (6 if hexadecimal else 7):
        return "\ufffd"
    return f"&#{hexadecimal or ''}{digits}{end}"


# Control characters and zero-width marks: invisible, and they split words.
_INVISIBLE = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
_INVISIBLE += "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_CHARS = re.compile(f"[{re.escape(_INVISIBLE)}]+")


def html_to_text(markup: str | None) -> str:
    """Strip tags, decode entities (twice when a feed double-escaped them), collapse whitespace
    into single spaces. Block elements become spaces so words either side stay apart."""
    if not markup:
        return ""
    text = markup
    if "<" in text:
        text = _COMMENT.sub(" ", text)
        text = _HIDDEN_ELEMENTS.sub(" ", text)
        text = _BLOCK.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(_LONG_CHARREF.sub(_bounded_charref, text))
        if _ENTITY.search(text):
            text = html.unescape(_LONG_CHARREF.sub(_bounded_charref, text))
    if any(char in text for char in _INVISIBLE):  # substring tests are far cheaper than a regex
        text = _INVISIBLE_CHARS.sub("", text)
    return " ".join(text.split())


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut at a word boundary so the result, ellipsis included, is at most `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ellipsis


# What no display of feed text should pass on: C0 and C1 control characters (ESC and CSI start
# terminal escape sequences) and the bidirectional overrides, embeddings, isolates and marks that
# can make text read differently from what it is (U+202E turns "exe.pdf" round).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+"
)


def printable(text: str) -> str:
    """`text` without control and bidirectional-formatting characters (tabs and newlines kept)."""
    return _UNPRINTABLE.sub("", text)
