"""The sections of `newswatch.yaml` (database, fetch, feeds, backfill, topics, slack, web,
stories, health) as pydantic models, with their defaults and field checks.

Unknown keys are errors: a monitoring job that silently ignores a misspelt key is worse than one
that refuses to start.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..delivery import Rhythm
from .secrets import app_token_problem, signing_secret_problem
from .values import AllowEntry, Duration, check_feed_url

DEFAULT_DATABASE_URL = "sqlite:///newswatch.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str = DEFAULT_DATABASE_URL


class FetchConfig(_Strict):
    """HTTP limits. The defaults suit a few hundred feeds on one small machine."""

    connect_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    total_timeout: Duration = 120.0
    max_bytes: int = Field(10_000_000, gt=0)
    max_items: int = Field(1000, ge=1)  # entries taken from one document: the newest
    concurrency: int = Field(8, ge=1, le=256)
    per_host: int = Field(2, ge=1, le=64)
    max_backoff: Duration = 6 * 3600.0
    # Non-public addresses that redirects and followed links may reach (see pipeline/network.py):
    # addresses, networks such as 10.0.0.0/8, or host names (`*.corp.example`).
    allow_private: list[AllowEntry] = Field(default_factory=list)


class BackfillSourceConfig(_Strict):
    """Where a feed's history is.

    - rfc5005: an archived feed (RFC 5005): follow `prev-archive` links back from `url`
      (default: the feed's own URL).
    - paged: follow `next` (else `previous`) links from `url` through a paged feed.
    - wordpress: `url?paged=2`, `?paged=3`, ... until a page is older than the window.
    - directory: every feed file in `path`, one per saved snapshot.
    """

    kind: Literal["rfc5005", "paged", "wordpress", "directory"]
    url: str | None = None
    path: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return None if url is None else check_feed_url(url)

    @model_validator(mode="after")
    def _path_for_directories(self) -> BackfillSourceConfig:
        if self.kind == "directory" and not self.path:
            raise ValueError("a directory source needs a path")
        return self


class FeedConfig(_Strict):
    name: str = Field(min_length=1)
    url: str
    poll_interval: Duration = 900.0
    headers: dict[str, str] = Field(default_factory=dict)
    backfill: BackfillSourceConfig | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_feed_url(url)


class BackfillConfig(_Strict):
    # What backfilled matches send: one digest per topic per run (default), nothing, or
    # alerts as if live.
    alerts: Literal["digest", "none", "live"] = "digest"
    max_pages: int = Field(200, ge=1)  # pages or archive documents followed per feed and run


class TopicSlackConfig(_Strict):
    channel: str = Field(min_length=1)


class TopicConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    exclude: str | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    enabled: bool = True
    slack: TopicSlackConfig | None = None
    delivery: Rhythm = Rhythm()  # when its alerts go out (pipeline/delivery.py)


class SlackConfig(_Strict):
    """Where alerts go. Credentials are `SecretStr`, which keeps them out of reprs and logs;
    without any, alerts print in the terminal. `SLACK_BOT_TOKEN` / `SLACK_WEBHOOK_URL` in the
    environment are used when the config names none."""

    token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    # Verifies the buttons' clicks (POST /slack/interactions); else SLACK_SIGNING_SECRET.
    signing_secret: SecretStr | None = None
    # Takes the clicks over Socket Mode (`newswatch serve --socket-mode`); else SLACK_APP_TOKEN.
    app_token: SecretStr | None = None
    default_channel: str | None = None
    # Where the health summary and stale-feed notes go (with a bot token); none when unset.
    ops_channel: str | None = Field(None, min_length=1)
    api_url: str = "https://slack.com/api/"
    timeout: Duration = 10.0
    digest_after: int = Field(5, ge=1)  # more alerts than this for one topic in one drain: a digest
    min_interval: float = Field(1.0, ge=0.0)  # seconds between messages to one channel
    max_attempts: int = Field(10, ge=1)  # transient failures before an alert is given up
    max_backoff: Duration = 3600.0

    @field_validator("api_url")
    @classmethod
    def _api_base(cls, url: str) -> str:
        """The Web API's base (a fake Slack in tests, or a relay); its host is also the one
        place other than hooks.slack.com an incoming webhook may point to."""
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return url if url.endswith("/") else url + "/"

    @field_validator("signing_secret", "app_token")
    @classmethod
    def _plausible_secret(cls, secret: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # The same checks as the environment's SLACK_SIGNING_SECRET and SLACK_APP_TOKEN get.
        problem_of = (
            signing_secret_problem if info.field_name == "signing_secret" else app_token_problem
        )
        problem = problem_of(secret.get_secret_value()) if secret else None
        if problem:
            raise ValueError(problem)
        return secret


class WebConfig(_Strict):
    """The newswatch pages (`newswatch serve`, or the Airflow plugin)."""

    base_url: str | None = None  # where people reach them, for "Open in newswatch" in Slack
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)
    token: SecretStr | None = None  # required to see the pages when set; else NEWSWATCH_WEB_TOKEN
    user_header: str | None = None  # a header an auth proxy sets to the user's name, trusted

    @field_validator("token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        # An empty ${VAR:-} would silently leave the pages open; a short one is guessable.
        if token is not None and len(token.get_secret_value()) < 12:
            raise ValueError(
                "expected at least 12 characters: an empty or short token would leave the pages "
                "open or guessable (leave web.token out to serve without one)"
            )
        return token

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"expected an http(s) URL such as https://news.example, got {url!r}")
        return url.rstrip("/") if url else url


class StoriesConfig(_Strict):
    # An article joins a near-duplicate published within this long of it.
    window: Duration = 72 * 3600.0


class HealthConfig(_Strict):
    """Feed freshness and topic silence (pipeline/health), each judged against its own rhythm:
    the median gap between its latest publications (a feed) or matches (a topic)."""

    stale_factor: float = Field(4.0, gt=1.0)  # typical gaps with nothing new: stale
    stuck_factor: float = Field(4.0, gt=1.0)  # typical gaps with an unchanged body (304s): stuck
    min_polls: float = Field(2.0, ge=1.0)  # never stale or stuck within this many poll intervals
    failing_after: int = Field(3, ge=1)  # failed fetches in a row: failing
    sample: int = Field(50, ge=3, le=1000)  # latest publications or matches a rhythm is read from
    min_history: int = Field(5, ge=3)  # fewer than this: still learning its rhythm, never flagged
    silent_factor: float = Field(6.0, gt=1.0)  # typical gaps between matches with none: silent
    min_silence: Duration = 86400.0  # a topic is never silent sooner than this


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    fetch: FetchConfig = FetchConfig()
    feeds: list[FeedConfig] = Field(default_factory=list)
    term_lists: dict[str, list[str]] = Field(default_factory=dict)
    topics: list[TopicConfig] = Field(default_factory=list)
    slack: SlackConfig = SlackConfig()
    web: WebConfig = WebConfig()
    backfill: BackfillConfig = BackfillConfig()
    stories: StoriesConfig = StoriesConfig()
    health: HealthConfig = HealthConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        _reject_duplicates("feeds", [f.name for f in self.feeds], "name")
        _reject_duplicates("topics", [t.id for t in self.topics], "id")
        return self


def _reject_duplicates(section: str, values: list[str], key: str) -> None:
    first_seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first_seen:
            raise ValueError(
                f"{section}[{index}].{key}: duplicate {key} {value!r} "
                f"(also {section}[{first_seen[value]}])"
            )
        first_seen[value] = index
