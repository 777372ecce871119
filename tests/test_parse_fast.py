"""The fast XML path against feedparser, the reference: whatever the fast path accepts, the
articles (and feed title, format, links) must equal feedparser's field by field."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.errors import NotAFeed
from pipeline.parse import parse_bytes, parse_feed
from pipeline.parsers import Fallback, read_fast
from pipeline.records import FetchedFeed, ParsedFeed
from tests.conftest import CORPUS, fetched

CORPUS_FILES = sorted((CORPUS / "news_feeds").iterdir()) + sorted((CORPUS / "edge_cases").iterdir())
# How publishers serve feeds: no header (files), XML media types, with and without a charset.
CONTENT_TYPES = [None, "application/rss+xml", "text/xml", "application/xml; charset=UTF-8"]
# The news feeds the fast path leaves to feedparser, and why (see tests/data/corpus MANIFEST).
NEWS_FALLBACKS = {
    "rssparser__physorg_scitech_2021.xml": "not well-formed",  # raw "&"
    "rssparser__folha_rss091_leading_blankline.rss": "not UTF-8",  # declaration not at start
    "rssparser__uolNoticias_2018_latin1_nodecl.rss": "not UTF-8",  # Latin-1, undeclared
}


def both(feed: FetchedFeed) -> tuple[ParsedFeed, ParsedFeed]:
    return parse_feed(feed), parse_feed(feed, fast_path=False)


def assert_same(fast: ParsedFeed, reference: ParsedFeed) -> None:
    assert fast.parser == "fast" and reference.parser == "feedparser"
    assert reference.warning is None, "feedparser complained about a document the fast path took"
    feed = (fast.title, fast.format, fast.links)
    assert feed == (reference.title, reference.format, reference.links)
    assert len(fast.articles) == len(reference.articles)
    for mine, theirs in zip(fast.articles, reference.articles, strict=True):
        assert mine == theirs  # every field: guid, url, canonical url, text, author, dates, hash


def assert_feedparser(fallen_back: ParsedFeed, reference: ParsedFeed) -> None:
    # A document the fast path declines is feedparser's reading, unchanged.
    assert replace(fallen_back, fallback=None) == replace(reference, fallback=None)


@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=str)
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_the_fast_path_stores_what_feedparser_would(path: Path, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content_type": content_type}
    feed = fetched(path, **headers)
    try:
        fast, reference = both(feed)
    except NotAFeed:
        with pytest.raises(NotAFeed):
            parse_feed(feed, fast_path=False)
        return
    if fast.parser == "fast":
        assert_same(fast, reference)
    elif fast.parser == "json":
        assert fast == reference
    else:
        assert fast.fallback, "a fallback always says why"
        assert_feedparser(fast, reference)


def test_the_fast_path_takes_the_well_formed_news_feeds() -> None:
    outcome = {p.name: parse_feed(fetched(p)) for p in sorted((CORPUS / "news_feeds").iterdir())}
    fell_back = {name: parsed.fallback for name, parsed in outcome.items() if parsed.fallback}
    assert set(fell_back) == set(NEWS_FALLBACKS)
    for name, reason in NEWS_FALLBACKS.items():
        assert reason in fell_back[name]
    assert sum(parsed.parser == "fast" for parsed in outcome.values()) == 26


# Generated documents: item and feed elements in random order and number, so the replay of
# feedparser's rules (first title wins, a second description becomes content, authors merge,
# tags dedupe, text links replace earlier ones, ...) is tested beyond what the corpus holds.
RSS_ITEM_PARTS = [
    "<title>Title {i}</title>",
    "<title></title>",
    "<title>Second title {i}</title>",
    "<dc:title>DC title {i}</dc:title>",
    "<description>&lt;p&gt;Summary {i} &amp;amp; more&lt;/p&gt;</description>",
    "<description><![CDATA[<b>Other</b> summary {i}]]></description>",
    "<content:encoded><![CDATA[<p>Body {i}</p><p>Two</p>]]></content:encoded>",
    "<link>https://news.example/a/{i}?x=1&amp;y=2</link>",
    "<link> </link>",
    '<atom:link rel="alternate" href="https://news.example/alt/{i}"/>',
    '<atom:link rel="enclosure" type="text/html">https://news.example/enc/{i}</atom:link>',
    '<atom:link rel="related" href="/relative/{i}"/>',
    "<guid>https://news.example/guid/{i}</guid>",
    '<guid isPermaLink="false">id-{i}</guid>',
    "<guid>tag-{i}</guid>",
    "<pubDate>Mon, 02 Feb 2026 10:0{d}:00 GMT</pubDate>",
    "<pubDate>Tue, 03 Feb 2026 11:00:00 +0530</pubDate>",
    "<dc:date>2026-02-0{d}T10:00:00Z</dc:date>",
    "<pubDate>yesterday</pubDate>",
    "<author>reporter{i}@news.example (Reporter {i})</author>",
    "<dc:creator>Creator {i}</dc:creator>",
    "<itunes:author>Host</itunes:author>",
    "<category>World</category>",
    '<category domain="https://news.example/c">Politics</category>',
    "<category>World</category>",
    "<dc:subject>Defence</dc:subject>",
    '<media:content url="https://img.example/{i}.jpg"><media:title>Photo {i}</media:title>'
    "<media:description>Caption {i}</media:description></media:content>",
    "<media:group><media:description>Group caption</media:description>"
    '<media:thumbnail url="https://img.example/t.jpg"/></media:group>',
    '<media:thumbnail url="https://img.example/t{i}.jpg"/>',
    '<source url="https://wire.example/rss">Wire</source>',
    '<enclosure url="https://cdn.example/{i}.mp3" type="audio/mpeg" length="1"/>',
    "<comments>https://news.example/c/{i}</comments>",
    "<wp:post-id>{i}</wp:post-id>",
    "<image>https://img.example/i.jpg</image>",
    "<itunes:summary>Episode notes {i}</itunes:summary>",
    "<title>Café — “quotes” &#8217; {i}</title>",
    "<description>Ünïcödé text {i}</description>",
]
ATOM_ENTRY_PARTS = [
    "<title>Title {i}</title>",
    '<title type="html">&lt;b&gt;Bold&lt;/b&gt; {i}</title>',
    '<title type="text">A &amp; B {i}</title>',
    "<id>tag:news.example,2026:{i}</id>",
    "<id>https://news.example/id/{i}</id>",
    '<link href="https://news.example/p/{i}"/>',
    '<link rel="alternate" type="text/html" href="https://news.example/alt/{i}"/>',
    '<link rel="enclosure" type="text/html">https://news.example/enc/{i}</link>',
    '<link rel="enclosure" type="audio/mpeg" href="https://cdn.example/{i}.mp3"/>',
    '<link rel="related" href="https://news.example/rel/{i}"/>',
    "<summary>Summary {i}</summary>",
    '<summary type="html">&lt;p&gt;Summary &lt;i&gt;{i}&lt;/i&gt;&lt;/p&gt;</summary>',
    '<content type="html">&lt;p&gt;Content {i}&lt;/p&gt;</content>',
    '<content type="text">Plain content {i}</content>',
    "<updated>2026-02-0{d}T10:00:00Z</updated>",
    "<published>2026-02-01T10:00:00+02:00</published>",
    "<updated>not a date</updated>",
    "<author><name>Name {i}</name><email>n{i}@news.example</email></author>",
    "<author><name>Other name</name></author>",
    "<author><email>only@news.example</email><uri>https://news.example/me</uri></author>",
    '<category term="world"/>',
    '<category term="politics" label="Politics"/>',
    '<category term="world"/>',
    "<dc:creator>DC creator {i}</dc:creator>",
]
# Rarer parts, each of which sends the document to feedparser.
DOUBTFUL_PARTS = [
    "<description>Mojibake Ã© {i}</description>",  # feedparser would repair it
    "<title>cp1252 &#150; dash</title>",  # a C1 character feedparser maps to "–"
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>X</p></div></content>',
]
RSS_CHANNEL_PARTS = [
    "<title>Channel</title>",
    "<link>https://news.example/</link>",
    '<atom:link rel="self" href="https://news.example/rss"/>',
    '<atom:link rel="next" href="https://news.example/rss?page=2"/>',
    "<description>About</description>",
    "<image><url>https://img.example/logo.png</url><title>Logo</title>"
    "<link>https://news.example/</link></image>",
    "<language>en</language>",
]
ATOM_FEED_PARTS = [
    "<title>Feed</title>",
    "<id>https://news.example/</id>",
    '<link rel="alternate" href="https://news.example/"/>',
    '<link rel="self" href="https://news.example/atom"/>',
    '<link rel="prev-archive" href="https://news.example/2025"/>',
    "<subtitle>About</subtitle>",
]
DATE_PARTS = {
    False: [
        "<pubDate>Mon, 02 Feb 2026 10:0{d}:00 GMT</pubDate>",
        "<dc:date>2026-02-0{d}</dc:date>",
    ],
    True: ["<updated>2026-02-0{d}T10:00:00Z</updated>", "<published>2026-02-0{d}</published>"],
}
RSS_NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:wp="http://news.example/wp"'
)


def generated_document(rng: random.Random) -> bytes:
    atom = rng.random() < 0.4
    item_parts = ATOM_ENTRY_PARTS if atom else RSS_ITEM_PARTS
    items = []
    for i in range(rng.randint(1, 3)):
        parts = rng.choices(item_parts, k=rng.randint(1, 9))
        if rng.random() < 0.9:  # mostly dated, as news is
            parts.append(rng.choice(DATE_PARTS[atom]))
        parts += rng.choices(DOUBTFUL_PARTS, k=int(rng.random() < 0.05))
        rng.shuffle(parts)
        body = "".join(p.format(i=i, d=rng.randint(1, 9)) for p in parts)
        items.append(f"<entry>{body}</entry>" if atom else f"<item>{body}</item>")
    head = "".join(rng.sample(ATOM_FEED_PARTS if atom else RSS_CHANNEL_PARTS, k=rng.randint(0, 4)))
    if atom:
        document = (
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"{head}{''.join(items)}</feed>"
        )
    else:
        channel = f"<channel>{head}{''.join(items)}</channel>"
        document = f'<rss version="2.0" {RSS_NAMESPACES}>{channel}</rss>'
    declaration = rng.choice(['<?xml version="1.0" encoding="utf-8"?>\n', ""])
    return (declaration + document).encode()


def test_generated_documents_read_as_feedparser_reads_them(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    accepted = 0
    for n in range(400):
        path = tmp_path / f"generated-{n}.xml"
        path.write_bytes(generated_document(rng))
        fast, reference = both(fetched(path))
        if fast.parser == "fast":
            accepted += 1
            assert_same(fast, reference)
        else:
            assert_feedparser(fast, reference)
    assert accepted >= 250, f"only {accepted} of 400 generated documents took the fast path"


ENTRY_LINK_CASES = sorted((CORPUS / "edge_cases").glob("fp__entry_link_*"))


@pytest.mark.parametrize("path", ENTRY_LINK_CASES, ids=lambda p: p.name)
def test_the_entry_link_is_the_alternate_page_not_the_enclosure(path: Path) -> None:
    for parsed in both(fetched(path)):
        assert [a.url for a in parsed.articles] == ["http://www.example.com/alternate"]
        # both entries point at the same page: one article
        assert len(parsed.articles) == 1


@pytest.mark.parametrize(
    "path", [p for p in ENTRY_LINK_CASES if "atom10" in p.name], ids=lambda p: p.name
)
def test_the_fast_path_picks_the_same_alternate_link(path: Path, tmp_path: Path) -> None:
    # The corpus cases have no dates (so they fall back); dated, the fast path takes them.
    dated = path.read_text().replace("<entry>", "<entry><updated>2026-02-01T10:00:00Z</updated>")
    copy = tmp_path / path.name
    copy.write_text(dated)
    fast, reference = both(fetched(copy))
    assert_same(fast, reference)
    assert [a.url for a in fast.articles] == ["http://www.example.com/alternate"]


def rss(item: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f'{declaration}<rss version="2.0"><channel><title>t</title>'
        f"<item>{item}</item></channel></rss>"
    ).encode()


DATED = "<title>A</title><link>https://news.example/a</link>"
DATED += "<pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate>"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (rss(DATED), "application/rss+xml; charset=iso-8859-1", "disagrees with the declared"),
        (rss(DATED + "<description>caf\ufffd</description>"), None, "U+FFFD"),
        (rss("<title>A</title><link>https://news.example/a</link>"), None, "without a date"),
        (rss(DATED + "<category>A & B</category>"), None, "not well-formed"),
        (rss(DATED + "<title>Café</title>"), "text/xml", "non-ASCII"),
        (rss(DATED), "text/html", "not an XML media type"),
        (rss(DATED, '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE rss>'), None, "DOCTYPE"),
        (rss("").replace(b"<item></item>", b""), None, "no entries"),
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', None, "format not handled"),
        ('<?xml version="1.0" encoding="latin-1"?><rss/>'.encode("utf-16"), None, "UTF-16"),
        (rss(DATED + '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"'
             ' xml:base="https://x.example/">b</content:encoded>'), None, "xml:base"),
    ],
)  # fmt: skip
def test_documents_in_doubt_go_to_feedparser(
    body: bytes, content_type: str | None, reason: str
) -> None:
    outcome = read_fast(body, content_type)
    assert isinstance(outcome, Fallback)
    assert reason in outcome.reason


def test_an_http_charset_that_agrees_keeps_the_fast_path() -> None:
    body = rss(DATED.replace("<title>A</title>", "<title>Café</title>"))
    latin = body.replace(b"utf-8", b"iso-8859-1").decode("utf-8").encode("iso-8859-1")
    outcome = read_fast(latin, "application/rss+xml; charset=ISO-8859-1")
    assert not isinstance(outcome, Fallback), outcome
    assert outcome.entries[0]["title"] == "Café"


def test_a_url_given_as_the_body_is_never_fetched(feed_server) -> None:
    feed_server.feed("/feed.xml", rss(DATED))
    url = feed_server.url("/feed.xml")
    assert isinstance(read_fast(url.encode(), None), Fallback)
    with pytest.raises(NotAFeed):
        parse_bytes(url.encode(), url)
    assert feed_server.requests == [], "the parser fetched the URL itself"
