"""newswatch_poll at scale with dag.test(): 1,500 due feeds on twelve loopback hosts polled in a
few shards, failing feeds reported, runs that could poll nothing failed, the force_all param."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import feed_farm
from tests.dags.conftest import articles, asset_events, newswatch_feeds, returned, states

# 1,500 feeds, unevenly spread: the biggest host holds 400, two hold 10.
PER_HOST = [400, 300, 200, 150, 120, 100, 80, 60, 40, 30, 10, 10]
FAILING = [5, 907]  # on the first host and on the third


@pytest.fixture
def farm() -> Iterator[feed_farm.FeedFarm]:
    farm = feed_farm.start(PER_HOST, items=2, failing=FAILING)
    yield farm
    feed_farm.stop(farm)


def deploy(tmp_path: Path, monkeypatch, config_text: str) -> tuple[Path, str]:
    config = tmp_path / "newswatch.yaml"
    config.write_text(config_text)
    database = f"sqlite:///{tmp_path / 'newswatch.db'}"
    monkeypatch.setenv("AIRFLOW_VAR_NEWSWATCH_CONFIG", str(config))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", database)
    return config, database


def test_1500_due_feeds_poll_in_four_shards_without_splitting_a_host(
    dagbag, farm, tmp_path, monkeypatch, caplog
):
    config, database = deploy(tmp_path, monkeypatch, farm.config())
    events_before = len(asset_events())
    caplog.set_level("INFO", logger="pipeline.jobs")

    run = dagbag.get_dag("newswatch_poll").test()

    assert str(run.state) == "success", states(run)
    shard_states = states(run)["poll_shard"]
    assert shard_states == ["success"] * 4  # the pool's 4 slots, far below max_map_length
    plan = returned(run, "plan_shards")[0]
    host = {name: urlsplit(url).hostname for name, url in farm.feeds}
    owner: dict[str, int] = {}
    for shard in plan:
        for name in shard["feeds"]:
            assert owner.setdefault(host[name], shard["index"]) == shard["index"], host[name]
    assert sorted(n for s in plan for n in s["feeds"]) == sorted(host)  # every feed, once
    assert max(h.most_at_once for h in farm.hosts) <= 2  # fetch.per_host held across the run
    assert farm.requests == 1_500

    assert articles(database) == (1_500 - len(FAILING)) * 2
    report = returned(run, "report")[0]
    assert report["feeds"] == 1_500 and report["ok"] == 1_498 and report["failed"] == 2
    assert [f["feed"] for f in report["failing_feeds"]] == ["Desk 00005", "Desk 00907"]
    assert asset_events()[events_before:][0]["new_articles"] == 2_996

    # The failing feed inside its shard: named with its error in the shard's return value and
    # log, while the shard's other feeds were stored.
    results = returned(run, "poll_shard")
    [with_failure] = [r for r in results if any(o["feed"] == "Desk 00005" for o in r["outcomes"])]
    outcomes = {o["feed"]: o for o in with_failure["outcomes"]}
    assert outcomes["Desk 00005"]["status"] == "http_5xx"
    assert "500" in outcomes["Desk 00005"]["error"]
    others = [o for name, o in outcomes.items() if name != "Desk 00005"]
    assert len(others) >= 399 and all(o["status"] == "ok" and o["new"] == 2 for o in others)
    assert "feed 'Desk 00005': FAILED (http_5xx): HTTP 500" in caplog.text
    assert "feed 'Desk 00006': ok, 2 seen, 2 new" in caplog.text

    health = newswatch_feeds(config, database)
    [row] = [line for line in health.splitlines() if "Desk 00005" in line]
    assert "http_5xx (500)" in row and "HTTP 500" in row


def test_a_run_whose_feed_list_cannot_be_made_fails(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_NEWSWATCH_CONFIG", str(tmp_path / "missing.yaml"))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'newswatch.db'}")

    run = dagbag.get_dag("newswatch_poll").test()

    assert str(run.state) == "failed"
    assert states(run) == {
        "plan_shards": ["failed"],
        "poll_shard": ["upstream_failed"],
        "report": ["failed"],
    }


def test_a_run_whose_every_shard_fails_fails(dagbag, farm, tmp_path, monkeypatch):
    """The config breaks after the plan was made (a bad deploy mid-run): every shard fails."""
    import pipeline.jobs

    config, database = deploy(tmp_path, monkeypatch, farm.config())
    plan_poll = pipeline.jobs.plan_poll

    def plan_then_break_the_config(*args, **kwargs):
        planned = plan_poll(*args, **kwargs)
        config.write_text("feeds: [{name: oops\n")
        return planned

    monkeypatch.setattr(pipeline.jobs, "plan_poll", plan_then_break_the_config)
    run = dagbag.get_dag("newswatch_poll").test()

    assert str(run.state) == "failed"
    found = states(run)
    assert found["plan_shards"] == ["success"] and found["poll_shard"] == ["failed"] * 4
    assert found["report"] == ["failed"]
    assert articles(database) == 0


def test_force_all_polls_feeds_that_are_not_due(dagbag, tmp_path, monkeypatch):
    farm = feed_farm.start([3], items=2)
    try:
        deploy(tmp_path, monkeypatch, farm.config())
        dag = dagbag.get_dag("newswatch_poll")
        first = dag.test()
        assert str(first.state) == "success" and farm.requests == 3

        nothing_due = dag.test()
        assert str(nothing_due.state) == "success"
        assert states(nothing_due) == {
            "plan_shards": ["success"],
            "poll_shard": ["skipped"],
            "report": ["skipped"],
        }
        assert farm.requests == 3

        forced = dag.test(run_conf={"force_all": True})
        assert str(forced.state) == "success"
        [shard] = returned(forced, "poll_shard")
        assert [o["status"] for o in shard["outcomes"]] == ["not_modified"] * 3
        assert farm.requests == 6
    finally:
        feed_farm.stop(farm)
