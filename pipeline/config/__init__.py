"""Load and check `newswatch.yaml`.

Every mistake becomes one `ConfigError` naming the file, the key path (`feeds[3].url`) and what
was expected, because a monitoring job that silently ignores a misspelt key is worse than one
that refuses to start. Unknown keys are errors for the same reason.

- sections: the pydantic model of each section, with its defaults and field checks
- values: the forms a value may take (durations, feed URLs, allow-list entries)
- secrets: the form of the Slack signing secret and app-level token
- load: reading the file, `${VAR}` interpolation, error messages, compiling the topics
"""

from .load import DEFAULT_CONFIG_PATH, LoadedConfig, compile_topics, database_url, load_config
from .secrets import app_token_problem, secret_value, signing_secret_problem
from .sections import (
    DEFAULT_DATABASE_URL,
    BackfillConfig,
    BackfillSourceConfig,
    Config,
    DatabaseConfig,
    FeedConfig,
    FetchConfig,
    HealthConfig,
    SlackConfig,
    StoriesConfig,
    TopicConfig,
    TopicSlackConfig,
    WebConfig,
)
from .values import parse_duration

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "BackfillConfig",
    "BackfillSourceConfig",
    "Config",
    "DatabaseConfig",
    "FeedConfig",
    "FetchConfig",
    "HealthConfig",
    "LoadedConfig",
    "SlackConfig",
    "StoriesConfig",
    "TopicConfig",
    "TopicSlackConfig",
    "WebConfig",
    "app_token_problem",
    "compile_topics",
    "database_url",
    "load_config",
    "parse_duration",
    "secret_value",
    "signing_secret_problem",
]
