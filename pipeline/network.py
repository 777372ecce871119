"""The network policy: where fetching a feed may connect.

A feed's configured URL is the operator's choice and is fetched wherever it points, intranet
included. Anything a publisher controls (a redirect to another origin, a link a backfill source
follows) may not reach a loopback, private, link-local, unspecified, multicast, reserved or
cloud-metadata address unless `fetch.allow_private` permits it. Otherwise a feed could make
newswatch read an internal service, such as the cloud metadata endpoint's credentials, and store
the answer as articles that are matched and posted to Slack.

The check runs on the address actually connected to, after name resolution, in the connection
layer (as Miniflux does in its dialer): a public name that resolves to 127.0.0.1, or a name that
resolves differently the second time (DNS rebinding), is caught too. httpx has no public hook
for this, so `PolicyTransport` routes each request to one of two connection pools: one for the
feed's configured origins, and one whose network backend resolves names itself and connects
only to permitted addresses. The pools are separate, so a connection opened to a configured
private origin is never reused for a request another feed redirected there.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx

from .errors import AddressRefused, ConnectFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Origin = tuple[str, str, int]
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Request extension carrying the origins the operator configured for the feed being fetched;
# httpx copies a request's extensions onto every redirect it follows.
HOME = "newswatch.home"
# Response extension: the response came from a non-public address.
PRIVATE = "newswatch.private"

# Metadata services of the main clouds. Some sit in public-looking ranges (Azure's wire
# server, Oracle's), and they hold credentials, so an allowed network never covers them: only
# an allow-list entry naming the exact address does.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure wire server
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx.URL) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, ports defaulted; None for anything else."""
    return _origin(url) if isinstance(url, httpx.URL) else _origin_of_text(url)


@functools.lru_cache(maxsize=16_384)
def _origin_of_text(url: str) -> Origin | None:
    # Cached: every feed's configured URLs are looked at on every poll, and parsing is costly.
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    return _origin(parsed)


def _origin(parsed: httpx.URL) -> Origin | None:
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        return None
    return parsed.scheme, parsed.host.lower(), parsed.port or _DEFAULT_PORTS[parsed.scheme]


def home_origins(urls: Iterable[str]) -> frozenset[Origin]:
    return frozenset(o for o in map(origin_of, urls) if o is not None)


def at_home(origin: Origin | None, home: frozenset[Origin]) -> bool:
    """Whether `origin` is one the operator configured; a configured http origin's upgrade to
    https on the same host (ports 80 -> 443) counts, as sites redirect there routinely."""
    if origin is None:
        return False
    scheme, host, port = origin
    return origin in home or ((scheme, port) == ("https", 443) and ("http", host, 80) in home)


