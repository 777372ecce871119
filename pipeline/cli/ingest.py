"""Ingestion commands: poll, run, db upgrade."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..text import printable
from .app import (
    ConfigOption,
    DatabaseOption,
    VerboseOption,
    app,
    err,
    error_line,
    handles_errors,
    load,
    out,
    setup_logging,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..config import Config
    from ..poll import PollResult
    from ..score import ScoreResult

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Poll, store and score as usual, but print the alerts: none queued or sent.",
        ),
    ] = False,
) -> None:
    """The main job: poll the due feeds, store and score what is new, send the alerts and
    whatever else is due (digests, alerts held by quiet hours, operations notices)."""
    from ..score import score_with
    from .alerts import exit_if_unusable, run_drain, run_ops, setup_for  # imports this module

    settings, engine = load(config, database_url, verbose)
    # A topic without a channel stops the run before any work; a Slack credential of the wrong
    # form is reported now, and the run goes on (its alerts wait in the outbox).
    setup = setup_for(settings)
    print_poll_summary(run_poll(settings, engine))
    print_score_summary(score_with(engine, settings), engine)
    run_drain(engine, setup, dry_run=dry_run)
    if not dry_run:
        run_ops(engine, setup, settings)
    exit_if_unusable(setup)


def print_score_summary(result: ScoreResult, engine: Engine) -> None:
    from .. import store

    out.print(
        f"scored {result.articles} new article(s) against the topics: "
        f"{len(result.matches)} match(es)",
    )
    if not result.matches:
        return
    table = Table(title_justify="left")
    # The id is what `topics explain --article` takes.
    for column in ("topic", "score", "id", "article"):
        table.add_column(column)
    for match in result.matches:
        article = store.get_article(engine, match.article_id)
        title = article.title if article else ""
        table.add_row(match.topic_id, f"{match.score:.2f}", str(match.article_id), title)
    out.print(table)


def run_poll(
    config: Config, engine: Engine, *, force: bool = False, names: list[str] | None = None
) -> PollResult:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ..poll import poll

    columns = (
        TextColumn("polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
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
            on_feed=lambda report: progress.update(
                task, advance=1, description=printable(report.feed_name)
            ),
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
            problem = f"{report.feed_name}: {report.status}: {report.error}"
            line = error_line("failed", problem, style="red")
            out.print(line, soft_wrap=True)
        elif report.warning:
            line = error_line("warning", f"{report.feed_name}: {report.warning}", style="yellow")
            out.print(line, soft_wrap=True)


@db_app.command("upgrade")
@handles_errors
def db_upgrade_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the schema migrations (to --database-url or $NEWSWATCH_DATABASE_URL without reading
    the config; else to the config's database.url)."""
    from .. import store

    setup_logging(verbose)
    engine = store.connect(_database_to_upgrade(config, database_url))
    before = store.current_revision(engine)
    store.upgrade(engine, revision)
    out.print(f"schema: {before or 'empty'} -> {store.current_revision(engine)}")


def _database_to_upgrade(path: Path | None, override: str | None) -> str:
    """A given URL is enough: migrating needs none of the config, whose secrets (`${VAR}`) a
    deployment step may not have set."""
    from ..config import Config, database_url, load_config

    if override or os.environ.get("NEWSWATCH_DATABASE_URL"):
        return database_url(Config(), override)
    return database_url(load_config(path).config)
