"""Airflow for the DAG tests: its own AIRFLOW_HOME and SQLite metadata database, the repository's
dags/ folder, and short retry delays. Set before anything imports Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

DAGS = Path(__file__).resolve().parents[2] / "dags"
HOME = Path(tempfile.mkdtemp(prefix="newswatch-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "NEWSWATCH_RETRY_DELAY": "1",
        "NEWSWATCH_TASK_RETRIES": "1",
    }
)
sys.path.insert(0, str(DAGS))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (once per test session)."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ,
        timeout=600,
    )
    return HOME


@pytest.fixture
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def articles(database: str) -> int:
    """How many articles the newswatch database holds."""
    from pipeline.store.schema import ArticleRow

    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
    engine.dispose()
    return count


def newswatch_feeds(config: Path, database: str) -> str:
    """`newswatch feeds` as a user runs it against the DAGs' database: its table, wide."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "newswatch"), "feeds", "-c", str(config)],
        env={**os.environ, "COLUMNS": "250", "NEWSWATCH_DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def states(run) -> dict[str, list[str]]:
    """Each task's instance states in a DAG run (one per map index), sorted."""
    found: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        found.setdefault(ti.task_id, []).append(str(ti.state))
    return {task: sorted(values) for task, values in found.items()}


def returned(run, task_id: str) -> list:
    """The return values of a task in a DAG run, by map index (one item when not mapped)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key="return_value"
            )
        ).all()
        return [XComModel.deserialize_value(row) for row in sorted(rows, key=lambda r: r.map_index)]


def asset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            event.extra for event in session.scalars(select(AssetEvent).order_by(AssetEvent.id))
        ]


def use_fake_slack(monkeypatch, fake) -> None:
    """Slack credentials as a deployment gives them: the `slack_api_default` connection, aimed
    at the fake Slack; none in the environment."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_DEFAULT",
        json.dumps(
            {"conn_type": "slack", "password": fake.token, "extra": {"base_url": fake.api_url}}
        ),
    )
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
