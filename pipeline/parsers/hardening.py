"""Bounds on two feedparser helpers that are quadratic on a hostile entry.

feedparser dedupes an entry's tags by scanning the list for each new one (`_add_tag`: 400,000
categories in one 10 MB item took half an hour), and looks for an e-mail address in an author
with a backtracking pattern (`_sync_author_detail`: a 100 KB author took minutes, 10 MB days).
No real entry has more than `MAX_TAGS` tags or an author of `MAX_AUTHOR` characters, so past
those the helpers stop: later tags are dropped, and a longer author is cut before the search.
The fast path lends feedparser's helpers a context of its own to stay exact, so both parsers
use these bounded ones: `install` puts them on feedparser's mixin, which `feedparser.parse`
uses, and the fast path takes them from here.
"""

from __future__ import annotations

from typing import Any

from feedparser.mixin import _FeedParserMixin

MAX_TAGS = 100
MAX_AUTHOR = 1_000

_add_tag = _FeedParserMixin.__dict__.get("_unbounded_add_tag", _FeedParserMixin._add_tag)
_sync_author_detail = _FeedParserMixin.__dict__.get(
    "_unbounded_sync_author_detail", _FeedParserMixin._sync_author_detail
)


def add_tag(self: Any, term: str | None, scheme: str | None, label: str | None) -> None:
    if len(self._get_context().get("tags", ())) < MAX_TAGS:
        _add_tag(self, term, scheme, label)


def sync_author_detail(self: Any, key: str = "author") -> None:
    context = self._get_context()
    author = context.get(key)
    if isinstance(author, str) and len(author) > MAX_AUTHOR:
        context[key] = author[:MAX_AUTHOR]
    _sync_author_detail(self, key)


def install() -> None:
    """Make feedparser's own parsers use the bounded helpers (once; a re-import changes nothing)."""
    _FeedParserMixin._unbounded_add_tag = _add_tag  # type: ignore[attr-defined]
    _FeedParserMixin._unbounded_sync_author_detail = _sync_author_detail  # type: ignore[attr-defined]
    _FeedParserMixin._add_tag = add_tag  # type: ignore[method-assign]
    _FeedParserMixin._sync_author_detail = sync_author_detail  # type: ignore[method-assign]
