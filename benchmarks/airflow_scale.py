"""newswatch_poll under a live Airflow scheduler next to `newswatch poll --all`, on the same feeds.

Run by hand (PostgreSQL on 127.0.0.1:5432, trust auth):

    .venv/bin/python benchmarks/airflow_scale.py [--sizes 100,1000,10000] [--hosts 8]

It starts a real Airflow 3.3.2 deployment (scheduler, DAG processor, API server and triggerer;
LocalExecutor; PostgreSQL metadata database `nwbench_airflow` of its own; PARALLELISM=4; the
`newswatch_feeds` pool with 4 slots), a fake Slack, and for each size N serves N generated feeds
(10 items each) from several loopback hosts (127.0.0.2, 127.0.0.3, ...). Then, each time on a
fresh newswatch database:

- the CLI: `newswatch poll --all` (a subprocess, so its start-up counts as a task's does), and
  once more (every feed answers 304);
- Airflow: `airflow dags trigger newswatch_poll`, waited for, and the `newswatch_alerts` run its
  Asset event starts; then a second poll (`force_all`, every feed answers 304).

The poll run's wall time is from the moment the run was queued to its end (what a user waits
for); the run's own start-to-end is recorded too. Figures go to
benchmarks/results/airflow_scale.json. Everything it started is stopped, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.report import RESULTS  # noqa: E402
from tests import fake_slack, feed_farm  # noqa: E402
from tests.airflow_live import BIN, LiveAirflow  # noqa: E402

TOPICS = """
topics:
  - id: defence-secretary-meetings
    name: Defence secretary meetings
    query: '"defence secretary" AND (meet* OR met OR talks OR bilateral)'
    slack: {channel: "#defence-watch"}
