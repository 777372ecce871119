"""Poll cycles at scale: generated feeds on several loopback hosts, polled by `newswatch poll`.

Run by hand:

    .venv/bin/python benchmarks/poll_scale.py [--feeds 5000] [--hosts 8] [--items 10]
        [--concurrency 8,32] [--per-host 4] [--baseline /path/to/old/checkout] [--repeat 1]

The feeds (RSS 2.0, `--items` items each, an ETag, 304 for If-None-Match; tests/feed_farm.py)
are served from 127.0.0.2, 127.0.0.3, ... by this process. For each concurrency, on a fresh
SQLite database, `newswatch poll --all` runs as a whole process (start-up included): the first
cycle stores every article, the second finds every feed unchanged (all 304s). Both the
process's wall time and the cycle's own (from its log line; the code before this change has
none) are recorded: the process adds imports, reading the config and opening the database.
Its peak memory is the largest sum of the resident sizes of the command and its children (the
parse workers), sampled every 50 ms, as RSS and as PSS (pages shared with the forked workers
counted once). With `--baseline`, the same runs use the code in that directory (e.g.
`git archive ff337ff | tar -x -C /tmp/old`), side by side. Figures print and go to
benchmarks/results/poll_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import RESULTS  # noqa: E402
from tests import feed_farm  # noqa: E402

GOALS = {"first_cycle_s": 84 / 2.5, "all_304_feeds_per_s": 1000}
OLD_FIRST_CYCLE_S = 84  # issue 12: 5,000 feeds before this change, measured on this machine


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants: (RSS, PSS). Forked parse workers
    share most pages with their parent: RSS counts those in every process, PSS divides them."""
    rss, pss, pending = 0, 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(p) for p in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss, pss


def run_poll(
    code: Path, config: Path, database: str
) -> tuple[float, float | None, tuple[int, int]]:
    """`newswatch poll --all -v` with the code in `code`: (wall seconds of the process, seconds
    of the cycle as it logs them if it does, peak tree (RSS, PSS) bytes)."""
    env = {**os.environ, "PYTHONPATH": str(code), "COLUMNS": "300"}
    command = [sys.executable, "-m", "pipeline.cli", "poll", "--all", "-v", "-c", str(config)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--database-url", database],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = (0, 0)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            rss, pss = tree_memory(process.pid)
            peak = (max(peak[0], rss), max(peak[1], pss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0 or " 0 │" not in out.split("poll summary")[-1]:
        raise RuntimeError(f"poll failed ({process.returncode}): {out[-2000:]} {err[-2000:]}")
    cycle = re.search(r"feed\(s\) polled in ([0-9.]+) s", err)
    return elapsed, float(cycle.group(1)) if cycle else None, peak


def stored(database: str) -> int:
    import sqlite3

    path = database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM articles").fetchone()[0]


def spread(feeds: int, hosts: int) -> list[int]:
    return [feeds // hosts + (1 if i < feeds % hosts else 0) for i in range(hosts)]


def measure(code: Path, farm: feed_farm.FeedFarm, concurrency: int, args, work: Path) -> dict:
    config = work / f"newswatch-{concurrency}.yaml"
    config.write_text(
        farm.config(extra=f"fetch: {{concurrency: {concurrency}, per_host: {args.per_host}}}\n")
    )
    database = f"sqlite:///{work}/poll-{code.name}-{concurrency}-{time.monotonic_ns()}.db"
    before = load()
    first, first_cycle, first_rss = run_poll(code, config, database)
    second, second_cycle, second_rss = run_poll(code, config, database)
    articles = stored(database)
    expected = args.feeds * args.items
    if articles != expected:
        raise RuntimeError(f"{code}: {articles} articles stored, expected {expected}")
    return {
        "code": str(code),
        "concurrency": concurrency,
        "first_cycle_s": round(first, 1),
        "first_cycle_feeds_per_s": round(args.feeds / first),
        "first_cycle_peak_rss_mb": round(first_rss[0] / 2**20),
        "first_cycle_peak_pss_mb": round(first_rss[1] / 2**20),
        "first_cycle_in_process_s": first_cycle,
        "all_304_cycle_s": round(second, 1),
        "all_304_feeds_per_s": round(args.feeds / second),
        "all_304_cycle_in_process_s": second_cycle,
        "all_304_in_process_feeds_per_s": (
            round(args.feeds / second_cycle) if second_cycle else None
        ),
        "all_304_peak_rss_mb": round(second_rss[0] / 2**20),
        "all_304_peak_pss_mb": round(second_rss[1] / 2**20),
        "articles_stored": articles,
        "load_average_before_after": [before, load()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "poll_scale.json")
    args = parser.parse_args()
    codes = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])

    farm = feed_farm.start(spread(args.feeds, args.hosts), items=args.items)
    runs = []
    try:
        farm.prebuild()
        with tempfile.TemporaryDirectory(prefix="nwbench-poll-") as directory:
            for _ in range(args.repeat):
                for concurrency in [int(c) for c in args.concurrency.split(",")]:
                    for code in codes:
                        figures = measure(code, farm, concurrency, args, Path(directory))
                        runs.append(figures)
                        label = "this code" if code == ROOT else f"baseline {code}"
                        print(
                            f"{label:>30s} concurrency {concurrency:3d}: first cycle "
                            f"{figures['first_cycle_s']:6.1f} s "
                            f"({figures['first_cycle_feeds_per_s']:,} feeds/s, peak "
                            f"{figures['first_cycle_peak_rss_mb']} MB RSS, "
                            f"{figures['first_cycle_peak_pss_mb']} MB PSS), all-304 cycle "
                            f"{figures['all_304_cycle_s']:5.1f} s "
                            f"({figures['all_304_feeds_per_s']:,} feeds/s, peak "
                            f"{figures['all_304_peak_rss_mb']} MB; the cycle alone "
                            f"{figures['all_304_cycle_in_process_s']} s); load "
                            f"{figures['load_average_before_after']}",
                            flush=True,
                        )
    finally:
        feed_farm.stop(farm)

    mine = [r for r in runs if r["code"] == str(ROOT)]
    best_first = min(r["first_cycle_s"] for r in mine)
    best_304 = max(r["all_304_feeds_per_s"] for r in mine)
    best_304_cycle = max(r["all_304_in_process_feeds_per_s"] or 0 for r in mine)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
        "setup": f"{args.feeds:,} feeds x {args.items} items on {args.hosts} loopback hosts, "
        f"per_host {args.per_host}, SQLite, `newswatch poll --all` as a whole process",
        "runs": runs,
        "best_first_cycle_s": best_first,
        "best_all_304_feeds_per_s": best_304,
        "best_all_304_cycle_in_process_feeds_per_s": best_304_cycle,
        "goals": GOALS,
        "old_first_cycle_s_issue_12": OLD_FIRST_CYCLE_S,
        "first_cycle_speedup_vs_issue_12": round(OLD_FIRST_CYCLE_S / best_first, 2),
    }
    old = [r for r in runs if r["code"] != str(ROOT)]
    if old:
        result["first_cycle_speedup_vs_baseline_same_run"] = round(
            min(r["first_cycle_s"] for r in old) / best_first, 2
        )
        result["all_304_speedup_vs_baseline_same_run"] = round(
            best_304 / max(r["all_304_feeds_per_s"] for r in old), 2
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
