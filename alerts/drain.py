"""Drain the outbox: send every alert that is due, exactly once.

For each message: claim its alerts (committed), make sure it was not already posted by a drain
that died (Slack history, bot-token mode), send, record the outcome. A topic with more than
`digest_after` alerts in one drain gets one digest message instead. Messages to one channel are
spaced `min_interval` apart (Slack asks for about one per second per channel).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy import Engine

from . import outbox
from .message import render_alert, render_digest, render_follow_up
from .records import Alert, Delivery, DrainReport, SlackMessage
from .slack import Sink

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 30.0  # a Retry-After up to this is waited out in the drain; longer, rescheduled
FIRST_RETRY = 30.0  # seconds before the first retry of a transient failure, doubling after


@dataclass(frozen=True, slots=True)
class DrainSettings:
    digest_after: int = 5
    min_interval: float = 1.0
    max_attempts: int = 10
    max_backoff: float = 3600.0
    lease: timedelta = timedelta(minutes=10)
    backfill_alerts: str = "digest"  # "digest", "none" or "live" (see outbox.enqueue)
    web_url: str | None = None  # the newswatch pages, for the "Open in newswatch" button


def sink_for(sinks: Mapping[str, Sink], destination: str) -> Sink | None:
    """ "slack:#news" -> the "slack" sink; "webhook" and "console" name theirs directly."""
    return sinks.get(destination.split(":", 1)[0])


def destination_channel(destination: str) -> str | None:
    """ "slack:#news" -> "#news"; the webhook and the console have no channel of their own."""
    return destination.split(":", 1)[1] if destination.startswith("slack:") else None


class _Pacer:
    """Keeps `interval` seconds between two messages to the same channel."""

    def __init__(self, interval: float, sleep: Callable[[float], None]) -> None:
        self.interval = interval
        self.sleep = sleep
        self.last: dict[str, float] = {}

    def wait(self, key: str) -> None:
        if key in self.last:
            remaining = self.interval - (time.monotonic() - self.last[key])
            if remaining > 0:
                self.sleep(remaining)

    def sent(self, key: str) -> None:
        self.last[key] = time.monotonic()


def drain(
    engine: Engine,
    sinks: Mapping[str, Sink],
    topic_names: Mapping[str, str],
    destinations: Mapping[str, str],
    settings: DrainSettings = DrainSettings(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DrainReport:
    """Enqueue new matches, then send everything due. Returns what happened."""
    report = DrainReport()
    outbox.enqueue(engine, destinations, now(), settings.backfill_alerts)
    recovered = outbox.recover_stale(engine, now(), settings.lease)
    if recovered:
        log.warning(
            "%d alert(s) were left 'sending' by a drain that stopped; checking them", recovered
        )
    pacer = _Pacer(settings.min_interval, sleep)
    worker = outbox.worker_name()
    for destination, message, members in plan(
        outbox.due_alerts(engine, now(), topic_names), settings
    ):
        sink = sink_for(sinks, destination)
        if sink is None:
            report.skipped += len(members)
            report.errors.append(f"{len(members)} alert(s) for {destination}: no sink configured")
            continue
        _deliver(
            engine, sink, destination, message, members, settings, pacer, worker, report, now, sleep
        )
    for alert in outbox.due_follow_ups(engine, topic_names):
        _follow_up(engine, sink_for(sinks, alert.destination), alert, pacer, report)
    return report


def _follow_up(
    engine: Engine, sink: Sink | None, alert: Alert, pacer: _Pacer, report: DrainReport
) -> None:
    """Tell a sent alert's thread that another outlet ran the story (at most once)."""
    if sink is None or not outbox.claim_follow_up(engine, alert.id):
        return
    channel = alert.slack_channel or destination_channel(alert.destination)
    pacer.wait(alert.destination)
    delivery = sink.reply(channel, alert.slack_ts, render_follow_up(alert))
    pacer.sent(alert.destination)
    if delivery.outcome == "sent":
        report.follow_ups += 1
    else:
        log.info("no thread reply for alert %d: %s", alert.id, delivery.error)


