"""The network policy's parts: which addresses are inside, the allow-list, names resolved by
the policy itself, and proxies from the environment."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import load_config
from pipeline.errors import AddressRefused
from pipeline.fetch import FetchLimits, fetch_one
from pipeline.network import (
    HOME,
    NetworkPolicy,
    PolicyTransport,
    at_home,
    classify,
    home_origins,
)
from pipeline.records import FeedSource, FetchedFeed
from tests.conftest import FeedServer
from tests.test_config import error_for, write
from tests.test_redirects import BBC, CREDENTIALS, LIMITS, METADATA_PATH, redirect


@pytest.fixture
def internal(second_server: FeedServer) -> FeedServer:
    second_server.feed(METADATA_PATH, CREDENTIALS)
    return second_server


def test_a_public_looking_name_mapped_to_loopback_is_refused(internal):
    # The resolver stands in for public DNS (unreachable from tests); what is checked is the
    # address the connection would go to, whatever the name: a rebinding answer is the same.
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "feeds.example.com" else []

    async def get() -> None:
        transport = PolicyTransport(NetworkPolicy(), resolver)
        async with httpx.AsyncClient(transport=transport) as client:
            url = f"http://feeds.example.com:{internal.server.port}{METADATA_PATH}"
            await client.get(url, extensions={HOME: frozenset()})

    with pytest.raises(AddressRefused, match=r"feeds\.example\.com.*127\.0\.0\.1 is a loopback"):
        asyncio.run(get())
    assert internal.hits(METADATA_PATH) == []


def test_the_allow_list_by_host_name(feed_server, internal):
    feed_server.handler("/feed", redirect(internal.url("/x").replace("127.0.0.1", "localhost")))
    internal.feed("/x", BBC)
    source = FeedSource(id=1, name="f", url=feed_server.url("/feed"))
    refused = fetch_one(source, LIMITS)
    allowed = fetch_one(source, FetchLimits(allow_private=("localhost",)))
    assert isinstance(refused, AddressRefused) and refused.kind == "blocked"
    assert isinstance(allowed, FetchedFeed) and allowed.body == BBC


@pytest.fixture
def proxy(monkeypatch) -> Iterator[FeedServer]:
    """A forward proxy on 127.0.0.1 (plain HTTP proxies get absolute-form requests), with
    credentials in its URL, as HTTP_PROXY often has them."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:s3cret@127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield FeedServer(server)
    server.clear()
    server.stop()


def test_behind_a_proxy_the_redirect_target_is_checked_by_name(proxy, internal):
    seen: list[str] = []

    def publisher(request: Request) -> Response:
        seen.append(request.headers.get("Proxy-Authorization", ""))
        return Response(status=302, headers={"Location": internal.url(METADATA_PATH)})

    proxy.handler("/feed", publisher)
    result = fetch_one(FeedSource(id=1, name="f", url="http://news.example.test/feed"), LIMITS)
    assert seen and seen[0].startswith("Basic "), "the configured feed went through the proxy"
    assert isinstance(result, AddressRefused) and "through the proxy" in str(result)
    assert internal.hits(METADATA_PATH) == []
    assert "s3cret" not in str(result)


def test_a_malformed_proxy_url_is_an_error_without_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://alice:s3cret@proxy.example:notaport")
    result = fetch_one(FeedSource(id=1, name="f", url="http://news.example.test/feed"), LIMITS)
    assert result.kind == "connect" and "proxy" in str(result) and "s3cret" not in str(result)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
        ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"), ("fc00::1", "private"), ("0.0.0.0", "unspecified"),
        ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"), ("168.63.129.16", "metadata"),
        ("::ffff:127.0.0.1", "loopback"), ("2002:7f00:1::1", "loopback"),
        ("64:ff9b::a00:1", "private"), ("100.64.0.1", "non-public"),
        ("8.8.8.8", None), ("2606:4700::1111", None), ("151.101.1.1", None),
    ],
)  # fmt: skip
def test_which_addresses_are_inside(address, reason):
    found = classify(ipaddress.ip_address(address))
    assert found is None if reason is None else reason in found


def test_an_allowed_network_never_opens_a_metadata_address_unless_named():
    metadata = ipaddress.ip_address("169.254.169.254")
    assert NetworkPolicy.from_entries(["169.254.0.0/16"]).refusal("x", metadata)
    assert NetworkPolicy.from_entries(["0.0.0.0/0"]).refusal("x", metadata)
    assert NetworkPolicy.from_entries(["169.254.169.254"]).refusal("x", metadata) is None
    policy = NetworkPolicy.from_entries(["10.0.0.0/8", "*.corp.example"])
    assert policy.refusal("x", ipaddress.ip_address("10.9.9.9")) is None
    assert policy.refusal("feeds.corp.example", ipaddress.ip_address("192.168.1.1")) is None
    assert policy.refusal("corp.example.evil", ipaddress.ip_address("192.168.1.1"))
    wildcard = NetworkPolicy.from_entries(["*.internal"])
    assert wildcard.refusal("metadata.google.internal", metadata), "a wildcard never opens it"
    named = NetworkPolicy.from_entries(["metadata.google.internal"])
    assert named.refusal("metadata.google.internal", metadata) is None


def test_the_same_hosts_upgrade_to_https_is_home_and_nothing_else():
    home = home_origins(["http://intranet.corp/feed"])
    assert at_home(("https", "intranet.corp", 443), home)
    assert not at_home(("https", "intranet.corp", 8443), home)
    assert not at_home(("http", "intranet.corp", 8080), home)
    assert not at_home(("https", "other.corp", 443), home)
    assert not at_home(("http", "intranet.corp", 80), home_origins(["https://intranet.corp/"]))


def test_home_origins_default_their_ports():
    assert home_origins(["http://A.example/x", "https://b.example:8443/y", "/local/path"]) == {
        ("http", "a.example", 80),
        ("https", "b.example", 8443),
    }


def test_the_allow_list_is_checked_when_the_config_loads(tmp_path):
    message = error_for(tmp_path, "fetch:\n  allow_private: [10.0.0.0/8, 'not a host!']\n")
    assert "fetch.allow_private[1]: expected an address" in message
    text = "fetch:\n  allow_private: [127.0.0.1/8, '*.Corp.example']\n"
    config = load_config(write(tmp_path, text)).config
    assert config.fetch.allow_private == ["127.0.0.1/8", "*.corp.example"]


def test_debug_logs_never_show_proxy_credentials(tmp_path, fake_slack, unused_port):
    from tests.test_cli import newswatch

    feed = tmp_path / "feed.xml"
    feed.write_bytes(BBC)
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        f"feeds: [{{name: bbc, url: '{feed}'}}]\n"
        f"slack: {{token: '{fake_slack.token}', api_url: '{fake_slack.api_url}',"
        " default_channel: '#news'}\n"
    )
    proxy = f"http://alice:s3cret-pw@127.0.0.1:{unused_port}"
    env = {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": ""}
    result = newswatch("run", "-vv", "--config", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert f"http://[redacted]@127.0.0.1:{unused_port}" in result.stderr, "it was logged"
