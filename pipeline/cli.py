"""The `newswatch` command: a thin layer over the library.

Every command takes `--config`, `--database-url` and `-v`. Exit status is non-zero only when
the run itself cannot proceed (bad config, unreachable database); one failing feed is reported
in the summary, not by the exit status.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from . import __version__, store
from .config import Config, load_config
from .errors import NewswatchError
from .poll import PollResult, poll

app = typer.Typer(
    help="Watch news feeds for the events your team cares about.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Wide enough for the tables when output goes to a file or a CI log rather than a terminal.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="newswatch.yaml (default: $NEWSWATCH_CONFIG or ./newswatch.yaml)"
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides database.url and $NEWSWATCH_DATABASE_URL."),
]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="-v for progress logs, -vv for debug.")
]

F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(function: F) -> F:
    """Turn a `NewswatchError` into one red line and exit status 1, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except NewswatchError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    if verbose < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def open_database(config: Config, database_url: str | None) -> Engine:
    url = database_url or os.environ.get("NEWSWATCH_DATABASE_URL") or config.database.url
    engine = store.connect(url)
    store.ensure_schema(engine)
    return engine


def load(config_path: Path | None, database_url: str | None, verbose: int) -> tuple[Config, Engine]:
    setup_logging(verbose)
    config = load_config(config_path).config
    return config, open_database(config, database_url)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"newswatch {__version__}")
        raise typer.Exit()


@app.command("poll")
@handles_errors
def poll_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    all_feeds: Annotated[bool, typer.Option("--all", help="Fetch every feed, due or not.")] = False,
    feed: Annotated[list[str] | None, typer.Option(help="Only this feed (repeatable).")] = None,
) -> None:
    """Run one polling cycle over the due feeds and print a summary."""
    settings, engine = load(config, database_url, verbose)
    print_poll_summary(run_poll(settings, engine, force=all_feeds, names=feed))


@app.command("run")
@handles_errors
def run_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """The main job: poll the due feeds and store what is new."""
    settings, engine = load(config, database_url, verbose)
    print_poll_summary(run_poll(settings, engine))


def run_poll(
    config: Config, engine: Engine, *, force: bool = False, names: list[str] | None = None
) -> PollResult:
    columns = (
        TextColumn("polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("", total=None)
        return poll(
            engine,
            config,
            force=force,
            names=names,
            on_start=lambda total: progress.update(task, total=total),
            on_feed=lambda report: progress.update(task, advance=1, description=report.feed_name),
        )


def print_poll_summary(result: PollResult) -> None:
    table = Table(title="poll summary", title_justify="left")
    for column in ("feeds ok", "not modified", "failed", "not due", "articles seen", "new"):
        table.add_column(column, justify="right")
    table.add_row(
        str(result.count("ok")),
        str(result.count("not_modified")),
        str(result.failed),
        str(result.not_due),
        str(result.articles_seen),
        str(len(result.new_article_ids)),
    )
    out.print(table)
    for report in result.reports:
        if report.failed:
            out.print(
                f"[red]failed[/] {report.feed_name}: {report.status}: {report.error}",
                highlight=False,
                soft_wrap=True,
            )
        elif report.warning:
            out.print(
                f"[yellow]warning[/] {report.feed_name}: {report.warning}",
                highlight=False,
                soft_wrap=True,
            )


@app.command("feeds")
@handles_errors
def feeds_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Show each configured feed's health."""
    settings, engine = load(config, database_url, verbose)
    health = store.feed_health(engine, [f.name for f in settings.feeds])
    known = {h.name for h in health}
    table = Table(title="feeds", title_justify="left")
    for column in (
        "feed",
        "last status",
        "last success",
        "failures",
        "next fetch",
        "articles",
        "last error",
    ):
        table.add_column(column)
    for h in health:
        status = h.last_status or "never fetched"
        if h.last_http_status:
            status += f" ({h.last_http_status})"
        table.add_row(
            h.name,
            status,
            _when(h.last_success_at),
            str(h.consecutive_failures),
            _when(h.next_fetch_at) if h.next_fetch_at else "now",
            str(h.articles),
            h.last_error or (f"warning: {h.last_warning}" if h.last_warning else ""),
        )
    for feed in settings.feeds:
        if feed.name not in known:
            table.add_row(feed.name, "never fetched", "-", "0", "now", "0", "")
    out.print(table)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    delta = (moment - datetime.now(UTC)).total_seconds()
    size, unit = abs(delta), "s"
    for seconds, name in ((86400, "d"), (3600, "h"), (60, "m")):
        if size >= seconds:
            size, unit = size / seconds, name
            break
    amount = f"{size:.0f}{unit}"
    return f"in {amount}" if delta > 0 else f"{amount} ago"


@db_app.command("upgrade")
@handles_errors
def db_upgrade_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the schema migrations."""
    setup_logging(verbose)
    settings = _config_or_default(config)
    url = database_url or os.environ.get("NEWSWATCH_DATABASE_URL") or settings.database.url
    engine = store.connect(url)
    before = store.current_revision(engine)
    store.upgrade(engine, revision)
    out.print(f"schema: {before or 'empty'} -> {store.current_revision(engine)}")


def _config_or_default(path: Path | None) -> Config:
    """`db upgrade` also works with only --database-url and no config file."""
    if (
        path is None
        and not os.environ.get("NEWSWATCH_CONFIG")
        and not Path("newswatch.yaml").exists()
    ):
        return Config()
    return load_config(path).config


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
