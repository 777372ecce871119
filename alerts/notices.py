"""The notices outbox: messages to the operations channel, owed once per key.

A notice's key says what it is about ("ops-summary:2026-11-27", "stale-feed:<episode key>"), so
queueing the same notice again changes nothing; it is then delivered by the alerts' drain
machinery (claim, post with its id in the message metadata, mark; after a crash, look for it in
the channel's history first), so it reaches Slack once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, select

from pipeline.store.database import insert_for
from pipeline.store.schema import NoticeRow

from . import outbox
from .drain import DrainSettings, sender
from .records import DrainReport, SlackMessage
from .slack import Sink

NOTICES: Table = NoticeRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice owed, as the drain handles it (the fields it shares with an alert)."""

    id: int
    key: str
    kind: str
    destination: str
    text: str
    blocks: list[dict[str, Any]]
    attempts: int
    created_at: datetime
    delivery: str = "immediate"

    @property
    def message(self) -> SlackMessage:
        return SlackMessage(self.text, self.blocks, (self.id,), kind="notice")


def queue_notice(
    engine: Engine, key: str, kind: str, destination: str, message: SlackMessage, now: datetime
) -> bool:
    """Owe this notice unless one with its key already is (or was sent); True when new."""
    with engine.begin() as connection:
        inserted = connection.execute(
            insert_for(connection, NOTICES)
            .values(
                key=key,
                kind=kind,
                destination=destination,
                text=message.text,
                blocks=message.blocks,
                status=outbox.PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing()
        ).rowcount
    return bool(inserted)


def due_notices(engine: Engine, now: datetime) -> list[Notice]:
    query = (
        select(NOTICES)
        .where(NOTICES.c.status == outbox.PENDING, NOTICES.c.next_attempt_at <= now)
        .order_by(NOTICES.c.id)
    )
    with engine.connect() as connection:
        return [
            Notice(
                row.id,
                row.key,
                row.kind,
                row.destination,
                row.text,
                row.blocks,
                row.attempts,
                row.created_at,
            )
            for row in connection.execute(query)
        ]


def send_due_notices(
    engine: Engine,
    sinks: Mapping[str, Sink],
    settings: DrainSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DrainReport:
    """Send every notice that is due, exactly as alerts are sent (paced, retried, reconciled)."""
    report = DrainReport()
    outbox.recover_stale(engine, now(), settings.lease, NOTICES)
    state = sender(
        engine, sinks, settings, report, now=now, sleep=sleep, table=NOTICES, kind="notice"
    )
    notices = due_notices(engine, now())
    state.send_all([(n.destination, n.message, [n]) for n in notices])  # type: ignore[misc]
    return report
