"""`newswatch alerts`: the outbox (pending, failed, recently sent), retry, and send now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

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
    styled,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from alerts import outbox
    from alerts.destinations import AlertSetup
    from alerts.records import DrainReport

    from ..config import Config
    from ..delivery import Rhythm

alerts_app = typer.Typer(
    help="The alert outbox: list (default), retry, send.", invoke_without_command=True
)
app.add_typer(alerts_app, name="alerts")


def setup_for(config: Config) -> AlertSetup:
    """The sinks for this config. A Slack credential of the wrong form is reported here, before
    any work, and the work goes on: its alerts wait in the outbox (see `exit_if_unusable`)."""
    from alerts.destinations import alert_setup, install_redaction

    from ..config import compile_topics

    setup = alert_setup(config, compile_topics(config), console=out)
    install_redaction(setup.redactor)
    if setup.problem:
        err.print(error_line("error:", setup.problem), soft_wrap=True)
    return setup


def exit_if_unusable(setup: AlertSetup) -> None:
    """Exit status 1 after a run whose alerts could not go out, so a scheduler notices."""
    if setup.problem:
        raise typer.Exit(1)


def run_drain(engine: Engine, setup: AlertSetup, *, dry_run: bool = False) -> DrainReport | None:
    """Send what is due (or, dry, print it and change nothing); prints a one-line summary."""
    from alerts.drain import preview
    from alerts.slack import render_for_terminal

    if dry_run:
        planned = preview(engine, setup.topic_names, setup.destinations, setup.settings)
        for destination, message, members in planned:
            out.print(styled((f"would send to {destination} ({len(members)} alert(s)):", "dim")))
            out.print(render_for_terminal(message), soft_wrap=True)
        out.print(f"dry run: {len(planned)} message(s) would be sent; no alert was queued or sent")
        return None
    report = setup.drain(engine)
    out.print(
        f"alerts: {report.sent} sent ({report.digests} digest(s)), {report.reconciled} found "
        f"already posted, {report.retrying} to retry, {report.failed} failed"
        + (f", {report.skipped} kept for later" if report.skipped else "")
    )
    for error in report.errors:
        out.print(error_line("alert error", error, style="red"), soft_wrap=True)
    return report


def run_ops(engine: Engine, setup: AlertSetup, config: Config) -> None:
    """Check the watcher's health and send the operations notices that are due (when
    slack.ops_channel is set)."""
    from alerts.ops import check_and_deliver_ops

    if setup.ops_destination is None:
        return
    report = check_and_deliver_ops(engine, setup, config, now=lambda: datetime.now(UTC))
    out.print(f"ops: {report.sent} notice(s) sent, {report.retrying} to retry")
    for error in report.errors:
        out.print(error_line("ops error", error, style="red"), soft_wrap=True)


@alerts_app.callback()
@handles_errors
def list_command(
    context: typer.Context,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
    limit: Annotated[int, typer.Option(help="Rows per status.")] = 20,
) -> None:
    """Pending (and held: waiting for a digest or for quiet hours to end, until when) and
    failed alerts, and the most recently sent."""
    if context.invoked_subcommand is not None:
        return
    from alerts import outbox

    settings, engine = load(config, database_url, verbose)
    rhythms = {t.id: t.delivery for t in settings.topics}
    now = datetime.now(UTC)
    counts = outbox.count_by_status(engine)
    out.print(
        "outbox: "
        + ", ".join(
            f"{counts.get(s, 0)} {s}"
            for s in (outbox.PENDING, outbox.SENDING, outbox.FAILED, outbox.SENT)
        ),
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
            state, detail = _state(row, rhythms.get(row.topic_id), now)
            table.add_row(
                str(row.id),
                row.topic_id,
                row.destination,
                state,
                str(row.attempts),
                f"{row.when:%Y-%m-%d %H:%M}",
                row.title,
                detail,
            )
        out.print(table)


def _state(row: outbox.AlertLine, rhythm: Rhythm | None, now: datetime) -> tuple[str, str]:
    """The status shown, and its detail: an alert waiting for its digest or held by quiet
    hours says so, and until when in its topic's time zone."""
    from alerts import outbox

    if row.status != outbox.PENDING or row.delivery == "immediate" or row.when <= now:
        return row.status, row.detail
    zone = rhythm.zone if rhythm else UTC
    until = (
        f"until {row.when.astimezone(zone):%Y-%m-%d %H:%M} {rhythm.timezone if rhythm else 'UTC'}"
    )
    if row.delivery == "digest":
        return "held: digest", f"{until} ({rhythm.describe()})" if rhythm else until
    return "held: quiet hours", until


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
    from alerts import outbox

    _, engine = load(config, database_url, verbose)
    count = outbox.retry_failed(engine, ids or None, datetime.now(UTC))
    out.print(f"{count} failed alert(s) back to pending; `newswatch alerts send` sends them now")
    if ids and count < len(set(ids)):  # a mistyped id, or one already sent or pending
        err.print(
            f"note: {len(set(ids)) - count} of the ids given are not failed alerts "
            "(`newswatch alerts` lists the failed ones)"
        )


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
    setup = setup_for(settings)
    run_drain(engine, setup, dry_run=dry_run)
    exit_if_unusable(setup)
