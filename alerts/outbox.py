"""The alert outbox: the `alerts` table and every change to it.

An alert is owed once per (topic, story, destination); the unique key makes enqueueing
idempotent across reruns, retries and backfills. Delivery moves an alert
pending -> sending (claimed, committed before the message goes out) -> sent | pending (retry
later) | failed (permanent), by the moves in `transitions` (shared with the notices). An alert
of a digest topic waits, pending, for its digest's slot; one matched in its topic's quiet hours
waits, pending and "held", until they end (pipeline/delivery.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, case, func, select, update

from pipeline.delivery import IMMEDIATE, Rhythm
from pipeline.store.database import insert_for
from pipeline.store.labels import is_muted
from pipeline.store.schema import ArticleRow, FeedRow, TopicMatchRow

from .records import Alert
from .transitions import (
    ALERTS,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    claim,
    mark_failed,
    mark_retry,
    mark_sent,
    postpone,
    recover_stale,
    worker_name,
)

ENQUEUE_BATCH = 1000


def enqueue(
    engine: Engine,
    destinations: Mapping[str, str],
    now: datetime,
    backfill_alerts: str = "digest",
    rhythms: Mapping[str, Rhythm] | None = None,
) -> int:
    """Turn matches not yet enqueued into alerts for their topic's destination; returns how
    many alerts are new. Matches of topics that are no longer configured are retired.

    Alerts are owed per story: a match on a later copy of a story that already has its alert
    is added to that alert's "also reported by" (and, once the alert is sent, asks for a
    follow-up in its thread), never a second alert. A match on a backfilled article follows
    `backfill_alerts`: "digest" (an alert marked backfill, sent in a digest), "live" (an ordinary
    alert) or "none" (no alert at all). A live match follows its topic's rhythm (`rhythms`,
    immediate when absent): see `delivery_of`.
    """
    rhythms = rhythms or {}
    created = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(
                    TopicMatchRow.id,
                    TopicMatchRow.topic_id,
                    TopicMatchRow.article_id,
                    ArticleRow.story_id,
                    ArticleRow.origin,
                    ArticleRow.title,
                    ArticleRow.url,
                    FeedRow.name.label("feed"),
                    TopicMatchRow.score,
                    TopicMatchRow.matched_at,
                )
                .join(ArticleRow, ArticleRow.id == TopicMatchRow.article_id)
                .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                .where(TopicMatchRow.enqueued_at.is_(None), ArticleRow.story_id.is_not(None))
                .order_by(TopicMatchRow.id)
                .limit(ENQUEUE_BATCH)
            ).all()
            if not rows:
                return created
            owed = [
                (row, destinations[row.topic_id])
                for row in rows
                if row.topic_id in destinations
                and not (row.origin == "backfill" and backfill_alerts == "none")
            ]
            # (topic, story, destination, article) of each alert created: several copies of a
            # story in one batch share a key, and only the first one becomes the alert.
            inserted: set[tuple[str, int, str, int]] = set()
            if owed:
                statement = insert_for(connection, ALERTS).on_conflict_do_nothing()
                returned = statement.returning(
                    ALERTS.c.topic_id, ALERTS.c.story_id, ALERTS.c.destination, ALERTS.c.article_id
                )
                rows_in = [
                    _new_alert(row, destination, now, backfill_alerts, rhythms)
                    for row, destination in owed
                ]
                inserted = {tuple(r) for r in connection.execute(returned, rows_in)}  # type: ignore[misc]
                created += len(inserted)
            for row, destination in owed:
                if (row.topic_id, row.story_id, destination, row.article_id) not in inserted:
                    _note_copy(connection, row, destination)
            connection.execute(
                update(TopicMatchRow)
                .where(TopicMatchRow.id.in_([row.id for row in rows]))
                .values(enqueued_at=now)
            )


def delivery_of(  # type: ignore[no-untyped-def]
    row, rhythms: Mapping[str, Rhythm], now: datetime
) -> tuple[str, datetime]:
    """How a match's alert goes out, and not before when: a live match by its topic's rhythm,
    in the digest of the first slot after the match, or held to the end of quiet hours (unless
    urgent); else, and for a backfilled match (`backfill_alerts` decides those), now."""
    if row.origin == "backfill":
        return "immediate", now
    rhythm = rhythms.get(row.topic_id, IMMEDIATE)
    if rhythm.is_digest:
        return "digest", rhythm.next_slot(row.matched_at)
    quiet_until = rhythm.quiet_until(now)
    if quiet_until is not None and not rhythm.breaks_through(row.score):
        return "held", quiet_until
    return "immediate", now


def _new_alert(  # type: ignore[no-untyped-def]
    row, destination: str, now: datetime, backfill_alerts: str, rhythms: Mapping[str, Rhythm]
) -> dict[str, object]:
    backfilled = row.origin == "backfill" and backfill_alerts == "digest"
    delivery, due = delivery_of(row, rhythms, now)
    return {
        "topic_id": row.topic_id,
        "story_id": row.story_id,
        "article_id": row.article_id,
        "destination": destination,
        "origin": "backfill" if backfilled else "live",
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": due,
        "delivery": delivery,
        "also_reported_by": [],
        "needs_follow_up": False,
    }


def _note_copy(connection: Connection, row, destination: str) -> None:  # type: ignore[no-untyped-def]
    """Record another outlet's copy on the story's alert for this topic and destination."""
    existing = connection.execute(
        select(ALERTS.c.id, ALERTS.c.article_id, ALERTS.c.status, ALERTS.c.also_reported_by).where(
            ALERTS.c.topic_id == row.topic_id,
            ALERTS.c.story_id == row.story_id,
            ALERTS.c.destination == destination,
        )
    ).first()
    if existing is None or existing.article_id == row.article_id:
        return
    copies = list(existing.also_reported_by or [])
    if any(c.get("url") == row.url and c.get("feed") == row.feed for c in copies):
        return
    copies.append({"feed": row.feed, "title": row.title, "url": row.url})
    connection.execute(
        update(ALERTS)
        .where(ALERTS.c.id == existing.id)
        .values(also_reported_by=copies, needs_follow_up=existing.status == SENT)
    )


def due_follow_ups(engine: Engine, topic_names: Mapping[str, str]) -> list[Alert]:
    """Sent alerts whose story has been reported by another outlet since (not muted ones)."""
    query = _alert_query().where(
        ALERTS.c.status == SENT, ALERTS.c.needs_follow_up.is_(True), ~is_muted()
    )
    with engine.connect() as connection:
        return [_alert(row, topic_names) for row in connection.execute(query.order_by(ALERTS.c.id))]


def claim_follow_up(engine: Engine, alert_id: int) -> bool:
    """Take a follow-up (at most once: a crash after this loses a thread reply, not an alert)."""
    with engine.begin() as connection:
        return bool(
            connection.execute(
                update(ALERTS)
                .where(ALERTS.c.id == alert_id, ALERTS.c.needs_follow_up.is_(True), ~is_muted())
                .values(needs_follow_up=False)
            ).rowcount
        )


def release_follow_up(engine: Engine, alert_id: int) -> None:
    """Owe a claimed follow-up again: Slack refused it (rate limit), so nothing was posted."""
    with engine.begin() as connection:
        connection.execute(
            update(ALERTS).where(ALERTS.c.id == alert_id).values(needs_follow_up=True)
        )


# What an alert shows of its article and match; read back by `_shown`.
_SHOWN = (
    ArticleRow.title,
    ArticleRow.url,
    FeedRow.name,
    ArticleRow.published_at,
    ArticleRow.published_at_missing,
    TopicMatchRow.score,
    TopicMatchRow.explanation,
)


def _shown(row) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "title": row.title,
        "url": row.url,
        "feed_name": row.name,
        "published_at": row.published_at,
        "published_at_missing": row.published_at_missing,
        "score": row.score,
        "explanation": row.explanation,
    }


def _alert_query():  # type: ignore[no-untyped-def]
    return (
        select(
            ALERTS.c.id,
            ALERTS.c.topic_id,
            ALERTS.c.destination,
            ALERTS.c.attempts,
            ALERTS.c.origin,
            ALERTS.c.delivery,
            ALERTS.c.created_at,
            ALERTS.c.slack_channel,
            ALERTS.c.slack_ts,
            ALERTS.c.also_reported_by,
            *_SHOWN,
        )
        .join(ArticleRow, ArticleRow.id == ALERTS.c.article_id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .join(
            TopicMatchRow,
            and_(
                TopicMatchRow.article_id == ALERTS.c.article_id,
                TopicMatchRow.topic_id == ALERTS.c.topic_id,
            ),
        )
    )


def _alert(row, topic_names: Mapping[str, str]) -> Alert:  # type: ignore[no-untyped-def]
    return Alert(
        id=row.id,
        topic_id=row.topic_id,
        topic_name=topic_names.get(row.topic_id, row.topic_id),
        destination=row.destination,
        attempts=row.attempts,
        origin=row.origin,
        delivery=row.delivery,
        created_at=row.created_at,
        also_reported_by=tuple(row.also_reported_by or ()),
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        **_shown(row),
    )


def due_alerts(
    engine: Engine, now: datetime, topic_names: Mapping[str, str], limit: int = 1000
) -> list[Alert]:
    query = (
        _alert_query()
        .where(ALERTS.c.status == PENDING, ALERTS.c.next_attempt_at <= now)
        .order_by(ALERTS.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_alert(row, topic_names) for row in connection.execute(query)]


def waiting_matches(
    engine: Engine,
    destinations: Mapping[str, str],
    topic_names: Mapping[str, str],
    now: datetime,
    backfill_alerts: str = "digest",
    rhythms: Mapping[str, Rhythm] | None = None,
) -> list[Alert]:
    """Matches not yet enqueued, as the alerts `enqueue` will make of them (id 0), for dry runs:
    one per story and destination (later copies listed as also reported by), none for a story
    that already has its alert, the backfill policy applied, and none that its topic's rhythm
    would not send now (a digest not yet due, quiet hours)."""
    rhythms = rhythms or {}
    query = (
        select(
            TopicMatchRow.topic_id,
            ArticleRow.story_id,
            ArticleRow.origin,
            TopicMatchRow.matched_at,
            *_SHOWN,
        )
        .join(ArticleRow, ArticleRow.id == TopicMatchRow.article_id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(TopicMatchRow.enqueued_at.is_(None), ArticleRow.story_id.is_not(None))
        .order_by(TopicMatchRow.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        owed = {
            (row.topic_id, row.story_id, row.destination)
            for row in connection.execute(
                select(ALERTS.c.topic_id, ALERTS.c.story_id, ALERTS.c.destination)
            )
        }
    alerts: dict[tuple[str, int, str], Alert] = {}
    for row in rows:
        destination = destinations.get(row.topic_id)
        backfilled = row.origin == "backfill"
        if destination is None or (backfilled and backfill_alerts == "none"):
            continue
        key = (row.topic_id, row.story_id, destination)
        if key in owed:
            continue
        delivery, due = delivery_of(row, rhythms, now)
        if due > now:
            continue
        first = alerts.get(key)
        if first is not None:
            copy = {"feed": row.name, "title": row.title, "url": row.url}
            alerts[key] = replace(first, also_reported_by=(*first.also_reported_by, copy))
            continue
        alerts[key] = Alert(
            id=0,
            topic_id=row.topic_id,
            topic_name=topic_names.get(row.topic_id, row.topic_id),
            destination=destination,
            attempts=0,
            origin="backfill" if backfilled and backfill_alerts == "digest" else "live",
            created_at=now,
            delivery=delivery,
            **_shown(row),
        )
    return list(alerts.values())


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One row of `newswatch alerts`."""

    id: int
    topic_id: str
    destination: str
    status: str
    attempts: int
    title: str
    when: datetime
    detail: str
    delivery: str = "immediate"


