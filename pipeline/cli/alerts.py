"""`newswatch alerts`: the outbox (pending, failed, recently sent), retry, and send now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from alerts import outbox
from alerts.destinations import AlertSetup, alert_setup, install_redaction
from alerts.drain import preview
from alerts.records import DrainReport
from alerts.slack import render_for_terminal

from ..config import Config, compile_topics
from .app import ConfigOption, DatabaseOption, VerboseOption, app, handles_errors, load, out

alerts_app = typer.Typer(
    help="The alert outbox: list (default), retry, send.", invoke_without_command=True
)
app.add_typer(alerts_app, name="alerts")


def setup_for(config: Config) -> AlertSetup:
    setup = alert_setup(config, compile_topics(config), console=out)
    install_redaction(setup.redactor)
    return setup


def run_drain(engine: Engine, setup: AlertSetup, *, dry_run: bool = False) -> DrainReport | None:
    """Send what is due (or, dry, print it and change nothing); prints a one-line summary."""
    if dry_run:
        planned = preview(engine, setup.topic_names, setup.destinations, setup.settings)
        for destination, message, members in planned:
            out.print(f"[dim]would send to {escape(destination)} ({len(members)} alert(s)):[/]")
            out.print(render_for_terminal(message), highlight=False, soft_wrap=True)
        out.print(f"dry run: {len(planned)} message(s) would be sent; nothing was changed")
        return None
    report = setup.drain(engine)
    out.print(
        f"alerts: {report.sent} sent ({report.digests} digest(s)), {report.reconciled} found "
        f"already posted, {report.retrying} to retry, {report.failed} failed",
        highlight=False,
    )
    for error in report.errors:
        out.print(f"[red]alert error[/] {escape(error)}", highlight=False, soft_wrap=True)
    return report


@alerts_app.callback()
@handles_errors
def list_command(
    context: typer.Context,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    limit: Annotated[int, typer.Option(help="Rows per status.")] = 20,
) -> None:
    """Pending and failed alerts, and the most recently sent."""
    if context.invoked_subcommand is not None:
        return
    _, engine = load(config, database_url, verbose)
    counts = outbox.count_by_status(engine)
    out.print(
        "outbox: "
        + ", ".join(
            f"{counts.get(s, 0)} {s}"
            for s in (outbox.PENDING, outbox.SENDING, outbox.FAILED, outbox.SENT)
        ),
        highlight=False,
    )
    for statuses, title in (
        ([outbox.PENDING, outbox.SENDING], "pending"),
        ([outbox.FAILED], "failed"),
        ([outbox.SENT], "recently sent"),
    ):
        rows = outbox.list_alerts(engine, statuses, limit)
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for column in (
            "id",
            "topic",
            "destination",
            "status",
            "tries",
            "when",
            "article",
            "detail",
        ):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row.id),
                escape(row.topic_id),
                escape(row.destination),
                row.status,
                str(row.attempts),
                f"{row.when:%Y-%m-%d %H:%M}",
                escape(row.title),
                escape(row.detail),
            )
        out.print(table)


@alerts_app.command("retry")
@handles_errors
def retry_command(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Alert ids; all failed when omitted.")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Put failed alerts back in the queue (after fixing what their error said)."""
    _, engine = load(config, database_url, verbose)
    count = outbox.retry_failed(engine, ids or None, datetime.now(UTC))
    out.print(f"{count} failed alert(s) back to pending; `newswatch alerts send` sends them now")


@alerts_app.command("send")
@handles_errors
def send_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print, send nothing.")] = False,
) -> None:
    """Drain the outbox now: send every alert that is due."""
    settings, engine = load(config, database_url, verbose)
    run_drain(engine, setup_for(settings), dry_run=dry_run)
