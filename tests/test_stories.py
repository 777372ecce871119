"""Stories: syndicated copies and near-duplicates grouped, alerts once per story."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pytest
from sqlalchemy import select

from alerts.destinations import alert_setup
from benchmarks.story_eval import evaluate
from pipeline.config import Config, FeedConfig, SlackConfig
from pipeline.poll import poll
from pipeline.score import score_new_articles
from pipeline.store.schema import AlertRow, ArticleRow, TopicMatchRow
from pipeline.store.stories import assign_stories, biggest_stories
from pipeline.stories import StoryIndex, signature
from pipeline.topics import compile_topic

WIRE = (
    "Defence secretary meets Israeli counterpart in New Delhi",
    "India's defence secretary held a bilateral meeting with the director general of Israel's "
    "defence ministry on Wednesday, agreeing to deepen research cooperation and "
    "counter-terror work.",
)
COPIES = [
    WIRE,
    (
        "Reuters - Defence secretary meets Israeli counterpart in New Delhi",
        "NEW DELHI (Reuters) - " + WIRE[1],
    ),
    ("India, Israel defence chiefs meet in New Delhi", "By PTI staff. " + WIRE[1][:150] + "…"),
]
IRAN_MONDAY = (
    "US and Iran hold nuclear talks in Geneva",
    "Negotiators met in Geneva for a second round on enrichment limits and sanctions.",
)
IRAN_FRIDAY = (
    "Iran and US resume talks in Oman after prisoner swap",
    "Omani mediators hosted the delegations days after five detainees were exchanged.",
)
DEFENCE = compile_topic(
    "defence", "Defence meetings", '"defence secretary" AND meet*', channel="#defence-watch"
)


def test_precision_and_recall_on_the_labelled_pairs():
    report = evaluate()
    assert report["pairs"] >= 1000 and report["positives"] >= 400
    assert report["precision"] >= 0.98, report["false_positives"]
    assert report["recall"] >= 0.9, report["false_negatives"]


def test_two_stories_that_share_only_a_topic_stay_apart():
    index = StoryIndex()
    now = datetime(2026, 2, 16, tzinfo=UTC)
    index.add(1, 1, signature(*IRAN_MONDAY), "monday", now)
    assert index.find(signature(*IRAN_FRIDAY), "friday", now + timedelta(days=4)) is None


def test_copies_join_within_the_window_only():
    index = StoryIndex(timedelta(hours=72))
    now = datetime(2026, 2, 16, tzinfo=UTC)
    index.add(1, 10, signature(*COPIES[0]), "h1", now)
    assert index.find(signature(*COPIES[1]), "h2", now + timedelta(hours=71)) == (10, 1)
    assert index.find(signature(*COPIES[1]), "h2", now + timedelta(hours=73)) is None
    assert index.find(signature("Completely", "different"), "h1", now) == (10, 1), "same text hash"


def test_memory_is_bounded_by_the_window():
    index = StoryIndex()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(3000):
        index.add(
            i,
            i,
            signature(f"story {i} alpha beta", f"gamma delta {i} epsilon"),
            str(i),
            start + timedelta(minutes=i),
        )
        if i % 500 == 0:
            index.evict_before(start + timedelta(minutes=i) - timedelta(hours=3))
    assert len(index) <= 3 * 60 + 500
    assert len(index._signatures) <= 4096, "slots are reused, the array does not keep growing"
    assert all(isinstance(v, int | list) for v in index._buckets.values())


def feed(path: Path, items: list[tuple[str, str]], base: str, hours_ago: int = 1) -> Path:
    published = (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    path.write_text(
        "<rss version='2.0'><channel><title>x</title>"
        + "".join(
            f"<item><title>{xml_escape(t)}</title><link>https://{base}/{i}</link><guid>{base}-{i}</guid>"
            f"<pubDate>{published}</pubDate><description>{xml_escape(s)}</description></item>"
            for i, (t, s) in enumerate(items)
        )
        + "</channel></rss>"
    )
    return path


def stories_of(engine) -> list[int]:
    with engine.connect() as connection:
        return [
            r for (r,) in connection.execute(select(ArticleRow.story_id).order_by(ArticleRow.id))
        ]


def test_assignment_in_the_database_survives_a_restart(engine, database_url, tmp_path):
    from pipeline import store

    feeds = [
        FeedConfig(
            name=f"Outlet {i}", url=str(feed(tmp_path / f"{i}.xml", [copy], f"o{i}.example"))
        )
        for i, copy in enumerate(COPIES[:2])
    ]
    poll(engine, Config(feeds=feeds))
    report = assign_stories(engine)
    assert report.assigned == 2 and report.new_stories == 1 and report.joined == 1
    assert len(set(stories_of(engine))) == 1
    fresh = store.connect(database_url)  # another process, nothing in memory
    poll(
        fresh,
        Config(
            feeds=[
                FeedConfig(
                    name="Outlet 2", url=str(feed(tmp_path / "2.xml", [COPIES[2]], "o2.example"))
                )
            ]
        ),
    )
    assert assign_stories(fresh).joined == 1
    assert len(set(stories_of(fresh))) == 1
    fresh.dispose()


def test_the_same_story_from_three_feeds_is_one_alert_listing_the_outlets(
    engine, tmp_path, fake_slack
):
    feeds = [
        FeedConfig(
            name=name,
            url=str(
                feed(
                    tmp_path / f"{i}.xml",
                    [copy, IRAN_MONDAY if i == 0 else IRAN_FRIDAY],
                    f"o{i}.example",
                )
            ),
        )
        for i, (name, copy) in enumerate(
            zip(["Devdiscourse", "Reuters", "PTI"], COPIES, strict=True)
        )
    ]
    poll(engine, Config(feeds=feeds))
    score_new_articles(engine, [DEFENCE])
    config = Config(slack=SlackConfig(api_url=fake_slack.api_url, min_interval=0))
    setup = alert_setup(config, [DEFENCE], token=fake_slack.token)
    report = setup.drain(engine, sleep=lambda s: None)
    assert report.sent == 1 and len(fake_slack.posts) == 1
    text = str(fake_slack.posts[0].payload["blocks"])
    assert "Also reported by 2 more outlet(s)" in text and "Reuters" in text and "PTI" in text
    assert "Devdiscourse" in text

    # A fourth outlet later: a thread reply under the alert, never a new top-level message.
    late = [
        FeedConfig(
            name="ANI",
            url=str(
                feed(tmp_path / "ani.xml", [(COPIES[0][0] + " - ANI", COPIES[0][1])], "ani.example")
            ),
        )
    ]
    poll(engine, Config(feeds=late))
    score_new_articles(engine, [DEFENCE])
    again = setup.drain(engine, sleep=lambda s: None)
    assert again.sent == 0 and again.follow_ups == 1 and len(fake_slack.posts) == 2
    reply = fake_slack.posts[1].payload
    assert reply["thread_ts"] == fake_slack.posts[0].ts and "ANI" in str(reply["blocks"])
    assert setup.drain(engine, sleep=lambda s: None).follow_ups == 0
    with engine.connect() as connection:
        (copies,) = connection.execute(select(AlertRow.also_reported_by)).one()
    assert [c["feed"] for c in copies] == ["Reuters", "PTI", "ANI"]


def test_stories_command_lists_the_biggest_with_their_outlets(tmp_path):
    import os
    import subprocess
    import sys

    paths = [feed(tmp_path / f"{i}.xml", [copy], f"o{i}.example") for i, copy in enumerate(COPIES)]
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        "feeds:\n" + "".join(f"  - {{name: Outlet {i}, url: '{p}'}}\n" for i, p in enumerate(paths))
    )
    env = {**os.environ, "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args, "-c", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    assert run("run").returncode == 0
    listing = run("stories", "--since", "24h")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "Outlet 0" in line)
    assert "│ 3 " in row and "Outlet 0, Outlet 1, Outlet 2" in row
    assert "1 story" in listing.stdout


def test_biggest_stories_orders_by_size(engine, tmp_path):
    items = [COPIES[0], IRAN_MONDAY]
    poll(
        engine,
        Config(
            feeds=[
                FeedConfig(name="A", url=str(feed(tmp_path / "a.xml", items, "a.example"))),
                FeedConfig(name="B", url=str(feed(tmp_path / "b.xml", [COPIES[1]], "b.example"))),
            ]
        ),
    )
    assign_stories(engine)
    biggest, smaller = biggest_stories(engine, datetime.now(UTC) - timedelta(days=1))
    assert biggest.articles == 2 and biggest.outlets == ["A", "B"] and smaller.articles == 1


@pytest.mark.parametrize("seed", [1, 2])
def test_signatures_are_stable_across_processes(seed):
    # Stored signatures are compared with new ones: they must not depend on the process.
    assert np.array_equal(signature(*COPIES[0]), signature(*COPIES[0]))
    assert signature(*COPIES[0]).dtype == np.uint32 and signature(*COPIES[0]).shape == (64,)


def without_ids(blocks: list[dict]) -> list[dict]:
    return json.loads(re.sub(r'"value": "[0-9,]*"', '"value": ""', json.dumps(blocks)))


def test_a_dry_run_previews_what_the_drain_then_sends(engine, tmp_path, fake_slack):
    from alerts.drain import preview
    from pipeline.config import BackfillConfig

    names = ["Devdiscourse", "Reuters", "PTI"]
    feeds = [
        FeedConfig(name=n, url=str(feed(tmp_path / f"{i}.xml", [c], f"o{i}.example")))
        for i, (n, c) in enumerate(zip(names, COPIES, strict=True))
    ]
    poll(engine, Config(feeds=feeds))
    score_new_articles(engine, [DEFENCE])
    config = Config(slack=SlackConfig(api_url=fake_slack.api_url, min_interval=0))
    setup = alert_setup(config, [DEFENCE], token=fake_slack.token)

    planned = preview(engine, setup.topic_names, setup.destinations, setup.settings)
    ((_, message, members),) = planned
    assert [a.feed_name for a in members] == ["Devdiscourse"]
    assert [c["feed"] for c in members[0].also_reported_by] == ["Reuters", "PTI"]
    assert setup.drain(engine, sleep=lambda s: None).sent == 1
    # Exact but for the alert ids on the buttons, which a preview cannot know yet.
    assert without_ids(fake_slack.posts[0].payload["blocks"]) == without_ids(message.blocks)
    assert preview(engine, setup.topic_names, setup.destinations, setup.settings) == []

    ignoring = alert_setup(
        Config(slack=config.slack, backfill=BackfillConfig(alerts="none")),
        [DEFENCE],
        token=fake_slack.token,
    )
    with engine.begin() as connection:
        connection.execute(ArticleRow.__table__.update().values(origin="backfill"))
        connection.execute(AlertRow.__table__.delete())
        connection.execute(TopicMatchRow.__table__.update().values(enqueued_at=None))
    assert preview(engine, ignoring.topic_names, ignoring.destinations, ignoring.settings) == []


def test_a_thread_reply_refused_for_the_token_is_kept_for_later(engine, tmp_path, fake_slack):
    first = [FeedConfig(name="Reuters", url=str(feed(tmp_path / "r.xml", [COPIES[0]], "r.ex")))]
    poll(engine, Config(feeds=first))
    score_new_articles(engine, [DEFENCE])
    config = Config(slack=SlackConfig(api_url=fake_slack.api_url, min_interval=0))
    setup = alert_setup(config, [DEFENCE], token=fake_slack.token)
    assert setup.drain(engine, sleep=lambda s: None).sent == 1
    later = [FeedConfig(name="PTI", url=str(feed(tmp_path / "p.xml", [COPIES[1]], "p.ex")))]
    poll(engine, Config(feeds=later))
    score_new_articles(engine, [DEFENCE])
    fake_slack.fail_next("chat.postMessage", "token_revoked")
    refused = setup.drain(engine, sleep=lambda s: None)
    assert refused.follow_ups == 0 and any("kept for later" in e for e in refused.errors)
    fixed = setup.drain(engine, sleep=lambda s: None)
    assert fixed.follow_ups == 1 and len(fake_slack.posts) == 2
