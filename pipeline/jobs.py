"""The jobs a scheduler runs, each self-contained: give it the config path and the database URL,
it opens what it needs, does one thing, and returns a JSON-able summary (Airflow passes these
between tasks as XCom). The Airflow DAGs in dags/ call these and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from alerts.destinations import alert_setup
from alerts.ops import check_and_deliver_ops

from . import store
from .backfill import backfill
from .config import Config, compile_topics, load_config
from .config import database_url as resolve_database_url
from .errors import NewswatchError
from .poll import due_feeds, poll
from .records import FeedReport
from .score import score_with
from .shards import ShardPolicy, plan_shards

log = logging.getLogger(__name__)


class PollFailed(NewswatchError):
    """Nothing could be polled: the run itself has failed and must say so."""


class AlertsNotSent(NewswatchError):
    """The Slack credentials are of the wrong form: matches are stored and their alerts wait in
    the outbox, but the task must fail so that the scheduler tells someone."""


@contextmanager
def opened(config_path: str | None, database_url: str | None) -> Iterator[tuple[Config, Engine]]:
    config = load_config(config_path).config
    engine = store.open_database(resolve_database_url(config, database_url))
    try:
        yield config, engine
    finally:
        engine.dispose()


def plan_poll(
    config_path: str | None,
    database_url: str | None,
    *,
    force: bool = False,
    policy: ShardPolicy | None = None,
) -> list[dict[str, Any]]:
    """The feeds due now (every feed with `force`), cut into shards by host: one task each."""
    with opened(config_path, database_url) as (config, engine):
        sources, not_due = due_feeds(engine, config, force=force)
    shards = plan_shards(sources, policy)
    log.info(
        "%d feed(s) due, %d not due: %d shard(s) of %s feeds",
        len(sources),
        not_due,
        len(shards),
        "/".join(str(len(s.feeds)) for s in shards) or "0",
    )
    return [
        {"index": s.index, "feeds": list(s.feeds), "hosts": list(s.hosts), "label": s.label}
        for s in shards
    ]


def poll_shard(
    config_path: str | None,
    database_url: str | None,
    feeds: Sequence[str],
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Poll one shard's feeds concurrently with `poll`, the code path of `newswatch poll`.

    A feed that fails is recorded (in `newswatch feeds` and the fetch log), logged and listed
    in the summary; it does not fail the shard. Feeds that are no longer due are left alone,
    so a retry after a crash polls only what the crashed attempt had not finished, and
    nothing is stored twice (articles are unique, and validators make re-fetches 304s).
    """
    wanted = set(feeds)
    with opened(config_path, database_url) as (config, engine):
        mine = [feed for feed in config.feeds if feed.name in wanted]
        if len(mine) < len(wanted):
            log.warning(
                "%d feed(s) left the config since this poll was planned", len(wanted) - len(mine)
            )
        # The config narrowed to this shard's feeds: poll registers and fetches only those.
        result = poll(
            engine, config.model_copy(update={"feeds": mine}), force=force, on_feed=log_feed
        )
    summary = {
        "feeds": len(result.reports),
        "ok": result.count("ok"),
        "not_modified": result.count("not_modified"),
        "failed": result.failed,
        "not_due": result.not_due,
        "articles_seen": result.articles_seen,
        "new_articles": len(result.new_article_ids),
        "outcomes": [
            {
                "feed": r.feed_name,
                "status": r.status,
                "seen": r.articles_seen,
                "new": len(r.new_article_ids),
                "error": r.error,
            }
            for r in result.reports
        ],
    }
    log.info(
        "%d feed(s) polled: %d ok, %d not modified, %d failed; %d not due; %d new article(s)",
        summary["feeds"],
        summary["ok"],
        summary["not_modified"],
        summary["failed"],
        summary["not_due"],
        summary["new_articles"],
    )
    return summary


def log_feed(report: FeedReport) -> None:
    """One line per feed in the task's log: its outcome, and the error when it failed."""
    if report.failed:
        log.warning("feed %r: FAILED (%s): %s", report.feed_name, report.status, report.error)
    else:
        log.info(
            "feed %r: %s, %d seen, %d new",
            report.feed_name,
            report.status,
            report.articles_seen,
            len(report.new_article_ids),
        )


