"""Bounds on feedparser's helpers where a hostile entry makes them slow or makes them raise.

- Tags are deduped by scanning the list for each new one (`_add_tag`: 400,000 categories in
  one 10 MB item took half an hour): past `MAX_TAGS` an entry's further tags are dropped.
- An author is searched for an e-mail address with a backtracking pattern
  (`_sync_author_detail`: a 100 KB author took minutes): it is cut to `MAX_AUTHOR` first.
- The strict parser looks each attribute up by scanning all of an element's attributes
  (`startElementNS`: 32,000 attributes on one element took 8 s): they are indexed first.
- The loose parser turns `&#...;` into a character with `int` and `chr` (`handle_charref`):
  thousands of digits, a number past U+10FFFF or a surrogate raised and failed the whole
  document; such a reference becomes U+FFFD.

No real feed comes near these bounds. The fast path lends feedparser's tag and author helpers a
context of its own to stay exact, so both parsers use the bounded ones: `install` puts them on
feedparser's classes, which `feedparser.parse` uses, and the fast path takes them from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.sax.xmlreader import AttributesNSImpl

from feedparser.mixin import _FeedParserMixin
from feedparser.parsers.strict import _StrictFeedParser

MAX_TAGS = 100
MAX_AUTHOR = 200
_REPLACEMENT = "xfffd"  # U+FFFD, as a reference handle_charref understands


def _original(cls: type, name: str) -> Callable[..., Any]:
    """feedparser's own method, even after `install` (so a second import wraps nothing twice)."""
    return cls.__dict__.get(f"_unbounded{name}", getattr(cls, name))


_add_tag = _original(_FeedParserMixin, "_add_tag")
_sync_author_detail = _original(_FeedParserMixin, "_sync_author_detail")
_handle_charref = _original(_FeedParserMixin, "handle_charref")
_start_element_ns = _original(_StrictFeedParser, "startElementNS")


def add_tag(self: Any, term: str | None, scheme: str | None, label: str | None) -> None:
    if len(self._get_context().get("tags", ())) < MAX_TAGS:
        _add_tag(self, term, scheme, label)


def sync_author_detail(self: Any, key: str = "author") -> None:
    context = self._get_context()
    author = context.get(key)
    if isinstance(author, str) and len(author) > MAX_AUTHOR:
        context[key] = author[:MAX_AUTHOR]
    _sync_author_detail(self, key)


def handle_charref(self: Any, ref: str) -> None:
    _handle_charref(self, _character_ref(ref))


def _character_ref(ref: str) -> str:
    """The reference without leading zeros, or U+FFFD's where it names no character."""
    hexadecimal = ref[:1] in ("x", "X")
    digits = (ref[1:] if hexadecimal else ref).lstrip("0") or "0"
    if len(digits) > 7:
        return _REPLACEMENT
    try:
        value = int(digits, 16 if hexadecimal else 10)
    except ValueError:
        return _REPLACEMENT
    if not 0 < value <= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return _REPLACEMENT
    return ("x" if hexadecimal else "") + digits


class _IndexedAttributes(AttributesNSImpl):
    """An element's attributes, found by qualified name through a dict, not a scan."""

    def __init__(self, attrs: AttributesNSImpl) -> None:
        super().__init__(attrs._attrs, attrs._qnames)  # type: ignore[attr-defined]
        self._by_qname: dict[str, Any] = {}
        for name, qname in attrs._qnames.items():  # type: ignore[attr-defined]
            self._by_qname.setdefault(qname, name)

    def getValueByQName(self, name: str) -> Any:
        return self._attrs[self._by_qname[name]]


def start_element_ns(self: Any, name: Any, qname: Any, attrs: AttributesNSImpl) -> None:
    _start_element_ns(self, name, qname, _IndexedAttributes(attrs))


def install() -> None:
    """Make feedparser's own parsers use the bounded helpers."""
    for cls, name, bounded in (
        (_FeedParserMixin, "_add_tag", add_tag),
        (_FeedParserMixin, "_sync_author_detail", sync_author_detail),
        (_FeedParserMixin, "handle_charref", handle_charref),
        (_StrictFeedParser, "startElementNS", start_element_ns),
    ):
        setattr(cls, f"_unbounded{name}", _original(cls, name))
        setattr(cls, name, bounded)
