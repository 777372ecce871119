"""`newswatch serve` and `newswatch labels export` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipeline import store
from pipeline.store import labels
from pipeline.store.schema import TopicMatchRow
from tests.served import example_with_matches, newswatch_serve
from tests.test_cli import copy_example, newswatch


def test_serve_answers_and_a_bad_config_stops_it(tmp_path):
    config = example_with_matches(tmp_path)
    said: list[str] = []
    with newswatch_serve(config, stderr=said) as base:
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "Defence meetings between countries" in page.text
        assert httpx.get(f"{base}/topics/defence-secretary-meetings").status_code == 200
    assert f"serving the pages on {base}/ (Ctrl-C stops)" in "".join(said), "where to look"
    bad = newswatch("serve", "--config", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert bad.returncode == 1 and "missing.yaml: no such file" in bad.stderr


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port`, from the kernel's socket table."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1])))
    return found


def test_serve_binds_to_loopback_unless_told_and_warns_when_open_without_a_token(tmp_path):
    config = example_with_matches(tmp_path)
    said: list[str] = []
    with newswatch_serve(config, stderr=said) as base:
        assert listening_on(urlsplit(base).port) == {"127.0.0.1"}
    assert "warning" not in said[0]
    with newswatch_serve(config, "--host", "0.0.0.0", stderr=said) as base:
        assert listening_on(urlsplit(base).port) == {"0.0.0.0"}
    assert "serving on 0.0.0.0 without web.token / NEWSWATCH_WEB_TOKEN" in said[1]


def test_serve_with_a_token_from_the_environment_needs_it(tmp_path):
    config = example_with_matches(tmp_path)
    with newswatch_serve(config, env={"NEWSWATCH_WEB_TOKEN": "tok-1234567890"}) as base:
        assert httpx.get(f"{base}/").status_code == 303
        ok = httpx.get(f"{base}/", headers={"Authorization": "Bearer tok-1234567890"})
        assert ok.status_code == 200


def test_labels_export_as_csv_and_jsonl(tmp_path):
    config = copy_example(tmp_path)
    assert newswatch("run", "--config", str(config), cwd=config.parent).returncode == 0
    engine = store.open_database(f"sqlite:///{config.parent / 'newswatch.db'}")
    with engine.connect() as connection:
        matched = connection.execute(
            TopicMatchRow.__table__.select().order_by(TopicMatchRow.id)
        ).all()
    first, second = matched[0], matched[1]
    now = datetime.now(UTC)
    labels.set_label(
        engine,
        first.topic_id,
        first.article_id,
        "relevant",
        labels.Reviewer("ana", "slack", "U1"),
        now,
    )
    labels.set_label(
        engine,
        second.topic_id,
        second.article_id,
        "not_relevant",
        labels.Reviewer("web", "web"),
        now,
    )
    engine.dispose()

    as_csv = newswatch("labels", "export", "--config", str(config), cwd=config.parent)
    assert as_csv.returncode == 0 and "2 label(s) exported" in as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {(r["topic_id"], int(r["article_id"]), r["label"], r["labelled_by"]) for r in rows} == {
        (first.topic_id, first.article_id, "relevant", "ana"),
        (second.topic_id, second.article_id, "not_relevant", "web"),
    }
    assert all(r["title"] and r["feed"] and float(r["score"]) > 0 for r in rows)

    out = tmp_path / "labels.jsonl"
    as_jsonl = newswatch(
        "labels",
        "export",
        "--format",
        "jsonl",
        "--output",
        str(out),
        "--topic",
        first.topic_id,
        "--config",
        str(config),
        cwd=config.parent,
    )
    assert as_jsonl.returncode == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["topic_id"] for r in records} == {first.topic_id}
    mine = next(r for r in records if r["article_id"] == first.article_id)
    assert mine["labelled_by_id"] == "U1" and mine["source"] == "slack"
    assert datetime.fromisoformat(mine["labelled_at"]).tzinfo is not None


def test_labels_export_to_a_path_it_cannot_write_is_one_line(tmp_path):
    config = copy_example(tmp_path)
    target = tmp_path / "no-such-dir" / "labels.csv"
    result = newswatch("labels", "export", "-o", str(target), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"error: {target}: cannot write: No such file or directory" in result.stderr


def test_labels_export_of_an_unknown_topic_says_so(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch("labels", "export", "--topic", "nope", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "error: no topic 'nope' in the config and no labels for it" in result.stderr
    assert "defence-secretary-meetings" in result.stderr  # the known ones are named


def test_serve_on_a_port_already_taken_is_one_line(tmp_path):
    config = copy_example(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswatch("serve", "--port", str(port), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr


def test_slack_secrets_from_the_environment_are_checked_as_the_configs_are(tmp_path):
    # slack.signing_secret and slack.app_token were checked at load, but the same values from
    # SLACK_SIGNING_SECRET / SLACK_APP_TOKEN were taken as they came: clicks then all failed
    # their signature, or Socket Mode retried a token Slack can never accept.
    config = copy_example(tmp_path)
    for name, value, says in (
        ("SLACK_SIGNING_SECRET", "pasted secret", "expected the app's signing secret"),
        ("SLACK_APP_TOKEN", "xoxb-1-not-an-app-token", "expected an app-level token"),
    ):
        result = newswatch("serve", "-c", str(config), cwd=tmp_path, env={name: value})
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"error: {name}: {says}" in result.stderr and value not in result.stderr
