"""Every error newswatch raises on purpose, as one hierarchy.

Callers catch `NewswatchError` to tell "the user must fix something" from a bug. A feed's
failures (fetch, parse or store) carry a `kind` that is stored in the fetch log and the feed's
health, so the classes and the stored words stay in one place.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base class: a problem the user can act on, with a message that says what and where."""


class ConfigError(NewswatchError):
    """`newswatch.yaml` is missing, unreadable or wrong; the message names file and key path."""


class DatabaseError(NewswatchError):
    """The database cannot be reached or its schema is not at the expected revision."""


class FetchError(NewswatchError):
    """A feed's turn failed (fetching it, or reading or storing what came back). `kind` is the
    stored classification."""

    kind = "error"

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class FetchTimeout(FetchError):
    kind = "timeout"


class ConnectFailed(FetchError):
    """DNS failure, refused connection, TLS failure: nothing came back."""

    kind = "connect"


class ClientHTTPError(FetchError):
    """4xx other than 429: usually the URL is wrong or the feed is gone."""

    kind = "http_4xx"


class ServerHTTPError(FetchError):
    """5xx: the publisher's server is failing; try again later."""

    kind = "http_5xx"

    def __init__(
        self, message: str, *, http_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after


class RateLimited(ServerHTTPError):
    """429: the publisher asks us to slow down (`retry_after` seconds when it said so)."""

    kind = "rate_limited"


class ResponseTooLarge(FetchError):
    kind = "too_large"


class FileUnreadable(FetchError):
    """A local feed file is missing or cannot be read."""

    kind = "file"


class NotAFeed(FetchError):
    """The response arrived but is not RSS, Atom, RDF or JSON Feed (often an HTML page)."""

    kind = "not_a_feed"


class AddressRefused(FetchError):
    """A redirect or a followed link led to a private, loopback, link-local or metadata address
    that the network policy (`fetch.allow_private`) does not permit."""

    kind = "blocked"


class FetchFailed(FetchError):
    """Fetching raised something unforeseen (a bug, or a library surprise)."""

    kind = "fetch_error"


class ParseFailed(FetchError):
    """The document arrived but reading it raised (a hostile document, or a parser bug)."""

    kind = "parse_error"


class StoreFailed(FetchError):
    """The feed's articles or state could not be written to the database."""

    kind = "store_error"


def describe(error: BaseException, limit: int = 300) -> str:
    """One readable line for an unforeseen exception: its type and the first line of its
    message (a database error's own message, never the SQL and parameters around it)."""
    text = str(getattr(error, "orig", None) or error).strip()
    first = text.splitlines()[0] if text else ""
    line = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
