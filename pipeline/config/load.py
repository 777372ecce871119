"""Read `newswatch.yaml`: parse the YAML, interpolate `${VAR}`, validate, compile the topics'
queries and make feed paths relative to the file.

Every mistake becomes one `ConfigError` naming the file, the key path (`feeds[3].url`) and what
was expected.
"""

from __future__ import annotations

import os
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from ..topics import Topic, TopicQueryError, compile_topic
from .sections import Config

DEFAULT_CONFIG_PATH = Path("newswatch.yaml")


def database_url(config: Config, override: str | None = None) -> str:
    """The database to use: an explicit URL, else NEWSWATCH_DATABASE_URL, else database.url."""
    return override or os.environ.get("NEWSWATCH_DATABASE_URL") or config.database.url


# libyaml's safe loader where PyYAML was built with it: the pure-Python one takes over a second
# to read a config of 5,000 feeds.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LoadedConfig(typing.NamedTuple):
    path: Path
    config: Config


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
