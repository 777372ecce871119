"""The moves of an owed message through its outbox table, shared by alerts and notices:
pending -> sending (claimed, committed before the message goes out) -> sent | pending (retry
later) | failed (permanent). A claim is a compare-and-set, so two drains never send one row.

Both tables (`alerts`, `notices`) have the columns these touch: status, attempts,
next_attempt_at, claimed_at, claimed_by, sent_at, slack_channel, slack_ts, last_error.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, select, update

from pipeline.store.schema import AlertRow

ALERTS: Table = AlertRow.__table__  # type: ignore[assignment]
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def recover_stale(engine: Engine, now: datetime, lease: timedelta, table: Table = ALERTS) -> int:
    """Return rows stuck in `sending` to `pending`: their drain died (its lease ran out, or
    it ran on this host and its process is gone). They keep their attempt count, so the next
    send first looks for the message in Slack instead of posting blindly."""
    with engine.begin() as connection:
        stuck = connection.execute(
            select(table.c.id, table.c.claimed_at, table.c.claimed_by).where(
                table.c.status == SENDING
            )
        ).all()
        dead = [row.id for row in stuck if row.claimed_at < now - lease or _gone(row.claimed_by)]
        if dead:
            connection.execute(
                update(table)
                .where(table.c.id.in_(dead), table.c.status == SENDING)
                .values(status=PENDING, next_attempt_at=now, claimed_by=None)
            )
    return len(dead)


def _gone(claimed_by: str | None) -> bool:
    host, _, pid = (claimed_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(
    engine: Engine, ids: Sequence[int], now: datetime, worker: str, table: Table = ALERTS
) -> bool:
    """Move these rows from pending to sending, all or none; False when another drain got
    there first. Committed before anything is sent."""
    with engine.begin() as connection:
        claimed = connection.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.status == PENDING)
            .values(
                status=SENDING,
                attempts=table.c.attempts + 1,
                claimed_at=now,
                claimed_by=worker,
            )
        ).rowcount
        if claimed != len(ids):
            connection.rollback()
            return False
    return True


def postpone(
    engine: Engine, ids: Sequence[int], reason: str, at: datetime, table: Table = ALERTS
) -> None:
    """Pending rows not tried in this drain (their channel is rate limited) wait until `at`."""
    with engine.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.status == PENDING)
            .values(next_attempt_at=at, last_error=reason)
        )


def release(engine: Engine, ids: Sequence[int], reason: str, table: Table = ALERTS) -> None:
    """Claimed rows that were not sent after all (their sink refused an earlier message of this
    drain) go back to pending, their claim's attempt not counted."""
    _finish(engine, ids, table, status=PENDING, attempts=table.c.attempts - 1, last_error=reason)


def mark_sent(
    engine: Engine,
    ids: Sequence[int],
    channel: str | None,
    ts: str | None,
    now: datetime,
    table: Table = ALERTS,
) -> None:
    _finish(
        engine,
        ids,
        table,
        status=SENT,
        sent_at=now,
        slack_channel=channel,
        slack_ts=ts,
        last_error=None,
    )


def mark_retry(
    engine: Engine, ids: Sequence[int], error: str, at: datetime, table: Table = ALERTS
) -> None:
    _finish(engine, ids, table, status=PENDING, next_attempt_at=at, last_error=error)


def mark_failed(engine: Engine, ids: Sequence[int], error: str, table: Table = ALERTS) -> None:
    _finish(engine, ids, table, status=FAILED, last_error=error)


def _finish(engine: Engine, ids: Sequence[int], table: Table, **values: object) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.status == SENDING)
            .values(claimed_by=None, **values)
        )
