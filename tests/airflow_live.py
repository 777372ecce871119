"""A real Airflow 3 deployment on one machine for the live tests and the scale benchmark: its own
AIRFLOW_HOME, metadata database and ports; scheduler, DAG processor, API server (and, when asked,
triggerer) as separate processes, each in its own process group so that stopping it stops
every child it started; waits with timeouts; runs read straight from the metadata database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

REPOSITORY = Path(__file__).resolve().parents[1]
DAGS = REPOSITORY / "dags"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AirflowFailed(AssertionError):
    """The deployment did not do what was waited for; the message carries its logs' tails."""


@dataclass
class LiveAirflow:
    """`metadata_url`: a SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...)."""

    home: Path
    metadata_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    components: Sequence[str] = ("api-server", "scheduler", "dag-processor")
    port: int = field(default_factory=free_port)
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW_", "AIRFLOW__", "NEWSWATCH_"))
        }
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            # Every component must share these, or the task runners' tokens are refused.
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__API__SECRET_KEY": self.jwt_secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
        if self.metadata_url.startswith("postgresql"):
            # Without it every airflow command fails with "No module named 'asyncpg'".
            settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = self.metadata_url
        return {**base, **settings, **self.env}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 300) -> None:
        """Migrate the metadata database, start the components, wait for the API server."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate", timeout=timeout)
        for component in self.components:  # e.g. "scheduler", "celery worker"
            log = (self.home / f"{component.replace(' ', '-')}.log").open("wb")
            self.processes[component] = subprocess.Popen(
                [str(BIN / "airflow"), *component.split()],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        if "api-server" in self.components:
            self.wait_for(self._api_up, timeout, "the API server to answer")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM each component's process group, then SIGKILL what is left after `grace`."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # stragglers: task runners, gunicorn workers
            process.wait(30)
        self.processes.clear()

    def __enter__(self) -> LiveAirflow:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- using it ----------------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 180) -> str:
        """Run an `airflow` command against this deployment; its output, or AirflowFailed."""
        done = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AirflowFailed(
                f"airflow {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
            )
        return done.stdout

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.metadata_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), params).all())
        finally:
            engine.dispose()

    def runs(self, dag_id: str) -> list[Any]:
        """(run_id, state, run_type, start_date, end_date) of the DAG's runs, oldest first."""
        return self.query(
            "SELECT run_id, state, run_type, start_date, end_date FROM dag_run"
            " WHERE dag_id = :dag ORDER BY id",
            dag=dag_id,
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for task_id, state in self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = :dag AND run_id = :run",
            dag=dag_id,
            run=run_id,
        ):
            found.setdefault(task_id, []).append(str(state))
        return {task: sorted(values) for task, values in found.items()}

    def dags_parsed(self, *dag_ids: str) -> bool:
        found = {row[0] for row in self.query("SELECT dag_id FROM dag")}
        return set(dag_ids) <= found

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll `condition` until it returns something true; fail with the logs' tails."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                value = condition()
            except Exception:  # the database may be mid-migration or locked for a moment
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AirflowFailed(
                    f"timed out after {timeout:g}s waiting for {what}\n{self.logs()}"
                )
            time.sleep(1)

    def wait_for_run(self, dag_id: str, timeout: float, *, after: int = 0, what: str = "") -> Any:
        """The DAG's run number `after` (0-based, oldest first), once it has finished."""

        def finished() -> Any:
            runs = self.runs(dag_id)
            if len(runs) > after and runs[after].state in ("success", "failed"):
                return runs[after]
            return None

        return self.wait_for(finished, timeout, what or f"run {after + 1} of {dag_id} to finish")

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        """The text of a task instance's log files (every try)."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder /= f"map_index={map_index}"
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(folder.glob("attempt=*.log"))
        )

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for component in self.processes:
            path = self.home / f"{component.replace(' ', '-')}.log"
            if path.exists():
                parts.append(f"--- {component} ---\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def _check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowFailed(
                    f"airflow {component} exited ({process.returncode})\n{self.logs()}"
                )

    def _api_up(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/api/v2/monitor/health"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