def list_alerts(engine: Engine, statuses: Sequence[str], limit: int) -> list[AlertLine]:
    when = func.coalesce(ALERTS.c.sent_at, ALERTS.c.next_attempt_at)
    query = (
        select(
            ALERTS.c.id,
            ALERTS.c.topic_id,
            ALERTS.c.destination,
            ALERTS.c.status,
            ALERTS.c.attempts,
            ArticleRow.title,
            when.label("when"),
            ALERTS.c.last_error,
            ALERTS.c.slack_ts,
            ALERTS.c.delivery,
        )
        .join(ArticleRow, ArticleRow.id == ALERTS.c.article_id)
        .where(ALERTS.c.status.in_(statuses))
        .order_by(ALERTS.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            AlertLine(
                row.id,
                row.topic_id,
                row.destination,
                row.status,
                row.attempts,
                row.title,
                row.when,
                row.last_error or (f"ts {row.slack_ts}" if row.slack_ts else ""),
                row.delivery,
            )
            for row in connection.execute(query)
        ]


def count_by_status(engine: Engine, table: Table = ALERTS) -> dict[str, int]:
    """How many alerts (or notices) stand in each status."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.status, func.count()).group_by(table.c.status)
        ).all()
    return {status: count for status, count in rows}


def retry_failed(engine: Engine, ids: Sequence[int] | None, now: datetime) -> int:
    """Failed alerts (all, or these) back to pending, to go out on the next drain."""
    condition = ALERTS.c.status == FAILED
    if ids is not None:
        condition = and_(condition, ALERTS.c.id.in_(ids))
    with engine.begin() as connection:
        return connection.execute(
            update(ALERTS)
            .where(condition)
            # Not zero: an alert given up after timeouts may have arrived; a count above zero
            # makes the next send look for it in Slack first.
            .values(
                status=PENDING,
                next_attempt_at=now,
                attempts=case((ALERTS.c.attempts > 1, 1), else_=ALERTS.c.attempts),
                last_error=None,
            )
        ).rowcount


__all__ = [
    "FAILED",
    "PENDING",
    "SENDING",
    "SENT",
    "claim",
    "claim_follow_up",
    "count_by_status",
    "due_alerts",
    "due_follow_ups",
    "enqueue",
    "list_alerts",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "postpone",
    "recover_stale",
    "release_follow_up",
    "retry_failed",
    "waiting_matches",
    "worker_name",
]
