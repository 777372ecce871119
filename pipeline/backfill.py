"""Backfill: store a window of a feed's history, [start, end), from wherever it is kept.

Sources (a feed's `backfill:` in the config): RFC 5005 archived feeds (follow `prev-archive`),
paged feeds (follow `next`, else `previous`), WordPress-style `?paged=N`, and a directory of saved
feed files. Articles are stored exactly like polled ones (the same unique keys, so a rerun stores
nothing twice) but marked `origin = "backfill"`, which decides how their alerts go out. Backfill
never touches the live feed's ETag or schedule.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine

from . import store
from .config import BackfillSourceConfig, Config, FeedConfig
from .errors import (
    AddressRefused,
    ClientHTTPError,
    ConfigError,
    FetchError,
    FetchFailed,
    StoreFailed,
    describe,
)
from .fetch import FetchLimits, fetch_one, is_local
from .parse import read_document
from .records import FeedSource, ParsedFeed
from .redact import without_userinfo

log = logging.getLogger(__name__)

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json", ".gz"}


@dataclass(slots=True)
class BackfillReport:
    feed_name: str
    documents: int = 0
    in_window: int = 0
    undated: int = 0  # entries with no usable date: they cannot be placed in a window
    new_article_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reached_start: bool = False  # history went back to the window's start


def backfill(
    engine: Engine,
    config: Config,
    start: datetime,
    end: datetime,
    *,
    names: Sequence[str] | None = None,
    on_document: Callable[[str, str], None] | None = None,
) -> list[BackfillReport]:
    """Store every article published in [start, end) found in the feeds' backfill sources."""
    if start >= end:
        raise ConfigError(
            f"the backfill window is empty: {start:%Y-%m-%d %H:%M} is not before "
            f"{end:%Y-%m-%d %H:%M}"
        )
    feeds = [f for f in config.feeds if f.backfill is not None]
    if names:
        unknown = sorted(set(names) - {f.name for f in feeds})
        if unknown:
            raise ConfigError(
                f"no feed with a backfill source named {', '.join(map(repr, unknown))}"
            )
        feeds = [f for f in feeds if f.name in names]
    scheduled = {s.source.name: s.source for s in store.sync_feeds(engine, feeds, start)}
    limits = FetchLimits.from_config(config.fetch)
    reports = []
    for feed in feeds:
        report = BackfillReport(feed.name)
        reports.append(report)
        source = scheduled[feed.name]
        try:
            for where, parsed in _documents(
                feed, source, limits, config.backfill.max_pages, start, report
            ):
                report.documents += 1
                if on_document is not None:
                    on_document(feed.name, where)
                _keep(engine, parsed, start, end, report, source, where)
        except Exception as error:  # a bug must not stop the other feeds' history
            log.exception("backfill of %r failed", feed.name)
            report.errors.append(f"{FetchFailed.kind}: {describe(error)}")
    return reports


def _keep(
    engine: Engine,
    parsed: ParsedFeed,
    start: datetime,
    end: datetime,
    report: BackfillReport,
    source: FeedSource,
    where: str,
) -> None:
    """Store one document's entries in [start, end)."""
    wanted = [a for a in parsed.articles if start <= a.published_at < end]
    report.undated += sum(1 for a in wanted if a.published_at_missing)
    history = [
        dataclasses.replace(a, origin="backfill") for a in wanted if not a.published_at_missing
    ]
    report.in_window += len(history)
    try:
        report.new_article_ids += store.store_articles(engine, history)
    except Exception as error:  # this document is lost, not the ones before or after it
        _failed(report, source, where, StoreFailed(f"could not store: {describe(error)}"))
    if parsed.articles and min(a.published_at for a in parsed.articles) < start:
        report.reached_start = True


def _documents(
    feed: FeedConfig,
    source: FeedSource,
    limits: FetchLimits,
    max_pages: int,
    start: datetime,
    report: BackfillReport,
) -> Iterator[tuple[str, ParsedFeed]]:
    spec = feed.backfill
    assert spec is not None
    if spec.kind == "directory":
        yield from _directory(spec, source, limits, report)
        return
    url = spec.url or feed.url
    seen_urls: set[str] = set()
    seen_entries: set[str] = set()
    for page in range(1, max_pages + 1):
        if spec.kind == "wordpress" and page > 1:
            url = _with_page(spec.url or feed.url, page)
        if url in seen_urls:  # a loop of links
            return
        seen_urls.add(url)
        parsed = _read(url, source, limits, report, missing_ends=spec.kind == "wordpress")
        if parsed is None:
            return
        guids = {a.guid for a in parsed.articles}
        if guids and guids <= seen_entries:  # the site ignores the page number: nothing new
            return
        seen_entries |= guids
        yield url, parsed
        oldest = min((a.published_at for a in parsed.articles), default=None)
        if oldest is None or oldest < start:  # history reaches back past the window: done
            return
        if spec.kind == "wordpress":
            continue
        link = _older(parsed, spec)
        if link is None:
            return
        if not is_local(url) and is_local(link):  # a web page may not point us at local files
            _failed(report, source, link, AddressRefused("a web document linked to a local file"))
            return
        url = link
    report.errors.append(f"stopped after {max_pages} pages (backfill.max_pages)")


def _older(parsed: ParsedFeed, spec: BackfillSourceConfig) -> str | None:
    """The link to the next older document."""
    if spec.kind == "rfc5005":
        return parsed.links.get("prev-archive")
    return parsed.links.get("next") or parsed.links.get("previous") or parsed.links.get("prev")


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("paged", str(page))])))


def _read(
    url: str,
    source: FeedSource,
    limits: FetchLimits,
    report: BackfillReport,
    *,
    missing_ends: bool = False,
) -> ParsedFeed | None:
    outcome = fetch_one(dataclasses.replace(source, url=url, etag=None, last_modified=None), limits)
    try:
        if isinstance(outcome, FetchError):
            raise outcome
        return read_document(outcome, max_bytes=limits.max_bytes, max_items=limits.max_items)
    except ClientHTTPError as error:
        if missing_ends and error.http_status == 404:  # past the last WordPress page
            return None
        _failed(report, source, url, error)
    except FetchError as error:
        _failed(report, source, url, error)
    return None


def _failed(report: BackfillReport, source: FeedSource, where: str, error: FetchError) -> None:
    message = without_userinfo(f"{where}: {error.kind}: {error}")
    report.errors.append(message)
    log.warning("backfill of %r: %s", source.name, message)


def _directory(
    spec: BackfillSourceConfig, source: FeedSource, limits: FetchLimits, report: BackfillReport
) -> Iterator[tuple[str, ParsedFeed]]:
    folder = Path(spec.path or "")
    if not folder.is_dir():
        report.errors.append(f"{folder}: not a directory")
        return
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in FEED_SUFFIXES):
        parsed = _read(str(path), source, limits, report)
        if parsed is not None:
            yield str(path), parsed
