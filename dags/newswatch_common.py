"""Wiring shared by the newswatch DAGs: the Asset, retries, and where settings come from.

Only Airflow-specific lookups live here; the work itself is in pipeline.jobs. Nothing here
touches a database or the network when a DAG file is parsed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset

# Emitted when articles were stored (by a poll or a backfill); the alerts DAG runs on it.
NEW_ARTICLES = Asset(name="newswatch_new_articles", uri="newswatch://articles/new")
# Every pool a newswatch task uses; create them with `airflow pools set` (see the README).
POOLS = {"newswatch_feeds": 4}
FEED_POOL = "newswatch_feeds"
START = datetime(2026, 1, 1, tzinfo=UTC)


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff for every task. The delay can be shortened for tests
    (NEWSWATCH_RETRY_DELAY, seconds)."""
    return {
        "owner": "newswatch",
        "retries": int(os.environ.get("NEWSWATCH_TASK_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("NEWSWATCH_RETRY_DELAY", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }


def dag_args(doc: str | None) -> dict[str, Any]:
    """What every newswatch DAG shares: start, no catchup, retries, tag, its docstring."""
    return {
        "start_date": START,
        "catchup": False,
        "default_args": default_args(),
        "tags": ["newswatch"],
        "doc_md": doc,
    }


def settings() -> tuple[str | None, str | None]:
    """(config path, database URL), read when a task runs: the Airflow Variable
    `newswatch_config` or NEWSWATCH_CONFIG; the Airflow connection `newswatch_db`, else the
    Variable `newswatch_database_url`, else NEWSWATCH_DATABASE_URL, else the config's own."""
    from airflow.sdk import Connection, Variable
    from airflow.sdk.exceptions import AirflowNotFoundException

    config = Variable.get("newswatch_config", default=None) or os.environ.get("NEWSWATCH_CONFIG")
    try:
        database = Connection.get("newswatch_db").get_uri()
    except AirflowNotFoundException:
        database = Variable.get("newswatch_database_url", default=None) or os.environ.get(
            "NEWSWATCH_DATABASE_URL"
        )
    return config, database


def shard_policy() -> Any:
    """How many shards a poll is cut into, read when the task runs: as many as the
    `newswatch_feeds` pool has slots (the Variable `newswatch_poll_slots`, else
    NEWSWATCH_POLL_SLOTS; keep it equal to the pool's slots), fewer for small polls."""
    from airflow.sdk import Variable

    from pipeline.shards import ShardPolicy

    slots = Variable.get("newswatch_poll_slots", default=None) or os.environ.get(
        "NEWSWATCH_POLL_SLOTS", POOLS[FEED_POOL]
    )
    try:
        return ShardPolicy(slots=int(slots))
    except ValueError:
        raise ValueError(
            f"newswatch_poll_slots / NEWSWATCH_POLL_SLOTS: expected a whole number of at least 1, "
            f"got {slots!r}"
        ) from None


def slack_client() -> Any:
    """A slack_sdk client from the `slack_api_default` connection (type slack), or None when
    there is none (then the config or SLACK_BOT_TOKEN / SLACK_WEBHOOK_URL decide)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get("slack_api_default")
    except AirflowNotFoundException:
        return None
    from airflow.providers.slack.hooks.slack import SlackHook

    return SlackHook(slack_conn_id="slack_api_default").client


def window(
    context: dict[str, Any], span: timedelta = timedelta(days=1)
) -> tuple[datetime, datetime]:
    """The run's [start, end): its data interval, or for a manual trigger (no logical date,
    so no interval) the `span` before the moment it was triggered to run."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None and start < end:
        return start, end
    run_after = context["dag_run"].run_after
    return run_after - span, run_after
