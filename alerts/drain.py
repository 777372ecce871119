"""Drain the outbox: send every alert that is due, exactly once.

For each message: claim its alerts (committed), make sure none was already posted by a drain
that died (Slack history, bot-token mode; a message found proves only the alerts it names), send
what is left, record the outcome. A topic with more than `digest_after` alerts in one drain gets
one digest message instead. Messages to one Slack channel are spaced `min_interval` apart (Slack
asks for about one per second per channel), and a 429's Retry-After holds that channel, and only
that channel, for the rest of the drain. The terminal is not paced.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy import Engine, Table

from pipeline.delivery import IMMEDIATE, Rhythm

from . import outbox, transitions
from .message import render_alert, render_digest, render_follow_up, render_scheduled_digest
from .pacing import Pacer
from .records import Alert, Delivery, DrainReport, Refusal, SlackMessage
from .slack import HistoryUnavailable, Sink

log = logging.getLogger(__name__)

# What a destination lacks when no sink can send to it (its credential is missing or unusable).
NO_SINK = {"slack": "Slack bot token", "webhook": "Slack webhook URL"}
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
    rhythms: Mapping[str, Rhythm] = field(default_factory=dict)  # topic id -> its delivery


def sink_for(sinks: Mapping[str, Sink], destination: str) -> Sink | None:
    """ "slack:#news" -> the "slack" sink; "webhook" and "console" name theirs directly."""
    return sinks.get(destination.split(":", 1)[0])


def destination_channel(destination: str) -> str | None:
    """ "slack:#news" -> "#news"; the webhook and the console have no channel of their own."""
    return destination.split(":", 1)[1] if destination.startswith("slack:") else None


@dataclass(slots=True)
class _Message:
    """One message of the drain's plan, and how far it has got."""

    destination: str
    message: SlackMessage
    members: list[Alert]
    claimed: bool = False
    waited_out_429: bool = False


