"""The fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from werkzeug import Response

from pipeline.errors import (
    ClientHTTPError,
    ConnectFailed,
    FetchTimeout,
    FileUnreadable,
    RateLimited,
    ResponseTooLarge,
    ServerHTTPError,
)
from pipeline.fetch import USER_AGENT, FetchLimits, fetch_feeds, fetch_one, parse_retry_after
from pipeline.records import FeedSource, FetchedFeed
from tests.conftest import CORPUS

BBC = (CORPUS / "news_feeds/ffp_1796df62c4a287cc__bbc_news_world.xml").read_bytes()
LIMITS = FetchLimits(connect_timeout=2, read_timeout=1, total_timeout=5)


def source(url: str, **kwargs) -> FeedSource:
    return FeedSource(id=1, name="test", url=url, **kwargs)


def test_a_plain_fetch_sends_our_user_agent_and_accepts_compression(feed_server):
    feed_server.feed("/feed", BBC)
    result = fetch_one(source(feed_server.url("/feed")), LIMITS)
    assert isinstance(result, FetchedFeed)
    assert result.body == BBC and result.http_status == 200 and result.etag
    request = feed_server.hits("/feed")[0]
    assert request["User-Agent"] == USER_AGENT and "newswatch/" in USER_AGENT
    assert "gzip" in request["Accept-Encoding"]


def test_etag_makes_the_next_request_conditional_and_304_has_no_body(feed_server):
    feed_server.feed("/feed", BBC)
    first = fetch_one(source(feed_server.url("/feed")), LIMITS)
    second = fetch_one(source(feed_server.url("/feed"), etag=first.etag), LIMITS)
    assert second.not_modified and second.body is None and second.http_status == 304
    assert second.etag == first.etag
    assert feed_server.hits("/feed")[1]["If-None-Match"] == first.etag


def test_last_modified_makes_the_next_request_conditional(feed_server):
    feed_server.feed("/feed", BBC, etag=False)
    first = fetch_one(source(feed_server.url("/feed")), LIMITS)
    assert first.last_modified and not first.etag
    second = fetch_one(source(feed_server.url("/feed"), last_modified=first.last_modified), LIMITS)
    assert second.not_modified
    assert feed_server.hits("/feed")[1]["If-Modified-Since"] == first.last_modified


def test_gzip_is_decoded(feed_server):
    feed_server.feed("/feed", BBC, gzip=True)
    result = fetch_one(source(feed_server.url("/feed")), LIMITS)
    assert result.body == BBC


@pytest.mark.parametrize(
    ("status", "permanent"), [(301, True), (308, True), (302, False), (307, False)]
)
def test_redirects_are_followed_and_only_permanent_ones_move_the_feed(
    feed_server, status, permanent
):
    feed_server.feed("/new", BBC)
    feed_server.handler("/old", lambda r: Response(status=status, headers={"Location": "/new"}))
    result = fetch_one(source(feed_server.url("/old")), LIMITS)
    assert result.body == BBC and result.url == feed_server.url("/new")
    assert result.moved_to == (feed_server.url("/new") if permanent else None)


def test_a_temporary_hop_in_the_chain_means_the_feed_did_not_move(feed_server):
    feed_server.feed("/c", BBC)
    feed_server.handler("/a", lambda r: Response(status=301, headers={"Location": "/b"}))
    feed_server.handler("/b", lambda r: Response(status=302, headers={"Location": "/c"}))
    assert fetch_one(source(feed_server.url("/a")), LIMITS).moved_to is None


def test_a_redirect_loop_is_a_client_error(feed_server):
    feed_server.handler("/loop", lambda r: Response(status=302, headers={"Location": "/loop"}))
    result = fetch_one(source(feed_server.url("/loop")), LIMITS)
    assert isinstance(result, ClientHTTPError) and "redirects" in str(result)


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [(404, ClientHTTPError, "http_4xx"), (410, ClientHTTPError, "http_4xx"),
     (500, ServerHTTPError, "http_5xx"), (503, ServerHTTPError, "http_5xx")],
)  # fmt: skip
def test_http_errors_are_classified(feed_server, status, error_class, kind):
    feed_server.handler("/feed", lambda r: Response("nope", status=status))
    result = fetch_one(source(feed_server.url("/feed")), LIMITS)
    assert type(result) is error_class and result.kind == kind and result.http_status == status


def test_429_and_503_carry_retry_after(feed_server):
    feed_server.handler("/busy", lambda r: Response(status=429, headers={"Retry-After": "120"}))
    feed_server.handler("/down", lambda r: Response(status=503, headers={"Retry-After": "3600"}))
    busy = fetch_one(source(feed_server.url("/busy")), LIMITS)
    down = fetch_one(source(feed_server.url("/down")), LIMITS)
    assert isinstance(busy, RateLimited) and busy.kind == "rate_limited" and busy.retry_after == 120
    assert isinstance(down, ServerHTTPError) and down.retry_after == 3600


def test_retry_after_as_an_http_date():
    assert (
        50
        < parse_retry_after(
            time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
        )
        <= 60
    )
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None


def test_a_slow_response_times_out(feed_server):
    def slow(request):
        time.sleep(3)
        return Response(BBC)

    feed_server.handler("/slow", slow)
    result = fetch_one(source(feed_server.url("/slow")), LIMITS)
    assert isinstance(result, FetchTimeout) and result.kind == "timeout"


def test_a_body_that_drips_forever_hits_the_overall_deadline(feed_server):
    def drip(request):
        def body():
            yield b"<rss>"
            for _ in range(100):
                time.sleep(0.2)
                yield b" "

        return Response(body(), content_type="application/rss+xml")

    feed_server.handler("/drip", drip)
    limits = FetchLimits(connect_timeout=2, read_timeout=1, total_timeout=1.5)
    result = fetch_one(source(feed_server.url("/drip")), limits)
    assert isinstance(result, FetchTimeout) and "overall deadline" in str(result)


def test_an_endless_body_is_cut_at_the_size_cap(feed_server):
    def endless(request):
        def body():
            while True:
                yield b"x" * 65536

        return Response(body(), content_type="application/rss+xml")

    feed_server.handler("/endless", endless)
    limits = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=10, max_bytes=1_000_000)
    result = fetch_one(source(feed_server.url("/endless")), limits)
    assert isinstance(result, ResponseTooLarge) and result.kind == "too_large"


def test_a_declared_length_over_the_cap_is_refused_before_reading(feed_server):
    feed_server.feed("/big", BBC)
    result = fetch_one(source(feed_server.url("/big")), FetchLimits(max_bytes=1000))
    assert isinstance(result, ResponseTooLarge) and "limit is 1,000" in str(result)


def test_a_refused_connection(unused_port):
    result = fetch_one(source(f"http://127.0.0.1:{unused_port}/feed"), LIMITS)
    assert isinstance(result, ConnectFailed) and result.kind == "connect"


def test_an_unresolvable_host():
    result = fetch_one(source("http://feeds.invalid/rss"), LIMITS)
    assert isinstance(result, ConnectFailed)


def test_local_files_use_size_and_mtime_as_a_validator(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(BBC)
    first = fetch_one(source(str(path)), LIMITS)
    assert first.body == BBC and first.etag
    assert fetch_one(source(path.as_uri(), etag=first.etag), LIMITS).not_modified
    path.write_bytes(BBC + b"\n")
    assert fetch_one(source(str(path), etag=first.etag), LIMITS).body == BBC + b"\n"


def test_a_missing_local_file(tmp_path):
    result = fetch_one(source(str(tmp_path / "gone.xml")), LIMITS)
    assert isinstance(result, FileUnreadable) and "no such file" in str(result)


def test_at_most_per_host_requests_run_at_once(feed_server):
    active, peak, lock = 0, 0, threading.Lock()

    def counted(request):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.3)
        with lock:
            active -= 1
        return Response(BBC, content_type="application/rss+xml")

    for i in range(6):
        feed_server.handler(f"/f{i}", counted)
    sources = [FeedSource(id=i, name=f"f{i}", url=feed_server.url(f"/f{i}")) for i in range(6)]
    limits = FetchLimits(concurrency=8, per_host=2, total_timeout=10)
    results = asyncio.run(fetch_feeds(sources, limits))
    assert len(results) == 6 and all(isinstance(r, FetchedFeed) for _, r in results)
    assert peak == 2


def test_one_failing_feed_does_not_stop_the_others(feed_server):
    feed_server.feed("/good", BBC)
    feed_server.handler("/bad", lambda r: Response(status=500))
    sources = [FeedSource(id=1, name="good", url=feed_server.url("/good")),
               FeedSource(id=2, name="bad", url=feed_server.url("/bad"))]  # fmt: skip
    outcomes = dict((s.name, o) for s, o in asyncio.run(fetch_feeds(sources, LIMITS)))
    assert isinstance(outcomes["good"], FetchedFeed) and isinstance(
        outcomes["bad"], ServerHTTPError
    )


def test_custom_headers_from_the_config_are_sent(feed_server):
    feed_server.feed("/feed", BBC)
    fetch_one(source(feed_server.url("/feed"), headers=(("Authorization", "Bearer t"),)), LIMITS)
    assert feed_server.hits("/feed")[0]["Authorization"] == "Bearer t"