COUNTS = ("feeds", "ok", "not_modified", "failed", "not_due", "articles_seen", "new_articles")


def summarise_poll(
    shards: Sequence[dict[str, Any]] | None, results: Sequence[dict[str, Any] | None]
) -> dict[str, Any]:
    """Sum up a run's shards. Raises PollFailed when the feed list could not be made
    (`shards` is None) or every shard failed; failing feeds and shards are only reported."""
    if shards is None:
        raise PollFailed("the list of due feeds could not be made: see the log of plan_shards")
    done = [r for r in results if r]
    if shards and not done:
        raise PollFailed(
            f"every shard failed ({len(shards)}): nothing was polled; see the poll_shard logs"
        )
    summary: dict[str, Any] = {
        "shards": len(shards),
        "failed_shards": len(shards) - len(done),
        **{key: sum(r[key] for r in done) for key in COUNTS},
        "failing_feeds": [
            {"feed": o["feed"], "status": o["status"], "error": o["error"]}
            for r in done
            for o in r["outcomes"]
            if o["error"] is not None
        ],
    }
    if summary["failed_shards"]:
        log.error(
            "%d of %d shard(s) failed after their retries, so their feeds were not all "
            "polled: see the poll_shard task logs",
            summary["failed_shards"],
            len(shards),
        )
    for feed in summary["failing_feeds"]:
        log.warning("feed %r failed (%s): %s", feed["feed"], feed["status"], feed["error"])
    return summary


def score_and_alert(
    config_path: str | None,
    database_url: str | None,
    *,
    slack_client: WebClient | None = None,
) -> dict[str, Any]:
    """Score what is new and drain the outbox (backfilled matches follow backfill.alerts)."""
    with opened(config_path, database_url) as (config, engine):
        setup = alert_setup(config, compile_topics(config), slack_client=slack_client)
        if setup.problem:  # said now, in the task's log; the task fails after scoring
            log.error("%s", setup.problem)
        scored = score_with(engine, config)
        report = setup.drain(engine)
    if setup.problem:
        raise AlertsNotSent(setup.problem)
    return {
        "articles_scored": scored.articles,
        "new_matches": scored.new_matches,
        "sent": report.sent,
        "digests": report.digests,
        "reconciled": report.reconciled,
        "retrying": report.retrying,
        "failed": report.failed,
        "errors": report.errors,
    }


def backfill_window(
    config_path: str | None, database_url: str | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Store the window's history from every feed's backfill source."""
    with opened(config_path, database_url) as (config, engine):
        reports = backfill(engine, config, start.astimezone(UTC), end.astimezone(UTC))
    return {
        "window": [start.isoformat(), end.isoformat()],
        "new_articles": sum(len(r.new_article_ids) for r in reports),
        "feeds": [
            {
                "feed": r.feed_name,
                "documents": r.documents,
                "in_window": r.in_window,
                "new": len(r.new_article_ids),
                "reached_start": r.reached_start,
                "errors": r.errors,
            }
            for r in reports
        ],
    }


def deliver(
    config_path: str | None,
    database_url: str | None,
    *,
    slack_client: WebClient | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send what is due without scoring: digests whose slot has come, alerts whose quiet hours
    are over, retries; then the operations notices (`slack.ops_channel`). At `now` when given
    (tests), else the clock's."""
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    with opened(config_path, database_url) as (config, engine):
        setup = alert_setup(config, compile_topics(config), slack_client=slack_client)
        report = setup.drain(engine, now=clock)
        ops = check_and_deliver_ops(engine, setup, config, now=clock)
    if setup.problem:
        raise AlertsNotSent(setup.problem)
    return {
        "sent": report.sent,
        "digests": report.digests,
        "reconciled": report.reconciled + ops.reconciled,
        "retrying": report.retrying,
        "failed": report.failed,
        "notices_sent": ops.sent,
        "notices_retrying": ops.retrying,
        "errors": report.errors + ops.errors,
    }
