"""`newswatch serve` as a user runs it: a subprocess on the bundled example, stopped by PID."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.live import eventually, free_port
from tests.test_cli import copy_example, newswatch


def example_with_matches(tmp_path: Path) -> Path:
    """The example config in a copy of its folder, after one `newswatch run` (SQLite there)."""
    config = copy_example(tmp_path)
    result = newswatch("run", "--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    return config


@contextmanager
def newswatch_serve(
    config: Path, *args: str, env: dict[str, str] | None = None, stderr: list[str] | None = None
) -> Iterator[str]:
    """Serve on a free port; yields the base URL; stops it after, adding what it wrote on
    stderr to `stderr` when given."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            *args,
        ],
        cwd=config.parent,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        assert process.poll() is None, process.communicate()[1]
        try:
            return httpx.get(f"{base}/feeds", timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    try:
        eventually(answering, what="newswatch serve", timeout=60)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        written = process.communicate()[1]
        if stderr is not None:
            stderr.append(written)
