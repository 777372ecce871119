"""One polling cycle: fetch the due feeds, parse, drop exact duplicates, store.

`poll` runs a whole cycle (the command line, and each Airflow shard) as three overlapping
stages: fetching on an event loop (`fetch`), parsing off it (`parsepool`: worker processes on
every core for a big cycle's bigger documents, a thread otherwise), storing in a writer thread
in grouped transactions (`writer`).
A feed that fails, whatever the reason, is recorded and reported; it never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from . import store
from .config import Config, FetchConfig
from .errors import ConfigError, FetchError, ServerHTTPError, StoreFailed, describe
from .fetch import FetchLimits, FetchOutcome, fetch_feeds
from .parsepool import Parser
from .records import Article, FeedReport, FeedSource, FetchedFeed, ParsedFeed
from .redact import without_userinfo
from .writer import Writer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollResult:
    reports: list[FeedReport] = field(default_factory=list)
    not_due: int = 0
    parse_pools: int = 0  # 1 when the cycle parsed in worker processes
    transactions: int = 0  # the writer's transactions (fewer than feeds when grouped)

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
    """Fetch every due feed (all of them with `force`) and store what is new.

    `on_feed` is called with each feed's report once it is stored, from the writer's thread.
    """
    started = time.monotonic()
    sources, not_due = due_feeds(engine, config, now=now, force=force, names=names)
    result = PollResult(not_due=not_due)
    if on_start is not None:
        on_start(len(sources))

    def written(record: store.FetchRecord, new_ids: list[int]) -> None:
        report = _report(record, new_ids)
        result.reports.append(report)
        if on_feed is not None:
            on_feed(report)

    def store_failed(record: store.FetchRecord, error: Exception) -> store.FetchRecord:
        failure = StoreFailed(f"could not store the feed: {describe(error)}")
        return _failure(record.source, failure, datetime.now(UTC), config.fetch, record.http_status)

    settings = config.fetch
    # The parser forks its workers before the writer starts its thread (see parsepool).
    parser = Parser(len(sources), max_bytes=settings.max_bytes, max_items=settings.max_items)
    with parser, Writer(engine, written, store_failed) as writer:
        asyncio.run(_cycle(sources, settings, parser, writer))
    result.parse_pools, result.transactions = parser.pools_started, writer.transactions
    result.reports.sort(key=lambda r: r.feed_name)
    log.info(
        "%d feed(s) polled in %.2f s (%s; stored in %d transaction(s))",
        len(sources),
        time.monotonic() - started,
        f"a pool of {parser.workers} parse workers" if parser.pools_started else "no parse pool",
        writer.transactions,
    )
    return result


async def _cycle(
    sources: Sequence[FeedSource], settings: FetchConfig, parser: Parser, writer: Writer
) -> None:
    """Fetch on the event loop, parse in the parser's processes, store in the writer's thread:
    the three overlap, and a feed being parsed holds its fetch slot (`fetch.concurrency`), which
    bounds the documents held in memory."""
    limits = FetchLimits.from_config(settings)

    async def turn(source: FeedSource, outcome: FetchOutcome) -> None:
        record, articles = await _read(source, outcome, parser, settings)
        writer.put(record, articles)

    await fetch_feeds(sources, limits, on_result=turn)


async def _read(
    source: FeedSource, outcome: FetchOutcome, parser: Parser, settings: FetchConfig
) -> tuple[store.FetchRecord, Sequence[Article]]:
    """One feed's fetch outcome as what to store: a failure, a 304, or a parsed document.

    Never raises for this feed's own trouble: whatever goes wrong in parsing (a hostile
    document, a parser bug) is recorded as this feed's failure, with a kind that says which
    stage broke, and backed off like any other failure.
    """
    now = datetime.now(UTC)
    if isinstance(outcome, FetchError):
        return _failure(source, outcome, now, settings), ()
    if outcome.not_modified:
        return _succeeded(source, outcome, now), ()
    try:
        parsed = await parser.parse(outcome)
    except FetchError as error:
        return _failure(source, error, now, settings, outcome.http_status), ()
    if outcome.moved_to:
        log.info("feed %r moved permanently to %s", source.name, without_userinfo(outcome.moved_to))
    if parsed.warning:
        log.warning("feed %r: parser warning: %s", source.name, parsed.warning)
    return _succeeded(source, outcome, now, parsed), parsed.articles


def _report(record: store.FetchRecord, new_ids: list[int]) -> FeedReport:
    return FeedReport(
        record.source.id,
        record.source.name,
        record.status,
        articles_seen=record.items_seen,
        new_article_ids=new_ids,
        error=record.error,
        warning=record.warning,
    )


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


def _failure(
    source: FeedSource,
    error: FetchError,
    now: datetime,
    settings: FetchConfig,
    http_status: int | None = None,
) -> store.FetchRecord:
    """The record of a failed turn, backed off. The failure is not logged here: it is in the
    feed's report, which the command prints and a shard task logs (one line per feed)."""
    retry_after = error.retry_after if isinstance(error, ServerHTTPError) else None
    return store.FetchRecord(
        source=source,
        started_at=now,
        status=error.kind,
        next_fetch_at=backoff(
            source, now, retry_after=retry_after, max_backoff=settings.max_backoff
        ),
        http_status=error.http_status or http_status,
        error=without_userinfo(str(error)),
    )


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
