from __future__ import annotations

import pytest

from pipeline.dedupe import TRACKING_PARAMS, canonical_url, unwrap_redirector


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/a/b/", "https://www.example.com/a/b"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/x#comments", "https://example.com/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/?", "https://example.com/"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?fbclid=XYZ&gclid=1&mc_cid=2&mc_eid=3", "https://example.com/a"),
        ("https://bbc.com/n/1?at_medium=RSS&at_campaign=rss", "https://bbc.com/n/1"),
        ("https://example.com/a?flag", "https://example.com/a?flag="),
        ("ftp://example.com/a", None),
        ("not a url", None),
        ("", None),
        (None, None),
        ("https://[::1/bad", None),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_same_article_under_different_links_has_one_canonical_url():
    links = [
        "https://news.example.com/world/story-1?utm_source=twitter",
        "https://NEWS.example.com:443/world/story-1/#top",
        "https://www.google.com/url?rct=j&sa=t&url=https://news.example.com/world/story-1&ct=ga",
    ]
    assert {canonical_url(u) for u in links} == {"https://news.example.com/world/story-1"}


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("https://www.google.com/url?rct=j&url=https://a.example/x&ct=ga", "https://a.example/x"),
        ("https://news.google.com/news/url?sa=t&url=https://a.example/y", "https://a.example/y"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fa.example%2Fz&h=1", "https://a.example/z"),
        ("https://www.google.com/url?url=javascript:alert(1)", "https://www.google.com/url?url=javascript:alert(1)"),
        ("https://www.google.com/search?q=https://a.example/", "https://www.google.com/search?q=https://a.example/"),
    ],
)  # fmt: skip
def test_unwrap_redirector(link, target):
    assert unwrap_redirector(link) == target


def test_tracking_list_is_lowercase_so_lookups_match():
    assert all(p == p.lower() for p in TRACKING_PARAMS)