def plan(
    alerts: list[Alert], settings: DrainSettings
) -> list[tuple[str, SlackMessage, list[Alert]]]:
    """The messages a drain sends: one per alert, or one digest for a topic with more than
    `digest_after` alerts for one destination. Backfilled history always goes out as one
    digest per topic and destination, so a backfill never floods a channel."""
    messages = []
    ordered = sorted(alerts, key=lambda a: (a.destination, a.topic_id, a.origin, a.id))
    key = lambda a: (a.destination, a.topic_id, a.origin)  # noqa: E731
    for (destination, _, origin), group in groupby(ordered, key=key):
        batch = list(group)
        if origin == "backfill" or len(batch) > settings.digest_after:
            digest = render_digest(
                batch[0].topic_name,
                batch,
                history=origin == "backfill",
                web_url=settings.web_url,
            )
            messages.append((destination, digest, batch))
        else:
            messages += [
                (destination, render_alert(alert, web_url=settings.web_url), [alert])
                for alert in batch
            ]
    return messages


def preview(
    engine: Engine,
    topic_names: Mapping[str, str],
    destinations: Mapping[str, str],
    settings: DrainSettings = DrainSettings(),
) -> list[tuple[str, SlackMessage, list[Alert]]]:
    """What a drain would send now, changing nothing (for --dry-run)."""
    moment = datetime.now(UTC)
    waiting = outbox.waiting_matches(
        engine, destinations, topic_names, moment, settings.backfill_alerts
    )
    return plan(outbox.due_alerts(engine, moment, topic_names) + waiting, settings)


def _deliver(
    engine: Engine,
    sink: Sink,
    destination: str,
    message: SlackMessage,
    members: list[Alert],
    settings: DrainSettings,
    pacer: _Pacer,
    worker: str,
    report: DrainReport,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> None:
    ids = [a.id for a in members]
    if not outbox.claim(engine, ids, now(), worker):
        return  # another drain took them
    channel = destination_channel(destination)
    tried_before = any(a.attempts > 0 for a in members)
    if tried_before and sink.can_reconcile:
        try:
            found = sink.find_sent(channel, ids, min(a.created_at for a in members))
        # If history cannot be read, posting again risks a duplicate; waiting does not.
        except Exception as error:
            problem = (
                f"could not check whether it was already posted ({error}); the bot needs the "
                "channels:history (or groups:history) scope"
            )
            _record(engine, ids, Delivery("retry", error=problem), members, settings, report, now())
            return
        if found is not None:
            outbox.mark_sent(engine, ids, found[0], found[1], now())
            report.reconciled += len(ids)
            log.info("alert(s) %s were already in Slack; not sent again", ids)
            return
    pacer.wait(destination)
    delivery = sink.send(channel, message)
    # A 429 means nothing was posted, so waiting out a short Retry-After and sending is safe.
    if delivery.retry_after is not None and delivery.retry_after <= MAX_INLINE_WAIT:
        sleep(delivery.retry_after)
        delivery = sink.send(channel, message)
    pacer.sent(destination)
    _record(engine, ids, delivery, members, settings, report, now())


def _record(
    engine: Engine,
    ids: list[int],
    delivery: Delivery,
    members: list[Alert],
    settings: DrainSettings,
    report: DrainReport,
    moment: datetime,
) -> None:
    if delivery.outcome == "sent":
        outbox.mark_sent(engine, ids, delivery.channel, delivery.ts, moment)
        report.sent += len(ids)
        report.digests += len(ids) > 1
        return
    error = delivery.error or "unknown error"
    attempts = max(a.attempts for a in members) + 1
    if delivery.outcome == "failed" or attempts >= settings.max_attempts:
        if delivery.outcome != "failed":
            error = f"gave up after {attempts} attempts: {error}"
        outbox.mark_failed(engine, ids, error)
        report.failed += len(ids)
        report.errors.append(f"alert(s) {ids} failed: {error}")
        log.error("alert(s) %s failed: %s", ids, error)
        return
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), settings.max_backoff)
    delay = max(delay, delivery.retry_after or 0.0)
    outbox.mark_retry(engine, ids, error, moment + timedelta(seconds=delay))
    report.retrying += len(ids)
    log.warning("alert(s) %s will be retried in %.0fs: %s", ids, delay, error)
