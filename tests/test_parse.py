"""Parsing real-world feeds: clean text, absolute links, UTC dates, and clear errors."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest

from pipeline.errors import NotAFeed
from pipeline.parse import parse_feed
from tests.conftest import CORPUS, fetched

NEWS_FEEDS = sorted((CORPUS / "news_feeds").iterdir())
EDGE_CASES = sorted((CORPUS / "edge_cases").iterdir())
TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")


@pytest.mark.parametrize("path", NEWS_FEEDS, ids=lambda p: p.name)
def test_every_news_feed_yields_clean_articles(path):
    parsed = parse_feed(fetched(path))
    assert parsed.articles, f"{path.name}: no articles"
    for article in parsed.articles:
        assert article.title.strip(), article
        assert not TAG.search(article.title), article.title
        assert not ENTITY.search(article.title), article.title
        assert not TAG.search(article.summary), article.summary[:200]
        assert article.url is None or article.url.startswith(("http://", "https://"))
        assert article.published_at.tzinfo is UTC
        assert article.guid
    with_links = [a for a in parsed.articles if a.url]
    assert len(with_links) >= len(parsed.articles) * 0.9, "most news items carry a link"


@pytest.mark.parametrize("path", EDGE_CASES, ids=lambda p: p.name)
def test_edge_cases_yield_entries_or_a_clear_error(path):
    try:
        parsed = parse_feed(fetched(path))
    except NotAFeed as error:
        assert str(error).startswith("not a feed:")
        return
    for article in parsed.articles:
        assert article.title
        assert article.published_at.tzinfo is UTC


def test_relative_links_resolve_against_the_feed_url():
    path = CORPUS / "news_feeds/nodefeedparser__tpm_all_news_relative_links.atom"
    parsed = parse_feed(fetched(path, url="https://talkingpointsmemo.com/feed/all"))
    assert parsed.articles[0].url.startswith("https://talkingpointsmemo.com/livewire/")


def test_xml_base_wins_over_the_feed_url(tmp_path):
    feed = tmp_path / "based.atom"
    feed.write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://site.example/news/">'
        "<title>t</title><entry><id>1</id><title>A</title><link href='story-1'/></entry></feed>"
    )
    parsed = parse_feed(fetched(feed, url="https://feeds.other.example/atom"))
    assert parsed.articles[0].url == "https://site.example/news/story-1"


def test_a_non_permalink_guid_is_kept_as_is():
    parsed = parse_feed(fetched(CORPUS / "edge_cases/fp__guid_not_permalink_not_url.xml"))
    assert parsed.articles[0].guid == "abc"
    assert parsed.articles[0].url is None


def test_duplicate_ids_inside_one_document_are_stored_once():
    parsed = parse_feed(fetched(CORPUS / "edge_cases/rp__atom_multiple_links_duplicate_ids.atom"))
    assert len(parsed.articles) == 1


def test_missing_guids_fall_back_to_the_link():
    parsed = parse_feed(fetched(CORPUS / "news_feeds/rssparser__jn_pt_ultimas_iso8859-1.rss"))
    assert all(a.guid == a.url for a in parsed.articles)
    assert len({a.guid for a in parsed.articles}) == len(parsed.articles)


def test_missing_guid_and_link_fall_back_to_a_hash_of_title_and_date(tmp_path):
    feed = tmp_path / "bare.xml"
    feed.write_text(
        "<rss version='2.0'><channel><title>t</title>"
        "<item><title>One</title><pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>Two</title><pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    first, second = parse_feed(fetched(feed)).articles
    assert first.guid.startswith("sha1:") and second.guid.startswith("sha1:")
    assert first.guid != second.guid
    assert parse_feed(fetched(feed)).articles[0].guid == first.guid, "stable across polls"


def test_missing_and_unparseable_dates_use_the_fetch_time_and_say_so():
    result = fetched(CORPUS / "news_feeds/rssparser__uolNoticias_2018_latin1_nodecl.rss")
    parsed = parse_feed(result)
    assert all(a.published_at_missing for a in parsed.articles)
    assert all(a.published_at == result.fetched_at for a in parsed.articles)


def test_dates_with_offsets_become_utc():
    parsed = parse_feed(
        fetched(CORPUS / "news_feeds/nodefeedparser__tpm_all_news_relative_links.atom")
    )
    first = parsed.articles[0]  # published 2017-11-08T18:15:58-05:00
    assert first.published_at.isoformat() == "2017-11-08T23:15:58+00:00"
    assert not first.published_at_missing


def test_a_date_far_in_the_future_is_not_trusted(tmp_path):
    feed = tmp_path / "future.xml"
    feed.write_text(
        "<rss version='2.0'><channel><title>t</title><item><title>A</title><link>https://x.example/a</link>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item></channel></rss>"
    )
    result = fetched(feed)
    article = parse_feed(result).articles[0]
    assert article.published_at_missing
    assert article.published_at - result.fetched_at < timedelta(seconds=1)


def test_http_charset_and_legacy_encodings_decode():
    parsed = parse_feed(fetched(CORPUS / "news_feeds/nodefeedparser__oren_ru_windows-1251.xml"))
    assert re.search("[а-яА-Я]", parsed.articles[0].title), parsed.articles[0].title
    latin = parse_feed(fetched(CORPUS / "news_feeds/rssparser__jn_pt_ultimas_iso8859-1.rss"))
    assert any(ch in "".join(a.title for a in latin.articles) for ch in "ãçéõáí")


def test_malformed_xml_keeps_the_recovered_entries_and_the_warning():
    parsed = parse_feed(fetched(CORPUS / "news_feeds/rssparser__physorg_scitech_2021.xml"))
    assert len(parsed.articles) == 30
    assert parsed.warning and "not well-formed" in parsed.warning


def test_entities_and_markup_become_plain_text():
    parsed = parse_feed(fetched(CORPUS / "news_feeds/ffp_3f9eeff5039a008d__aljazeera_all.xml"))
    text = " ".join(a.summary for a in parsed.articles)
    assert "&#039;" not in text and "'" in text


def test_full_text_content_is_kept_as_plain_text():
    parsed = parse_feed(fetched(CORPUS / "news_feeds/ffp_9f9555d69283aeda__time_world.xml"))
    with_content = [a for a in parsed.articles if a.content]
    assert len(with_content) == len(parsed.articles)
    first = with_content[0].content
    assert len(first) > 1000 and "<p" not in first and "  " not in first
    assert first.startswith("E.U. leaders are pushing for increased European sovereignty")
    # paragraphs run together with a space, never glued into one word
    assert "United States. “We want" in first


def test_an_html_page_is_not_a_feed(tmp_path):
    page = tmp_path / "index.html"
    page.write_text("<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>")
    with pytest.raises(NotAFeed, match="HTML page"):
        parse_feed(fetched(page, content_type="text/html; charset=utf-8"))


def test_a_local_file_that_is_not_a_feed_is_called_a_file_with_no_guessed_content_type(tmp_path):
    from pipeline.fetch import FetchLimits, read_local_feed
    from pipeline.records import FeedSource

    page, other = tmp_path / "page.html", tmp_path / "data.xml"
    page.write_text("<!doctype html><html><body>Hi</body></html>")
    other.write_text("<config><key>value</key></config>")
    messages = []
    for path in (page, other):
        local = read_local_feed(FeedSource(id=1, name="f", url=str(path)), FetchLimits())
        with pytest.raises(NotAFeed) as info:
            parse_feed(local)
        messages.append(str(info.value))
    assert messages == [
        "not a feed: the file is an HTML page, not RSS/Atom/JSON Feed",
        "not a feed: no RSS, Atom, RDF or JSON Feed found",
    ]


def test_an_empty_body_is_not_a_feed(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(NotAFeed, match="empty"):
        parse_feed(fetched(empty))


@pytest.mark.parametrize(
    "name", ["ffp__jsonfeed_1.1_sample.json", "fp__jsonfeed_1.0_example.json",
             "ffp__real_jsonfeed_1.0_humanwhocodes.json"],
)  # fmt: skip
def test_json_feeds(name):
    parsed = parse_feed(fetched(CORPUS / "edge_cases" / name, content_type="application/feed+json"))
    assert parsed.format.startswith("json")
    assert parsed.articles
    for article in parsed.articles:
        assert article.title and not TAG.search(article.title)
        assert article.url and article.url.startswith("http")


def test_json_that_is_not_a_json_feed(tmp_path):
    other = tmp_path / "api.json"
    other.write_text('{"status": "ok"}')
    with pytest.raises(NotAFeed, match="JSON Feed"):
        parse_feed(fetched(other))


def test_gzip_bytes_served_without_content_encoding_are_unpacked():
    parsed = parse_feed(fetched(CORPUS / "edge_cases/nfp__gzip_nshipster_raw_bytes.xml.gz"))
    assert len(parsed.articles) == 25


def test_gzip_body_is_capped_when_unpacked():
    from pipeline.errors import ResponseTooLarge

    with pytest.raises(ResponseTooLarge):
        parse_feed(
            fetched(CORPUS / "edge_cases/nfp__gzip_nshipster_raw_bytes.xml.gz"), max_bytes=100_000
        )


def test_external_entities_are_never_fetched():
    # The DOCTYPE declares an external entity; parsing must not resolve it (XXE).
    parsed = parse_feed(fetched(CORPUS / "edge_cases/fp__rdf_doctype_external_entity_decl.xml"))
    assert parsed.format == "rss10"


def test_the_motivating_article_parses_from_a_feed_item():
    from tests.conftest import EXAMPLES

    parsed = parse_feed(fetched(EXAMPLES / "feeds/world-defence.xml"))
    article = next(a for a in parsed.articles if "India-Israel" in a.title)
    assert article.title == "India-Israel Defence Talks Highlight R&D, Counterterror Collaboration"
    assert "Defence Secretary Shri Rajesh Kumar Singh" in article.summary
    assert article.canonical_url.endswith("counterterror-collaboration")  # utm_* removed


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Hello <b>world</b></p><p>Next</p>", "Hello world Next"),
        ("a<br/>b", "a b"),
        ("Tom &amp;amp; Jerry &#8217;s", "Tom & Jerry ’s"),
        ("<script>alert(1)</script>Visible<style>p{}</style>", "Visible"),
        ("<!-- hidden -->shown", "shown"),
        ("zero\u200bwidth\x07 and\ttabs\n\nnewlines", "zerowidth and tabs newlines"),
        ("a < b and c > d", "a < b and c > d"),
        # an unclosed tag is text up to the next "<" (see pipeline/text.py's _TAG)
        ('<a href="x <b>bold</b> <br', '<a href="x bold <br'),
        ('<a href="' * 3 + "<p>end</p>", '<a href="' * 3 + " end"),
        ("", ""),
    ],
)
def test_html_to_text(markup, text):
    from pipeline.text import html_to_text

    assert html_to_text(markup) == text


def test_text_that_only_looks_like_markup_is_kept_for_escaping_later():
    from pipeline.text import html_to_text

    hostile = "<!channel> <https://evil.example|bank> & <@U123>"
    assert html_to_text(hostile) == hostile
