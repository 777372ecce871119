"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a feed server.

PostgreSQL tests run when NEWSWATCH_TEST_DATABASE_URL is set. CI also sets
NEWSWATCH_REQUIRE_POSTGRES=1, which turns a missing or unreachable PostgreSQL into a failure
instead of a skip.
"""

from __future__ import annotations

import functools
import gzip as gzip_module
import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, create_engine, text
from werkzeug import Request, Response

from pipeline import store
from pipeline.records import FeedSource, FetchedFeed
from tests.fake_slack import FakeSlack
from tests.fake_slack import start as start_fake_slack
from tests.fake_slack import stop as stop_fake_slack

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"
EXAMPLES = Path(__file__).parent.parent / "examples"
PG_URL = os.environ.get("NEWSWATCH_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("NEWSWATCH_REQUIRE_POSTGRES") == "1"


def postgres_url() -> str:
    """A URL whose connections use a fresh schema of their own, so tests never collide."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("NEWSWATCH_REQUIRE_POSTGRES=1 but NEWSWATCH_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need NEWSWATCH_TEST_DATABASE_URL")
    schema = f"nwtest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # unreachable server: fail in CI, skip elsewhere
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at {PG_URL} is required but unusable: {exc}")
        pytest.skip(f"PostgreSQL unusable: {exc}")
    finally:
        admin.dispose()
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def drop_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newswatch.db'}"
        return
    url = postgres_url()
    yield url
    drop_schema(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newswatch.db'}"


@pytest.fixture
def postgres_only_url() -> Iterator[str]:
    url = postgres_url()
    yield url
    drop_schema(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = store.connect(database_url)
    store.upgrade(engine)
    yield engine
    engine.dispose()


def fetched(
    document: Path | bytes, url: str = "https://feeds.example.net/feed.xml", **headers: str
) -> FetchedFeed:
    """A FetchedFeed as the fetcher would hand it over, from a file or its bytes."""
    name = document.name if isinstance(document, Path) else url
    body = document.read_bytes() if isinstance(document, Path) else document
    return FetchedFeed(
        source=FeedSource(id=1, name=name, url=url),
        body=body,
        url=url,
        headers={k.replace("_", "-").lower(): v for k, v in headers.items()},
        http_status=200,
        etag=None,
        last_modified=None,
        fetched_at=datetime.now(UTC),
        duration_ms=0,
    )


@dataclass
class FeedServer:
    """A real HTTP server on 127.0.0.1 serving feeds the way publishers do: validators, 304s,
    gzip; tests add misbehaviour (redirects, errors, slow or endless bodies) with `server`."""

    server: HTTPServer
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        gzip: bool = False,
        etag: bool = True,
        last_modified: datetime | None = None,
        content_type: str = "application/rss+xml",
    ) -> None:
        tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        stamp = format_datetime(last_modified or datetime(2026, 2, 1, tzinfo=UTC), usegmt=True)

        def handler(request: Request) -> Response:
            self._record(request)
            if etag and request.headers.get("If-None-Match") == tag:
                return Response(status=304, headers={"ETag": tag})
            if not etag and request.headers.get("If-Modified-Since") == stamp:
                return Response(status=304, headers={"Last-Modified": stamp})
            headers = {"Content-Type": content_type}
            headers.update({"ETag": tag} if etag else {"Last-Modified": stamp})
            payload = body
            if gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
                payload = gzip_module.compress(body)
                headers["Content-Encoding"] = "gzip"
            return Response(payload, status=200, headers=headers)

        self.server.expect_request(path).respond_with_handler(handler)

    def handler(self, path: str, handler) -> None:  # type: ignore[no-untyped-def]
        def recording(request: Request) -> Response:
            self._record(request)
            return handler(request)

        self.server.expect_request(path).respond_with_handler(recording)

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append((request.path, dict(request.headers)))

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


def serving() -> Iterator[FeedServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield FeedServer(server)
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from serving()


@pytest.fixture
def second_server() -> Iterator[FeedServer]:
    """Another server on 127.0.0.1, on its own port: another origin than `feed_server`."""
    yield from serving()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack on 127.0.0.1; every message posted to it must be valid Block Kit."""
    fake = start_fake_slack(FakeSlack())
    yield fake
    stop_fake_slack(fake)
    assert fake.violations == [], fake.violations


@pytest.fixture
def cli(tmp_path: Path, fake_slack: FakeSlack, database_url: str):  # type: ignore[no-untyped-def]
    """`newswatch ARGS` in a subprocess, in this test's directory, database and fake Slack."""
    from tests.test_alerts_cli import newswatch

    return functools.partial(newswatch, cwd=tmp_path, fake=fake_slack, database_url=database_url)
