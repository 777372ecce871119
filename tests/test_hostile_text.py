"""Feed text built to be slow or to break a parser: what each guard keeps and refuses.

How long these shapes take, before and after the guards, is measured by
benchmarks/hostile_feeds.py (tests assert no times); here, that the guarded code still reads
real documents as before and says what it refused.
"""

from __future__ import annotations

import codecs
import random

import pytest

from pipeline.errors import NotAFeed
from pipeline.parse import parse_bytes
from pipeline.parsers.hardening import MAX_AUTHOR, MAX_TAGS
from pipeline.parsers.prolog import MAX_DECLARATION, MAX_PROLOG, safe_prolog
from pipeline.redact import without_userinfo
from pipeline.text import html_to_text
from pipeline.topics import Document, Matcher, compile_topic
from pipeline.topics.sentences import sentence_starts

RSS = b'<rss version="2.0"><channel><title>t</title>%s</channel></rss>'


def item(number: int, inside: bytes = b"") -> bytes:
    return (
        b"<item><title>Item %d</title><guid>g%d</guid>"
        b"<pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate>%s</item>" % (number, number, inside)
    )


def both_parsers(body: bytes):
    return parse_bytes(body, "https://x.example/feed"), parse_bytes(
        body, "https://x.example/feed", fast_path=False
    )


def test_the_declaration_gets_a_line_of_its_own_and_blank_lines_before_the_root_go():
    body = b'<?xml version="1.0" encoding="utf-8"?><!-- c -->\n\n\n  \n<rss/>'
    assert safe_prolog(body) == b'<?xml version="1.0" encoding="utf-8"?>\n<!-- c -->\n<rss/>'
    with_bom = codecs.BOM_UTF8 + b"\n" * 50_000 + b"<rss/>"
    assert safe_prolog(with_bom) == codecs.BOM_UTF8 + b"\n<rss/>"


def test_a_blank_first_line_stays_so_a_late_declaration_still_does_not_count():
    # feedparser reads the encoding only from the first line; the fast path must agree.
    body = b'\n<?xml version="1.0" encoding="iso-8859-1"?>\n\n<rss/>'
    assert safe_prolog(body) == b'\n<?xml version="1.0" encoding="iso-8859-1"?>\n<rss/>'


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (b"", "utf-16-le"),  # no mark: told by how "<?" is written
    ],
)
def test_a_wide_document_is_guarded_as_its_text_and_stays_wide(bom, codec):
    text = '<?xml version="1.0" encoding="utf-16"?>\n\n\n<rss version="2.0"><channel/></rss>'
    guarded = safe_prolog(bom + text.encode(codec))
    assert guarded == bom + text.replace("\n\n\n", "\n").encode(codec)
    hostile = bom + ("<?" + 'encoding="' * 200 + "<rss/>").encode(codec)
    with pytest.raises(NotAFeed, match="declaration does not end"):
        safe_prolog(hostile)


def test_a_nul_byte_first_does_not_get_past_the_guard():
    assert safe_prolog(b"\x00" + b"\n" * 50_000 + b"<rss/>") == b"\x00\n<rss/>"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<?" + b'encoding="' * 200 + b"<rss/>", f"within {MAX_DECLARATION:,} characters"),
        (b"<!-- " + b"x" * MAX_PROLOG + b" -->\n<rss/>", f"within {MAX_PROLOG:,} characters"),
        (b"plain text, no element " * 2_000, f"within {MAX_PROLOG:,} characters"),
    ],
)
def test_a_declaration_or_prolog_longer_than_any_feed_is_refused(body, says):
    with pytest.raises(NotAFeed, match=says):
        parse_bytes(body, "https://x.example/feed")


def test_a_character_reference_too_big_for_a_character_costs_only_its_own_text():
    huge = b"&amp;#" + b"9" * 5_000 + b";"
    body = RSS % (item(1, b"<description>a " + huge + b" b</description>") + item(2))
    for parsed in both_parsers(body):
        assert [a.title for a in parsed.articles] == ["Item 1", "Item 2"]
        assert parsed.articles[0].summary == "a \ufffd b"
    assert html_to_text("&#x" + "f" * 5_000 + ";&#00000065;&#8217;") == "\ufffdA\u2019"


def test_unclosed_tags_stay_as_text_up_to_the_next_tag():
    assert html_to_text('<a href="' * 3 + "<b>end</b>") == '<a href="' * 3 + "end"
    assert html_to_text("<p " * 3 + "<p>x</p>") == "<p <p <p x"


