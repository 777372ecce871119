"""Fetch feeds over HTTP (httpx) or from local files, politely and within limits.

Politeness: conditional GET with the stored ETag / Last-Modified, a User-Agent that names us,
at most `per_host` requests to one host at a time. Limits: connect/read timeouts, an overall
deadline per feed (a server that drips one byte a second never trips a read timeout), and a
size cap counted on the decoded body while it streams, so a gzip bomb stops early too.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from . import __version__
from .config import FetchConfig
from .errors import (
    ClientHTTPError,
    ConnectFailed,
    FetchError,
    FetchFailed,
    FetchTimeout,
    FileUnreadable,
    RateLimited,
    ResponseTooLarge,
    ServerHTTPError,
    describe,
)
from .network import (
    HOME,
    PRIVATE,
    NetworkPolicy,
    PolicyTransport,
    at_home,
    home_origins,
    origin_of,
)
from .records import FeedSource, FetchedFeed
from .redact import without_userinfo

log = logging.getLogger(__name__)

USER_AGENT = f"newswatch/{__version__} (news monitor; +https://pypi.org/project/newswatch/)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = frozenset({301, 308})

FetchOutcome = FetchedFeed | FetchError


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 10_000_000
    max_items: int = 1000
    concurrency: int = 8
    per_host: int = 2
    allow_private: tuple[str, ...] = ()  # the network policy's allow-list (see network.py)

    @classmethod
    def from_config(cls, config: FetchConfig) -> FetchLimits:
        return cls(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            total_timeout=config.total_timeout,
            max_bytes=config.max_bytes,
            max_items=config.max_items,
            concurrency=config.concurrency,
            per_host=config.per_host,
            allow_private=tuple(config.allow_private),
        )


def is_local(url: str) -> bool:
    return url.startswith("file://") or "://" not in url


async def fetch_feeds(
    sources: Iterable[FeedSource],
    limits: FetchLimits,
    on_result: Callable[[FeedSource, FetchOutcome], Awaitable[None] | None] | None = None,
) -> list[tuple[FeedSource, FetchOutcome]]:
    """Fetch many feeds concurrently; a failure is returned as that feed's outcome, never raised.

    Without `on_result`, returns every outcome. With it, each outcome goes to `on_result` as
    its feed finishes (to parse and store it, to advance a progress bar) and is not kept; if
    `on_result` returns an awaitable, the feed keeps its place among the `concurrency` feeds in
    flight until it is done (so parsing counts against the limit, which bounds the bodies held
    in memory), but frees its host's slot. If it raises, that is logged and the others go on.
    """
    everyone = asyncio.Semaphore(limits.concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    results: list[tuple[FeedSource, FetchOutcome]] = []

    async with _client(limits) as client:

        async def one(source: FeedSource) -> None:
            # The host's slot first: a feed waiting for its busy host must not hold one of the
            # `concurrency` slots, or feeds listed host by host would fetch one host at a time.
            # Local files have no host to be polite to.
            async with _host_slot(per_host, source, limits):
                await everyone.acquire()
                try:
                    outcome = await _outcome(client, source, limits)
                except BaseException:
                    everyone.release()
                    raise
            try:
                await _hand_over(source, outcome, on_result, results)
            finally:
                everyone.release()

        await asyncio.gather(*(one(source) for source in sources))
    return results


def _host_slot(
    per_host: dict[str, asyncio.Semaphore], source: FeedSource, limits: FetchLimits
) -> AbstractAsyncContextManager[object]:
    if is_local(source.url):
        return contextlib.nullcontext()
    host = urlsplit(source.url).hostname or ""
    return per_host.setdefault(host, asyncio.Semaphore(limits.per_host))


async def _hand_over(
    source: FeedSource,
    outcome: FetchOutcome,
    on_result: Callable[[FeedSource, FetchOutcome], Awaitable[None] | None] | None,
    results: list[tuple[FeedSource, FetchOutcome]],
) -> None:
    if on_result is None:
        results.append((source, outcome))
        return
    try:
        handled = on_result(source, outcome)
        if handled is not None:
            await handled
    except Exception:
        log.exception("handling feed %r failed; going on with the others", source.name)


async def _outcome(
    client: httpx.AsyncClient, source: FeedSource, limits: FetchLimits
) -> FetchOutcome:
    try:
        return await fetch_feed(client, source, limits)
    except FetchError as error:
        return error
    except Exception as error:  # a bug or an httpx surprise must not stop the others
        log.debug("fetching feed %r raised", source.name, exc_info=True)
        return FetchFailed(f"unexpected {without_userinfo(describe(error))}")


def fetch_one(source: FeedSource, limits: FetchLimits) -> FetchOutcome:
    """Fetch a single feed synchronously, outside a poll cycle: a backfill source's pages and
    archives, one at a time. A failure is returned, never raised."""
    return asyncio.run(fetch_feeds([source], limits))[0][1]


def _client(limits: FetchLimits) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=limits.connect_timeout, read=limits.read_timeout, write=10.0, pool=None
    )
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        # Every connection goes through the network policy; it applies the environment's
        # proxies itself (httpx's own would bypass the policy).
        transport=PolicyTransport(NetworkPolicy.from_entries(limits.allow_private)),
        trust_env=False,
    )


async def fetch_feed(
    client: httpx.AsyncClient, source: FeedSource, limits: FetchLimits
) -> FetchedFeed:
    """Fetch one feed, raising a classified `FetchError` when it cannot be had."""
    if is_local(source.url):
        return read_local_feed(source, limits)
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.total_timeout):
            return await _get(client, source, limits, started)
    except TimeoutError:
        raise FetchTimeout(
            f"no complete response within {limits.total_timeout:g}s (overall deadline)"
        ) from None
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"timed out: {type(exc).__name__}") from None
    except httpx.TooManyRedirects:
        raise ClientHTTPError(f"more than {MAX_REDIRECTS} redirects") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ConnectFailed(f"could not connect: {exc or type(exc).__name__}") from None
    except httpx.UnsupportedProtocol as exc:
        raise ClientHTTPError(f"unsupported URL: {without_userinfo(str(exc))}") from None
    except httpx.DecodingError as exc:
        raise ConnectFailed(f"could not decode the compressed body: {exc}") from None


async def _get(
    client: httpx.AsyncClient, source: FeedSource, limits: FetchLimits, started: float
) -> FetchedFeed:
    headers = dict(source.headers)
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    home = home_origins(source.configured_urls or (source.url,))
    async with client.stream(
        "GET", source.url, headers=headers, extensions={HOME: home}
    ) as response:
        _raise_for_status(response)
        # A 304's (empty) body is read too: a response left unread closes its connection,
        # and a cycle of 304s would then open a new connection for every feed.
        body = await _read_capped(response, limits.max_bytes)
        if response.status_code == 304:
            body = None
    moved = bool(response.history) and all(
        r.status_code in PERMANENT_REDIRECTS for r in response.history
    )
    inside = response.extensions.get(PRIVATE, True)
    if moved and inside and not at_home(origin_of(response.url), home):
        # A permanent redirect never moves a feed inside: the next poll starts from its URL.
        log.warning(
            "feed %r: not moving it to %s, a non-public address of another origin",
            source.name,
            without_userinfo(str(response.url)),
        )
        moved = False
    return FetchedFeed(
        source=source,
        body=body,
        url=str(response.url),
        headers={k.lower(): v for k, v in response.headers.items()},
        http_status=response.status_code,
        # A 304 may omit validators; keep the ones we sent so the next request is conditional too.
        etag=response.headers.get("etag") or source.etag,
        last_modified=response.headers.get("last-modified") or source.last_modified,
        fetched_at=datetime.now(UTC),
        duration_ms=int((time.monotonic() - started) * 1000),
        moved_to=str(response.url) if moved else None,
    )


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        raise RateLimited(reason, http_status=status, retry_after=retry_after)
    if status >= 500:
        raise ServerHTTPError(reason, http_status=status, retry_after=retry_after)
    raise ClientHTTPError(reason, http_status=status)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            f"response is {int(declared):,} bytes; the limit is {max_bytes:,}",
            http_status=response.status_code,
        )
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(
                f"response exceeded the {max_bytes:,}-byte limit while streaming",
                http_status=response.status_code,
            )
    return bytes(body)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)


def _local_type(path: Path) -> str:
    # Files have no Content-Type; without one feedparser flags every local feed as suspect.
    return "application/feed+json" if path.suffix.lower() == ".json" else "application/xml"


def read_local_feed(source: FeedSource, limits: FetchLimits) -> FetchedFeed:
    """Read a feed file. Size and modification time stand in for an ETag, so an unchanged
    file is "not modified" exactly like a 304."""
    started = time.monotonic()
    path = local_path(source.url)
    try:
        stat = path.stat()
        validator = f'"{stat.st_size}-{stat.st_mtime_ns}"'
        body = None
        if validator != source.etag:
            if stat.st_size > limits.max_bytes:
                raise ResponseTooLarge(
                    f"file is {stat.st_size:,} bytes; the limit is {limits.max_bytes:,}"
                )
            body = path.read_bytes()
    except FileNotFoundError:
        raise FileUnreadable(f"no such file: {path}") from None
    except IsADirectoryError:
        raise FileUnreadable(f"is a directory, not a feed file: {path}") from None
    except PermissionError:
        raise FileUnreadable(f"permission denied: {path}") from None
    return FetchedFeed(
        source=source,
        body=body,
        url=source.url,
        headers={"content-location": path.resolve().as_uri(), "content-type": _local_type(path)},
        http_status=None,
        etag=validator,
        last_modified=None,
        fetched_at=datetime.now(UTC),
        duration_ms=int((time.monotonic() - started) * 1000),
    )
