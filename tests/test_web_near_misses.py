"""The near-misses page and the explanation page over HTTP against the running app (uvicorn on
127.0.0.1, SQLite and PostgreSQL): both show what the library the CLI uses finds, nothing
recomputed by the page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from pipeline import store
from pipeline.score import document_for, near_misses
from pipeline.store import labels
from pipeline.store.schema import ArticleRow
from pipeline.topics import Matcher
from tests.live import serving, site_for
from tests.test_alerts import DEFENCE, DEFENCE_ITEM, world
from tests.test_web import csrf_of
from web.app import create_app

# Each lacks one clause of `"defence secretary" AND (meet* OR talks)`; the last lacks both.
NO_MEETING = ("Defence secretary unveils the budget", "Spending on submarines rises next year.")
NO_SECRETARY = ("Union leaders meet over pay", "Talks resume on Monday at the depot.")
NEITHER = ("Monsoon rains disrupt rail services", "Trains were cancelled across the region.")
ALL_TIME = 3650  # the items are dated July 2025


@pytest.fixture
def app(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, NO_MEETING, NO_SECRETARY, NEITHER])
    site = site_for(engine, fake_slack, topics)
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        yield client


def article_id(engine, title: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(ArticleRow.id).where(ArticleRow.title == title))


def rows(page: str) -> list[tuple[int, str]]:
    """(article id, what was missing) for each near miss on the page, in order."""
    found = re.findall(r'<tr id="near-(\d+)">.*?<td class="why">([^<]*)</td>', page, re.S)
    return [(int(a), unescape(why)) for a, why in found]


def test_the_topic_page_links_to_its_near_misses(app):
    page = app.get("/topics/defence", params={"days": ALL_TIME})
    link = re.search(r'<a id="near-misses-link" href="([^"]+)"', page.text).group(1)
    assert unescape(link) == f"/topics/defence/near-misses?days={ALL_TIME}"
    assert app.get(unescape(link)).status_code == 200


def test_near_misses_are_the_library_s_most_promising_first_with_what_was_missing(engine, app):
    page = app.get("/topics/defence/near-misses", params={"days": ALL_TIME})
    assert page.status_code == 200 and "<script" not in page.text
    since = datetime.now(UTC) - timedelta(days=ALL_TIME)
    expected = [(f.article.id, f.near_miss.why) for f in near_misses(engine, DEFENCE, since)]
    assert rows(page.text) == expected
    assert sorted(why for _, why in expected) == [
        'missing clause: "defence secretary"',
        "missing clause: (meet* OR talks)",
    ]
    listed = {a for a, _ in expected}
    assert article_id(engine, NO_MEETING[0]) in listed
    assert article_id(engine, DEFENCE_ITEM[0]) not in listed  # it passed: a match, not a miss
    assert article_id(engine, NEITHER[0]) not in listed  # nowhere near
    first = expected[0][0]
    assert f'href="/topics/defence/articles/{first}">why not</a>' in page.text


def test_the_window_and_the_limit_bound_the_list(app):
    recent = app.get("/topics/defence/near-misses")  # the last 7 days: nothing from 2025
    assert rows(recent.text) == [] and "try a longer window" in recent.text
    one = app.get("/topics/defence/near-misses", params={"days": ALL_TIME, "limit": 1})
    assert len(rows(one.text)) == 1 and "1 of 2 shown" in one.text
    assert app.get("/topics/nope/near-misses").status_code == 404
    assert app.get("/topics/defence/near-misses", params={"days": 0}).status_code == 422


def test_a_near_miss_can_be_labelled_relevant_from_its_page(engine, app):
    missed = article_id(engine, NO_MEETING[0])
    here = f"/topics/defence/near-misses?days={ALL_TIME}"
    page = app.get(here)
    form = {
        "topic_id": "defence",
        "article_id": str(missed),
        "label": "relevant",
        "csrf": csrf_of(page.text),
        "next": here,
    }
    response = app.post("/labels", data=form)
    assert response.status_code == 303 and response.headers["location"] == here
    assert labels.labels_for(engine, "defence", [missed])[missed].label == "relevant"
    row = app.get(here).text.split(f'id="near-{missed}"')[1].split("</tr>")[0]
    assert 'class="label relevant"' in row


def test_the_explanation_page_shows_stems_weights_and_evidence(engine, app):
    matched = article_id(engine, DEFENCE_ITEM[0])
    page = app.get(f"/topics/defence/articles/{matched}")
    assert page.status_code == 200
    explained = Matcher([DEFENCE]).explain(
        "defence", document_for(engine, store.get_article(engine, matched))
    )
    text = unescape(page.text)
    assert f"closeness {explained.explanation.together:.2f}" in text
    for clause in explained.explanation.clauses:
        assert f"evidence {clause.evidence:.2f}</span> <code>{clause.clause}</code>" in text
        for hit in clause.hits:
            assert f"(matched by {hit.analyzed})</span> in {hit.field}:" in text
            for word, (a, b), weight in zip(hit.words, hit.offsets, hit.weights, strict=True):
                assert f"“{word}” at {a}-{b} ×{weight:.2f}" in text
    assert "defenc secretari" in text  # the stems, as `topics explain` prints them
    assert 'id="near-miss"' not in page.text


def test_the_explanation_of_a_near_miss_says_what_was_missing(engine, app):
    missed = article_id(engine, NO_MEETING[0])
    page = app.get(f"/topics/defence/articles/{missed}")
    assert "does not pass" in page.text
    line = re.search(r'<p id="near-miss"[^>]*>([^<]*)<', page.text).group(1)
    assert unescape(line).strip() == "near miss: missing clause: (meet* OR talks)"


def test_a_disabled_topic_is_explained_and_its_near_misses_listed(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, NO_MEETING])
    site = site_for(engine, fake_slack, [replace(topics[0], enabled=False)])
    missed = article_id(engine, NO_MEETING[0])
    with serving(create_app(site)) as base, httpx.Client(base_url=base) as client:
        explained = client.get(f"/topics/defence/articles/{missed}")
        assert explained.status_code == 200 and 'id="near-miss"' in explained.text
        listed = client.get("/topics/defence/near-misses", params={"days": ALL_TIME})
        assert [a for a, _ in rows(listed.text)] == [missed]