def test_an_entry_keeps_at_most_so_many_tags_and_so_long_an_author_in_both_parsers():
    categories = b"".join(b"<category>c%d</category>" % i for i in range(MAX_TAGS * 5))
    author = b"<author>" + b"a." * MAX_AUTHOR + b"</author>"
    body = RSS % item(1, categories + author)
    fast, reference = both_parsers(body)
    assert fast.parser == "fast" and reference.parser == "feedparser"
    for parsed in (fast, reference):
        (article,) = parsed.articles
        assert article.tags == tuple(f"c{i}" for i in range(MAX_TAGS))
        assert article.author == "a." * (MAX_AUTHOR // 2)


def test_a_run_of_stops_is_one_sentence_end():
    text = "First" + "." * 10_000 + " Second! Third?!… Fourth"
    assert [text[i : i + 6] for i in sentence_starts(text)] == [
        "Second",
        "Third?",
        "Fourth",
    ]


def test_close_pairs_are_exactly_the_pairs_near_allows(seed=7):
    shuffle = random.Random(seed)
    words = ["nato", "deal", "talks", "iran", "the"] * 80
    shuffle.shuffle(words)
    sentences = " ".join(w + ("." if shuffle.random() < 0.1 else "") for w in words)
    document = Document("Nato deal talks", sentences.replace(". ", ". The "), "")
    topic = compile_topic("t", "T", "(nato OR deal) NEAR/4 (talks OR iran)")
    matcher = Matcher([topic])
    scan = matcher._scan(document)
    title = [(0, i, i + 1) for i in range(3)]
    positions = title + [(1, i, i + shuffle.randint(1, 2)) for i in range(0, 400, 3)]
    left, right = positions[::2], positions[1::2]
    for distance in (0, 1, 4, 10):
        naive = [(a, b) for a in left for b in right if scan.near(a, b, distance)]
        assert list(scan.close_pairs(left, right, distance)) == naive
        assert naive or distance == 0


def test_credentials_in_urls_are_redacted_whatever_comes_before_the_scheme():
    assert without_userinfo("see https://u:p@h.example/x") == "see https://[redacted]@h.example/x"
    assert without_userinfo("proxyhttp://u:p@h") == "proxyhttp://[redacted]@h"
    assert without_userinfo("a." * 10_000) == "a." * 10_000


def test_leading_zeros_do_not_make_a_reference_long():
    zeros = "0" * 5_000
    assert html_to_text(f"&#{zeros}65; &#x{zeros}41; &#{zeros}1234567a") == "A A \ufffda"


@pytest.mark.parametrize(
    "reference",
    [b"&#" + b"9" * 5_000 + b";", b"&#x110000;", b"&#x" + b"f" * 5_000 + b";", b"&#xD83D;"],
)
def test_a_bad_reference_in_the_xml_itself_costs_only_its_character(reference):
    # Not well-formed, so feedparser's loose parser reads it (the fast path steps aside).
    body = RSS % (item(1, b"<description>a " + reference + b" b</description>") + item(2))
    parsed = parse_bytes(body, "https://x.example/feed")
    assert [a.title for a in parsed.articles] == ["Item 1", "Item 2"]
    assert parsed.articles[0].summary == "a \ufffd b"


def test_dates_past_the_calendar_and_links_that_are_no_urls_cost_only_that_field():
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>a</id><title>A</title><updated>0001-01-01T00:00:00+14:00</updated>"
        b'<link href="http://[x/"/></entry>'
        b"<entry><id>b</id><title>B</title><updated>2026-02-02T10:00:00Z</updated></entry>"
        b'<link rel="next" href="http://[x"/></feed>'
    )
    for parsed in both_parsers(atom):
        first, second = parsed.articles
        assert (first.title, first.url) == ("A", None)
        assert second.published_at is not None and "next" not in parsed.links


def test_a_json_feed_with_half_a_surrogate_pair_or_a_date_past_the_calendar():
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        b'{"id": "1", "title": "a \\ud800 b", "tags": ["\\udfff"],'
        b' "date_published": "0001-01-01T00:00:00+01:00"},'
        b'{"id": "2", "title": "fine", "url": "http://[x"},'
        b'{"id": "3", "title": "linked", "url": "https://news.example/a"}],'
        b'"home_page_url": "http://[bad"}'
    )
    first, second, third = parse_bytes(body, "https://x.example/feed.json").articles
    assert third.url == "https://news.example/a"  # a bad home link costs no article its own
    assert (first.title, first.tags) == ("a \ufffd b", ("\ufffd",))
    assert first.published_at.year > 1  # no date read: stored as when it was seen
    assert (second.title, second.url) == ("fine", None)


def test_an_element_with_thousands_of_attributes_is_read_as_before():
    attributes = b" ".join(b'a%d="1"' % i for i in range(2_000))
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>a</id>'
        b"<title>A</title><updated>2026-02-02T10:00:00Z</updated>"
        b'<link rel="alternate" type="text/html" ' + attributes + b' href="https://x.example/a"/>'
        b"</entry></feed>"
    )
    for parsed in both_parsers(atom):
        assert parsed.articles[0].url == "https://x.example/a"
