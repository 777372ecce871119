"""newswatch_poll: poll the due feeds in shards (all feeds of a host in one shard, each shard one
task), then announce new articles.

Trigger it by hand with `{"force_all": true}` to poll every feed, due or not.
"""

from __future__ import annotations

import os

from airflow.sdk import (
    CronDataIntervalTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from newswatch_common import FEED_POOL, NEW_ARTICLES, dag_args, settings, shard_policy, window


@dag(
    dag_id="newswatch_poll",
    schedule=CronDataIntervalTimetable(
        os.environ.get("NEWSWATCH_POLL_CRON", "*/15 * * * *"), timezone="UTC"
    ),
    max_active_runs=1,
    params={
        "force_all": Param(
            False,
            type="boolean",
            title="Poll every feed",
            description="Poll every feed, not only the due ones (as `newswatch poll --all`).",
        )
    },
    **dag_args(__doc__),
)
def newswatch_poll() -> None:
    @task
    def plan_shards() -> list[dict]:
        from pipeline.jobs import plan_poll

        force = bool(get_current_context()["params"]["force_all"])
        return plan_poll(*settings(), force=force, policy=shard_policy())

    @task(pool=FEED_POOL, map_index_template="{{ shard_label }}")
    def poll_shard(shard: dict) -> dict:
        """Poll one shard's feeds at once; a failing feed is reported, not raised."""
        from pipeline.jobs import poll_shard as run

        context = get_current_context()
        context["shard_label"] = shard["label"]
        return run(*settings(), shard["feeds"], force=bool(context["params"]["force_all"]))

    @task(outlets=[NEW_ARTICLES], trigger_rule=TriggerRule.ALL_DONE)
    def report(shards: list | None, results: list, outlet_events=None) -> dict:
        """Sum up the shards; fail the run when nothing could be polled; announce new articles
        (no event when none)."""
        from pipeline.jobs import PollFailed, summarise_poll

        context = get_current_context()
        try:
            summary = summarise_poll(shards, list(results))
        except PollFailed as error:  # retrying the summary cannot help: fail the run now
            raise AirflowFailException(str(error)) from error
        if summary["new_articles"] == 0:
            raise AirflowSkipException("no new articles")
        start, end = window(context)
        outlet_events[NEW_ARTICLES].extra = {
            **{key: summary[key] for key in ("feeds", "articles_seen", "new_articles")},
            "origin": "live",
            "run_id": context["run_id"],
            "window": [start.isoformat(), end.isoformat()],
        }
        return summary

    shards = plan_shards()
    report(shards, poll_shard.expand(shard=shards))


newswatch_poll()
