"""`newswatch backfill` (a window of feed history) and `newswatch stories` (what is big now)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from ..errors import ConfigError
from ..text import printable
from .alerts import exit_if_unusable, run_drain, setup_for
from .app import (
    ConfigOption,
    DatabaseOption,
    VerboseOption,
    ago,
    app,
    err,
    error_line,
    handles_errors,
    load,
    out,
)
from .ingest import print_score_summary


def _date(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a date such as 2026-02-14 or 2026-02-14T06:00, got {value!r}",
            param_hint=option,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command("backfill")
@handles_errors
def backfill_command(
    start: Annotated[
        str, typer.Option("--from", help="Window start (inclusive), UTC unless given.")
    ],
    end: Annotated[str, typer.Option("--to", help="Window end (exclusive).")],
    feed: Annotated[list[str] | None, typer.Option(help="Only this feed (repeatable).")] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Store the articles published in [--from, --to) from the feeds' backfill sources, score
    them, and alert as `backfill.alerts` says (default: one digest per topic)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..backfill import backfill
    from ..score import score_with

    window = (_date(start, "--from"), _date(end, "--to"))
    settings, engine = load(config, database_url, verbose)
    if not any(f.backfill for f in settings.feeds):  # (the scheduled DAG run just finds none)
        raise ConfigError(
            "no feed has a backfill source: give a feed a `backfill:` (a directory, archive "
            "URLs or a paged feed; see the README's Backfill)"
        )
    setup = setup_for(settings)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.completed} documents"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("backfilling", total=None)
        reports = backfill(
            engine,
            settings,
            *window,
            names=feed,
            on_document=lambda name, where: progress.update(
                task, advance=1, description=printable(f"{name}: {where}")
            ),
        )
    table = Table(
        title=f"backfill {window[0]:%Y-%m-%d %H:%M} to {window[1]:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for column in ("feed", "documents", "in window", "new", "undated", "reached start"):
        table.add_column(column)
    for report in reports:
        table.add_row(
            report.feed_name,
            str(report.documents),
            str(report.in_window),
            str(len(report.new_article_ids)),
            str(report.undated),
            "yes" if report.reached_start else "no",
        )
    out.print(table)
    for report in reports:
        for error in report.errors:
            out.print(
                error_line("error", f"{report.feed_name}: {error}", style="red"), soft_wrap=True
            )
    print_score_summary(score_with(engine, settings), engine)
    run_drain(engine, setup)
    exit_if_unusable(setup)


@app.command("stories")
@handles_errors
def stories_command(
    since: Annotated[str, typer.Option(help="How far back: 24h, 3d, ...")] = "24h",
    limit: Annotated[int, typer.Option(min=1, help="How many stories.")] = 20,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """The biggest stories seen recently, and the outlets that ran them."""
    from ..store.stories import biggest_stories

    start = ago(since)
    _, engine = load(config, database_url, verbose)
    table = Table(title=f"stories since {start:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("story", "articles", "outlets", "title", "first seen", "last seen"):
        table.add_column(column)
    rows = biggest_stories(engine, start, limit)
    for story in rows:
        table.add_row(
            str(story.id),
            str(story.articles),
            ", ".join(story.outlets),
            story.title,
            f"{story.first_seen_at:%Y-%m-%d %H:%M}",
            f"{story.last_seen_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)
    out.print(f"{len(rows)} stor{'y' if len(rows) == 1 else 'ies'}")