slack: {min_interval: 0}
"""


class Postgres:
    """Databases of this benchmark's own on the PostgreSQL server at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql://", "postgresql+psycopg://", 1)

    def database(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def recreate(self, name: str) -> str:
        self.drop(name)
        self._admin(f"CREATE DATABASE {name}")
        return self.database(name)

    def drop(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _admin(self, sql: str) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()


def newswatch(*args: str, database: str, timeout: float = 3600) -> float:
    """Run `newswatch ARGS` against `database`; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "newswatch"), *args, "--database-url", database],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"newswatch {' '.join(args)} failed: {done.stderr[-3000:]}")
    return elapsed


def articles(database: str) -> int:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM articles")).scalar_one()
    finally:
        engine.dispose()


def trigger(airflow: LiveAirflow, dag_id: str, timeout: float, conf: dict | None = None) -> dict:
    """Trigger a run, wait for it, and return its timings (seconds)."""
    before = len(airflow.runs(dag_id))
    args = ["dags", "trigger", dag_id] + (["--conf", json.dumps(conf)] if conf else [])
    airflow.airflow(*args)
    return finished_run(airflow, dag_id, before, timeout)


def finished_run(airflow: LiveAirflow, dag_id: str, index: int, timeout: float) -> dict:
    run = airflow.wait_for_run(dag_id, timeout, after=index)
    [(queued_at,)] = airflow.query(
        "SELECT queued_at FROM dag_run WHERE dag_id = :dag AND run_id = :run",
        dag=dag_id,
        run=run.run_id,
    )
    if run.state != "success":
        states = airflow.task_states(dag_id, run.run_id)
        raise RuntimeError(f"{dag_id} run {run.run_id} ended {run.state}: {states}")
    return {
        "run_id": run.run_id,
        "wall_s": round((run.end_date - queued_at).total_seconds(), 1),
        "run_s": round((run.end_date - run.start_date).total_seconds(), 1),
        "tasks": {k: len(v) for k, v in airflow.task_states(dag_id, run.run_id).items()},
        "task_s": task_seconds(airflow, dag_id, run.run_id),
    }


def task_seconds(airflow: LiveAirflow, dag_id: str, run_id: str) -> dict[str, list[float]]:
    """Each task's [seconds after the run started when it started, its duration] (the longest
    instance for a mapped task): where a run's time goes."""
    rows = airflow.query(
        "SELECT ti.task_id, ti.start_date - r.start_date, ti.end_date - ti.start_date"
        " FROM task_instance ti JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id"
        " WHERE ti.dag_id = :dag AND ti.run_id = :run AND ti.start_date IS NOT NULL",
        dag=dag_id,
        run=run_id,
    )
    found: dict[str, list[float]] = {}
    for task_id, offset, duration in rows:
        timing = [round(offset.total_seconds(), 1), round(duration.total_seconds(), 1)]
        if timing[1] > found.get(task_id, [0, -1])[1]:
            found[task_id] = timing
    return found


def spread(feeds: int, hosts: int) -> list[int]:
    """Feeds per host, as even as whole numbers allow."""
    return [feeds // hosts + (1 if i < feeds % hosts else 0) for i in range(hosts)]


def measure(size: int, args, airflow: LiveAirflow, pg: Postgres, config: Path) -> dict:
    farm = feed_farm.start(
        spread(size, args.hosts), items=args.items, matching=range(0, size, 1000)
    )
    try:
        farm.prebuild()
        config.write_text(farm.config(extra=TOPICS))
        timeout = 120 + size * 0.5
        print(f"{size:>6,} feeds on {args.hosts} hosts:", flush=True)

        cli_db = pg.recreate("nwbench_cli")
        newswatch("db", "upgrade", database=cli_db)
        cli_first = newswatch("poll", "--all", "-c", str(config), database=cli_db)
        cli_second = newswatch("poll", "--all", "-c", str(config), database=cli_db)
        print(
            f"  CLI      poll --all {cli_first:7.1f} s, again (304s) {cli_second:7.1f} s",
            flush=True,
        )

        airflow_db = pg.recreate("nwbench_newswatch")
        newswatch("db", "upgrade", database=airflow_db)
        alerts_before = len(airflow.runs("newswatch_alerts"))
        posts_before = len(args.slack.posts)
        first = trigger(airflow, "newswatch_poll", timeout)
        alerts = finished_run(airflow, "newswatch_alerts", alerts_before, timeout)
        second = trigger(airflow, "newswatch_poll", timeout, conf={"force_all": True})
        print(
            f"  Airflow  poll run {first['wall_s']:7.1f} s ({first['tasks']}), alerts run "
            f"{alerts['wall_s']:.1f} s, again (304s) {second['wall_s']:.1f} s",
            flush=True,
        )
        stored = articles(airflow_db), articles(cli_db)
        if stored[0] != stored[1] or stored[0] != size * args.items:
            raise RuntimeError(f"articles stored: Airflow {stored[0]}, CLI {stored[1]}")
        return {
            "feeds": size,
            "hosts": args.hosts,
            "items_per_feed": args.items,
            "articles_stored": stored[0],
            "cli_poll_all_s": round(cli_first, 1),
            "cli_poll_all_again_s": round(cli_second, 1),
            "airflow_poll_run_s": first["wall_s"],
            "airflow_poll_run_start_to_end_s": first["run_s"],
            "airflow_poll_tasks": first["tasks"],
            "airflow_poll_task_offset_and_s": first["task_s"],
            "airflow_over_cli": round(first["wall_s"] / cli_first, 2),
            "airflow_poll_again_s": second["wall_s"],
            "airflow_again_over_cli_again": round(second["wall_s"] / cli_second, 2),
            "airflow_alerts_run_s": alerts["wall_s"],
            "slack_posts": len(args.slack.posts) - posts_before,
        }
    finally:
        feed_farm.stop(farm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", type=Path, default=RESULTS / "airflow_scale.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    pg = Postgres(args.postgres)
    args.slack = fake_slack.start(fake_slack.FakeSlack())
    work = Path(tempfile.mkdtemp(prefix="nwbench-airflow-"))
    config = work / "newswatch.yaml"
    config.write_text("feeds: []\n" + TOPICS)
    slack = {"conn_type": "slack", "password": args.slack.token}
    slack["extra"] = {"base_url": args.slack.api_url}
    airflow = LiveAirflow(
        home=work / "airflow",
        metadata_url=pg.recreate("nwbench_airflow"),
        components=("api-server", "scheduler", "dag-processor", "triggerer"),
        env={
            "AIRFLOW_VAR_NEWSWATCH_CONFIG": str(config),
            "NEWSWATCH_DATABASE_URL": pg.recreate("nwbench_newswatch"),
            "AIRFLOW_CONN_SLACK_API_DEFAULT": json.dumps(slack),
            # Scheduled runs would race the triggered ones: none before next year.
            "NEWSWATCH_POLL_CRON": "0 0 1 1 *",
        },
    )
    results = []
    load_before = os.getloadavg()
    try:
        with airflow:
            newswatch("db", "upgrade", database=airflow.env["NEWSWATCH_DATABASE_URL"])
            airflow.airflow("pools", "set", "newswatch_feeds", "4", "newswatch feed fetches")
            airflow.wait_for(
                lambda: airflow.dags_parsed("newswatch_poll", "newswatch_alerts"),
                300,
                "the DAG processor to parse the DAGs",
            )
            for dag_id in ("newswatch_poll", "newswatch_alerts"):
                airflow.airflow("dags", "unpause", dag_id)
            trigger(airflow, "newswatch_poll", 300)  # warm-up: no feeds, nothing to do
            for size in sizes:
                results.append(measure(size, args, airflow, pg, config))
    except BaseException:
        print(f"failed; Airflow's home and logs are kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work)
    finally:
        fake_slack.stop(args.slack)
        for name in ("nwbench_cli", "nwbench_newswatch", "nwbench_airflow"):
            pg.drop(name)

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "airflow": "3.3.2, LocalExecutor, PostgreSQL metadata, PARALLELISM=4, pool of 4 slots",
        "newswatch_database": "PostgreSQL (a fresh database per measurement)",
        "note": "wall time of the poll run: from queued to end; the CLI's includes its start-up",
        "sizes": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
