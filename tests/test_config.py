from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.config import load_config, parse_duration
from pipeline.errors import ConfigError
from tests.conftest import EXAMPLES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_the_example_loads_and_resolves_feed_paths():
    loaded = load_config(EXAMPLES / "newswatch.yaml")
    assert loaded.config.feeds
    for feed in loaded.config.feeds:
        assert Path(feed.url).is_absolute() and Path(feed.url).exists()


def test_defaults(tmp_path):
    config = load_config(write(tmp_path, "feeds: []\n")).config
    assert config.database.url == "sqlite:///newswatch.db"
    assert config.fetch.max_bytes == 10_000_000
    assert config.topics == [] and config.slack.token is None


def test_an_unknown_key_is_an_error_naming_the_path_and_the_allowed_keys(tmp_path):
    message = error_for(
        tmp_path,
        """
        feeds:
          - {name: a, url: "https://a.example/feed"}
          - {name: b, url: "https://b.example/feed", pol_interval: 5m}
        """,
    )
    assert str(tmp_path / "newswatch.yaml") in message
    assert "feeds[1].pol_interval: unknown key" in message
    assert "poll_interval" in message


def test_an_unknown_top_level_section_is_an_error(tmp_path):
    message = error_for(tmp_path, "feed: []\n")
    assert "feed: unknown key" in message and "feeds" in message


def test_a_section_given_a_single_value_says_what_goes_there(tmp_path):
    # Not pydantic's "a valid dictionary or instance of HealthConfig": a class name means
    # nothing to whoever writes the YAML.
    message = error_for(tmp_path, "health: 5\n")
    assert message.endswith(
        "newswatch.yaml: health: expected a mapping of keys (stale_factor, stuck_factor, "
        "min_polls, failing_after, sample, min_history, silent_factor, min_silence), got int"
    ), message
    message = error_for(tmp_path, "topics: [defence]\n")
    assert "topics[0]: expected a mapping of keys (id, name, query," in message
    assert "TopicConfig" not in message and message.endswith("got str")


def test_a_bad_url_scheme(tmp_path):
    message = error_for(tmp_path, "feeds: [{name: a, url: 'ftp://a.example/feed'}]\n")
    assert "feeds[0].url:" in message and "http(s) URL" in message


def test_a_missing_required_key(tmp_path):
    assert "feeds[0].url: required key is missing" in error_for(tmp_path, "feeds: [{name: a}]\n")


def test_a_bad_duration(tmp_path):
    message = error_for(tmp_path, "feeds: [{name: a, url: x.xml, poll_interval: soon}]\n")
    assert "feeds[0].poll_interval:" in message and "duration" in message


def test_duplicate_feed_names(tmp_path):
    message = error_for(tmp_path, "feeds: [{name: a, url: x.xml}, {name: a, url: y.xml}]\n")
    assert "feeds[1].name: duplicate name 'a' (also feeds[0])" in message


def test_yaml_syntax_errors_give_the_line(tmp_path):
    message = error_for(tmp_path, "feeds:\n  - name: a\n   url: x\n")
    assert "not valid YAML at line 3" in message


def test_a_missing_file():
    with pytest.raises(ConfigError, match="no such file"):
        load_config("/nonexistent/newswatch.yaml")


def test_environment_interpolation(tmp_path, monkeypatch):
    monkeypatch.setenv("NW_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("NW_DB", "sqlite:///other.db")
    config = load_config(
        write(
            tmp_path,
            """
            database: {url: "${NW_DB}"}
            slack: {token: "${NW_TOKEN}", default_channel: "${NW_CHANNEL:-#news}"}
            """,
        )
    ).config
    assert config.database.url == "sqlite:///other.db"
    assert config.slack.token.get_secret_value() == "xoxb-secret-value"
    assert config.slack.default_channel == "#news"
    assert "xoxb-secret-value" not in repr(config)


def test_a_missing_environment_variable_names_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NW_MISSING", raising=False)
    message = error_for(tmp_path, "slack: {token: '${NW_MISSING}'}\n")
    assert "slack.token: environment variable NW_MISSING is not set" in message


def test_topic_shape_is_checked(tmp_path):
    message = error_for(
        tmp_path,
        """
        topics:
          - {id: Bad Id, name: x, query: y, threshold: 2}
        """,
    )
    assert "topics[0].id:" in message and "topics[0].threshold:" in message


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("htp:/x", "unknown scheme 'htp'"),
        ("http://", "expected http://host/path"),
        ("http:/feeds.example/rss", "expected http://host/path"),
        ("https:///rss", "expected https://host/path"),
        ("http://feeds.example:99x/rss", "invalid port"),
        ("http://feeds.example/my feed", "contains spaces"),
        ("file:feed.xml", "expected file:///path/to/feed.xml"),
        ("http://user:s3cret@/rss", "expected http://host/path"),
    ],
)
def test_a_feed_url_that_is_not_a_url_is_refused_with_its_key(tmp_path, url, says):
    message = error_for(
        tmp_path, f"feeds: [{{name: a, url: 'x.xml'}}, {{name: b, url: '{url}'}}]\n"
    )
    assert "feeds[1].url:" in message and says in message, message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "url",
    ["feeds/local.xml", "/srv/feeds/a.xml", "C:/feeds/a.xml", "file:///srv/feeds/a.xml",
     "https://feeds.example/rss?x=1", "http://127.0.0.1:8080/feed", "http://[::1]:8080/feed"],
)  # fmt: skip
def test_urls_and_paths_that_stay_valid(tmp_path, url):
    config = load_config(write(tmp_path, f"feeds: [{{name: a, url: '{url}'}}]\n")).config
    assert config.feeds[0].url.endswith(url.rsplit("/", 1)[-1])


def test_a_backfill_url_is_checked_too(tmp_path):
    message = error_for(
        tmp_path,
        "feeds: [{name: a, url: 'x.xml', backfill: {kind: paged, url: 'http://'}}]\n",
    )
    assert "feeds[0].backfill.url:" in message


@pytest.mark.parametrize("token", ['""', "x7Qz9k"])
def test_an_empty_or_short_web_token_is_refused_not_taken_as_none(tmp_path, token):
    message = error_for(tmp_path, f"web:\n  token: {token}\n")
    assert "web.token: expected at least 12 characters" in message
    assert "x7Qz9k" not in message  # the value itself is never shown