@dataclass(slots=True)
class _Drain:
    """One drain's state: the database, the sinks, what it has reported, how channels are paced."""

    engine: Engine
    sinks: Mapping[str, Sink]
    settings: DrainSettings
    report: DrainReport
    pacer: Pacer
    worker: str
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    table: Table = outbox.ALERTS  # or the notices', whose messages carry kind "notice"
    kind: str = "alert"
    # Sinks (by name) and destinations that refused a message for a reason every other message
    # would meet (a rejected token, a channel the bot is not in): not called again this drain.
    refused: dict[str, str] = field(default_factory=dict)

    def send_all(self, messages: list[tuple[str, SlackMessage, list[Alert]]]) -> None:
        """Send the planned messages, one channel's queue at a time: always a channel that is
        ready (in plan order), so one rate-limited channel holds up only its own messages."""
        queues: dict[str, deque[_Message]] = {}
        for destination, message, members in messages:
            queues.setdefault(destination, deque()).append(_Message(destination, message, members))
        order = {destination: index for index, destination in enumerate(queues)}
        while queues:
            destination = min(queues, key=lambda d: (self._wait(d), order[d]))
            queue = queues[destination]
            sink = sink_for(self.sinks, destination)
            unusable = self._unusable(sink, destination)
            if unusable:
                self._keep(destination, queue, unusable)
                del queues[destination]
                continue
            if self.pacer.held(destination) > MAX_INLINE_WAIT:
                self._postpone(destination, queue)
                del queues[destination]
                continue
            item = queue.popleft()
            if not item.claimed:
                queue.extendleft(reversed(self._claim(sink, item)))
            else:
                self._send(sink, item, queue)
            if not queue:
                del queues[destination]

    def _unusable(self, sink: Sink | None, destination: str) -> str | None:
        """Why nothing can go to this destination in this drain, or None."""
        if sink is None:
            return f"no working {NO_SINK.get(destination.split(':', 1)[0], 'sink')}"
        return self.refused.get(sink.name) or self.refused.get(destination)

    def _keep(self, destination: str, queue: deque[_Message], reason: str) -> None:
        """Leave the queue's alerts as they are (pending, or claimed and put back) for a later
        drain: what kept them from going is no fault of theirs."""
        kept = [a for m in queue for a in m.members]
        claimed = [a.id for m in queue if m.claimed for a in m.members]
        if claimed:
            transitions.release(self.engine, claimed, reason, self.table)
        waiting = [a.id for m in queue if not m.claimed for a in m.members]
        outbox.postpone(self.engine, waiting, reason, self.now(), self.table)
        self.report.skipped += len(kept)
        self.report.errors.append(
            f"{len(kept)} {self.kind}(s) for {destination} kept for later: {reason}"
        )

    def _wait(self, destination: str) -> float:
        sink = sink_for(self.sinks, destination)
        return self.pacer.wait(destination) if sink is not None and sink.paced else 0.0

    def _claim(self, sink: Sink, item: _Message) -> list[_Message]:
        """Claim the message's alerts and drop those already in Slack; what is left to send,
        planned again (one digest, or one message each)."""
        members = item.members
        ids = [a.id for a in members]
        if not outbox.claim(self.engine, ids, self.now(), self.worker, self.table):
            return []  # another drain took them
        tried = [a for a in members if a.attempts > 0]
        if tried and sink.can_reconcile:
            channel = destination_channel(item.destination)
            try:
                found = sink.find_sent(
                    channel, [a.id for a in tried], min(a.created_at for a in tried), self.kind
                )
            # If history cannot be read, posting again risks a duplicate; waiting does not.
            except Exception as error:
                reason = error if isinstance(error, HistoryUnavailable) else type(error).__name__
                problem = f"could not check whether it was already posted: {reason}"
                refuses = error.refuses if isinstance(error, HistoryUnavailable) else "message"
                if refuses != "message":  # a rejected token: no fault of these alerts
                    self._refused(sink, item.destination, refuses, problem)
                    claimed = _Message(item.destination, item.message, members, claimed=True)
                    self._keep(item.destination, deque([claimed]), problem)
                    return []
                self._record(members, Delivery("retry", error=problem))
                return []
            if found:
                self._reconciled([a for a in members if a.id in found], found)
                members = [a for a in members if a.id not in found]
        if len(members) == len(item.members):
            return [_Message(item.destination, item.message, members, claimed=True)]
        if not members:
            return []
        return [
            _Message(destination, message, group, claimed=True)
            for destination, message, group in plan(members, self.settings)
        ]

    def _reconciled(self, alerts: list[Alert], found: Mapping[int, tuple[str, str]]) -> None:
        """Mark these alerts sent as the messages found in Slack, each by its own message."""
        by_message = sorted(alerts, key=lambda a: found[a.id])
        for (channel, ts), group in groupby(by_message, key=lambda a: found[a.id]):
            ids = [a.id for a in group]
            outbox.mark_sent(self.engine, ids, channel, ts, self.now(), self.table)
            log.info("%s(s) %s were already in Slack; not sent again", self.kind, ids)
        self.report.reconciled += len(alerts)

    def _post(self, sink: Sink, destination: str, send: Callable[[], Delivery]) -> Delivery:
        """`send()` in the channel's turn (after its pacing interval and any Retry-After),
        never raising: a sink that raises must not leave its alerts 'sending'."""
        if sink.paced:
            wait = self.pacer.wait(destination)
            if wait > 0:
                self.sleep(wait)
                self.pacer.waited(destination)
        try:
            delivery = send()
        except Exception as error:  # only the type: an unknown error's text may carry a secret
            delivery = Delivery(
                "retry", error=f"the {sink.name} sink failed ({type(error).__name__})"
            )
        if sink.paced:
            self.pacer.sent(destination)
            if delivery.retry_after is not None:  # Slack posted nothing; this channel waits
                self.pacer.limit(destination, delivery.retry_after)
        return delivery

    def _send(self, sink: Sink, item: _Message, queue: deque[_Message]) -> None:
        channel = destination_channel(item.destination)
        delivery = self._post(sink, item.destination, lambda: sink.send(channel, item.message))
        # After a 429 no message goes to the channel before its Retry-After is up. One short
        # wait is sat out (other channels go on meanwhile); a long one reschedules this message
        # and, in `send_all`, the rest of the channel's queue.
        retry_after = delivery.retry_after
        if retry_after is not None and retry_after <= MAX_INLINE_WAIT and not item.waited_out_429:
            item.waited_out_429 = True
            queue.appendleft(item)
            return
        self._record(item.members, delivery)
        if delivery.outcome == "failed" and delivery.refuses != "message":
            self._refused(sink, item.destination, delivery.refuses, delivery.error or "refused")

    def _refused(self, sink: Sink, destination: str, refuses: Refusal, reason: str) -> None:
        """No more messages through this sink (or to this destination) in this drain."""
        self.refused[sink.name if refuses == "sink" else destination] = reason

    def _postpone(self, destination: str, queue: deque[_Message]) -> None:
        """The channel is rate limited beyond what a drain waits: its alerts go after it."""
        until = self.pacer.limited_until[destination]
        error = f"rate limited by Slack: {destination} is held until {until:%H:%M:%S} UTC"
        for item in queue:
            ids = [a.id for a in item.members]
            if item.claimed:
                outbox.mark_retry(self.engine, ids, error, until, self.table)
            else:
                outbox.postpone(self.engine, ids, error, until, self.table)
            self.report.retrying += len(ids)
        log.warning("%s", error)

    def _record(self, members: list[Alert], delivery: Delivery) -> None:
        ids = [a.id for a in members]
        moment = self.now()
        if delivery.outcome == "sent":
            outbox.mark_sent(self.engine, ids, delivery.channel, delivery.ts, moment, self.table)
            self.report.sent += len(ids)
            self.report.digests += len(ids) > 1 or members[0].delivery == "digest"
            return
        error = delivery.error or "unknown error"
        attempts = max(a.attempts for a in members) + 1
        if delivery.outcome == "failed" or attempts >= self.settings.max_attempts:
            if delivery.outcome != "failed":
                error = f"gave up after {attempts} attempts: {error}"
            outbox.mark_failed(self.engine, ids, error, self.table)
            self.report.failed += len(ids)
            self.report.errors.append(f"{self.kind}(s) {ids} failed: {error}")
            log.error("%s(s) %s failed: %s", self.kind, ids, error)
            return
        delay = min(FIRST_RETRY * 2 ** (attempts - 1), self.settings.max_backoff)
        delay = max(delay, delivery.retry_after or 0.0)
        outbox.mark_retry(self.engine, ids, error, moment + timedelta(seconds=delay), self.table)
        self.report.retrying += len(ids)
        log.warning("%s(s) %s will be retried in %.0fs: %s", self.kind, ids, delay, error)

    def follow_up(self, alert: Alert) -> None:
        """Tell a sent alert's thread that another outlet ran the story (at most once)."""
        sink = sink_for(self.sinks, alert.destination)
        if (
            self._unusable(sink, alert.destination)
            or self.pacer.held(alert.destination) > MAX_INLINE_WAIT
        ):
            return  # no sink, or the channel is rate limited: a later drain replies
        if not outbox.claim_follow_up(self.engine, alert.id):
            return
        channel = alert.slack_channel or destination_channel(alert.destination)
        delivery = self._post(
            sink,
            alert.destination,
            lambda: sink.reply(channel, alert.slack_ts, render_follow_up(alert)),
        )
        if delivery.outcome == "sent":
            self.report.follow_ups += 1
            return
        refused = delivery.outcome == "failed" and delivery.refuses != "message"
        if delivery.retry_after is not None or refused:  # nothing posted: the reply is owed
            outbox.release_follow_up(self.engine, alert.id)
        if refused:
            self._refused(sink, alert.destination, delivery.refuses, delivery.error or "refused")
            self.report.errors.append(
                f"thread reply for {self.kind} {alert.id} kept for later: {delivery.error}"
            )
        log.info("no thread reply for alert %d: %s", alert.id, delivery.error)


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
    outbox.enqueue(engine, destinations, now(), settings.backfill_alerts, settings.rhythms)
    recovered = outbox.recover_stale(engine, now(), settings.lease)
    if recovered:
        log.warning(
            "%d alert(s) were left 'sending' by a drain that stopped; checking them", recovered
        )
    state = sender(engine, sinks, settings, report, now=now, sleep=sleep)
    state.send_all(plan(outbox.due_alerts(engine, now(), topic_names), settings))
    for alert in outbox.due_follow_ups(engine, topic_names):
        state.follow_up(alert)
    return report


