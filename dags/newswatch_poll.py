"""newswatch_poll: fetch every due feed (one mapped task each), store, announce new articles."""

from __future__ import annotations

import os

from airflow.sdk import CronDataIntervalTimetable, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from newswatch_common import FEED_POOL, NEW_ARTICLES, dag_args, settings, window


@dag(
    dag_id="newswatch_poll",
    schedule=CronDataIntervalTimetable(
        os.environ.get("NEWSWATCH_POLL_CRON", "*/15 * * * *"), timezone="UTC"
    ),
    max_active_runs=1,
    **dag_args(__doc__),
)
def newswatch_poll() -> None:
    @task
    def due_feeds() -> list[dict]:
        from pipeline.jobs import list_due_feeds

        return list_due_feeds(*settings())

    @task(pool=FEED_POOL, map_index_template="{{ feed_name }}")
    def fetch(feed: dict) -> dict:
        """Fetch, parse and store one feed; a failure fails (and retries) this task only."""
        from pipeline.jobs import poll_feed

        get_current_context()["feed_name"] = feed["name"]
        return poll_feed(*settings(), feed["name"])

    @task(outlets=[NEW_ARTICLES], trigger_rule=TriggerRule.ALL_DONE)
    def store(reports: list, outlet_events=None) -> dict:
        """Sum up the feeds that succeeded; announce new articles (no event when none)."""
        from pipeline.jobs import summarise_poll

        context = get_current_context()
        summary = summarise_poll([r for r in reports if r])
        if summary["new_articles"] == 0:
            raise AirflowSkipException("no new articles")
        start, end = window(context)
        outlet_events[NEW_ARTICLES].extra = {
            **summary,
            "origin": "live",
            "run_id": context["run_id"],
            "window": [start.isoformat(), end.isoformat()],
        }
        return summary

    store(fetch.expand(feed=due_feeds()))


newswatch_poll()
