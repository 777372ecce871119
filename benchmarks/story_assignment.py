"""Story assignment in the database over a large history: time and peak memory per batch.

Run by hand:  python benchmarks/story_assignment.py [--history 1000000] [--postgres URL]

The history (placed articles spread evenly over a year, 2,000 of them real texts) is generated
once with bulk inserts and kept for the next run: a SQLite file in --data-dir and a PostgreSQL
schema `nwbench_stories_<N>` (drop it, or pass --fresh, to regenerate). Each scenario adds one
batch of 1,000 unplaced articles, about a tenth of them copies of stored real texts, and
assigns it in a fresh process (so its peak RSS is the assignment's), then removes the batch:
- year_old_item: 999 articles from the last day and one from a year ago (a backfill's batch);
- spread_over_a_year: 1,000 articles evenly over the year (the worst case for a time window);
- recent: 1,000 articles from the last day (a busy poll);
- small_poll: 50 articles from the last hour (an ordinary poll).
Each reports the time spent writing the batch's bucket keys (`story_keys`, 16 rows an article),
the cost every poll pays for the lookups. When the stored history predates the keys, the
schema upgrade that fills them is timed too.
Figures go to benchmarks/results/story_assignment.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, bindparam, delete, event, func, select, text  # noqa: E402

from benchmarks.report import write_results  # noqa: E402
from benchmarks.story_eval import variants  # noqa: E402
from benchmarks.story_history import (  # noqa: E402
    feed_id,
    insert_history,
    unplaced,
    vocabulary_texts,
)
from pipeline import store  # noqa: E402
from pipeline.store.articles import insert_articles  # noqa: E402
from pipeline.store.schema import ArticleRow, FeedRow, StoryKeyRow  # noqa: E402
from pipeline.stories import from_bytes_matrix, stored_band_keys  # noqa: E402

NOW = datetime(2026, 2, 16, tzinfo=UTC)
YEAR = NOW - timedelta(days=365)
REAL = 2_000
BATCH = 1_000
SCENARIOS = ("year_old_item", "spread_over_a_year", "recent", "small_poll")
SIZES = {"small_poll": 50}
KEYS = StoryKeyRow.__table__


def prepared(url: str, history: int, fresh: bool) -> tuple[Engine, dict[str, object]]:
    """The database with `history` placed articles, generated unless already there, and how
    long bringing its schema to head took (filling the keys of a stored history)."""
    engine = store.connect(url)
    revision, began = store.current_revision(engine), time.perf_counter()
    store.upgrade(engine)
    upgrade = {"from": revision, "seconds": round(time.perf_counter() - began, 1)}
    if revision is not None and revision != store.current_revision(engine):
        print(f"  schema upgraded from {revision} in {upgrade['seconds']} s")
    with engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(ArticleRow).join(FeedRow).where(
                FeedRow.name == "history")
        ).scalar_one()  # fmt: skip
    if stored == history + REAL and not fresh:
        print(f"  reusing {stored:,} stored articles")
        return engine, upgrade
    if stored:
        raise SystemExit(f"{url} holds other data ({stored:,} articles): pass --fresh")
    began = time.perf_counter()
    insert_history(engine, history, YEAR, NOW, real=real_texts())
    print(f"  generated {history + REAL:,} articles in {time.perf_counter() - began:.0f} s")
    return engine, upgrade


def real_texts() -> list[tuple[datetime, str, str]]:
    return vocabulary_texts(REAL, YEAR, NOW, copies=0, seed=21)[:REAL]


def batch(scenario: str) -> list[tuple[datetime, str, str]]:
    rng = random.Random(scenario)
    size = SIZES.get(scenario, BATCH)
    if scenario == "spread_over_a_year":
        times = [YEAR + (NOW - YEAR) * (i + 0.5) / size for i in range(size)]
    else:
        span = 3_600 if scenario == "small_poll" else 86_400
        times = [NOW - timedelta(seconds=rng.uniform(0, span)) for _ in range(size)]
        if scenario == "year_old_item":
            times[0] = YEAR + timedelta(hours=3)
    fresh = vocabulary_texts(size, YEAR, NOW, copies=0, seed=5)
    stored = real_texts()
    texts = []
    for i, when in enumerate(sorted(times)):
        if i % 10 == 0:  # a copy of the stored real text nearest in time
            original = min(stored, key=lambda t: abs(t[0] - when))
            texts.append((when, *rng.choice(list(variants(original[1], original[2]).values()))))
        else:
            texts.append((when, fresh[i][1], fresh[i][2]))
    return texts


def run_scenario(url: str, engine: Engine, scenario: str) -> dict[str, object]:
    key = feed_id(engine, "batch")
    with engine.begin() as connection:
        insert_articles(connection, unplaced(key, batch(scenario), scenario))
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--child", url],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        remove_batch(engine, key)
    return json.loads(child.stdout)


def remove_batch(engine: Engine, key: int) -> None:
    """Delete the batch (and its bucket keys) and put the stories it touched back as they
    were."""
    with engine.begin() as connection:
        placed = connection.execute(
            select(ArticleRow.id, ArticleRow.signature).where(
                ArticleRow.feed_id == key, ArticleRow.signature.is_not(None)
            )
        ).all()
        if placed:
            keys = stored_band_keys(from_bytes_matrix([row.signature for row in placed]))
            connection.execute(
                delete(KEYS).where(
                    KEYS.c.band_key == bindparam("b_key"), KEYS.c.article_id == bindparam("b_id")
                ),
                [
                    {"b_key": k, "b_id": row.id}
                    for row, row_keys in zip(placed, keys.tolist(), strict=True)
                    for k in row_keys
                ],
            )
        touched = f"SELECT DISTINCT story_id FROM articles WHERE feed_id = {key}"
        connection.execute(text(f"CREATE TEMPORARY TABLE touched AS {touched}"))
        connection.execute(text(f"DELETE FROM articles WHERE feed_id = {key}"))
        connection.execute(
            text(
                "DELETE FROM stories WHERE id IN (SELECT story_id FROM touched) AND NOT EXISTS "
                "(SELECT 1 FROM articles WHERE articles.story_id = stories.id)"
            )
        )
        connection.execute(
            text(
                "UPDATE stories SET "
                "article_count = (SELECT count(*) FROM articles WHERE story_id = stories.id), "
                "last_seen_at = (SELECT max(published_at) FROM articles "
                "WHERE story_id = stories.id) WHERE id IN (SELECT story_id FROM touched)"
            )
        )
        connection.execute(text("DROP TABLE touched"))


def child(url: str) -> None:
    """Assign the waiting batch; print seconds and memory as JSON (peak RSS is this process's)."""
    from pipeline.store.stories import assign_stories

    engine = store.connect(url)
    writing = [0.0]

    @event.listens_for(engine, "before_cursor_execute")
    def _began(connection, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        connection.info["began"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _ended(connection, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO story_keys"):
            writing[0] += time.perf_counter() - connection.info["began"]

    baseline = _status_mb("VmRSS")
    began, cpu = time.perf_counter(), time.process_time()
    report = assign_stories(engine)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = _status_mb("VmHWM")
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),  # this process only (not PostgreSQL's server)
                "peak_rss_mb": round(peak, 1),
                "rss_growth_mb": round(peak - baseline, 1),
                "assigned": report.assigned,
                "joined": report.joined,
                "articles_read_back": report.loaded,
                "key_write_seconds": round(writing[0], 3),
            }
        )
    )


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) from /proc: unlike ru_maxrss, whose value a child inherits
    from its parent across fork and exec, VmHWM counts only this program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def schema_url(url: str, schema: str) -> str:
    engine = store.connect(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def measure(history: int, data_dir: Path, postgres: str | None, fresh: bool) -> dict[str, object]:
    data_dir.mkdir(parents=True, exist_ok=True)
    sqlite_path = data_dir / f"stories-{history}.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    targets = {"sqlite": f"sqlite:///{sqlite_path}"}
    if postgres:
        schema = f"nwbench_stories_{history}"
        if fresh:
            admin = store.connect(postgres)
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
        targets["postgresql"] = schema_url(postgres, schema)
    figures: dict[str, object] = {}
    for name, url in targets.items():
        print(f"{name}:")
        engine, upgrade = prepared(url, history, fresh)
        figures[name] = {"schema_upgrade": upgrade}
        for scenario in SCENARIOS:
            result = run_scenario(url, engine, scenario)
            figures[name][scenario] = result  # type: ignore[index]
            print(
                f"  {scenario}: {result['seconds']:.2f} s ({result['cpu_seconds']:.2f} s CPU), "
                f"peak RSS {result['peak_rss_mb']} MB "
                f"(+{result['rss_growth_mb']} MB), {result['articles_read_back']:,} stored "
                f"articles read back, {result['joined']} joined, "
                f"keys written in {result['key_write_seconds']:.2f} s"
            )
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL"))
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "newswatch-bench"
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate the history")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        # Shared machines: a load above the core count slows every figure here.
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "history_articles": args.history + REAL,
        "batch": BATCH,
        **measure(args.history, args.data_dir, args.postgres, args.fresh),
    }
    write_results("story_assignment", figures)


if __name__ == "__main__":
    main()
