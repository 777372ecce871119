"""One feed can never stop the others: any failure in fetch, parse or store is that feed's own,
recorded with what broke, backed off like any failure, in polling and in backfill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from pipeline import store
from pipeline.backfill import backfill
from pipeline.config import BackfillSourceConfig, Config, FeedConfig, FetchConfig
from pipeline.poll import poll
from pipeline.store.schema import ArticleRow, FeedRow, FetchLogRow
from tests import archive
from tests.conftest import CORPUS
from tests.test_cli import newswatch

NEWS = sorted((CORPUS / "news_feeds").iterdir())
# The reported case: a JSON Feed whose `items` holds 200,000 nested lists. Python's JSON decoder
# raises RecursionError on it, which escaped every `except` in the poll and stopped the cycle.
NESTED = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "Nested", "items": '
    + b"[" * 200_000
    + b"]" * 200_000
    + b"}"
)


def articles_of(engine, name: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(ArticleRow)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .where(FeedRow.name == name)
        ).scalar_one()


def three_feeds(feed_server, bad_path: str = "/nested.json") -> Config:
    feed_server.feed("/one", NEWS[0].read_bytes())
    feed_server.feed("/three", NEWS[1].read_bytes())
    names = ("a-first", "b-nested", "c-last")
    paths = ("/one", bad_path, "/three")
    return Config(
        feeds=[
            FeedConfig(name=n, url=feed_server.url(p), poll_interval=600)
            for n, p in zip(names, paths, strict=True)
        ],
        fetch=FetchConfig(read_timeout=5),
    )


def test_a_json_feed_nested_too_deep_fails_alone_and_is_backed_off(engine, feed_server):
    feed_server.feed("/nested.json", NESTED, content_type="application/feed+json")
    config = three_feeds(feed_server)

    first = poll(engine, config)
    statuses = {r.feed_name: r.status for r in first.reports}
    assert statuses == {"a-first": "ok", "b-nested": "parse_error", "c-last": "ok"}
    nested = next(r for r in first.reports if r.feed_name == "b-nested")
    assert "RecursionError" in nested.error and "recursion" in nested.error
    assert articles_of(engine, "a-first") > 0 and articles_of(engine, "c-last") > 0
    health = {h.name: h for h in store.feed_health(engine)}
    assert health["b-nested"].last_status == "parse_error"
    assert health["b-nested"].consecutive_failures == 1
    assert health["b-nested"].articles == 0
    with engine.connect() as connection:
        logged = connection.execute(select(FetchLogRow.status)).scalars().all()
    assert sorted(logged) == ["ok", "ok", "parse_error"], "every feed of the cycle is recorded"

    again = poll(engine, config, force=True)
    assert {r.feed_name: r.status for r in again.reports}["b-nested"] == "parse_error"
    health = {h.name: h for h in store.feed_health(engine)}["b-nested"]
    assert health.consecutive_failures == 2
    assert health.next_fetch_at - health.last_fetch_at >= timedelta(seconds=600 * 4)
    later = poll(engine, config, now=datetime.now(UTC) + timedelta(minutes=11))
    assert sorted(r.feed_name for r in later.reports) == ["a-first", "c-last"], "backed off"


def refuse_inserts_for(engine, feed_id: int) -> None:
    """A real database error for one feed's articles only (a trigger), on either database."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.feed_id = {feed_id} "
                    "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.feed_id = {feed_id} THEN RAISE EXCEPTION 'disk quota exceeded'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON articles "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


def test_a_store_error_for_one_feed_is_recorded_and_loses_nothing(engine, feed_server):
    feed_server.feed("/two", NEWS[2].read_bytes())
    config = three_feeds(feed_server, bad_path="/two")
    scheduled = store.sync_feeds(engine, config.feeds, datetime.now(UTC))
    refuse_inserts_for(engine, next(s.source.id for s in scheduled if s.source.name == "b-nested"))

    result = poll(engine, config)
    statuses = {r.feed_name: r.status for r in result.reports}
    assert statuses == {"a-first": "ok", "b-nested": "store_error", "c-last": "ok"}
    failed = next(r for r in result.reports if r.feed_name == "b-nested")
    assert "disk quota exceeded" in failed.error and "INSERT" not in failed.error
    assert articles_of(engine, "b-nested") == 0 and articles_of(engine, "c-last") > 0
    health = {h.name: h for h in store.feed_health(engine)}["b-nested"]
    assert health.consecutive_failures == 1 and health.last_status == "store_error"

    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse" + ("" if engine.dialect.name == "sqlite"
                                                         else " ON articles")))  # fmt: skip
    poll(engine, config, force=True)
    assert "If-None-Match" not in feed_server.hits("/two")[1], "no ETag was saved without articles"
    assert articles_of(engine, "b-nested") > 0


def test_backfill_reports_a_broken_document_and_goes_on(engine, tmp_path):
    saved = tmp_path / "saved"
    archive.snapshots(saved)
    (saved / "0-nested.json").write_bytes(NESTED)
    other = tmp_path / "other"
    archive.snapshots(other)
    feeds = [
        FeedConfig(
            name=name,
            url=f"https://{name}.example/feed",
            backfill=BackfillSourceConfig(kind="directory", path=str(folder)),
        )
        for name, folder in (("broken", saved), ("fine", other))
    ]
    reports = {r.feed_name: r for r in backfill(engine, Config(feeds=feeds), *archive.WINDOW)}
    broken = reports["broken"]
    assert len(broken.errors) == 1 and "parse_error" in broken.errors[0]
    assert "0-nested.json" in broken.errors[0] and "RecursionError" in broken.errors[0]
    assert broken.documents == 5 and len(broken.new_article_ids) == archive.IN_WINDOW
    assert reports["fine"].errors == [] and reports["fine"].in_window > 0


def test_backfill_reports_a_store_error_and_goes_on_with_the_other_feeds(engine, tmp_path):
    folders = {}
    for name in ("refused", "fine"):
        folders[name] = tmp_path / name
        archive.snapshots(folders[name])
    feeds = [
        FeedConfig(
            name=name,
            url=f"https://{name}.example/feed",
            backfill=BackfillSourceConfig(kind="directory", path=str(folder)),
        )
        for name, folder in folders.items()
    ]
    scheduled = store.sync_feeds(engine, feeds, datetime.now(UTC))
    refuse_inserts_for(engine, next(s.source.id for s in scheduled if s.source.name == "refused"))
    reports = {r.feed_name: r for r in backfill(engine, Config(feeds=feeds), *archive.WINDOW)}
    assert reports["refused"].errors and all(
        "store_error" in e and "disk quota exceeded" in e for e in reports["refused"].errors
    )
    assert reports["refused"].new_article_ids == []
    assert len(reports["fine"].new_article_ids) == archive.IN_WINDOW


def test_the_command_keeps_running_and_alerting_past_the_broken_feed(tmp_path, feed_server):
    feed_server.feed("/nested.json", NESTED, content_type="application/feed+json")
    feed_server.feed("/good", NEWS[0].read_bytes())
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        "feeds:\n"
        f"  - {{name: nested, url: '{feed_server.url('/nested.json')}'}}\n"
        f"  - {{name: good, url: '{feed_server.url('/good')}'}}\n"
    )
    for command in (("run",), ("poll", "--all")):
        result = newswatch(*command, "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert "failed nested: parse_error" in result.stdout.replace("\n", " ")
    feeds = newswatch("feeds", "--config", str(config), cwd=tmp_path)
    assert "parse_error" in feeds.stdout
