"""newswatch_backfill: store each data interval's history from the feeds' backfill sources.

Run it over a range with `airflow backfill create --dag-id newswatch_backfill --from-date ...
--to-date ...`. Each run announces what it stored; the alerts DAG then sends it as
backfill.alerts says (default: one digest per topic).
"""

from __future__ import annotations

import os

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from newswatch_common import NEW_ARTICLES, dag_args, settings, window


@dag(
    dag_id="newswatch_backfill",
    schedule=CronDataIntervalTimetable(
        os.environ.get("NEWSWATCH_BACKFILL_CRON", "@daily"), timezone="UTC"
    ),
    max_active_runs=2,
    **dag_args(__doc__),
)
def newswatch_backfill() -> None:
    @task(outlets=[NEW_ARTICLES])
    def backfill_window(outlet_events=None) -> dict:
        from pipeline.jobs import backfill_window as run

        context = get_current_context()
        start, end = window(context)
        summary = run(*settings(), start, end)
        if summary["new_articles"] == 0:
            raise AirflowSkipException("nothing new in this window")
        outlet_events[NEW_ARTICLES].extra = {
            "new_articles": summary["new_articles"],
            "origin": "backfill",
            "run_id": context["run_id"],
            "window": summary["window"],
        }
        return summary

    backfill_window()


newswatch_backfill()
