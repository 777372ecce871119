"""The Airflow plugin in Airflow 3.3.2 itself: `airflow plugins` lists it, and a real
`airflow api-server` (its own port, stopped by PID) serves the pages behind Airflow's login and
the Slack endpoint by signature."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from pipeline import store
from pipeline.store import labels
from tests.live import (
    SIGNING_SECRET,
    click_payload,
    eventually,
    form_body,
    free_port,
    signed_headers,
)
from tests.test_alerts import DEFENCE_ITEM, run_drain, slack_setup, world

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def test_airflow_plugins_lists_newswatch(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    result = subprocess.run(
        [AIRFLOW, "plugins", "-o", "json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout[result.stdout.index("[") :])
    (plugin,) = [p for p in listed if p["name"] == "newswatch"]
    assert "web.airflow_plugin:NewswatchPlugin" in plugin["source"]
    assert "'url_prefix': '/newswatch'" in str(plugin["fastapi_apps"])
    assert "'destination': 'nav'" in str(plugin["external_views"])


@pytest.fixture
def api_server(airflow_db, tmp_path, sqlite_url, fake_slack) -> Iterator[tuple[str, object]]:
    """newswatch data with one alert in the fake Slack, and Airflow's API server over it."""
    engine = store.open_database(sqlite_url)
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    assert run_drain(engine, slack_setup(fake_slack, topics)).sent == 1
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": sqlite_url},
                "topics": [
                    {
                        "id": "defence",
                        "name": "Defence meetings",
                        "query": '"defence secretary" AND (meet* OR talks)',
                        "slack": {"channel": "#defence-watch"},
                    }
                ],
                "slack": {
                    "token": fake_slack.token,
                    "api_url": fake_slack.api_url,
                    "signing_secret": SIGNING_SECRET,
                },
            }
        )
    )
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"ana": "correct horse"}))
    port = free_port()
    env = {
        **os.environ,
        "NEWSWATCH_CONFIG": str(config),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "ana:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "newswatch-test-jwt-secret-0123456789",
    }
    log = (tmp_path / "api-server.log").open("w")
    process = subprocess.Popen(
        [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers share its process group, stopped below by its PID
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, (tmp_path / "api-server.log").read_text()[-3000:]
        try:
            return httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(healthy, what="airflow api-server", timeout=240)
        yield base, engine
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        engine.dispose()


def test_the_plugin_page_and_slack_endpoint_answer_from_airflows_api_server(api_server, fake_slack):
    base, engine = api_server
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/newswatch/").status_code == 401  # Airflow's login guards the pages
        login = client.post("/auth/token", json={"username": "ana", "password": "correct horse"})
        assert login.status_code == 201, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}

        page = client.get("/newswatch/", headers=bearer)
        assert page.status_code == 200 and "Defence meetings" in page.text
        assert 'href="/newswatch/topics/defence"' in page.text  # links stay under the mount
        topic = client.get("/newswatch/topics/defence", headers=bearer)
        assert "Defence Secretary meets Israeli counterpart" in topic.text

        plugins = client.get("/api/v2/plugins", headers=bearer).json()["plugins"]
        (listed,) = [p for p in plugins if p["name"] == "newswatch"]
        assert listed["external_views"][0]["href"] == "/newswatch/"

        # A label from the page is given by the Airflow user.
        article_id = int(topic.text.split('name="article_id" value="')[1].split('"')[0])
        csrf = topic.text.split('name="csrf" value="')[1].split('"')[0]
        given = client.post(
            "/newswatch/labels",
            headers=bearer,
            data={
                "topic_id": "defence",
                "article_id": article_id,
                "label": "relevant",
                "csrf": csrf,
            },
        )
        assert given.status_code == 303
        (label,) = labels.labels_for(engine, "defence", [article_id]).values()
        assert (label.label, label.by.name) == ("relevant", "ana")

        # Slack reaches the same app through Airflow's API server, with no Airflow login.
        (post,) = fake_slack.posts
        body = form_body(click_payload(post, "newswatch_not_relevant"))
        assert client.post("/newswatch/slack/interactions", content=body).status_code == 401
        clicked = client.post(
            "/newswatch/slack/interactions", content=body, headers=signed_headers(body)
        )
        assert clicked.status_code == 200
    eventually(lambda: fake_slack.updates, what="chat.update from the API server")
    (label,) = labels.labels_for(engine, "defence", [article_id]).values()
    assert (label.label, label.by.name, label.by.slack_id) == ("not_relevant", "ana", "U0ANA1234")
