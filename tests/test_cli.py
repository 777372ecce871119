"""The `newswatch` command as a user runs it: a real subprocess on the bundled example."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, EXAMPLES


def newswatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def copy_example(tmp_path: Path) -> Path:
    target = tmp_path / "example"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.db*"))
    return target / "newswatch.yaml"


def test_run_on_the_example_prints_the_poll_summary_then_nothing_new(tmp_path):
    config = copy_example(tmp_path)
    first = newswatch("run", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "poll summary" in first.stdout
    row = next(line for line in first.stdout.splitlines() if line.count("│") >= 6)
    assert [c.strip() for c in row.split("│")[1:-1]][:3] == ["2", "0", "0"]
    assert (tmp_path / "newswatch.db").exists()

    second = newswatch("poll", "--all", "-c", str(config), cwd=tmp_path)
    row = next(line for line in second.stdout.splitlines() if line.count("│") >= 6)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[1] == "2" and cells[-1] == "0", second.stdout


def test_feeds_shows_health(tmp_path):
    config = copy_example(tmp_path)
    newswatch("run", "--config", str(config), cwd=tmp_path)
    result = newswatch("feeds", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0
    assert "World & Defence Desk" in result.stdout and "ok" in result.stdout


def test_a_bad_config_exits_non_zero_with_one_clear_line(tmp_path):
    bad = tmp_path / "newswatch.yaml"
    bad.write_text("feeds:\n  - name: a\n    url: x.xml\n    interval: 5m\n")
    result = newswatch("run", cwd=tmp_path)
    assert result.returncode == 1
    assert "feeds[0].interval: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_exits_non_zero(tmp_path, unused_port):
    config = copy_example(tmp_path)
    url = f"postgresql://u:pw@127.0.0.1:{unused_port}/x"
    result = newswatch("run", "-c", str(config), "--database-url", url, cwd=tmp_path)
    assert result.returncode == 1 and "cannot connect" in result.stderr


def test_a_failing_feed_is_reported_but_the_exit_status_is_zero(tmp_path):
    config = copy_example(tmp_path)
    text = config.read_text().replace(
        "    poll_interval: 30m\n",
        "    poll_interval: 30m\n  - name: Gone\n    url: feeds/gone.xml\n",
    )
    config.write_text(text)
    result = newswatch("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "failed Gone: file: no such file" in result.stdout


def test_database_url_from_the_environment(tmp_path):
    config = copy_example(tmp_path)
    env = {"NEWSWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}"}
    assert newswatch("run", "-c", str(config), cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "newswatch.db").exists()


def test_db_upgrade_works_with_only_a_database_url(tmp_path):
    # A config that does not load (here a secret not set) is not read when a URL is given.
    (tmp_path / "newswatch.yaml").write_text("slack:\n  token: ${UNSET_IN_THIS_TEST}\n")
    result = newswatch(
        "db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path
    )
    assert result.returncode == 0 and "schema: empty -> " in result.stdout, result.stderr
    env = {"NEWSWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}"}
    from_env = newswatch("db", "upgrade", cwd=tmp_path, env=env)
    assert from_env.returncode == 0 and (tmp_path / "y.db").exists(), from_env.stderr

    (tmp_path / "newswatch.yaml").unlink()
    nothing_given = newswatch("db", "upgrade", cwd=tmp_path)
    assert nothing_given.returncode == 1 and "newswatch.yaml: no such file" in nothing_given.stderr
    assert not (tmp_path / "newswatch.db").exists()

    unknown = newswatch(
        "db", "upgrade", "zzz", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path
    )
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr, unknown.stderr
    assert "error: cannot upgrade to 'zzz': Can't locate revision" in unknown.stderr


def test_unknown_feed_name_is_an_error(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch("poll", "-c", str(config), "--feed", "Nope", cwd=tmp_path)
    assert result.returncode == 1 and "no feed named 'Nope'" in result.stderr


def test_run_scores_new_articles_and_lists_the_matches(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch("run", "-c", str(config), cwd=tmp_path)
    assert "scored 8 new article(s)" in result.stdout
    line = next(row for row in result.stdout.splitlines() if "India-Israel" in row)
    assert "defence-secretary-meetings" in line
    # the matches table gives the id that `topics explain --article` takes
    article_id = re.search(r"│\s*(\d+)\s*│\s*India-Israel", line).group(1)
    explained = newswatch(
        "topics",
        "explain",
        "defence-secretary-meetings",
        "--article",
        article_id,
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert "on 'India-Israel Defence Talks" in explained.stdout and "PASSES" in explained.stdout
    again = newswatch("run", "-c", str(config), cwd=tmp_path)
    assert "scored 0 new article(s) against the topics: 0 match(es)" in again.stdout


def test_topics_check_prints_each_topic_as_understood(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0
    assert "defence-secretary-meetings" in result.stdout and "4 topic(s) OK" in result.stdout
    assert (
        "((@defence_officials NEAR/15 @meeting) OR @defence_talks OR (nato NEAR/10" in result.stdout
    )


def test_topics_check_says_where_alerts_go_with_the_credentials_set_now(tmp_path):
    config = copy_example(tmp_path)
    without = {"SLACK_BOT_TOKEN": "", "SLACK_WEBHOOK_URL": ""}
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=without)
    assert result.stdout.count("alerts to: the terminal (no Slack credential)") == 4
    assert result.returncode == 0
    # A bot token in the environment and no channel: `run` would stop, so check fails too.
    token = {**without, "SLACK_BOT_TOKEN": "xoxb-1-2-tokenvalue"}
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=token)
    assert result.returncode == 1
    assert result.stdout.count("alerts to: nowhere: SLACK_BOT_TOKEN is set") == 4
    assert "with a bot token `run` stops until they have one" in result.stderr
    assert "tokenvalue" not in result.stdout + result.stderr
    run = newswatch("run", "-c", str(config), cwd=tmp_path, env=token)
    assert run.returncode == 1 and "have no slack.channel" in run.stderr
    # A token of the wrong form: run keeps the alerts; check says so and fails.
    wrong = {**without, "SLACK_BOT_TOKEN": "abc-tokenvalue"}
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=wrong)
    assert result.returncode == 1
    assert "SLACK_BOT_TOKEN: not a Slack bot token" in result.stderr
    assert "tokenvalue" not in result.stdout + result.stderr
    text = config.read_text() + "\nslack:\n  default_channel: '#news'\n"
    config.write_text(text)
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=token)
    assert result.stdout.count("alerts to: Slack #news (SLACK_BOT_TOKEN)") == 4
    assert result.returncode == 0
    hook = {**without, "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/hookvalue"}
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=hook)
    assert result.stdout.count("the incoming webhook's channel (SLACK_WEBHOOK_URL)") == 4


def test_topics_check_does_not_need_a_channel_for_a_disabled_topic(tmp_path):
    config = copy_example(tmp_path)
    text = config.read_text().replace(
        "  - id: trade-tariffs\n", "  - id: trade-tariffs\n    enabled: false\n"
    )
    for topic in ("defence-secretary-meetings", "peace-talks", "elections"):
        text = text.replace(
            f"  - id: {topic}\n", f"  - id: {topic}\n    slack:\n      channel: '#x'\n"
        )
    config.write_text(text)
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-tokenvalue", "SLACK_WEBHOOK_URL": ""}
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "trade-tariffs: Tariffs and trade deals (disabled)" in result.stdout
    assert result.stdout.count("alerts to: Slack #x (SLACK_BOT_TOKEN)") == 3


def test_topics_check_rejects_a_bad_query_with_its_column(tmp_path):
    config = copy_example(tmp_path)
    text = config.read_text()
    exclude = next(line for line in text.splitlines() if line.startswith("    exclude:"))
    config.write_text(text.replace(exclude, "    exclude: cricket OR"))
    result = newswatch("topics", "check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "topics[0].exclude (topic 'defence-secretary-meetings'): column 11: expected a term"
        in result.stderr
    )
    assert "^" in result.stderr


def test_topics_explain_text_file_and_article(tmp_path):
    config = copy_example(tmp_path)
    text = newswatch(
        "topics",
        "explain",
        "defence-secretary-meetings",
        "--text",
        "Defence Secretary meets his Israeli counterpart",
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert (
        text.returncode == 0
        and "PASSES" in text.stdout
        and '"defence secretary" (matched by defenc secretari) in title' in text.stdout
    )
    # Overlapping terms ("snap election", =election) print the title once, highlighted.
    overlapping = newswatch(
        "topics", "explain", "elections", "--text", "Snap election called", "-c", str(config),
        cwd=tmp_path,
    )  # fmt: skip
    assert "  title: Snap election called\n" in overlapping.stdout, overlapping.stdout

    article = DATA / "india_israel_defence_talks_2025-07-23.txt"
    from_file = newswatch(
        "topics",
        "explain",
        "defence-secretary-meetings",
        "--file",
        str(article),
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert "PASSES" in from_file.stdout and "in content" in from_file.stdout

    newswatch("run", "-c", str(config), cwd=tmp_path)
    with sqlite3.connect(tmp_path / "newswatch.db") as connection:
        (legislator,) = connection.execute(
            "SELECT id FROM articles WHERE title LIKE 'State legislator%'"
        ).fetchone()  # ids follow the order of storing, which a poll does not promise
    stored = newswatch(
        "topics",
        "explain",
        "defence-secretary-meetings",
        "--article",
        str(legislator),
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert "State legislator" in stored.stdout and "does not pass" in stored.stdout


def test_topics_explain_an_unknown_topic(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch("topics", "explain", "nope", "--text", "x", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "no topic 'nope'" in result.stderr


def test_topics_backtest(tmp_path):
    config = copy_example(tmp_path)
    newswatch("poll", "-c", str(config), cwd=tmp_path)
    result = newswatch(
        "topics",
        "backtest",
        "defence-secretary-meetings",
        "--since",
        "100000d",
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "2 article(s) would have matched; nothing was stored or sent" in result.stdout
    bad = newswatch(
        "topics", "backtest", "elections", "--since", "soon", "-c", str(config), cwd=tmp_path
    )
    assert bad.returncode == 2 and "--since" in bad.stderr
    too_far = newswatch("stories", "--since", "99999999d", "-c", str(config), cwd=tmp_path)
    assert too_far.returncode == 2 and "Traceback" not in too_far.stderr
    assert "'99999999d' is too far back" in too_far.stderr
    none = newswatch("stories", "--limit", "0", "-c", str(config), cwd=tmp_path)
    assert none.returncode == 2 and "--limit" in none.stderr


def test_backfill_without_any_backfill_source_says_so(tmp_path):
    config = copy_example(tmp_path)
    result = newswatch(
        "backfill", "--from", "2025-07-01", "--to", "2025-08-01", "-c", str(config), cwd=tmp_path
    )
    assert result.returncode == 1 and "no feed has a backfill source" in result.stderr


def test_version_needs_no_command(tmp_path):
    from pipeline import __version__

    result = newswatch("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"newswatch {__version__}"


def test_backfill_command_stores_the_window_and_sends_one_digest_per_topic(tmp_path, feed_server):
    from tests import archive

    docs = archive.rfc5005(tmp_path / "archive")
    for name, text in docs.items():
        feed_server.feed(f"/history/{name}", text.encode(), content_type="application/atom+xml")
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        f"feeds:\n  - {{name: Archive desk, url: '{feed_server.url('/history/feed.xml')}',"
        " backfill: {kind: rfc5005}}\n"
        "topics:\n"
        "  - {id: defence, name: Defence, query: '\"defence secretary\" AND talks'}\n"
        "  - {id: elections, name: Elections, query: 'election*', threshold: 0.3}\n"
    )
    start, end = (f"{moment:%Y-%m-%d}" for moment in archive.WINDOW)
    result = newswatch("backfill", "--from", start, "--to", end, "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "Archive desk" in line)
    assert [c.strip() for c in row.split("│")[1:-1]] == ["Archive desk", "3", "9", "9", "0", "yes"]
    assert "Defence: 3 matches in backfilled history" in result.stdout
    assert "Elections: 3 matches in backfilled history" in result.stdout
    assert "alerts: 6 sent (2 digest(s))" in result.stdout
    again = newswatch("backfill", "--from", start, "--to", end, "-c", str(config), cwd=tmp_path)
    assert "alerts: 0 sent" in again.stdout
    bad = newswatch("backfill", "--from", "yesterday", "--to", end, "-c", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "expected a date" in bad.stderr


def test_topics_near_misses_lists_what_the_topic_nearly_caught(tmp_path):
    config = copy_example(tmp_path)
    newswatch("poll", "-c", str(config), cwd=tmp_path)
    result = newswatch(
        "topics", "near-misses", "defence-secretary-meetings", "--since", "100000d",
        "-c", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Cricket board meeting" in result.stdout  # a title may wrap in its column
    assert "excluded: title:cricket (title)" in result.stdout
    assert "State legislator" in result.stdout
    assert "missing clause: @defence_officials" in result.stdout
    assert "near miss(es)" in result.stdout
    bad = newswatch("topics", "near-misses", "nope", "-c", str(config), cwd=tmp_path)
    assert bad.returncode == 1 and "no topic 'nope'" in bad.stderr
