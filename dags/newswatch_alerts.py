"""newswatch_alerts: on new articles (live or backfilled), score them and drain the outbox."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from newswatch_common import NEW_ARTICLES, dag_args, settings, slack_client


@dag(
    dag_id="newswatch_alerts",
    schedule=[NEW_ARTICLES],
    max_active_runs=1,
    **dag_args(__doc__),
)
def newswatch_alerts() -> None:
    @task
    def score_and_alert() -> dict:
        """Backfilled matches follow backfill.alerts (digest, none or live): the articles
        themselves say whether they are history, so one run serves both kinds of event."""
        from pipeline.jobs import score_and_alert as run

        events = get_current_context().get("triggering_asset_events") or {}
        summary = run(*settings(), slack_client=slack_client())
        summary["triggered_by"] = [
            event.extra.get("run_id") for batch in events.values() for event in batch
        ]
        return summary

    score_and_alert()


newswatch_alerts()
