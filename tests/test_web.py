"""The pages over HTTP against the running app: what they show, the label and mute forms with
their CSRF check, the token, and labels as a library (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from pipeline.config import Config, FeedConfig, TopicConfig
from pipeline.poll import poll
from pipeline.score import score_new_articles, score_with
from pipeline.store import labels
from pipeline.store.schema import AlertRow, ArticleRow, TopicMatchRow
from tests.health_feeds import DAY, WEEK, latest_publication, rss
from tests.live import serving, site_for
from tests.test_alerts import DEFENCE_ITEM, ELECTION_ITEM, run_drain, slack_setup, world
from tests.test_stories import feed
from web.app import create_app

# Escaped markup in a feed's title arrives as literal text "<img ...>" after parsing.
HOSTILE = ("Defence secretary meets envoy &lt;img src=x onerror=alert(1)&gt;", "Talks were held.")


def match_ids(engine, topic_id: str) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(TopicMatchRow.article_id).where(TopicMatchRow.topic_id == topic_id)
            )
        )


@pytest.fixture
def pages(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM, HOSTILE])
    run_drain(engine, slack_setup(fake_slack, topics))
    configured = [
        FeedConfig(name="Desk", url=str(tmp_path / "feed3.xml")),
        FeedConfig(name="Quiet wire", url="https://quiet.example/rss"),
    ]
    site = site_for(engine, fake_slack, topics, config=Config(feeds=configured))
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        yield client, site


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_topics_page_lists_each_topic_with_its_recent_matches(pages):
    client, _ = pages
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Defence meetings" in page.text and "Elections" in page.text
    assert "&#34;defence secretary&#34; AND (meet* OR talks)" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text


def test_a_topic_page_shows_matches_with_scores_escaped(engine, pages):
    client, _ = pages
    page = client.get("/topics/defence")
    assert page.status_code == 200
    assert "Defence Secretary meets Israeli counterpart" in page.text
    assert "envoy &lt;img src=x onerror=alert(1)&gt;" in page.text and "<img" not in page.text
    with engine.connect() as connection:
        stored = connection.execute(
            select(TopicMatchRow.article_id, TopicMatchRow.score).where(
                TopicMatchRow.topic_id == "defence"
            )
        ).all()
    assert len(stored) == 2
    for article_id, score in stored:
        row = page.text.split(f'id="match-{article_id}"')[1].split("</tr>")[0]
        assert f'class="score">{score:.2f}<' in row
    assert client.get("/topics/nope").status_code == 404


def test_the_explanation_page_shows_what_topics_explain_prints(engine, pages):
    client, _ = pages
    article_id = match_ids(engine, "defence")[0]
    page = client.get(f"/topics/defence/articles/{article_id}")
    assert page.status_code == 200
    assert "passes" in page.text and "threshold 0.5" in page.text
    assert "&#34;defence secretary&#34;" in page.text and " in title:" in page.text
    assert "<mark>" in page.text
    assert client.get("/topics/defence/articles/999999").status_code == 404


def test_open_in_newswatch_leads_from_an_alert_to_its_explanation(engine, pages):
    client, _ = pages
    with engine.connect() as connection:
        alert_id, article_id = connection.execute(
            select(AlertRow.id, AlertRow.article_id).where(AlertRow.topic_id == "defence")
        ).first()
    response = client.get(f"/alerts/{alert_id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/topics/defence/articles/{article_id}"


def test_a_label_form_records_and_changes_one_label(engine, pages):
    client, _ = pages
    article_id = match_ids(engine, "defence")[0]
    page = client.get("/topics/defence")
    form = {
        "topic_id": "defence",
        "article_id": str(article_id),
        "label": "not_relevant",
        "csrf": csrf_of(page.text),
        "next": "/topics/defence",
    }
    response = client.post("/labels", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/topics/defence"
    assert client.post("/labels", data={**form, "label": "relevant"}).status_code == 303
    (label,) = labels.labels_for(engine, "defence", [article_id]).values()
    assert (label.label, label.by.name, label.by.source) == ("relevant", "web", "web")
    topic = client.get("/topics/defence").text
    row = topic.split(f'id="match-{article_id}"')[1].split("</tr>")[0]
    assert 'class="label relevant"' in row and "by web (web)" in row
    shown = client.get("/labels")
    assert shown.text.count('class="label relevant"') == 1
    assert "Defence Secretary meets Israeli counterpart" in shown.text


def test_a_write_without_the_csrf_token_or_from_another_site_is_refused(engine, pages):
    client, _ = pages
    article_id = match_ids(engine, "defence")[0]
    token = csrf_of(client.get("/topics/defence").text)
    form = {"topic_id": "defence", "article_id": str(article_id), "label": "relevant"}
    assert client.post("/labels", data={**form, "csrf": "forged"}).status_code == 403
    foreign = client.post(
        "/labels", data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    bare = httpx.post(f"{client.base_url}/labels", data={**form, "csrf": token})  # no cookie
    assert bare.status_code == 403
    assert labels.labels_for(engine, "defence", [article_id]) == {}


def test_mute_and_unmute_from_the_page(engine, pages):
    client, _ = pages
    page = client.get("/topics/defence")
    story = int(re.search(r'name="story_id" value="(\d+)"', page.text).group(1))
    form = {"topic_id": "defence", "story_id": str(story), "csrf": csrf_of(page.text)}
    assert client.post("/mutes", data={**form, "action": "mute"}).status_code == 303
    assert story in labels.mutes_for(engine, "defence", [story])
    assert "story muted" in client.get("/topics/defence").text
    assert client.post("/mutes", data={**form, "action": "unmute"}).status_code == 303
    assert labels.mutes_for(engine, "defence", [story]) == {}


def test_a_form_for_a_topic_or_story_that_does_not_exist_changes_nothing(engine, pages):
    client, _ = pages
    page = client.get("/topics/defence")
    story = int(re.search(r'name="story_id" value="(\d+)"', page.text).group(1))
    article_id = match_ids(engine, "defence")[0]
    csrf = csrf_of(page.text)
    label = {"article_id": str(article_id), "label": "relevant", "csrf": csrf}
    mute = {"action": "mute", "csrf": csrf}
    refused = [
        client.post("/labels", data={**label, "topic_id": "nosuch"}),
        client.post("/mutes", data={**mute, "topic_id": "nosuch", "story_id": str(story)}),
        client.post("/mutes", data={**mute, "topic_id": "defence", "story_id": "99999"}),
    ]
    assert [r.status_code for r in refused] == [404, 404, 404]
    assert "no topic &#39;nosuch&#39; in the config" in refused[0].text
    assert "no stored story with id 99999" in refused[2].text
    assert list(labels.label_lines(engine)) == []
    assert labels.mutes_for(engine, "nosuch", [story]) == {}
    assert labels.mutes_for(engine, "defence", [99999]) == {}


def test_the_feeds_page_shows_health(pages):
    client, _ = pages
    page = client.get("/feeds")
    assert page.status_code == 200
    desk = page.text.split("Desk")[1].split("</tr>")[0]
    assert ">ok<" in desk and '"score">3<' in desk  # status and articles stored
    assert ">learning<" in desk and "3 publication(s) so far; its rhythm needs 5" in desk
    quiet = page.text.split("Quiet wire")[1].split("</tr>")[0]
    assert ">new<" in quiet and "<td>never fetched</td>" in quiet


def test_the_feeds_page_shows_a_stale_feed_and_a_silent_topic(engine, feed_server, fake_slack):
    # A weekly feed whose last item is sixty days old: stale by its own rhythm, today, and the
    # topic it fed silent.
    last = latest_publication() - 60 * DAY
    feed_server.feed("/weekly", rss("weekly", last, WEEK, 10, words="harbour strike"))
    config = Config(
        feeds=[FeedConfig(name="Weekly <b>wire</b>", url=feed_server.url("/weekly"))],
        topics=[TopicConfig(id="harbour", name="Harbour", query="harbour", threshold=0.1)],
    )
    poll(engine, config)
    score_with(engine, config)
    site = site_for(engine, fake_slack, [], config=config)
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        page = client.get("/feeds").text
    row = page.split("Weekly &lt;b&gt;wire&lt;/b&gt;")[1].split("</tr>")[0]
    assert ">stale<" in row and "(usually every 7d)" in row
    assert f"{last:%Y-%m-%d %H:%M} UTC" in row and "60d ago" in row
    silent = page.split('id="silent-topics"')[1].split("</ul>")[0]
    assert "harbour</a>: no match for 60d" in silent
    assert "its feeds are in trouble: Weekly &lt;b&gt;wire&lt;/b&gt; (stale)" in silent


def test_a_token_protects_every_page_but_not_the_slack_endpoint(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    site = site_for(engine, fake_slack, topics, token="s3cret-web-token")
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        first = client.get("/topics/defence")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/topics/defence"
        assert client.post("/labels", data={"csrf": "x"}).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 303
        ok = client.get("/", headers={"Authorization": "Bearer s3cret-web-token"})
        assert ok.status_code == 200
        wrong = client.post("/login", data={"token": "guess", "next": "/topics/defence"})
        assert wrong.status_code == 401 and "That is not the token" in wrong.text
        signed = client.post("/login", data={"token": "s3cret-web-token", "next": "/feeds"})
        assert signed.status_code == 303 and signed.headers["location"] == "/feeds"
        assert "s3cret-web-token" not in signed.headers["set-cookie"]
        assert client.get("/feeds").status_code == 200  # the cookie now
        away = client.post("/login", data={"token": "s3cret-web-token", "next": "//evil.example"})
        assert away.headers["location"] == "/"
        # Slack's endpoint answers by signature (401 here for an unsigned request), not 303.
        assert httpx.post(f"{base}/slack/interactions", content=b"").status_code == 401
    assert "s3cret" not in repr(site)


def test_an_auth_proxy_header_names_who_labels(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    site = site_for(engine, fake_slack, topics, user_header="X-Forwarded-User")
    article_id = match_ids(engine, "defence")[0]
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        token = csrf_of(client.get("/topics/defence").text)
        client.post(
            "/labels",
            data={
                "topic_id": "defence",
                "article_id": article_id,
                "label": "relevant",
                "csrf": token,
            },
            headers={"X-Forwarded-User": "ana@example.org"},
        )
    (label,) = labels.labels_for(engine, "defence", [article_id]).values()
    assert label.by.name == "ana@example.org"


def test_labels_library_one_per_topic_and_article_and_refuses_nonsense(engine, tmp_path):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])
    article = match_ids(engine, "defence")[0]
    now = datetime.now(UTC)
    ana = labels.Reviewer("ana", "slack", "U1")
    for value in ("relevant", "relevant", "not_relevant"):
        labels.set_label(engine, "defence", article, value, ana, now)
    labels.set_label(engine, "elections", article, "relevant", ana, now)  # another topic
    lines = list(labels.label_lines(engine))
    assert sorted((line.topic_id, line.label) for line in lines) == [
        ("defence", "not_relevant"),
        ("elections", "relevant"),
    ]
    assert {line.topic_id: line.score is None for line in lines} == {
        "defence": False,
        "elections": True,  # labelled without a match: kept, with no score
    }
    with pytest.raises(labels.LabelError, match="unknown label 'maybe'"):
        labels.set_label(engine, "defence", article, "maybe", ana, now)
    with pytest.raises(labels.LabelError, match="no stored article with id 424242"):
        labels.set_label(engine, "defence", 424242, "relevant", ana, now)
    assert topics


def test_mute_calls_off_a_thread_reply_already_asked_for(engine, tmp_path, fake_slack):
    first = FeedConfig(name="Desk", url=str(feed(tmp_path / "a.xml", [DEFENCE_ITEM], "a.example")))
    topics = world(engine, tmp_path, [])
    poll(engine, Config(feeds=[first]))
    score_new_articles(engine, topics)
    setup = slack_setup(fake_slack, topics, min_interval=0)
    run_drain(engine, setup)
    # The copy arrives and is enqueued (a reply is owed) before anyone mutes.
    copy = FeedConfig(name="Wire", url=str(feed(tmp_path / "b.xml", [DEFENCE_ITEM], "b.example")))
    poll(engine, Config(feeds=[copy]))
    score_new_articles(engine, topics)
    from alerts import outbox

    outbox.enqueue(engine, setup.destinations, datetime.now(UTC))
    with engine.connect() as connection:
        story, owed = connection.execute(select(AlertRow.story_id, AlertRow.needs_follow_up)).one()
        assert owed is True and connection.scalar(select(ArticleRow.id).where(ArticleRow.id > 0))
    labels.mute_story(engine, "defence", story, labels.Reviewer("web", "web"), datetime.now(UTC))
    assert run_drain(engine, setup).follow_ups == 0
    assert not any(p.payload.get("thread_ts") for p in fake_slack.posts)


@pytest.mark.parametrize(
    ("web", "error"),
    [
        ("token: short", "web.token: expected at least 12 characters"),
        ("base_url: newswatch.example", "web.base_url: expected an http(s) URL"),
        ("port: 0", "web.port"),
        ("hots: 0.0.0.0", "web.hots: unknown key"),
    ],
)
def test_web_settings_are_checked_at_load(tmp_path, web, error):
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    path = tmp_path / "newswatch.yaml"
    path.write_text(f"web:\n  {web}\n")
    with pytest.raises(ConfigError, match=re.escape(error)):
        load_config(path)
