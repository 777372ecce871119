"""newswatch_delivery: on a schedule of its own, send what is due without new articles to
trigger it: digests whose slot has come, alerts whose quiet hours are over, retries, and the
operations notices (health summary, stale-feed notes)."""

from __future__ import annotations

import os

from airflow.sdk import CronDataIntervalTimetable, dag, task
from newswatch_common import dag_args, settings, slack_client


@dag(
    dag_id="newswatch_delivery",
    schedule=CronDataIntervalTimetable(
        os.environ.get("NEWSWATCH_DELIVERY_CRON", "*/15 * * * *"), timezone="UTC"
    ),
    max_active_runs=1,
    **dag_args(__doc__),
)
def newswatch_delivery() -> None:
    @task
    def deliver() -> dict:
        from pipeline.jobs import deliver as run

        return run(*settings(), slack_client=slack_client())

    deliver()


newswatch_delivery()
