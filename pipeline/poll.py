"""One polling cycle: fetch the due feeds, parse, drop exact duplicates, store.

`ingest` handles one feed's fetch outcome and is what an Airflow mapped task calls; `poll` runs
a whole cycle concurrently for the command line. A feed that fails is recorded and reported;
it never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from . import store
from .config import Config, FetchConfig
from .errors import ConfigError, FetchError, ServerHTTPError
from .fetch import FetchLimits, FetchOutcome, fetch_feeds
from .parse import parse_feed
from .records import FeedReport, FeedSource

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
    """Parse and store one feed's fetch outcome, recording it in the feed's state and log."""
    now = datetime.now(UTC)
    if isinstance(outcome, FetchError):
        return _record_failure(engine, source, outcome, now, settings)
    if outcome.not_modified:
        store.record_fetch(
            engine,
            store.FetchRecord(
                source=source,
                started_at=outcome.fetched_at,
                status="not_modified",
                next_fetch_at=_next_fetch(source, now),
                http_status=outcome.http_status,
                bytes=0,
                duration_ms=outcome.duration_ms,
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                moved_to=outcome.moved_to,
            ),
        )
        return FeedReport(source.id, source.name, "not_modified")
    try:
        parsed = parse_feed(outcome, max_bytes=settings.max_bytes)
    except FetchError as error:
        return _record_failure(engine, source, error, now, settings, outcome.http_status)
    new_ids = store.record_fetch(
        engine,
        store.FetchRecord(
            source=source,
            started_at=outcome.fetched_at,
            status="ok",
            next_fetch_at=_next_fetch(source, now),
            http_status=outcome.http_status,
            bytes=len(outcome.body or b""),
            duration_ms=outcome.duration_ms,
            items_seen=len(parsed.articles),
            warning=parsed.warning,
            etag=outcome.etag,
            last_modified=outcome.last_modified,
            moved_to=outcome.moved_to,
            title=parsed.title,
            format=parsed.format,
        ),
        parsed.articles,
    )
    if outcome.moved_to:
        log.info("feed %r moved permanently to %s", source.name, outcome.moved_to)
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
    store.record_fetch(
        engine,
        store.FetchRecord(
            source=source,
            started_at=now,
            status=error.kind,
            next_fetch_at=next_fetch_at,
            http_status=error.http_status or http_status,
            error=str(error),
        ),
    )
    log.warning("feed %r failed (%s): %s", source.name, error.kind, error)
    return FeedReport(source.id, source.name, error.kind, error=str(error))


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
