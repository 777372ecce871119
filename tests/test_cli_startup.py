"""`newswatch --help` and small commands import only what they need: the database, HTTP, feed
parsing, Slack and web stacks are imported by the commands that use them, not at start-up.

Each case runs the command in a fresh interpreter and lists the modules it loaded (no timing is
asserted; benchmarks/startup.py measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

# Run a command in-process, then print the names of every module it imported, as JSON.
PROBE = """
import contextlib, io, json, sys
from pipeline.cli import app
with contextlib.redirect_stdout(io.StringIO()):
    try:
        app(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "httpcore",
    "feedparser",
    "lxml",
    "slack_sdk",
    "fastapi",
    "uvicorn",
    "starlette",
    "numpy",
    "rich.progress",
)
# What reading the config brings (YAML, the topic matcher): not needed for help. (pydantic is
# not listed: typer itself imports it to read a command's parameters.)
CONFIG = ("yaml", "pipeline.config", "pipeline.topics", "ahocorasick", "Stemmer")


def imported_by(*argv: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        cwd=Path(__file__).parent.parent,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["poll", "--help"],
        ["run", "--help"],
        ["topics", "--help"],
        ["topics", "near-misses", "--help"],
        ["alerts", "send", "--help"],
        ["serve", "--help"],
    ],
)
def test_help_and_version_import_no_heavy_module(argv):
    modules = imported_by(*argv)
    assert "pipeline.cli" in modules  # the probe did run the command line
    assert loaded(modules, HEAVY + CONFIG) == []


def test_topics_check_reads_the_config_but_opens_no_database_nor_network():
    modules = imported_by("topics", "check", "-c", str(EXAMPLES / "newswatch.yaml"))
    assert "pipeline.config" in modules
    assert loaded(modules, HEAVY) == []


def test_near_misses_default_margin_is_the_library_margin():
    from pipeline.cli.topics import DEFAULT_MARGIN
    from pipeline.topics import NEAR_MISS_MARGIN

    assert DEFAULT_MARGIN == NEAR_MISS_MARGIN
