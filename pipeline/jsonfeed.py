"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org), which feedparser 6 does not read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .errors import NotAFeed
from .records import RawEntry

VERSION_PREFIX = "https://jsonfeed.org/version/"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip()[:1] == b"{"


def read_json_feed(
    body: bytes,
) -> tuple[str, str | None, str | None, list[RawEntry], dict[str, str]]:
    """Return (format, feed title, home page URL, entries, links) or raise `NotAFeed`."""
    try:
        document = json.loads(body.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise NotAFeed(f"not a feed: invalid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        VERSION_PREFIX
    ):
        raise NotAFeed("not a feed: JSON without a JSON Feed 'version' URL")
    fmt = "json" + str(document["version"]).removeprefix(VERSION_PREFIX)
    items = document.get("items")
    if not isinstance(items, list):
        raise NotAFeed("not a feed: JSON Feed without an 'items' list")
    entries = [_entry(item) for item in items if isinstance(item, dict)]
    links = {"next": next_url} if (next_url := _text(document.get("next_url"))) else {}
    return fmt, _text(document.get("title")), _text(document.get("home_page_url")), entries, links


def _entry(item: dict[str, Any]) -> RawEntry:
    content = _text(item.get("content_html")) or _html_escape(_text(item.get("content_text")))
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    return RawEntry(
        guid=_text(item.get("id")),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")) or "",
        summary=_text(item.get("summary")) or "",
        content=content or "",
        author=_author(item),
        tags=tuple(t for t in map(_text, tags) if t is not None),
        published_at=_date(item.get("date_published")) or _date(item.get("date_modified")),
    )


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]
    names = [
        _encodable(a["name"])
        for a in authors
        if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    return ", ".join(names) or None


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return _encodable(str(value))
    return None


def _encodable(text: str) -> str:
    """JSON may escape half a surrogate pair ("\\ud800"), which no UTF-8 (hashing, the
    database) can hold: it becomes U+FFFD."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def _html_escape(text: str | None) -> str | None:
    # content_text is plain text; our cleaner expects markup, so protect literal < and &.
    if text is None:
        return None
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        return None
