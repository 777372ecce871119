"""Load and check `newswatch.yaml`.

Every mistake becomes one `ConfigError` naming the file, the key path (`feeds[3].url`) and what
was expected, because a monitoring job that silently ignores a misspelt key is worse than one
that refuses to start. Unknown keys are errors for the same reason.
"""

from __future__ import annotations

import ipaddress
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .redact import without_userinfo
from .rhythm import Rhythm
from .topics import Topic, TopicQueryError, compile_topic

DEFAULT_CONFIG_PATH = Path("newswatch.yaml")
DEFAULT_DATABASE_URL = "sqlite:///newswatch.db"

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """`90`, `"90s"`, `"15m"`, `"2h"`, `"1d"` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 900, '15m' or '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 900, '15m' or '1h', got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("expected a duration greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def check_allow_entry(entry: str) -> str:
    """An allow-list entry is an address, a network (`10.0.0.0/8`) or a host (`*.corp.example`)."""
    value = entry.strip().lower()
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        if not _HOST.match(value):
            raise ValueError(
                f"expected an address, a network such as 10.0.0.0/8, or a host name, got {entry!r}"
            ) from None
    return value


def check_feed_url(url: str) -> str:
    """An http(s) URL with a host, a file:// URL, or a path (anything without a scheme)."""
    expected = "expected an http(s) URL, a file:// URL or a path"
    text = url.strip()
    if not text:
        raise ValueError(f"{expected}, got ''")
    shown = without_userinfo(text)
    if _CONTROL.search(text):
        raise ValueError(f"{expected}, got {shown!r} (it contains control characters)")
    scheme = _SCHEME.match(text)
    if scheme is None or len(scheme.group(1)) == 1:  # a path (C: is a Windows drive)
        return url
    name = scheme.group(1).lower()
    parts = urlsplit(text)
    if name == "file":
        if not text[5:].startswith("//") or not parts.path:
            raise ValueError(f"expected file:///path/to/feed.xml, got {shown!r}")
        return url
    if name not in ("http", "https"):
        raise ValueError(f"{expected}, got {shown!r} (unknown scheme {name!r})")
    if not text[len(name) + 1 :].startswith("//") or not parts.hostname:
        raise ValueError(f"expected {name}://host/path, got {shown!r}")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValueError(f"{shown!r} has an invalid port") from None
    if any(c.isspace() for c in text):
        raise ValueError(f"{shown!r} contains spaces (write them as %20)")
    return url


AllowEntry = Annotated[str, AfterValidator(check_allow_entry)]


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
    delivery: Rhythm = Rhythm()  # when its alerts go out (pipeline/rhythm.py)


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


def signing_secret_problem(secret: str) -> str | None:
    """What is wrong with the form of a signing secret (never quoting it), or None. Slack's are
    32 hex characters; a short or spaced one is a paste error. For the config key and for
    SLACK_SIGNING_SECRET alike."""
    if len(secret) < 16 or secret.strip() != secret or " " in secret:
        return (
            "expected the app's signing secret (Slack app settings, Basic Information: "
            "32 characters, no spaces)"
        )
    return None


def app_token_problem(token: str) -> str | None:
    """What is wrong with the form of an app-level token (never quoting it), or None."""
    if not token.startswith("xapp-"):
        return (
            "expected an app-level token starting xapp- (Slack app settings, Basic "
            "Information, App-Level Tokens, scope connections:write)"
        )
    return None


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
            raise ValueError("expected at least 12 characters (or leave web.token out)")
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


def database_url(config: Config, override: str | None = None) -> str:
    """The database to use: an explicit URL, else NEWSWATCH_DATABASE_URL, else database.url."""
    return override or os.environ.get("NEWSWATCH_DATABASE_URL") or config.database.url


# libyaml's safe loader where PyYAML was built with it: the pure-Python one takes over a second
# to read a config of 5,000 feeds.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_config(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """Read, interpolate `${ENV}` and validate the config file."""
    config_path = Path(path) if path else Path(os.environ.get("NEWSWATCH_CONFIG", ""))
    if not str(config_path) or str(config_path) == ".":
        config_path = DEFAULT_CONFIG_PATH
    try:
        raw = yaml.load(config_path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: no such file (pass --config or set NEWSWATCH_CONFIG)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{config_path}: not valid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")
    raw = _interpolate(raw, "", config_path)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(config_path, exc)) from None
    compile_topics(config, config_path)  # a bad query stops the load, not the first match
    return LoadedConfig(path=config_path, config=_resolve_paths(config, config_path.parent))


def compile_topics(config: Config, path: Path | str = "newswatch.yaml") -> list[Topic]:
    """The configured topics, parsed. A query that does not parse is a `ConfigError` naming
    the topic, the key, the column, and showing where."""
    compiled = []
    for index, topic in enumerate(config.topics):
        try:
            compiled.append(
                compile_topic(
                    topic.id,
                    topic.name,
                    topic.query,
                    exclude=topic.exclude,
                    threshold=topic.threshold,
                    enabled=topic.enabled,
                    channel=topic.slack.channel if topic.slack else config.slack.default_channel,
                    term_lists=config.term_lists,
                )
            )
        except TopicQueryError as error:
            text = getattr(topic, error.key).replace("\n", " ")
            raise ConfigError(
                f"{path}: topics[{index}].{error.key} (topic {topic.id!r}): {error}\n"
                f"    {text}\n    {' ' * (error.column - 1)}^"
            ) from None
    return compiled


class LoadedConfig(typing.NamedTuple):
    path: Path
    config: Config


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, where: str, path: Path) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string; a missing variable is an error."""
    if isinstance(value, dict):
        return {k: _interpolate(v, _join(where, str(k)), path) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: {where}: environment variable {name} is not set")

    return _ENV.sub(substitute, value)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            message = f"unknown key (expected one of: {allowed})"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "model_type":  # `health: 5`: say what goes there, not the class
            given = type(error["input"]).__name__
            message = f"expected a mapping of keys ({', '.join(_allowed_keys(loc))}), got {given}"
        elif error["type"] == "value_error" and not loc:
            lines.append(f"{path}: {error['ctx']['error']!s}")
            continue
        else:
            message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `Model`, `list[Model]` or `Model | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make feed paths relative to the config file, so the example runs from any directory."""

    def resolve(location: str) -> str:
        if "://" in location or Path(location).is_absolute():
            return location
        return str((base / location).resolve())

    feeds = []
    for feed in config.feeds:
        update: dict[str, Any] = {"url": resolve(feed.url)}
        if feed.backfill is not None:
            source = feed.backfill
            update["backfill"] = source.model_copy(
                update={
                    "url": resolve(source.url) if source.url else None,
                    "path": resolve(source.path) if source.path else None,
                }
            )
        feeds.append(feed.model_copy(update=update))
    return config.model_copy(update={"feeds": feeds})
