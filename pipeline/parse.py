"""Turn fetched bytes into `Article` records.

Well-formed, correctly declared RSS 2.0, RSS 1.0 and Atom 1.0 go through the fast path
(`pipeline.parsers`, lxml), which yields exactly what feedparser would; everything else
(broken XML, encoding doubt, other formats) goes to feedparser, which recovers what it can. Our
`jsonfeed` module reads JSON Feed. feedparser's HTML sanitiser and relative-URI rewriting are
switched off: they cost more than half its time and we keep only plain text anyway.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import logging
import re
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import feedparser

from .dedupe import canonical_url, unique_articles
from .errors import FetchError, NotAFeed, ParseFailed, ResponseTooLarge, describe
from .jsonfeed import looks_like_json, read_json_feed
from .parsers import Fallback, FastFeed, read_fast
from .parsers.prolog import safe_prolog
from .records import Article, FeedSource, FetchedFeed, ParsedFeed, RawEntry
from .text import html_to_text, truncate

log = logging.getLogger(__name__)

UNTITLED = "(untitled)"
# A date more than this far in the future is a publisher's clock or timezone mistake.
FUTURE_TOLERANCE = timedelta(days=1)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Stored text is capped (in characters, after cleaning): generous for real news, and a hostile
# feed's 5 MB title cannot bloat the database, matching or messages. Cutting is a warning.
MAX_TITLE = 1_000
MAX_SUMMARY = 50_000
MAX_CONTENT = 200_000
MAX_ITEMS = 1_000  # entries taken from one document (fetch.max_items): the newest
# Longer keys would not fit PostgreSQL's unique indexes (about 2,700 bytes an entry).
MAX_GUID = 1_000
MAX_URL = 2_000
WARNING_CHARS = 300  # a parser's complaint about a document, as stored and logged


class _XmlFeed(NamedTuple):
    format: str
    title: str | None
    home: str | None
    entries: list[RawEntry]
    links: dict[str, str]
    warning: str | None
    fallback: str | None  # why feedparser read it rather than the fast path


def parse_feed(
    fetched: FetchedFeed,
    *,
    max_bytes: int = 10_000_000,
    max_items: int = MAX_ITEMS,
    fast_path: bool = True,
) -> ParsedFeed:
    """Parse one fetched document. Raises `NotAFeed` for anything that is not a feed.

    `fast_path=False` reads XML with feedparser only: the reference the fast path is tested
    against.
    """
    body = fetched.body or b""
    if body[:2] == b"\x1f\x8b":  # gzip served without Content-Encoding, a common misconfiguration
        body = _gunzip(body, max_bytes)
    content_type = fetched.headers.get("content-type", "").lower()
    if looks_like_json(body, content_type):
        fmt, title, home, raw, links = read_json_feed(body)
        base, warning, parser, fallback = home or fetched.url, None, "json", None
    else:
        fmt, title, home, raw, links, warning, fallback = _read_xml_feed(body, fetched, fast_path)
        base = fetched.url if fetched.url.startswith("http") else (home or fetched.url)
        parser = "feedparser" if fallback else "fast"
    try:
        urlsplit(base)
    except ValueError:  # the feed's own home link is no URL: the entries' links keep theirs
        base = fetched.url
    notes = [warning] if warning else []
    if len(raw) > max_items:
        notes.append(f"kept the newest {max_items:,} of {len(raw):,} items (fetch.max_items)")
        raw = _newest(raw, max_items)
    cut = Counter[tuple[str, int]]()
    articles = unique_articles(
        _to_article(entry, fetched.source.id, base, fetched.fetched_at, cut) for entry in raw
    )
    notes += [f"cut {n:,} {field} to {limit:,} characters" for (field, limit), n in cut.items()]
    absolute = {rel: url for rel, href in links.items() if (url := _joined(fetched.url, href))}
    return ParsedFeed(
        articles=articles,
        title=truncate(title, MAX_TITLE) if title else title,
        format=fmt,
        warning="; ".join(notes) or None,
        links=absolute,
        parser=parser,
        fallback=fallback,
    )


def _newest(entries: list[RawEntry], count: int) -> list[RawEntry]:
    """The `count` most recent entries, in document order (undated ones count as new)."""
    undated = datetime.max.replace(tzinfo=UTC)
    ranked = sorted(
        range(len(entries)), key=lambda i: entries[i].published_at or undated, reverse=True
    )
    return [entries[i] for i in sorted(ranked[:count])]


def read_document(fetched: FetchedFeed, *, max_bytes: int, max_items: int) -> ParsedFeed:
    """`parse_feed`, with anything unforeseen it raises (a RecursionError from a hostile
    document, a parser bug) turned into `ParseFailed`: that document's failure, never the run's.
    """
    try:
        return parse_feed(fetched, max_bytes=max_bytes, max_items=max_items)
    except FetchError:
        raise
    except Exception as error:
        log.debug("parsing %s raised", fetched.url, exc_info=True)
        raise ParseFailed(f"could not read the document: {describe(error)}") from error


def parse_bytes(
    body: bytes, url: str, *, name: str = "document", fast_path: bool = True
) -> ParsedFeed:
    """Parse a document held in memory (tests, benchmarks, tools), as if fetched from `url`."""
    source = FeedSource(id=0, name=name, url=url)
    fetched = FetchedFeed(source, body, url, {}, None, None, None, datetime.now(UTC), 0)
    return parse_feed(fetched, fast_path=fast_path)


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise NotAFeed(
            f"not a feed: the body looks gzip-compressed but is corrupt ({exc})"
        ) from None
    if len(data) > max_bytes:
        raise ResponseTooLarge(f"gzip body unpacks to more than {max_bytes:,} bytes")
    return data


def _read_xml_feed(body: bytes, fetched: FetchedFeed, fast_path: bool) -> _XmlFeed:
    # Both readers get bytes, never a URL string: some parsers fetch a URL themselves,
    # bypassing our limits.
    content_type = fetched.headers.get("content-type")
    body = safe_prolog(body)
    fast = read_fast(body, content_type) if fast_path else Fallback("fast path off")
    if isinstance(fast, FastFeed):
        version, feed, entries = fast.version, fast.feed, fast.entries
        warning, fallback = None, None
    else:
        # Only the content type (for its charset). No Content-Location: with a base URL
        # feedparser runs urljoin on every element, a quarter of its time; we resolve links
        # ourselves against the feed URL, and xml:base inside the document still applies.
        headers = {k: v for k, v in fetched.headers.items() if k == "content-type"}
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
        if not parsed.get("version") and not parsed.entries:
            raise NotAFeed(_not_a_feed_message(body, fetched))
        warning = None
        if parsed.get("bozo"):
            # Bounded: feedparser's messages quote the document (a declared encoding, say).
            error = parsed.bozo_exception
            warning = truncate(f"{type(error).__name__}: {error}", WARNING_CHARS)
        version, feed, entries = parsed.version or "unknown", parsed.feed, parsed.entries
        fallback = truncate(fast.reason, WARNING_CHARS)
    links: dict[str, str] = {}
    for link in feed.get("links", ()):
        if link.get("rel") and link.get("href"):
            links.setdefault(link["rel"], link["href"])
    raw = [_raw_entry(entry) for entry in entries]
    return _XmlFeed(version, feed.get("title"), feed.get("link"), raw, links, warning, fallback)


def _not_a_feed_message(body: bytes, fetched: FetchedFeed) -> str:
    # A local file has no HTTP status, and its content type is only guessed from its name.
    served = fetched.http_status is not None
    content_type = fetched.headers.get("content-type", "") if served else ""
    head = body[:2048].lstrip().lower()
    if b"<html" in head or b"<!doctype html" in head or "html" in content_type:
        source = "the URL returned" if served else "the file is"
        return f"not a feed: {source} an HTML page, not RSS/Atom/JSON Feed"
    if not body.strip():
        return f"not a feed: {'the response body' if served else 'the file'} is empty"
    shown = f" (content-type {content_type!r})" if served else ""
    return f"not a feed: no RSS, Atom, RDF or JSON Feed found{shown}"


def _raw_entry(entry: Any) -> RawEntry:
    """An entry as feedparser (or the fast path, which builds the same keys) read it.

    dict.get, not FeedParserDict.get, which maps missing keys onto others with a warning.
    """
    keys = ("published_parsed", "updated_parsed", "created_parsed")
    parsed_date = next(filter(None, (dict.get(entry, key) for key in keys)), None)
    published = None
    if parsed_date:
        # no date for year 0, or 9999 pushed past it by a time zone
        with contextlib.suppress(ValueError, OverflowError):
            published = datetime.fromtimestamp(calendar.timegm(parsed_date), UTC)
    return RawEntry(
        guid=entry.get("id") or None,
        link=_entry_link(entry),
        title=entry.get("title", ""),
        summary=entry.get("summary", ""),
        content="\n".join(c.get("value", "") for c in entry.get("content", ())),
        author=entry.get("author") or None,
        tags=tuple(t["term"] for t in entry.get("tags", ()) if t.get("term")),
        published_at=published,
    )


def _entry_link(entry: Any) -> str | None:
    """The entry's page: its (last) alternate HTML link. feedparser 6.0.14 lets a later link
    without href, such as an enclosure given as element text, replace it; its own tests expect
    the alternate."""
    alternates = [
        link["href"]
        for link in entry.get("links", ())
        if link.get("rel") == "alternate" and link.get("href") and link.get("type") in _HTML_TYPES
    ]
    return alternates[-1] if alternates else entry.get("link") or None


def _joined(base: str, link: str) -> str | None:
    """`link` made absolute against `base`; None for one that is no URL ("http://[x")."""
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def _to_article(
    entry: RawEntry, feed_id: int, base: str, fetched_at: datetime, cut: Counter[tuple[str, int]]
) -> Article:
    link = _joined(base, _CONTROL.sub("", entry.link).strip()) if entry.link else None
    web = link is not None and link.startswith(("http://", "https://")) and len(link) <= MAX_URL
    url = link if web else None
    summary = _capped(html_to_text(entry.summary), "summaries", MAX_SUMMARY, cut)
    content = _capped(html_to_text(entry.content), "contents", MAX_CONTENT, cut)
    title = html_to_text(entry.title) or truncate(summary or content, 120) or UNTITLED
    title = _capped(title, "titles", MAX_TITLE, cut)
    published, missing = entry.published_at, entry.published_at is None
    if published is None or published > fetched_at + FUTURE_TOLERANCE:
        published, missing = fetched_at, True
    guid = _key(entry.guid or "") or url or _fallback_guid(title, entry.published_at)
    return Article(
        feed_id=feed_id,
        guid=guid,
        url=url,
        canonical_url=canonical_url(url),
        title=title,
        summary=summary,
        content=content,
        author=html_to_text(entry.author) or None,
        tags=tuple(dict.fromkeys(t.strip() for t in entry.tags if t.strip())),
        published_at=published,
        published_at_missing=missing,
        fetched_at=fetched_at,
        content_hash=content_hash(title, summary),
    )


def _capped(text: str, field: str, limit: int, cut: Counter[tuple[str, int]]) -> str:
    if len(text) <= limit:
        return text
    cut[field, limit] += 1
    return truncate(text, limit)


def _key(guid: str) -> str:
    """A GUID fit for a unique index: no control characters (PostgreSQL refuses NUL), and a
    hash in place of one too long to index."""
    guid = _CONTROL.sub("", guid).strip()
    return guid if len(guid) <= MAX_GUID else "sha1:" + hashlib.sha1(guid.encode()).hexdigest()


def _fallback_guid(title: str, published: datetime | None) -> str:
    stamp = published.isoformat() if published else ""
    return "sha1:" + hashlib.sha1(f"{title}\n{stamp}".encode()).hexdigest()


def content_hash(title: str, summary: str) -> str:
    """Hash of the normalised visible text: equal hashes mean the same words, whatever the URL."""
    normalised = " ".join(f"{title} {summary}".casefold().split())
    return hashlib.sha1(normalised.encode()).hexdigest()
