"""Operations messages: a daily health summary and an immediate note when a feed that carried
a topic's last matches goes stale, to `slack.ops_channel`, through the notices outbox.

The summary is sent only when something is wrong (a feed or topic problem, failed alerts, or
alerts kept past their time), at most once per UTC day: its notice key is the date. A stale-feed
note is sent once per episode: its key is the problem's own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from pipeline.config import Config
from pipeline.health import Problem, check_health

from .destinations import AlertSetup
from .message import context, feed_text, fit, header, section, slack_date
from .notices import queue_notice, send_due_notices
from .records import DrainReport, SlackMessage
from .transitions import ALERTS, FAILED, PENDING

OVERDUE = timedelta(hours=1)  # a pending alert this far past its time is stuck, not scheduled
LINES_PER_KIND = 20
KINDS = {  # problem kind -> heading, in the order shown
    "stale": "Stale feeds (nothing new for several times their usual gap)",
    "stuck": "Stuck feeds (unchanged far longer than their rhythm)",
    "failing": "Failing feeds",
    "moved": "Moved feeds (permanent redirect: update the config)",
    "silent": "Silent topics",
}


@dataclass(frozen=True, slots=True)
class AlertStats:
    failed: int
    overdue: int  # pending more than OVERDUE past their time (no sink, bad credentials, ...)

    @property
    def wrong(self) -> bool:
        return bool(self.failed or self.overdue)


def alert_stats(engine: Engine, now: datetime) -> AlertStats:
    with engine.connect() as connection:
        failed = connection.execute(
            select(func.count()).select_from(ALERTS).where(ALERTS.c.status == FAILED)
        ).scalar_one()
        overdue = connection.execute(
            select(func.count())
            .select_from(ALERTS)
            .where(ALERTS.c.status == PENDING, ALERTS.c.next_attempt_at < now - OVERDUE)
        ).scalar_one()
    return AlertStats(failed, overdue)


def queue_ops_messages(
    engine: Engine,
    problems: Sequence[Problem],
    stats: AlertStats,
    now: datetime,
    destination: str,
) -> list[str]:
    """Owe today's summary (when something is wrong) and a note for each stale feed that
    carried a topic's last matches; returns the keys of the notices newly owed."""
    owed = []
    for problem in problems:
        if problem.kind == "stale" and problem.subject_kind == "feed" and problem.topic_ids:
            key = f"stale-feed:{problem.key}"
            if queue_notice(engine, key, "stale_feed", destination, stale_note(problem), now):
                owed.append(key)
    if problems or stats.wrong:
        key = f"ops-summary:{now:%Y-%m-%d}"
        if queue_notice(engine, key, "ops_summary", destination, summary(problems, stats), now):
            owed.append(key)
    return owed


def stale_note(problem: Problem) -> SlackMessage:
    topics = ", ".join(f"`{feed_text(t)}`" for t in problem.topic_ids)
    text = (
        f":warning: *{feed_text(problem.subject)}* has gone stale: {feed_text(problem.reason)} "
        f"(since {slack_date(problem.since)}). It carried the last matches of {topics}: "
        "their silence may be this feed's, not the news'."
    )
    blocks = [section(text)]
    if problem.hint:
        blocks.append(context(feed_text(problem.hint)))
    return SlackMessage(fit(text, 3000), blocks)


def summary(problems: Sequence[Problem], stats: AlertStats) -> SlackMessage:
    """The health summary: problems grouped by kind, then the alerts that did not go out."""
    count = len(problems) + (stats.failed > 0) + (stats.overdue > 0)
    title = f"newswatch health: {count} problem{'s' if count != 1 else ''}"
    blocks: list[dict[str, Any]] = [header(title)]
    for kind, heading in KINDS.items():
        found = [p for p in problems if p.kind == kind]
        if not found:
            continue
        lines = [f"*{heading}: {len(found)}*"] + [_line(p) for p in found[:LINES_PER_KIND]]
        if len(found) > LINES_PER_KIND:
            lines.append(f"…and {len(found) - LINES_PER_KIND} more")
        blocks.append(section("\n".join(lines)))
    others = [p for p in problems if p.kind not in KINDS]
    if others:
        lines = ["*Other problems*"] + [_line(p) for p in others[:LINES_PER_KIND]]
        blocks.append(section("\n".join(lines)))
    if stats.wrong:
        blocks.append(
            section(
                f"*Alerts:* {stats.failed} failed, {stats.overdue} held more than an hour past "
                "their time: see `newswatch alerts`"
            )
        )
    counts = Counter(p.kind for p in problems)
    parts = [f"{counts[kind]} {kind}" for kind in counts]
    if stats.wrong:
        parts.append(f"alerts {stats.failed} failed, {stats.overdue} held")
    text = f"{title}: {', '.join(parts)}"
    return SlackMessage(fit(text, 3000), blocks[:50])


def _line(problem: Problem) -> str:
    line = (
        f"• *{feed_text(problem.subject)}*: {feed_text(problem.reason)} "
        f"(since {slack_date(problem.since)})"
    )
    return line + (f" · _{feed_text(problem.hint)}_" if problem.hint else "")


def deliver_ops(
    engine: Engine,
    setup: AlertSetup,
    problems: Sequence[Problem],
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> DrainReport:
    """Owe what is wrong now to the ops channel and send every notice due (nothing at all
    when `slack.ops_channel` is not set)."""
    if setup.ops_destination is None:
        return DrainReport()
    moment = now()
    queue_ops_messages(engine, problems, alert_stats(engine, moment), moment, setup.ops_destination)
    return send_due_notices(engine, setup.sinks, setup.settings, sleep=sleep, now=now)


def check_and_deliver_ops(
    engine: Engine,
    setup: AlertSetup,
    config: Config,
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> DrainReport:
    """Check the watcher's health and deliver what it finds (`deliver_ops`): what `newswatch
    run` and the delivery job do. Without `slack.ops_channel`, not even the check is made."""
    if setup.ops_destination is None:
        return DrainReport()
    problems = check_health(engine, config, now()).problems
    return deliver_ops(engine, setup, problems, now=now, sleep=sleep)
