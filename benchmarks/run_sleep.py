"""`newswatch run` on the corpus with 1,000 topics and no Slack: how much of it is sleeping.

Run by hand:  .venv/bin/python benchmarks/run_sleep.py [--topics 1000]

The 29 news feeds of the test corpus (local files) and `--topics` generated one-word topics
(words of the corpus's titles, so that many match), no Slack: every alert goes to the terminal
sink. The command runs in this process under cProfile (its output to /dev/null), which records
every call of `time.sleep` however it was reached, and the time spent in the terminal sink.
Figures print and go to benchmarks/results/run_sleep.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.topics import words  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"


def config_text(topics: int) -> str:
    titles = [
        a.title
        for path in sorted(CORPUS.iterdir())
        for a in parse_bytes(path.read_bytes(), "https://x.example/feed").articles
    ]
    vocabulary = sorted({w for t in titles for w in words(t) if len(w) > 4 and w.isalpha()})
    lines = ["feeds:"]
    lines += [f"  - {{name: '{p.name}', url: '{p}'}}" for p in sorted(CORPUS.iterdir())]
    lines.append("topics:")
    for index in range(topics):
        word = vocabulary[index % len(vocabulary)]
        lines.append(
            f"  - {{id: t{index}, name: 'Topic {index}', query: '{word}', threshold: 0.1}}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    args = parser.parse_args()
    from pipeline.cli import app

    with tempfile.TemporaryDirectory(prefix="nwbench-run-") as directory:
        config = Path(directory) / "newswatch.yaml"
        config.write_text(config_text(args.topics))
        database = f"sqlite:///{directory}/newswatch.db"
        profiler = cProfile.Profile()
        load = os.getloadavg()
        started = time.perf_counter()
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            profiler.enable()
            with contextlib.suppress(SystemExit):
                app(["run", "-c", str(config), "--database-url", database])
            profiler.disable()
        elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    sleeps, sleeping, printing, alerts = 0, 0.0, 0.0, 0
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.items():
        if function == "<built-in method time.sleep>":
            sleeps, sleeping = calls, cumulative
        if filename.endswith("alerts/slack.py") and function == "send":
            printing, alerts = cumulative, calls
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load],
        "topics": args.topics,
        "run_s": round(elapsed, 2),
        "messages_to_terminal": alerts,
        "terminal_sink_s": round(printing, 2),
        "time_sleep_calls": sleeps,
        "time_sleep_s": round(sleeping, 3),
    }
    print(
        f"newswatch run, {args.topics} topics, no Slack: {elapsed:.1f} s (under cProfile); "
        f"{alerts} message(s) printed in {printing:.2f} s; time.sleep called {sleeps} time(s), "
        f"{sleeping:.3f} s"
    )
    write_results("run_sleep", figures)


if __name__ == "__main__":
    main()