def sender(
    engine: Engine,
    sinks: Mapping[str, Sink],
    settings: DrainSettings,
    report: DrainReport,
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    table: Table = outbox.ALERTS,
    kind: str = "alert",
) -> _Drain:
    """What sends a drain's messages, for the rows of `table` (alerts, or notices)."""
    pacer = Pacer(settings.min_interval, now)
    worker = outbox.worker_name()
    return _Drain(engine, sinks, settings, report, pacer, worker, now, sleep, table, kind)


def plan(
    alerts: list[Alert], settings: DrainSettings
) -> list[tuple[str, SlackMessage, list[Alert]]]:
    """The messages a drain sends: one per alert, or one digest for a topic with more than
    `digest_after` alerts for one destination. Backfilled history always goes out as one
    digest per topic and destination, so a backfill never floods a channel; so does a digest
    topic's due alerts, as its scheduled digest."""
    messages = []
    key = lambda a: (a.destination, a.topic_id, a.origin, a.delivery == "digest")  # noqa: E731
    ordered = sorted(alerts, key=lambda a: (*key(a), a.id))
    for (destination, topic_id, origin, scheduled), group in groupby(ordered, key=key):
        batch = list(group)
        if scheduled:
            rhythm = settings.rhythms.get(topic_id, IMMEDIATE)
            digest = render_scheduled_digest(
                batch[0].topic_name,
                batch,
                rhythm=rhythm.describe() if rhythm.is_digest else "digest",
                web_url=settings.web_url,
            )
            messages.append((destination, digest, batch))
        elif origin == "backfill" or len(batch) > settings.digest_after:
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
        engine, destinations, topic_names, moment, settings.backfill_alerts, settings.rhythms
    )
    return plan(outbox.due_alerts(engine, moment, topic_names) + waiting, settings)
