"""What fetches change: the new articles, each feed's state and its fetch-log row.

A poll hands its feeds' outcomes over in groups (`record_fetches`): one transaction writes a
whole group with a few statements (one multi-row insert of articles, one executemany per kind
of feed update, one for the log), so that a cycle of 304s costs a few round trips per hundred
feeds rather than three per feed. A feed's new ETag is in the same transaction as its articles:
if it were saved without them, the next poll would get a 304 and those articles would be lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, case, func, select, update

from ..records import Article, FeedSource
from .articles import insert_new
from .database import insert_for
from .schema import FeedRow, FetchLogRow, UTCDateTime

FEEDS = FeedRow.__table__
FETCH_LOG = FetchLogRow.__table__


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """Everything one fetch attempt changes about its feed."""

    source: FeedSource
    started_at: datetime
    status: str
    next_fetch_at: datetime
    http_status: int | None = None
    bytes: int | None = None
    duration_ms: int | None = None
    items_seen: int = 0
    error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    title: str | None = None
    format: str | None = None
    body_hash: str | None = None  # of a 200's body: an identical body is no change

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "not_modified")


Fetched = tuple[FetchRecord, Sequence[Article]]


def record_fetch(
    engine: Engine, record: FetchRecord, articles: Sequence[Article] = ()
) -> list[int]:
    """Store one feed's new articles, new state and fetch-log row, atomically; the new ids."""
    return record_fetches(engine, [(record, articles)])[0]


def record_fetches(engine: Engine, fetched: Sequence[Fetched]) -> list[list[int]]:
    """Store several feeds' fetches in one transaction: all of them, or (raising) none.

    Returns the new article ids of each, in order. The feeds must be distinct. On PostgreSQL
    their rows are locked first, in id order, so two pollers writing overlapping groups wait
    for each other instead of deadlocking.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            ids = sorted(record.source.id for record, _ in fetched)
            connection.execute(
                select(FEEDS.c.id).where(FEEDS.c.id.in_(ids)).order_by(FEEDS.c.id).with_for_update()
            )
        articles = [article for _, batch in fetched for article in batch]
        new: dict[int, list[int]] = {record.source.id: [] for record, _ in fetched}
        for article_id, feed_id in insert_new(connection, articles):
            new[feed_id].append(article_id)
        _update_feeds(connection, [(record, bool(new[record.source.id])) for record, _ in fetched])
        connection.execute(
            insert_for(connection, FETCH_LOG),
            [_log_row(record, len(new[record.source.id])) for record, _ in fetched],
        )
    return [sorted(new[record.source.id]) for record, _ in fetched]


def _update_feeds(connection: Connection, records: Sequence[tuple[FetchRecord, bool]]) -> None:
    """One executemany UPDATE per shape of change (304, parsed document, failure, ...); the
    bool says whether the fetch stored something new."""
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for record, stored_new in sorted(records, key=lambda r: r[0].source.id):
        changes = _feed_changes(record, stored_new)
        shape = _Shape(record.succeeded, record.body_hash is not None, _moved(record))
        row = {"b_feed": record.source.id, "b_started": record.started_at, **changes}
        if shape.hashed:
            row["b_hash"] = record.body_hash
        if shape.moved:
            row["b_from"] = record.source.url
        groups.setdefault((shape, tuple(changes)), []).append(row)
    for (shape, _), rows in groups.items():
        statement = update(FEEDS).where(FEEDS.c.id == bindparam("b_feed"))
        connection.execute(statement.values(shape.derived()), rows)


@dataclass(frozen=True, slots=True)
class _Shape:
    """The changes computed from the row's own values, written as SQL expressions."""

    succeeded: bool
    hashed: bool  # a 200 with a body: body_changed_at moves only when the body did
    moved: bool  # the first permanent move of an episode is kept (the config names that URL)

    def derived(self) -> dict[str, object]:
        started = bindparam("b_started", type_=UTCDateTime())
        if not self.succeeded:
            return {
                "consecutive_failures": FEEDS.c.consecutive_failures + 1,
                "failing_since": func.coalesce(FEEDS.c.failing_since, started),
            }
        values: dict[str, object] = {}
        if self.hashed:
            new_hash = bindparam("b_hash")
            values["body_hash"] = new_hash
            values["body_changed_at"] = case(
                (FEEDS.c.body_hash == new_hash, FEEDS.c.body_changed_at), else_=started
            )
        if self.moved:
            values["moved_from"] = func.coalesce(FEEDS.c.moved_from, bindparam("b_from"))
            values["moved_at"] = func.coalesce(FEEDS.c.moved_at, started)
        return values


def _moved(record: FetchRecord) -> bool:
    return record.succeeded and bool(record.moved_to) and record.moved_to != record.source.url


def _feed_changes(record: FetchRecord, stored_new: bool) -> dict[str, object]:
    values: dict[str, object] = {
        "last_fetch_at": record.started_at,
        "last_status": record.status,
        "last_http_status": record.http_status,
        "next_fetch_at": record.next_fetch_at,
    }
    if stored_new:
        values["last_new_at"] = record.started_at
    if not record.succeeded:
        values["last_error"] = record.error
        return values
    values.update(
        last_success_at=record.started_at,
        consecutive_failures=0,
        failing_since=None,
        last_error=None,
        etag=record.etag,
        last_modified=record.last_modified,
    )
    if record.status == "ok":
        values["last_warning"] = record.warning
    if record.moved_to:
        values["url"] = record.moved_to
    if record.title is not None:
        values.update(title=record.title, format=record.format)
    return values


def _log_row(record: FetchRecord, items_new: int) -> dict[str, object]:
    return {
        "feed_id": record.source.id,
        "started_at": record.started_at,
        "url": record.source.url,
        "status": record.status,
        "http_status": record.http_status,
        "bytes": record.bytes,
        "duration_ms": record.duration_ms,
        "items_seen": record.items_seen,
        "items_new": items_new,
        "error": record.error,
        "warning": record.warning,
    }
