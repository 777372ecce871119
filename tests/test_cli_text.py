"""Feed text printed by the command is text (issue 9, case 5): no rich markup, emoji codes,
terminal escapes or bidi overrides from a feed (or the config) reach the terminal as such."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CRASH = "Defence secretary meets [/b] counterpart for talks"
LINK_MARKUP = "[link=https://evil.example]Bank[/link]"
LINK = f"{LINK_MARKUP} defence secretary talks on loans"
BIDI = "Defence secretary talks on \u202egnp.exe\u202c and :rotating_light: drills"
FEED_NAME = "Wire [/i] desk \x1b]0;pwned\x07"  # markup, and an escape sequence (set the title)
GONE = "Gone [/u] feed"
TOPIC_NAME = "Defence [watch] meetings"
ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    items = "".join(
        f"<item><title>{title.replace('&', '&amp;')}</title><guid>{i}</guid>"
        f"<link>https://wire.example/{i}</link>"
        "<description>The defence secretary held talks.</description></item>"
        for i, title in enumerate([CRASH, LINK, BIDI])
    )
    (tmp_path / "feed.xml").write_text(
        f"<rss version='2.0'><channel><title>Wire</title>{items}</channel></rss>"
    )
    # YAML's "\e" and "\a" are ESC and BEL: a feed name that tries to retitle the terminal.
    name = FEED_NAME.replace("\x1b", "\\e").replace("\x07", "\\a")
    (tmp_path / "newswatch.yaml").write_text(
        f'database: {{url: "sqlite:///{tmp_path / "nw.db"}"}}\n'
        f'feeds:\n  - {{name: "{name}", url: feed.xml}}\n'
        f"  - {{name: '{GONE}', url: missing.xml}}\n"
        "topics:\n"
        f"  - {{id: defence, name: '{TOPIC_NAME}',"
        " query: '\"defence secretary\" AND (meet* OR talks)'}\n"
    )
    return tmp_path


def newswatch(workdir: Path, *args: str) -> tuple[str, str]:
    """Run the command as a terminal would see it (FORCE_COLOR: rich writes styles and links);
    returns (raw output, output without style codes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEWSWATCH_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "-c", str(workdir / "newswatch.yaml")],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "250", "FORCE_COLOR": "1"},
        timeout=120,
    )
    raw = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in raw, raw
    assert "\x1b]8;" not in raw, "a terminal hyperlink"
    assert "\x1b]0;" not in raw and "\u202e" not in raw, "a feed's escape or bidi override"
    return raw, ANSI_STYLE.sub("", raw)


def test_feed_text_prints_as_text_in_every_command(workdir):
    # Issue 9, case 5: `[/b]` in a matching title crashed `run` with rich's MarkupError after
    # scoring and before the drain (so alerts never went out); `[link=...]` became a hyperlink.
    _, run = newswatch(workdir, "run")
    for title in (CRASH, LINK):
        assert run.count(title) >= 2, f"{title!r} in the scores and in the printed alert"
    assert "Defence secretary talks on gnp.exe and :rotating_light: drills" in run
    assert "failed Gone [/u] feed: file" in run, "the poll summary"
    assert "alerts: 3 sent" in run and run.count(TOPIC_NAME) == 3
    assert "Wire [/i] desk ]0;pwned" in run  # what is left of the name: visible, inert

    for command in (
        ["alerts"],
        ["stories"],
        ["topics", "backtest", "defence"],
        ["poll", "--all"],
        ["feeds"],
        ["topics", "check"],
        ["topics", "explain", "defence", "--article", "1"],
    ):
        _, shown = newswatch(workdir, *command)
        expected = {
            # (tables may wrap a long title, so its markup part is what is looked for)
            "alerts": [CRASH, LINK_MARKUP],
            "stories": [CRASH, LINK_MARKUP],
            "topics backtest defence": [CRASH, LINK_MARKUP, "Wire [/i] desk"],
            "poll --all": ["failed Gone [/u] feed"],
            "feeds": [GONE, "Wire [/i] desk"],
            "topics check": [TOPIC_NAME],
            "topics explain defence --article 1": [repr(CRASH)],
        }[" ".join(command)]
        for text in expected:
            assert text in shown, (command, text, shown)


def test_a_config_error_shows_the_pattern_rich_used_to_eat(workdir):
    config = workdir / "newswatch.yaml"
    config.write_text(config.read_text().replace("id: defence", "id: Defence"))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "topics", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
    )
    assert result.returncode == 1
    assert "topics[0].id: String should match pattern '^[a-z0-9][a-z0-9_-]*$'" in result.stderr
