"""`newswatch health` and `newswatch feeds` as a user runs them, and the `health:` config
section checked like the rest of the config."""

from __future__ import annotations

import pytest
from werkzeug import Response

from pipeline.config import load_config
from tests.health_feeds import DAY, HOUR, WEEK, latest_publication, rss
from tests.test_cli import newswatch
from tests.test_config import error_for, write


@pytest.fixture
def troubled(tmp_path, feed_server):
    """A weekly feed quiet for sixty days, a feed answering 500 and an hourly one that is fine."""
    feed_server.feed("/weekly", rss("weekly", latest_publication() - 60 * DAY, WEEK, 10))
    feed_server.feed("/hourly", rss("hourly", latest_publication(), HOUR, 10))
    feed_server.handler("/down", lambda request: Response("down", 500))
    config = write(
        tmp_path,
        f"""
        database: {{url: "sqlite:///{tmp_path / "newswatch.db"}"}}
        health: {{failing_after: 1}}
        feeds:
          - {{name: "Weekly [bold]wire[/bold]", url: "{feed_server.url("/weekly")}"}}
          - {{name: down, url: "{feed_server.url("/down")}"}}
          - {{name: hourly, url: "{feed_server.url("/hourly")}"}}
        """,
    )
    assert newswatch("poll", "-c", str(config), cwd=tmp_path).returncode == 0
    return config


def test_health_prints_each_problem_on_one_line_and_exits_zero(tmp_path, troubled):
    result = newswatch("health", "-c", str(troubled), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 problem(s) at ")
    stale = next(line for line in lines if line.startswith("stale"))
    assert "feed Weekly [bold]wire[/bold]: nothing new for 60d" in stale  # markup as text
    assert "(usually every 7d)" in stale
    failing = next(line for line in lines if line.startswith("failing"))
    assert "feed down: failed once (last: HTTP 500" in failing
    assert not any("hourly" in line for line in lines)


def test_feeds_shows_state_reason_and_since(tmp_path, troubled):
    result = newswatch("feeds", "-c", str(troubled), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {
        cells[0]: cells
        for line in result.stdout.splitlines()
        if line.count("│") >= 8
        for cells in [[c.strip() for c in line.split("│")[1:-1]]]
    }
    assert rows["hourly"][1] == "ok" and rows["hourly"][3].startswith("usually every 1h")
    assert rows["down"][1] == "failing" and rows["down"][2].endswith("ago")
    assert rows["Weekly [bold]wire[/bold]"][1] == "stale"
    assert rows["Weekly [bold]wire[/bold]"][2] == "60d ago"


def test_health_says_all_is_well_when_it_is(tmp_path, feed_server):
    feed_server.feed("/hourly", rss("hourly", latest_publication(), HOUR, 10))
    config = write(tmp_path, f'feeds: [{{name: hourly, url: "{feed_server.url("/hourly")}"}}]\n')
    newswatch("poll", "-c", str(config), cwd=tmp_path)
    result = newswatch("health", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("all well: 1 feed(s) and 0 topic")


def test_health_settings_have_documented_defaults(tmp_path):
    health = load_config(write(tmp_path, "feeds: []\n")).config.health
    assert (health.stale_factor, health.stuck_factor, health.failing_after) == (4.0, 4.0, 3)
    assert (health.min_polls, health.min_history, health.min_silence) == (2.0, 5, 86400.0)
    tuned = load_config(write(tmp_path, "health: {stale_factor: 6, min_silence: 2d}\n"))
    assert (tuned.config.health.stale_factor, tuned.config.health.min_silence) == (6.0, 172800.0)


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("{stale_factr: 3}", "health.stale_factr: unknown key (expected one of: stale_factor,"),
        ("{stale_factor: 1}", "health.stale_factor: Input should be greater than 1"),
        ("{failing_after: 0}", "health.failing_after: Input should be greater than or equal to 1"),
        ("{min_silence: soon}", "health.min_silence: expected a duration such as 900"),
        ("{sample: 2}", "health.sample: Input should be greater than or equal to 3"),
        ("[]", "health: Input should be a valid dictionary"),
    ],
)
def test_health_settings_are_checked_with_the_key_path(tmp_path, section, says):
    assert says in error_for(tmp_path, f"health: {section}\n")
