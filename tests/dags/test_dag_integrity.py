"""Every DAG file parses cleanly, quickly and without I/O; every task retries; pools are known."""

from __future__ import annotations

import importlib.util
import socket
import sys

import pytest

from tests.dags.conftest import DAGS

DAG_FILES = sorted(p for p in DAGS.glob("newswatch_*.py") if p.name != "newswatch_common.py")
EXPECTED = {"newswatch_poll", "newswatch_alerts", "newswatch_backfill", "newswatch_delivery"}


def load(path):
    spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags


def test_every_dag_file_imports_and_the_four_dags_exist(dags):
    assert set(dags) == EXPECTED
    assert {p.stem for p in DAG_FILES} == EXPECTED


def test_every_task_has_retries_with_backoff(dags):
    for dag in dags.values():
        for task in dag.tasks:
            assert task.retries >= 1, (dag.dag_id, task.task_id)
            assert task.retry_exponential_backoff, (dag.dag_id, task.task_id)


def test_every_pool_used_is_a_known_pool(dags):
    from newswatch_common import POOLS

    used = {task.pool for dag in dags.values() for task in dag.tasks} - {"default_pool"}
    assert used and used <= set(POOLS)


def test_parsing_does_no_io_and_imports_nothing_heavy(monkeypatch, airflow_db):
    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file touched the network at parse time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in [m for m in sys.modules if m.split(".")[0] in ("pipeline", "alerts", "sqlalchemy")]:
        monkeypatch.delitem(sys.modules, name)
    for path in DAG_FILES:
        load(path)
    heavy = [m for m in sys.modules if m.split(".")[0] in ("pipeline", "alerts")]
    assert heavy == [], "DAG files must import the pipeline inside tasks, not at parse time"


def test_schedules(dags):
    from airflow.sdk import CronDataIntervalTimetable

    poll = dags["newswatch_poll"]
    assert isinstance(poll.timetable, CronDataIntervalTimetable) and not poll.catchup
    assert poll.max_active_runs == 1
    assert isinstance(dags["newswatch_backfill"].timetable, CronDataIntervalTimetable)
    assert "newswatch_new_articles" in str(dags["newswatch_alerts"].timetable.asset_condition)
    shard = poll.get_task("poll_shard")
    assert shard.pool == "newswatch_feeds" and shard.map_index_template == "{{ shard_label }}"
    assert poll.params["force_all"] is False  # a manual trigger can force every feed