def classify(address: IPAddress) -> str | None:
    """Why an address is not a public one ("a loopback address", ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return classify(embedded)
    if address in METADATA:
        return "a cloud metadata address"
    for test, reason in (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
        (address.is_reserved, "a reserved address"),
    ):
        if test:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which non-public addresses redirects and followed links may reach (`fetch.allow_private`)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def from_entries(cls, entries: Sequence[str]) -> NetworkPolicy:
        networks: list[IPNetwork] = []
        hosts: list[str] = []
        for entry in (e.strip().lower() for e in entries):  # checked when the config loaded
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.append(entry)
        return cls(tuple(networks), tuple(hosts))

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why connecting to `address` (which `host` resolved to) is refused, or None."""
        reason = classify(address)
        if reason is None:
            return None
        host = host.lower().rstrip(".")
        if address in METADATA:  # only an entry naming exactly this address or host
            exact = host in self.hosts or any(
                n.num_addresses == 1 and address in n for n in self.networks
            )
            return None if exact else reason
        if any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.hosts):
            return None
        return None if any(address in n for n in self.networks) else reason


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, in the resolver's order (an address is itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each name itself and connects only to addresses the policy permits, so the
    address checked is the address connected to."""

    def __init__(self, policy: NetworkPolicy, resolver: Resolver = resolve) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        refused: list[str] = []
        failure: Exception | None = None
        for text in await self._resolve(host, port):
            address = ipaddress.ip_address(text)
            reason = self._policy.refusal(host, address)
            if reason is not None:
                refused.append(f"{address} is {reason}")
                continue
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        if failure is not None:
            raise failure
        if not refused:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        raise AddressRefused(
            f"refused to connect to {host}:{port}: {'; '.join(refused)} "
            "(only the feed's configured URL may point inside; a redirect or link may not "
            "unless fetch.allow_private permits it)"
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds: once per process, not per transport.
    return httpx.create_ssl_context(trust_env=True)


class _GuardedHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses `GuardedBackend`. httpx takes no
    network backend, so the pool it built is replaced by one that does (same settings)."""

    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__(verify=_ssl_context())
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class PolicyTransport(httpx.AsyncBaseTransport):
    """Sends each request (each redirect hop included) the way the policy says: to the feed's
    configured origins directly, anywhere else through the guarded pool; through the
    environment's proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) when one applies.

    Behind a proxy the proxy connects, not us: the target's name is resolved and checked
    before the request goes out, which catches everything but rebinding between that check
    and the proxy's own lookup.
    """

    def __init__(self, policy: NetworkPolicy, resolver: Resolver = resolve) -> None:
        self._policy = policy
        self._resolve = resolver
        # One connection pool per configured origin: httpcore looks over every connection of a
        # pool for each request, so one pool for all hosts costs more per request the more hosts
        # a cycle fetches from (measured: ~1 ms a request at 32 connections).
        self._direct: dict[Origin | None, httpx.AsyncHTTPTransport] = {}
        self._guarded = _GuardedHTTPTransport(GuardedBackend(policy, resolver))
        self._proxy_settings = urllib.request.getproxies_environment()
        self._proxies: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = origin_of(request.url)
        home = at_home(origin, request.extensions.get(HOME, frozenset()))
        proxy = self._proxy_for(request.url)
        if proxy is not None:
            private = await self._check_by_name(request.url.host, request.url.port, home)
            response = await proxy.handle_async_request(request)
            response.extensions[PRIVATE] = private
            return response
        transport = self._direct_for(origin) if home else self._guarded
        response = await transport.handle_async_request(request)
        response.extensions[PRIVATE] = _came_from_inside(response)
        return response

    def _direct_for(self, origin: Origin | None) -> httpx.AsyncHTTPTransport:
        if origin not in self._direct:
            self._direct[origin] = httpx.AsyncHTTPTransport(verify=_ssl_context())
        return self._direct[origin]

    def _proxy_for(self, url: httpx.URL) -> httpx.AsyncHTTPTransport | None:
        settings = self._proxy_settings
        proxy = settings.get(url.scheme) or settings.get("all")
        if not proxy or urllib.request.proxy_bypass_environment(url.host, settings):
            return None
        if "://" not in proxy:
            proxy = f"http://{proxy}"  # as httpx reads the environment
        if proxy not in self._proxies:
            try:
                self._proxies[proxy] = httpx.AsyncHTTPTransport(proxy=proxy, verify=_ssl_context())
            except (ValueError, httpx.InvalidURL):
                # The message would quote the proxy URL, credentials and all.
                raise ConnectFailed(
                    f"the {url.scheme} proxy set in the environment is not a usable URL "
                    "(expected http://host:port)"
                ) from None
        return self._proxies[proxy]

    async def _check_by_name(self, host: str, port: int | None, home: bool) -> bool:
        """Refuse a proxied request to a non-public address; True when the target is inside."""
        if home:
            return False
        try:
            addresses = [ipaddress.ip_address(a) for a in await self._resolve(host, port or 0)]
        except httpcore.ConnectError:
            return False  # not resolvable here (often why there is a proxy): the proxy decides
        for address in addresses:
            reason = self._policy.refusal(host, address)
            if reason is not None:
                raise AddressRefused(
                    f"refused to fetch {host} through the proxy: {address} is {reason} "
                    "(a redirect or link may not point inside unless fetch.allow_private "
                    "permits it)"
                )
        return any(classify(a) is not None for a in addresses)

    async def aclose(self) -> None:
        for transport in (*self._direct.values(), self._guarded, *self._proxies.values()):
            await transport.aclose()


def _came_from_inside(response: httpx.Response) -> bool:
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return True  # unknown: assume the worst
    try:
        return classify(ipaddress.ip_address(peer[0])) is not None
    except ValueError:
        return True
