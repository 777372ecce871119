"""One polling cycle: fetch the due feeds, parse, drop exact duplicates, store.

`ingest` handles one feed's fetch outcome and is what an Airflow mapped task calls; `poll` runs
a whole cycle concurrently (the command line, and each Airflow shard). A feed that fails,
whatever the reason, is recorded and reported; it never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from . import store
from .config import Config, FetchConfig
from .errors import ConfigError, FetchError, ServerHTTPError, StoreFailed, describe
from .fetch import FetchLimits, FetchOutcome, fetch_feeds
from .parse import read_document
from .records import Article, FeedReport, FeedSource, FetchedFeed, ParsedFeed
from .redact import without_userinfo

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollResult:
    reports: list[FeedReport] = field(default_factory=list)
    not_due: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.reports if r.status == status)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reports if r.failed)

    @property
    def articles_seen(self) -> int:
        return sum(r.articles_seen for r in self.reports)

    @property
    def new_article_ids(self) -> list[int]:
        return sorted(i for r in self.reports for i in r.new_article_ids)


def due_feeds(
    engine: Engine,
    config: Config,
    *,
    now: datetime | None = None,
    force: bool = False,
    names: Sequence[str] | None = None,
) -> tuple[list[FeedSource], int]:
    """Register the configured feeds and return (the due ones, how many were not due)."""
    now = now or datetime.now(UTC)
    feeds = config.feeds
    if names:
        unknown = sorted(set(names) - {f.name for f in feeds})
        if unknown:
            raise ConfigError(f"no feed named {', '.join(map(repr, unknown))} in the config")
        feeds = [f for f in feeds if f.name in names]
    scheduled = store.sync_feeds(engine, feeds, now)
    due = [s.source for s in scheduled if force or s.is_due(now)]
    return due, len(scheduled) - len(due)


def poll(
    engine: Engine,
    config: Config,
    *,
    now: datetime | None = None,
    force: bool = False,
    names: Sequence[str] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> PollResult:
    """Fetch every due feed (all of them with `force`) and store what is new."""
    sources, not_due = due_feeds(engine, config, now=now, force=force, names=names)
    result = PollResult(not_due=not_due)
    if on_start is not None:
        on_start(len(sources))

    def handle(source: FeedSource, outcome: FetchOutcome) -> None:
        report = ingest(engine, source, outcome, config.fetch)
        result.reports.append(report)
        if on_feed is not None:
            on_feed(report)

    asyncio.run(fetch_feeds(sources, FetchLimits.from_config(config.fetch), on_result=handle))
    result.reports.sort(key=lambda r: r.feed_name)
    return result


def ingest(
    engine: Engine, source: FeedSource, outcome: FetchOutcome, settings: FetchConfig
) -> FeedReport:
    """Parse and store one feed's fetch outcome, recording it in the feed's state and log.

    Never raises for this feed's own trouble: whatever goes wrong in parsing or storing
    (a hostile document, a parser bug, a database error) is recorded as this feed's failure,
    with a kind that says which stage broke, and backed off like any other failure.
    """
    now = datetime.now(UTC)
    if isinstance(outcome, FetchError):
        return _record_failure(engine, source, outcome, now, settings)
    try:
        if outcome.not_modified:
            _store(engine, source, _succeeded(source, outcome, now))
            return FeedReport(source.id, source.name, "not_modified")
        parsed = read_document(outcome, max_bytes=settings.max_bytes, max_items=settings.max_items)
        new_ids = _store(engine, source, _succeeded(source, outcome, now, parsed), parsed.articles)
    except FetchError as error:
        return _record_failure(engine, source, error, now, settings, outcome.http_status)
    if outcome.moved_to:
        log.info("feed %r moved permanently to %s", source.name, without_userinfo(outcome.moved_to))
    if parsed.warning:
        log.warning("feed %r: parser warning: %s", source.name, parsed.warning)
    return FeedReport(
        source.id,
        source.name,
        "ok",
        articles_seen=len(parsed.articles),
        new_article_ids=new_ids,
        warning=parsed.warning,
    )


def _store(
    engine: Engine, source: FeedSource, record: store.FetchRecord, articles: Sequence[Article] = ()
) -> list[int]:
    try:
        return store.record_fetch(engine, record, articles)
    except Exception as error:
        log.debug("storing feed %r raised", source.name, exc_info=True)
        raise StoreFailed(f"could not store the feed: {describe(error)}") from error


def _succeeded(
    source: FeedSource, outcome: FetchedFeed, now: datetime, parsed: ParsedFeed | None = None
) -> store.FetchRecord:
    """The record of a fetch that worked: with a parsed document, or a 304 without."""
    return store.FetchRecord(
        source=source,
        started_at=outcome.fetched_at,
        status="not_modified" if parsed is None else "ok",
        next_fetch_at=_next_fetch(source, now),
        http_status=outcome.http_status,
        bytes=len(outcome.body or b""),
        duration_ms=outcome.duration_ms,
        items_seen=len(parsed.articles) if parsed else 0,
        warning=parsed.warning if parsed else None,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
        moved_to=outcome.moved_to,
        title=parsed.title if parsed else None,
        format=parsed.format if parsed else None,
        body_hash=hashlib.sha256(outcome.body).hexdigest() if outcome.body is not None else None,
    )


def _record_failure(
    engine: Engine,
    source: FeedSource,
    error: FetchError,
    now: datetime,
    settings: FetchConfig,
    http_status: int | None = None,
) -> FeedReport:
    retry_after = error.retry_after if isinstance(error, ServerHTTPError) else None
    next_fetch_at = backoff(source, now, retry_after=retry_after, max_backoff=settings.max_backoff)
    message = without_userinfo(str(error))
    try:
        store.record_fetch(
            engine,
            store.FetchRecord(
                source=source,
                started_at=now,
                status=error.kind,
                next_fetch_at=next_fetch_at,
                http_status=error.http_status or http_status,
                error=message,
            ),
        )
    except Exception as failure:  # the database itself is failing: report, and go on
        log.error("feed %r: could not record its failure: %s", source.name, describe(failure))
    log.warning("feed %r failed (%s): %s", source.name, error.kind, message)
    return FeedReport(source.id, source.name, error.kind, error=message)


def _next_fetch(source: FeedSource, now: datetime) -> datetime:
    return now + timedelta(seconds=source.poll_interval)


def backoff(
    source: FeedSource, now: datetime, *, retry_after: float | None, max_backoff: float
) -> datetime:
    """After the n-th failure in a row wait interval * 2^n, capped, and never less than the
    server's Retry-After."""
    failures = min(source.consecutive_failures + 1, 30)
    delay = max(source.poll_interval, min(source.poll_interval * 2**failures, max_backoff))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
