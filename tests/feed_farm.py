"""Many generated feeds on several loopback hosts (127.0.0.2, 127.0.0.3, ...), for the scale
tests and the Airflow benchmark.

Each host is a real threaded HTTP/1.1 server. A feed is `/feeds/<n>.xml` (RSS 2.0, a few items of
generated news text, an ETag, 304 for If-None-Match); `/down/<n>.xml` answers 500. Every server
counts its requests and the most it ever served at once, so a test can check that no host saw
more than `fetch.per_host` requests at a time across a whole run.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

WORDS = [
    "minister",
    "council",
    "budget",
    "harbour",
    "rail",
    "strike",
    "court",
    "ruling",
    "election",
    "turnout",
    "coalition",
    "senate",
    "vote",
    "tariff",
    "export",
    "drought",
    "harvest",
    "flood",
    "relief",
    "vaccine",
    "hospital",
    "school",
    "union",
    "wage",
    "inflation",
    "bank",
    "rate",
    "bond",
    "market",
    "summit",
    "treaty",
    "border",
    "patrol",
    "festival",
    "museum",
    "stadium",
    "league",
    "storm",
    "outage",
    "grid",
    "solar",
    "wind",
    "pipeline",
    "refinery",
    "port",
    "airline",
    "merger",
]
MATCHING_TITLE = "Defence secretary meets counterpart for bilateral talks"


def feed_body(number: int, items: int, *, matching: bool = False) -> bytes:
    """A small RSS feed whose items are distinct from every other feed's. With `matching`, its
    first item is about a defence secretary's talks (an alert for the usual test topic)."""
    rng = random.Random(number)
    base = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=number)
    entries = []
    for item in range(items):
        words = rng.sample(WORDS, 12)
        title = " ".join(words[:6]).capitalize() + f" ({number}-{item})"
        if matching and item == 0:
            title = f"{MATCHING_TITLE} ({number})"
        summary = f"Desk {number} reports: " + " ".join(words) + "."
        entries.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://news{number % 97}.example/{number}/{item}</link>"
            f"<guid>farm-{number}-{item}</guid>"
            f"<pubDate>{format_datetime(base + timedelta(seconds=item), usegmt=True)}</pubDate>"
            f"<description>{escape(summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Desk {number}</title><link>https://news.example/{number}</link>"
        f"<description>generated</description>{''.join(entries)}</channel></rss>"
    ).encode()


@dataclass
class Host:
    """One loopback host and what it saw."""

    server: ThreadingHTTPServer
    requests: int = 0
    in_flight: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"


@dataclass
class FeedFarm:
    hosts: list[Host]
    items: int
    matching: frozenset[int]
    feeds: list[tuple[str, str]] = field(default_factory=list)  # (name, url)
    _bodies: dict[int, bytes] = field(default_factory=dict)

    def config(self, *, extra: str = "", poll_interval: str = "15m") -> str:
        """A newswatch.yaml `feeds:` section for every feed in the farm, plus `extra`."""
        lines = [
            f"  - {{name: '{name}', url: '{url}', poll_interval: {poll_interval}}}"
            for name, url in self.feeds
        ]
        return "feeds:\n" + "\n".join(lines) + "\n" + extra

    @property
    def requests(self) -> int:
        return sum(host.requests for host in self.hosts)

    def body(self, number: int) -> bytes:
        body = self._bodies.get(number)
        if body is None:
            body = self._bodies[number] = feed_body(
                number, self.items, matching=number in self.matching
            )
        return body

    def prebuild(self) -> None:
        """Generate every feed now, so that serving costs the same on every poll."""
        for number in range(len(self.feeds)):
            self.body(number)


def _handler(farm: FeedFarm, host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with host.lock:
                host.requests += 1
                host.in_flight += 1
                host.most_at_once = max(host.most_at_once, host.in_flight)
            try:
                self._answer()
            finally:
                with host.lock:
                    host.in_flight -= 1

        def _answer(self) -> None:
            kind, _, name = self.path.strip("/").partition("/")
            number = name.removesuffix(".xml")
            if kind == "down" and number.isdigit():
                return self._send(500, b"the feed server is down")
            if kind != "feeds" or not number.isdigit():
                return self._send(404, b"no such feed")
            body = farm.body(int(number))
            tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == tag:
                return self._send(304, b"", {"ETag": tag})
            return self._send(200, body, {"ETag": tag, "Content-Type": "application/rss+xml"})

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


def start(
    feeds_per_host: Sequence[int],
    *,
    items: int = 3,
    matching: Sequence[int] = (),
    failing: Sequence[int] = (),
    first_host: int = 2,
) -> FeedFarm:
    """Serve `feeds_per_host[i]` feeds from 127.0.0.(first_host + i), numbered across the farm.
    Feed numbers in `failing` answer 500; those in `matching` carry a defence-talks item."""
    farm = FeedFarm(hosts=[], items=items, matching=frozenset(matching))
    number = 0
    for offset, count in enumerate(feeds_per_host):
        host = Host(
            ThreadingHTTPServer((f"127.0.0.{first_host + offset}", 0), BaseHTTPRequestHandler)
        )
        host.server.RequestHandlerClass = _handler(farm, host)
        host.server.daemon_threads = True
        threading.Thread(target=host.server.serve_forever, daemon=True).start()
        farm.hosts.append(host)
        for _ in range(count):
            kind = "down" if number in failing else "feeds"
            farm.feeds.append((f"Desk {number:05d}", f"http://{host.address}/{kind}/{number}.xml"))
            number += 1
    return farm


def stop(farm: FeedFarm) -> None:
    for host in farm.hosts:
        host.server.shutdown()
        host.server.server_close()
